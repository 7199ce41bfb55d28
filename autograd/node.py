"""Recording: running a primitive op on Tensors and, when gradients are needed, a `Node`.

A node is what backward needs of one op application, nothing more:
  edges  -- per input, where its gradient goes: the producing Node, the leaf Tensor itself
            (its `.grad` accumulates), or None when that input needs no gradient;
  args   -- per input, what the formula gets in its place: the array, when the op declares
            that it reads it (`Op.save_inputs`); else a stand-in with its shape and dtype
            (the edge, or a `Meta`); non-Tensor constants as they are;
  out    -- the output array when the op reads it (`Op.save_output`), else None;
  vers   -- (input index or -1, version counter, version[, the Tensor's name when it has one])
            of every saved Tensor array:
            backward refuses to run on an array that was changed in place since.
The node never references its output Tensor and references no intermediate Tensor at all,
so reference counting frees every array no formula reads as soon as the user drops it.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import anomaly, backend
from .dtypes import as_array
from .mode import state, threads
from .tensor import Tensor, counter, make


class _Shaped:
    """`ndim` and `size` from `shape`, as arrays have them (formulas read these of stand-ins)."""

    __slots__ = ()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class Meta(_Shaped):
    """Shape and dtype of an input whose values backward does not read (and the name of the
    Tensor it was, for drawings)."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype, name=None):
        self.shape = shape
        self.dtype = dtype
        self.name = name


class Node(_Shaped):
    """One recorded application of an op; `shape`/`dtype` are its output's (see module doc)."""

    __slots__ = ("op", "edges", "args", "attrs", "needs", "out", "vers", "shape", "dtype", "scope", "_hooks",
                 "retain", "__weakref__")

    def __init__(self, op, edges, args, attrs, needs, out, vers, shape, dtype):
        self.op = op
        self.edges = edges
        self.args = args
        self.attrs = attrs
        self.needs = needs
        self.out = out
        self.vers = vers
        self.shape = shape
        self.dtype = dtype
        self.scope = state.scope
        self._hooks = None
        self.retain = None  # weakref to the output Tensor after retain_grad()

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def next_functions(self) -> tuple:
        """Where each input's gradient goes, as PyTorch names it: Nodes, leaf Tensors or None."""
        return self.edges

    def saved_value(self, i: int):
        """The array input `i` had in forward, if backward kept it (else None); -1: the output."""
        if i == -1:
            return self.out if backend.is_array(self.out) else None
        if self.args is None or not self.op.plan(self.needs)[i]:
            return None
        a = self.args[i]
        return a if backend.is_array(a) else None

    def __repr__(self):
        return f"<{self.op.name}>"


def constant(x):
    """A non-Tensor operand as ops take it: Python numbers as they are (weakly typed, so
    float32 stays float32), numpy scalars as Python numbers (as PyTorch treats them),
    arrays as they are, other data (lists) converted like `autograd.tensor` does."""
    if type(x) is float or type(x) is int or isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic) and x.dtype.kind in "biuf":
        return x.item()  # (np.float64 is a float subclass and would upcast float32)
    if isinstance(x, (int, float)):
        return x
    if backend.is_array(x):  # another library's array (CuPy, array-api-strict)
        return x
    return as_array(x)


