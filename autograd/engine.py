"""Reverse mode: the traversal of the graph that `autograd.node` records.

The vertices are Nodes and leaf Tensors; a Node's `edges` lead to its inputs' producers.
Gradients flow in topological order (Kahn's algorithm on consumer counts: a vertex runs once
all its consumers have passed their gradients), iteratively, so depth is only bounded by
memory. The engine owns everything every op would otherwise repeat: undoing broadcasting
(`sum_to`), casting gradients back to the input's dtype, the version check of saved arrays,
hooks, accumulation into `.grad`, and freeing the saved arrays after backward.
"""

from __future__ import annotations

import numpy as np

from . import anomaly, backend
from .mode import state
from .node import Node, check_versions, unpack
from .tensor import Tensor, counter, make, method


class GraphFreedError(RuntimeError):
    """Raised on a second backward through a graph whose saved arrays were freed."""


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
    if type(g) is np.ndarray or isinstance(g, Tensor):  # (the methods: numpy's functions cost more)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        if lead or g.shape != shape:
            g = g.reshape(shape)
        return g
    xp = backend.namespace(g)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead or g.shape != shape:
        g = xp.reshape(g, shape)
    return g


def seed_array(out: Tensor, gradient, who: str, check_shape: bool = True):
    """The initial gradient for `out` as an array of its dtype on its device: ones, or
    `gradient` (a Tensor, array or nested list) checked against it."""
    d = out.data
    if gradient is None:
        if type(d) is np.ndarray:
            return np.ones(d.shape, dtype=d.dtype)
        return backend.namespace(d).ones(d.shape, dtype=d.dtype, device=d.device)
    seed = gradient.data if isinstance(gradient, Tensor) else gradient
    if not backend.is_array(seed):  # numbers, nested lists: made where the output is
        seed = np.asarray(seed, dtype=backend.numpy_dtype(d.dtype))
        if type(d) is not np.ndarray:
            seed = backend.on_device(seed, backend.namespace(d))
    if backend.device_name(seed) != backend.device_name(d):
        raise RuntimeError(f"{who}: gradient is on {backend.device_name(seed)}; expected "
                           f"{backend.device_name(d)}, the output's device")
    if seed.dtype != d.dtype:
        seed = cast(seed, d.dtype)
    if check_shape and seed.shape != d.shape:
        raise ValueError(f"{who}: gradient has shape {tuple(seed.shape)}; expected the output's shape {d.shape}")
    return seed


def cast(g, dtype):
    """`g` (an array or Tensor) as `dtype`."""
    return g.astype(dtype) if isinstance(g, Tensor) else backend.astype(g, dtype)


def increment_version(*tensors: Tensor) -> None:
    """Count an in-place change made by writing through `.data` (as the optimizers do), so
    that backward refuses to use the old values (torch.autograd.graph.increment_version)."""
    for t in tensors:
        counter(t)[0] += 1


def vertex(t: Tensor):
    """Where a tensor's gradient is collected: its node, or the leaf itself."""
    return t._node if t._node is not None else t


def _count_consumers(starts) -> dict:
    """For each vertex reachable from `starts`, how many edges lead to it (iteratively)."""
    deps = {id(v): 0 for v in starts}  # present = already on the stack
    stack = list(starts)
    while stack:
        v = stack.pop()
        if type(v) is not Node:
            continue
        for e in v.edges:
            if e is not None:
                k = id(e)
                c = deps.get(k)
                if c is None:
                    deps[k] = 1
                    stack.append(e)
                else:
                    deps[k] = c + 1
    return deps


def _reaching(starts, targets: set) -> set:
    """The ids of the vertices from which a target (an id in `targets`) can be reached, the
    targets included: with `inputs`, the other branches are not run at all (as PyTorch)."""
    reach = set()
    entered = set()
    stack = [(v, False) for v in starts]
    while stack:
        v, expanded = stack.pop()
        k = id(v)
        if expanded:  # every input of v is decided by now (a graph has no cycles)
            if k in targets or any(e is not None and id(e) in reach for e in v.edges):
                reach.add(k)
            continue
        if k in entered:
            continue
        entered.add(k)
        if type(v) is not Node:
            if k in targets:
                reach.add(k)
            continue
        stack.append((v, True))
        stack.extend((e, False) for e in v.edges if e is not None and id(e) not in entered)
    return reach


