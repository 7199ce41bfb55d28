"""The graph and reverse mode.

A `Node` records one primitive op applied to its inputs; the output `Tensor` points at it,
the node points at its inputs, never at its output, so no reference cycles form and
reference counting frees an intermediate as soon as nothing needs it.

The engine owns everything every op would otherwise repeat: grad mode, recording, the
iterative traversal, undoing broadcasting (`sum_to`), casting gradients back to the input's
dtype, accumulation into leaves, hooks, and freeing saved buffers after backward.
"""

from __future__ import annotations

import functools
import threading

import numpy as np

from .dtypes import as_array

# Set by autograd.tensor once the class exists (the engine itself never imports it).
Tensor = None
_make = None  # _make(data, node) -> Tensor, set by autograd.tensor


# --------------------------------------------------------------------------- grad mode
class _Mode(threading.local):
    """Per-thread state: a new thread starts with grad enabled, as in PyTorch."""

    enabled = True
    scope = None  # the nn.Module path whose forward is running (for drawing)
    anomaly = False
    on_backward = None  # autograd.viz.record_grads: called with the roots before each backward


_mode = _Mode()

# How many threads have anomaly mode on: recording reads this plain global first, so the
# thread-local flag is only consulted while some thread uses anomaly mode.
anomaly_threads = 0


def is_grad_enabled() -> bool:
    """Whether operations are recorded for backward in this thread."""
    return _mode.enabled


class set_grad_enabled:
    """Context manager and decorator that turns recording on or off in this thread."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._prev: list[bool] = []

    def __enter__(self):
        self._prev.append(_mode.enabled)
        _mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _mode.enabled = self._prev.pop()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)(*self._args()):
                return fn(*args, **kwargs)

        return wrapper

    def _args(self):
        return (self.mode,)


class no_grad(set_grad_enabled):
    """Don't record operations (inference, in-place parameter updates).

    >>> import autograd
    >>> x = autograd.tensor([1.0, 2.0], requires_grad=True)
    >>> with autograd.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self):
        super().__init__(False)

    def _args(self):
        return ()


class enable_grad(set_grad_enabled):
    """Record operations even inside `no_grad`."""

    def __init__(self):
        super().__init__(True)

    def _args(self):
        return ()


# --------------------------------------------------------------------------- the graph
class Node:
    """One recorded application of an op: what backward needs, nothing more.

    `inputs` holds the input Tensors (and raw constants) so the graph's structure stays
    inspectable; `saved` is the output array for ops whose derivative is written with it,
    dropped after backward unless `retain_graph=True`.
    """

    __slots__ = (
        "op", "inputs", "arrays", "saved", "attrs", "needs", "freed", "scope", "__weakref__"
    )

    def __init__(self, op, inputs, saved, attrs, needs, arrays=None):
        self.op = op
        self.inputs = inputs
        self.arrays = arrays  # the inputs' arrays as forward saw them (saves a pass in backward)
        self.saved = saved
        self.attrs = attrs
        self.needs = needs
        self.freed = False
        self.scope = _mode.scope

    @property
    def name(self) -> str:
        return self.op.name

    def __repr__(self):
        return f"<{self.op.name}>"


def apply(op, *args, **attrs):
    """Run a registered op's forward on Tensors/constants and record it when needed."""
    datas = []
    needs = []
    record = False
    for a in args:
        if isinstance(a, Tensor):
            datas.append(a.data)
            r = a.requires_grad
            record = record or r
            needs.append(r)
        else:
            datas.append(a)
            needs.append(False)
    try:
        out = op.forward(*datas, **attrs)
    except (ValueError, TypeError, IndexError) as e:
        raise _retyped(e, _forward_error(op, datas, attrs, e)) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if record and _mode.enabled and op.differentiable:
        node = Node(op, args, out if op.save_out else None, attrs or None, tuple(needs), datas)
        if anomaly_threads and _mode.anomaly:
            _anomaly_hook(node, out)
        return _make(out, node)
    return _make(out, None)


def constant(x):
    """A non-Tensor operand as ops take it: Python numbers as they are (weakly typed, so
    float32 stays float32), numpy scalars as Python numbers (as PyTorch treats them),
    arrays as they are, other data (lists) converted like `autograd.tensor` does."""
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        return x.item()  # (checked first: np.float64 is a float subclass and would upcast)
    if isinstance(x, (int, float, np.ndarray)):
        return x
    return as_array(x)