def apply(op, *args, **attrs):
    """Run a registered op's forward on Tensors/constants and record a node when needed.

    The general path; `binary` and `unary` below are the same steps unrolled for the calls
    that are most of a model's ops (`x * y`, `x.tanh()`, without attributes), which the
    operators and unary functions call directly. On the engine chain benchmark (1,000 ops on
    float64 (4,), forward and backward, valgrind) an op costs 39k instructions through them
    against 50k through this loop alone: the chain's speed target depends on that.
    """
    datas = []
    needs = []
    record = False
    kind = None
    for a in args:
        if isinstance(a, Tensor):
            d = a.data
            if kind is None:
                kind = type(d)
            elif type(d) is not kind:
                same_device(op.name, datas + [d])
            datas.append(d)
            r = a._requires_grad
            needs.append(r)
            record = record or r
        else:
            datas.append(a if type(a) is float or type(a) is int else constant(a))
            needs.append(False)
    try:
        out = op.forward(*datas, **attrs)
    except (ValueError, TypeError, IndexError) as e:
        same_device(op.name, datas)
        raise _retyped(e, _forward_error(op, datas, attrs, e)) from None
    if type(out) is not np.ndarray:
        out = _array(out)
    vc = counter(args[0]) if op.view and _shares(out, args[0]) else None
    if not (record and state.enabled and op.differentiable):
        t = make(out) if vc is None else _view(make(out, None, vc))
        return _out(t, op, datas, attrs) if threads.trace else t
    needs = tuple(needs)
    plan = op._plans.get(needs) or op.plan(needs)
    edges = []
    kept = []
    vers = ()
    i = 0
    for a, d, need, save in zip(args, datas, needs, plan):
        if not isinstance(a, Tensor):  # a constant
            kept.append(d)
            edges.append(None)
        else:
            edge = (a._node or a) if need else None
            if save:
                kept.append(d)
                c = a._vc or counter(a)
                vers += ((i, c, c[0]) if a.name is None else (i, c, c[0], a.name),)
            else:
                kept.append(edge if edge is not None else Meta(d.shape, d.dtype, a.name))
            edges.append(edge)
        i += 1
    if op.save_output:
        if vc is None:
            vc = [0]
        vers += ((-1, vc, vc[0]),)
    node = Node(op, tuple(edges), tuple(kept), attrs or None, needs, out if op.save_output else None,
                vers or None, out.shape, out.dtype)
    if threads.anomaly and state.anomaly:
        anomaly.forward_check(node, out)
    t = make(out, node, vc)
    if op.view and vc is not None:
        _view(t)
    return _out(t, op, datas, attrs) if threads.trace else t


def _out(t, op, datas, attrs):
    """The output Tensor, shown first to a tracer (autograd.compile) when one is watching
    (callers test `threads.trace` first: off, this costs nothing)."""
    if state.tracer is not None:
        state.tracer(op, datas, attrs, t)
    return t


_NEEDS = ((False, False), (False, True), (True, False), (True, True))  # by 2·ra + rb
_ONE = (True,)


def binary(op, a, b):
    """`apply(op, a, b)` for an op without attributes, unrolled (see apply)."""
    ta = isinstance(a, Tensor)  # (a Tensor operand, or a constant as `constant` makes it)
    ad = a.data if ta else (a if type(a) is float or type(a) is int else constant(a))
    tb = isinstance(b, Tensor)
    bd = b.data if tb else (b if type(b) is float or type(b) is int else constant(b))
    ra = ta and a._requires_grad
    rb = tb and b._requires_grad
    if type(ad) is not type(bd):  # (two numpy arrays of one dtype skip both tests)
        if not ((type(bd) is float or type(bd) is int) and type(ad) is np.ndarray
                or (type(ad) is float or type(ad) is int) and type(bd) is np.ndarray):
            ad, bd = _operands(op, ad, bd)
    elif ad.dtype is not bd.dtype:
        ad, bd = _operands(op, ad, bd)
    try:
        out = op.forward(ad, bd)
    except (ValueError, TypeError) as e:
        same_device(op.name, (ad, bd))
        raise _retyped(e, _forward_error(op, (ad, bd), None, e)) from None
    if type(out) is not np.ndarray:
        out = _array(out)
    if not ((ra or rb) and state.enabled and op.differentiable):
        return _out(make(out), op, (ad, bd), None) if threads.trace else make(out)
    datas = (ad, bd) if threads.trace else None  # (for a tracer: ad, bd become stand-ins below)
    k = 2 * ra + rb
    needs = _NEEDS[k]
    s0, s1 = op.plans2[k]
    ea = (a._node or a) if ra else None
    eb = (b._node or b) if rb else None
    vers = None
    if s0:
        if ta:
            c = a._vc or counter(a)
            vers = ((0, c, c[0]) if a.name is None else (0, c, c[0], a.name),)
    else:
        ad = ea if ra else (Meta(ad.shape, ad.dtype, a.name) if ta else ad)
    if s1:
        if tb:
            c = b._vc or counter(b)
            rec = (1, c, c[0]) if b.name is None else (1, c, c[0], b.name)
            vers = (rec,) if vers is None else vers + (rec,)
    else:
        bd = eb if rb else (Meta(bd.shape, bd.dtype, b.name) if tb else bd)
    node = Node(op, (ea, eb), (ad, bd), None, needs, None, vers, out.shape, out.dtype)
    if threads.anomaly and state.anomaly:
        anomaly.forward_check(node, out)
    return _out(make(out, node), op, datas, None) if threads.trace else make(out, node)