class _Pass:
    """One backward pass: the gradients in flight and what to do with finished ones."""

    __slots__ = ("grads", "deps", "ready", "want", "found", "accumulate", "create", "handed", "reach")

    def __init__(self, roots, seeds, create_graph, inputs, accumulate):
        starts = [vertex(t) for t in roots]
        self.deps = _count_consumers(starts)
        self.grads = {}
        self.ready = []
        self.create = create_graph
        self.accumulate = accumulate
        self.handed = {id(s) for s in seeds}  # arrays the user holds: copy before keeping
        self.want = None if inputs is None else {id(vertex(t)): i for i, t in enumerate(inputs)}
        self.found = None if inputs is None else [None] * len(inputs)
        self.reach = None if inputs is None else _reaching(starts, set(self.want))
        for v, s in zip(starts, seeds):
            k = id(v)
            if k in self.grads:
                self.grads[k] = self.grads[k] + s
            else:
                self.grads[k] = s
                if self.deps[k] == 0:
                    self.ready.append(v)

    def finish(self, v, g):
        """The complete gradient of a vertex's output: hooks, then kept or accumulated."""
        if v._hooks is not None:
            g = _run_hooks(v, g)
        if self.want is not None:
            i = self.want.get(id(v))
            if i is not None:
                self.found[i] = g
        elif type(v) is not Node:
            if self.accumulate:
                _accumulate(v, g, self.handed, self.create)
        elif v.retain is not None:
            t = v.retain()
            if t is not None:
                _accumulate(t, g, self.handed, self.create)
        return g


def _node_backward(node, g, create, retain):
    """One node's backward formula on its saved arrays (or on Tensors, under create)."""
    vers = node.vers
    if vers is not None:
        if node.args is None:
            raise GraphFreedError(
                f"backward: trying to backward through the graph a second time (op '{node.op.name}'): "
                "its saved values were freed after the first backward. Pass retain_graph=True to the "
                "first backward() or autograd.grad() if you need to backward through it again."
            )
        for rec in vers:
            if rec[1][0] != rec[2]:
                check_versions(node)  # raises, naming what changed
    if create:
        out, args = unpack(node)
    else:
        out, args = node.out, node.args
    if node.attrs is None:
        gin = node.op.backward(g, out, node.needs, *args)
    else:
        gin = node.op.backward(g, out, node.needs, *args, **node.attrs)
    if not retain and vers is not None:
        node.args = None  # free what was saved (a second backward then raises)
        node.out = None
    return gin


def run_backward(roots, seeds, *, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True):
    """Reverse mode from `roots` (Tensors) with initial gradients `seeds`.

    With `accumulate`, leaves' `.grad` (and retained non-leaves') is summed into. With
    `inputs` (a list of Tensors), returns their gradients in that order instead (None where
    none arrived). Per vertex: take its finished gradient (`finish`: hooks, kept or
    accumulated), run its node's formula (`_node_backward`), pass the results on.
    """
    if state.on_backward is not None:  # one check per backward call, nothing per op
        state.on_backward(roots)
    p = _Pass(roots, seeds, create_graph, inputs, accumulate)
    check_anomaly = state.anomaly  # read once: off, it costs one local test per node
    plain = inputs is None
    prev_enabled = state.enabled  # (a `with set_grad_enabled` costs a microsecond per call)
    state.enabled = create_graph
    try:
        ready, grads, deps = p.ready, p.grads, p.deps
        while ready:
            v = ready.pop()
            g = grads.pop(id(v), None)
            if type(v) is not Node:  # a leaf
                if g is not None:
                    p.finish(v, g)
                continue
            if g is None or (not plain and id(v) not in p.reach):
                gin = (None,) * len(v.edges)  # nothing arrived, or no input lies behind: only
                # release the inputs' consumer counts
            else:
                if v._hooks is not None or v.retain is not None or not plain:
                    g = p.finish(v, g)
                gin = _node_backward(v, g, create_graph, retain_graph)
                if check_anomaly:
                    anomaly.backward_check(v, gin)
            # send: each input's gradient along its edge, shaped and typed like that input
            # (inlined: these are the hottest lines of backward)
            check = not v.op.same_shape
            for e, gi in zip(v.edges, gin):
                if e is None:
                    continue
                k = id(e)
                if gi is not None:
                    if check:
                        if gi.shape != e.shape:
                            gi = sum_to(gi, e.shape)
                        if gi.dtype != e.dtype:
                            gi = cast(gi, e.dtype)
                    g0 = grads.get(k)
                    grads[k] = gi if g0 is None else g0 + gi
                n = deps[k] - 1
                deps[k] = n
                if n == 0:
                    ready.append(e)
    finally:
        state.enabled = prev_enabled
    return p.found