def apply2(op, a, b):
    """`apply` for binary ops without attributes: the hot path of `+ - * /`."""
    if isinstance(a, Tensor):
        ad = a.data
        ra = a.requires_grad
    else:
        if type(a) is not float and type(a) is not int:
            a = constant(a)
        ad = a
        ra = False
    if isinstance(b, Tensor):
        bd = b.data
        rb = b.requires_grad
    else:
        if type(b) is not float and type(b) is not int:
            b = constant(b)
        bd = b
        rb = False
    try:
        out = op.forward(ad, bd)
    except (ValueError, TypeError) as e:
        raise _retyped(e, _forward_error(op, (ad, bd), None, e)) from None
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if (ra or rb) and _mode.enabled:
        node = Node(op, (a, b), out if op.save_out else None, None, (ra, rb), (ad, bd))
        if anomaly_threads and _mode.anomaly:
            _anomaly_hook(node, out)
        return _make(out, node)
    return _make(out, None)


_TRUE1 = (True,)


def apply1(op, a):
    """`apply` for unary ops without attributes (exp, tanh, ...)."""
    ad = a.data
    out = op.forward(ad)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if a.requires_grad and _mode.enabled:
        node = Node(op, (a,), out if op.save_out else None, None, _TRUE1, (ad,))
        if anomaly_threads and _mode.anomaly:
            _anomaly_hook(node, out)
        return _make(out, node)
    return _make(out, None)


def _retyped(err, message):
    """`err`'s kind of exception carrying `message`. numpy's own subclasses (the ufunc type
    errors) can't be built from a message alone: those become their builtin base."""
    try:
        return type(err)(message)
    except TypeError:
        base = next(b for b in (IndexError, ValueError, TypeError) if isinstance(err, b))
        return base(message)


def _forward_error(op, datas, attrs, err) -> str:
    """An error message naming the op, its inputs' shapes and dtypes, and numpy's complaint."""
    parts = []
    for d in datas:
        if isinstance(d, np.ndarray):
            parts.append(f"{d.dtype}{list(d.shape)}")
        else:
            parts.append(type(d).__name__)
    from .ops.registry import attr_text

    extra = attr_text(attrs)
    return f"{op.name}: {err} (inputs {', '.join(parts)}{'; ' + extra if extra else ''})"


def call(op, *args, **attrs):
    """Apply an op to Tensors (recording) or to plain arrays (no graph, no Tensor).

    Backward formulas use this so one formula serves first-order backward on arrays and
    `create_graph=True` on Tensors.
    """
    for a in args:
        if isinstance(a, Tensor):
            return apply(op, *args, **attrs)
    return op.forward(*args, **attrs)


def raw(x):
    """The array inside a Tensor, or x itself: for masks and other non-differentiable parts."""
    return x.data if isinstance(x, Tensor) else x


def _anomaly_hook(node, out):  # replaced by autograd.anomaly when anomaly mode is used
    pass


def _anomaly_backward(node, gin):  # replaced by autograd.anomaly (checks a node's gradients)
    pass


def _anomaly_twin(node, twin):  # replaced by autograd.anomaly (a twin keeps its node's origin)
    pass


# --------------------------------------------------------------------------- broadcasting
def sum_to(g, shape: tuple):
    """Sum `g` (an array or Tensor) down to `shape`, undoing numpy broadcasting."""
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to: cannot reduce shape {gshape} to the larger shape {shape}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead or g.shape != shape:
        g = g.reshape(shape)
    return g


# --------------------------------------------------------------------------- backward
class GraphFreedError(RuntimeError):
    """Raised on a second backward through a graph whose saved buffers were freed."""


def _freed_error(node) -> GraphFreedError:
    return GraphFreedError(
        f"backward: trying to backward through the graph a second time (op '{node.op.name}'): "
        "its saved values were freed after the first backward. Pass retain_graph=True to the "
        "first backward() or autograd.grad() if you need to backward through it again."
    )


def _count_consumers(roots):
    """Iteratively count, for each tensor reachable from `roots` through recorded nodes,
    how many times it is consumed inside that subgraph (roots included, 0 if unconsumed)."""
    deps: dict[int, int] = {id(t): 0 for t in roots}  # present = already on the stack
    stack = list(roots)
    while stack:
        node = stack.pop()._node
        if node is None:
            continue
        for inp, need in zip(node.inputs, node.needs):
            if need:
                k = id(inp)
                c = deps.get(k)
                if c is None:
                    deps[k] = 1
                    stack.append(inp)
                else:
                    deps[k] = c + 1
    return deps