def unary(op, a):
    """`apply(op, a)` for a Tensor `a` and an elementwise op without attributes (never a view
    op: those go through apply), unrolled (see apply)."""
    ad = a.data
    try:
        out = op.forward(ad)
    except (ValueError, TypeError) as e:
        raise _retyped(e, _forward_error(op, (ad,), None, e)) from None
    if type(out) is not np.ndarray:
        out = _array(out)
    if not (a._requires_grad and state.enabled and op.differentiable):
        return _out(make(out), op, (ad,), None) if threads.trace else make(out)
    edge = a._node or a
    kept = (edge,)
    vers = vc = None
    if op.save_output:
        vc = [0]
        vers = ((-1, vc, vc[0]),)
    if op.plan1[0]:
        kept = (ad,)
        c = a._vc or counter(a)
        rec = (0, c, c[0]) if a.name is None else (0, c, c[0], a.name)
        vers = (rec,) if vers is None else vers + (rec,)
    node = Node(op, (edge,), kept, None, _ONE, out if op.save_output else None, vers, out.shape, out.dtype)
    if threads.anomaly and state.anomaly:
        anomaly.forward_check(node, out)
    t = make(out, node, vc)
    return _out(t, op, (ad,), None) if threads.trace else t


def promote(a, b):
    """PyTorch's rule where it differs from numpy's: a floating array meeting an integer or
    bool one keeps its dtype (numpy would make float32 * int64 float64; the array API
    standard leaves mixed kinds undefined)."""
    ka, kb = backend.kind(a.dtype), backend.kind(b.dtype)
    if ka == "f" and kb in "biu":
        return a, backend.namespace(b).astype(b, a.dtype)
    if kb == "f" and ka in "biu":
        return backend.namespace(a).astype(a, b.dtype), b
    return a, b


def _operands(op, a, b):
    """`binary`'s operands when they are not two numpy arrays of one dtype: one array library
    and device (else a clear error), then `promote`."""
    if not (hasattr(a, "dtype") and hasattr(b, "dtype")):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return a, b  # (numpy's own rules for a number beside an array)
        return _with_number(a, b) if hasattr(a, "dtype") else _with_number(b, a)[::-1]
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):  # (compile's traced arrays are numpy's)
        same_device(op.name, (a, b))
    return promote(a, b) if a.dtype != b.dtype else (a, b)


def _with_number(a, n):
    """An array of another library beside a Python number: the array cast where numpy would
    promote (a bool or integer array beside a float becomes float64, a bool beside an int
    int64), since the standard leaves mixed kinds undefined."""
    if not hasattr(a, "dtype") or not isinstance(n, (int, float)):
        return a, n
    k = backend.kind(a.dtype)
    if k in "biu" and isinstance(n, float) or k == "b" and type(n) is int:
        xp = backend.namespace(a)
        a = xp.astype(a, xp.float64 if isinstance(n, float) else xp.int64)
    return a, n