def _run_hooks(v, g):
    for fn in list(v._hooks.values()):
        r = fn(g if isinstance(g, Tensor) else make(g))
        if r is not None:
            name = getattr(fn, "__name__", repr(fn))
            if not (isinstance(r, Tensor) or backend.is_array(r)):
                raise TypeError(f"hook {name!r} returned {type(r).__name__}; expected a Tensor, an array or None")
            if r.shape != g.shape or r.dtype != g.dtype:
                raise ValueError(
                    f"hook {name!r} returned a gradient of shape {tuple(r.shape)} and dtype {r.dtype}; "
                    f"expected shape {tuple(g.shape)} and dtype {g.dtype}"
                )
            g = r if isinstance(g, Tensor) else (r.data if isinstance(r, Tensor) else r)
    return g


def _accumulate(t, g, handed, create):
    """Sum a finished gradient into `t.grad` (a Tensor of t's shape and dtype)."""
    if create:  # keep the gradient differentiable: .grad becomes (old + g) in the graph
        g = g if isinstance(g, Tensor) else make(g)
        t._grad = g if t._grad is None else t._grad + g
        return
    if isinstance(g, Tensor):
        g = g.data
    elif type(g) is not np.ndarray and not backend.is_array(g):
        g = np.asarray(g)
    old = t._grad
    if old is not None and old._requires_grad:  # a differentiable .grad: sum out of place
        t._grad = make(old.data + g)
    elif old is None:
        if type(g) is not np.ndarray:  # (another library: views are not tracked, always copy)
            g = backend.namespace(g).asarray(g, copy=True)
        elif g.base is not None or id(g) in handed or not g.flags.writeable:
            g = g.copy()
        handed.add(id(g))
        t._grad = make(g)
    else:
        t._grad.data += g
        counter(t._grad)[0] += 1


@method()
def backward(self: Tensor, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires grad.

    `gradient` (same shape as self) is needed unless self has one element. The graph's
    saved arrays are freed afterwards unless `retain_graph=True` (default: `create_graph`).
    With `create_graph=True` the accumulated `.grad` is itself differentiable. `inputs`
    restricts accumulation to those tensors.

    >>> import autograd
    >>> x = autograd.tensor(3.0, requires_grad=True)
    >>> (x * x).backward(create_graph=True)
    >>> x.grad.backward(); x.grad.item()  # 6 + d(2x)/dx
    8.0
    """
    if not self._requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no grad_fn: no input of the "
            "computation requires grad, or it ran under no_grad()"
        )
    if gradient is None:
        if self.data.size != 1:
            raise RuntimeError(
                f"backward: gradient can be implied only for a tensor with one element; this one "
                f"has shape {self.shape}: pass gradient= of that shape"
            )
        seed = seed_array(self, None, "backward")
    else:
        seed = seed_array(self, gradient, "backward")
    if create_graph:
        seed = gradient if isinstance(gradient, Tensor) and gradient.dtype == self.dtype else make(seed)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        found = run_backward([self], [seed], retain_graph=retain_graph, create_graph=create_graph,
                             inputs=inputs)
        handed = {id(seed)}
        for t, g in zip(inputs, found):
            if g is not None:
                _accumulate(t, g, handed, create_graph)
        return
    run_backward([self], [seed], retain_graph=retain_graph, create_graph=create_graph)