def run_backward(roots, seeds, *, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True):
    """Reverse mode from `roots` (Tensors) with initial gradients `seeds`.

    Gradients flow in topological order (Kahn's algorithm on consumer counts, so a tensor is
    processed once all its consumers have passed their gradients); each is dropped as soon
    as it has been used. With `accumulate`, leaves' `.grad` is summed into. With `inputs`
    (a list of Tensors), returns their gradients in that order (None where none arrived).
    """
    if _mode.on_backward is not None:  # one check per backward call, nothing per op
        _mode.on_backward(roots)
    deps = _count_consumers(roots)
    grads: dict[int, object] = {}
    ready = []
    for t, s in zip(roots, seeds):
        k = id(t)
        if k in grads:
            grads[k] = grads[k] + s
        else:
            grads[k] = s
            if deps[k] == 0:
                ready.append(t)
    want = None
    found = None
    if inputs is not None:
        want = {id(t): i for i, t in enumerate(inputs)}
        found = [None] * len(inputs)
    handed = {id(s) for s in seeds}  # arrays the user or a leaf already holds: copy before storing
    anomaly = _mode.anomaly  # read once: off, it costs one local test per node
    prev_enabled = _mode.enabled  # (a `with set_grad_enabled` costs a microsecond per call)
    _mode.enabled = create_graph
    try:
        while ready:
            t = ready.pop()
            k = id(t)
            g = grads.pop(k, None)
            node = t._node
            if g is not None:
                if t._hooks is not None:
                    g = _run_hooks(t, g)
                if want is not None:
                    if k in want:
                        found[want[k]] = g
                elif accumulate and (node is None or t._retain):
                    _accumulate(t, g, handed)
            if node is None:
                continue
            if g is None:  # nothing arrived: still release the inputs' consumer counts
                gin = (None,) * len(node.inputs)
            else:
                if node.freed:
                    raise _freed_error(node)
                op = node.op
                check = not op.same_shape
                if create_graph:
                    gin = _tensor_vjp(node, g)
                else:
                    args = node.arrays
                    if args is None:
                        args = [a.data if isinstance(a, Tensor) else a for a in node.inputs]
                    if node.attrs is None:
                        gin = op.backward(g, node.saved, node.needs, *args)
                    else:
                        gin = op.backward(g, node.saved, node.needs, *args, **node.attrs)
                if anomaly:
                    _anomaly_backward(node, gin)
                if not retain_graph:
                    node.saved = None
                    node.arrays = None
                    node.freed = op.save_out or op.needs_inputs
            for inp, need, gi in zip(node.inputs, node.needs, gin):
                if not need:
                    continue
                ki = id(inp)
                if gi is not None:
                    if check:
                        data = inp.data
                        if gi.shape != data.shape:
                            gi = sum_to(gi, data.shape)
                        if gi.dtype != data.dtype:
                            gi = gi.astype(data.dtype)
                    if ki in grads:
                        grads[ki] = grads[ki] + gi
                    else:
                        grads[ki] = gi
                n = deps[ki] - 1
                if n:
                    deps[ki] = n
                else:
                    ready.append(inp)
    finally:
        _mode.enabled = prev_enabled
    return found


def _tensor_vjp(node, g):
    """Backward with Tensors, so the gradient is itself differentiable (create_graph).

    For `save_out` ops the saved output becomes a Tensor whose node is a twin of `node`
    (same op, inputs and saved array): it is in the graph without running forward again,
    and `node` still never references a Tensor of its own output. Other ops get
    `node.saved` as is (None for built-ins, the context of an `autograd.Function`).
    """
    op = node.op
    out = node.saved
    if op.save_out:
        twin = Node(op, node.inputs, out, node.attrs, node.needs)
        twin.scope = node.scope
        if _mode.anomaly:
            _anomaly_twin(node, twin)
        out = _make(out, twin)
    if node.attrs is None:
        return op.backward(g, out, node.needs, *node.inputs)
    return op.backward(g, out, node.needs, *node.inputs, **node.attrs)


def _run_hooks(t, g):
    for fn in list(t._hooks.values()):
        r = fn(g)
        if r is not None:
            if r.shape != g.shape:
                raise ValueError(
                    f"hook {getattr(fn, '__name__', fn)!r} returned a gradient of shape "
                    f"{r.shape}; expected {g.shape}"
                )
            g = r
    return g


def _accumulate(t, g, handed):
    if isinstance(g, Tensor):  # create_graph through backward(): keep the array only
        g = g.data
    elif type(g) is not np.ndarray:
        g = np.asarray(g)
    if t.grad is None:
        if g.base is not None or id(g) in handed or not g.flags.writeable:
            g = g.copy()
        handed.add(id(g))
        t.grad = g
    else:
        t.grad += g