def same_device(name: str, datas) -> None:
    """Raise when the op's array inputs live on different devices or in different array
    libraries (as PyTorch: nothing is copied between devices silently)."""
    seen = {}
    for i, d in enumerate(datas):
        if backend.is_array(d):
            seen.setdefault(backend.device_name(d), i)
    if len(seen) > 1:
        (d0, i0), (d1, i1) = list(seen.items())[:2]
        raise RuntimeError(
            f"{name}: expected all inputs on one device, but input {i0} is on {d0} and input {i1} "
            f"is on {d1}; move one with .to({d0!r}) or .to({d1!r})"
        )


def _array(out):
    """An op's result as an array: numpy scalars and numpy subclasses become numpy arrays,
    another library's arrays stay as they are."""
    if isinstance(out, (np.ndarray, np.generic)) or not backend.is_array(out):
        return np.asarray(out)
    return out


def _view(t: Tensor) -> Tensor:
    """Register t, made by a view op, with the version counter it shares with its base: an
    in-place change recorded for backward checks for live views (see autograd.inplace)."""
    vc = t._vc
    if len(vc) == 1:
        vc.append([])
    views = vc[1]
    if len(views) >= 8:  # (drop the dead ones now and then: a parameter viewed every step)
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(t))
    return t


def _shares(out, a) -> bool:
    if not isinstance(a, Tensor):
        return False
    if type(out) is np.ndarray:
        return out.base is not None and np.may_share_memory(out, a.data)
    base = getattr(out, "base", None)  # (CuPy's views have a base; array-api-strict tracks none)
    return base is not None and (base is a.data or base is getattr(a.data, "base", None))


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
        elif backend.is_array(d):
            parts.append(f"{backend.dtype_name(d.dtype)}{list(d.shape)} on {backend.device_name(d)}")
        else:
            parts.append(type(d).__name__)
    extra = " ".join(f"{k}={v!r}" for k, v in (attrs or {}).items() if v is not None)
    text = str(err)
    if text.startswith(op.name + ": "):  # already ours: name the op once
        text = text[len(op.name) + 2:]
    return f"{op.name}: {text} (inputs {', '.join(parts)}{'; ' + extra if extra else ''})"


# --------------------------------------------------------------------------- saved arrays
class VersionError(RuntimeError):
    """A saved array was changed in place between forward and backward."""


def check_versions(node) -> None:
    """Raise when an array the node saved was modified in place after it was saved."""
    for rec in node.vers:
        i, vc, version = rec[:3]
        if vc[0] != version:
            arr = node.out if i == -1 else node.args[i]
            what = "its output" if i == -1 else f"its input {i}"
            edge = node.edges[i] if i >= 0 else None
            name = rec[3] if len(rec) > 3 else (edge.name if isinstance(edge, Tensor) else None)
            who = f"tensor {name!r}" if name else "a tensor"
            raise VersionError(
                f"backward: one of the variables needed for gradient computation has been modified "
                f"by an inplace operation: {who} of shape {list(arr.shape)} and dtype {arr.dtype}, "
                f"{what} of op '{node.op.name}', is at version {vc[0]}; expected version {version} "
                "instead (the version it had when the op saved it). Don't change it in place before "
                "backward, or change a clone()."
            )


def unpack(node):
    """The node's saved values as Tensors connected to the graph (for create_graph): a saved
    input becomes a Tensor whose node is its edge's, the saved output one whose node is
    `node` itself, so the gradient can be differentiated again."""
    plan = node.op.plan(node.needs)
    args = []
    for a, e, saved in zip(node.args, node.edges, plan):
        if saved and backend.is_array(a):
            if e is None:
                a = make(a)
            elif isinstance(e, Tensor):
                a = e if e.data is a else make(a, None)
            else:
                a = make(a, e)
        args.append(a)
    out = node.out
    if node.op.save_output:
        out = make(out, node)
    return out, args
