"""What a drawing shows that backward frees: gradients of intermediates and saved values.

The engine drops an intermediate's gradient as soon as it has been passed on, and frees the
arrays its nodes saved when backward ends (that is what keeps memory flat), so a drawing made
after `loss.backward()` only knows the leaves' `.grad`. Inside `record_grads()`, every
backward first walks its graph: it hooks each vertex (node or leaf), and the hook keeps a
small summary of the gradient (the values when there are at most four, else the norm and the
count of NaN/inf); and it keeps a summary of each array a node saved, in the same way. Never
the arrays themselves. Outside the context the engine pays one thread-local attribute check
per backward call, nothing per op. Arrays on a device (CuPy, ...) are read back to the host
(`backend.to_numpy`) before they are summarised.

Everything is keyed by the object itself through weak references, never by a bare `id()`:
a training loop makes new nodes at the addresses of freed ones every step.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from .. import backend
from ..mode import state
from ..node import Meta, Node
from ..tensor import Tensor

SMALL = 4  # arrays up to this size are shown value by value


class _Ref(weakref.ref):
    __slots__ = ("key",)


class WeakTable:
    """obj -> value by identity; an entry goes when its object does. (Not a
    WeakKeyDictionary: Tensors compare elementwise, so they can't be dictionary keys.)"""

    __slots__ = ("_d", "_gone", "__weakref__")

    def __init__(self):
        self._d: dict[int, list] = {}
        table = weakref.ref(self)

        def gone(r):  # one callback for all entries: the ref carries its key
            t = table()
            if t is not None:
                e = t._d.get(r.key)
                if e is not None and e[0] is r:
                    del t._d[r.key]

        self._gone = gone

    def get(self, obj):
        e = self._d.get(id(obj))
        return e[1] if e is not None and e[0]() is obj else None

    def set(self, obj, value) -> None:
        k = id(obj)
        e = self._d.get(k)
        if e is not None and e[0]() is obj:
            e[1] = value
            return
        r = _Ref(obj, self._gone)
        r.key = k
        self._d[k] = [r, value]

    def alive(self) -> list:
        return [o for o in (e[0]() for e in list(self._d.values())) if o is not None]

    def __len__(self) -> int:
        return len(self._d)


# vertex (Node or leaf Tensor) -> (summary of the gradient it received, its place in the
# engine's order in the last backward, the gradient's histogram)
_grads = WeakTable()
_saved = WeakTable()  # Node -> Snapshot of what it saved, taken before backward frees it


# --------------------------------------------------------------------------- summaries
def _num(v: float) -> str:
    return f"{v:.4g}"


def values_text(vals) -> str:
    if len(vals) == 1:
        return _num(vals[0])
    return "[" + ", ".join(_num(v) for v in vals) + "]"


def bad_text(n_nan: int, n_inf: int) -> str:
    parts = []
    if n_nan:
        parts.append(f"{n_nan} nan")
    if n_inf:
        parts.append(f"{n_inf} inf")
    return ", ".join(parts)


def value_summary(a) -> tuple[str, bool]:
    """`(text, non_finite)` for an array's values: the values when few, else mean and std."""
    a = backend.to_numpy(a)
    if a.size <= SMALL:
        vals = a.ravel().tolist()
        if a.dtype.kind == "c":
            return "data " + str(vals), False
        return "data " + values_text(vals), not all(map(math.isfinite, vals))
    if a.dtype.kind not in "fc":
        return f"data min {_num(a.min())} max {_num(a.max())}", False
    mean = float(a.mean(dtype=np.float64))
    if np.isfinite(mean):
        return f"data mean {_num(mean)} std {_num(float(a.std(dtype=np.float64)))}", False
    return "data " + bad_text(int(np.isnan(a).sum()), int(np.isinf(a).sum())), True


BINS = 16  # histogram bins (the interactive page draws them)


def histogram(a):
    """`(lo, hi, counts)` of an array's finite values in BINS bins, or None (no numbers, or
    at most SMALL of them: those are shown one by one)."""
    a = a.data if isinstance(a, Tensor) else a
    if not backend.is_array(a) or a.size <= SMALL or backend.kind(a.dtype) not in "fiub":
        return None
    a = backend.to_numpy(a)
    if a.dtype.kind == "f":
        a = a[np.isfinite(a)]
        if a.size == 0:
            return None
    lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        return lo, hi, [int(a.size)]
    return lo, hi, np.histogram(a, bins=BINS, range=(lo, hi))[0].tolist()


def summarise(a) -> tuple:
    """`(values, norm, n_nan, n_inf)` of a gradient: values is a tuple for arrays of at most SMALL elements."""
    a = a.data if isinstance(a, Tensor) else a
    if type(a) is not np.ndarray:
        a = backend.to_numpy(a)
    if a.size <= SMALL and a.dtype.kind in "fiub":
        vals = tuple(a.ravel().tolist())
        norm = math.sqrt(math.fsum(v * v for v in vals))
    else:
        vals = None
        norm = float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))
    n_nan = n_inf = 0
    if not np.isfinite(norm) and a.dtype.kind in "fc":
        n_nan = int(np.isnan(a).sum())
        n_inf = int(np.isinf(a).sum())
    return vals, norm, n_nan, n_inf


class Kept(Meta):
    """What `record_grads` keeps of a saved array: shape, dtype, `value_summary`, histogram."""

    __slots__ = ("text", "bad", "hist")

    def __init__(self, a):
        a = backend.to_numpy(a)
        super().__init__(a.shape, a.dtype)
        self.text, self.bad = value_summary(a)
        self.hist = histogram(a)


class Snapshot:
    """A node's `args` and `out` as drawings read them, with every array replaced by `Kept`."""

    __slots__ = ("args", "out")

    def __init__(self, args, out):
        self.args = args
        self.out = out


def _snapshot(node: Node, kept: dict) -> Snapshot:
    """`kept` maps id(array) -> Kept within one backward, so an array saved by several nodes
    (a data batch read twice) stays one input in the drawing."""

    def keep(a):
        k = kept.get(id(a))
        if k is None:
            k = kept[id(a)] = Kept(a)
        return k

    args = tuple(keep(a) if backend.is_array(a) else (None if a is e and e is not None else a)
                 for a, e in zip(node.args, node.edges))
    out = keep(node.out) if backend.is_array(node.out) else None
    return Snapshot(args, out)


def recorded(t):
    """The gradient summary recorded for `t` (a Tensor or a Node) by the last backward inside
    `record_grads`, or None. A non-leaf Tensor's gradient is its node's."""
    if isinstance(t, Tensor) and t._node is not None:
        t = t._node
    e = _grads.get(t)
    return e[0] if e is not None else None


def step(t):
    """`(place, histogram)`: when `t` (a Tensor or a Node) got its gradient in the last
    backward inside `record_grads` (0 first, in the engine's order), and that gradient's
    histogram; or None."""
    if isinstance(t, Tensor) and t._node is not None:
        t = t._node
    e = _grads.get(t)
    return e[1:] if e is not None else None


def snapshot(node: Node):
    """What `record_grads` kept of the node's saved arrays (a Snapshot), or None."""
    return _saved.get(node)


# --------------------------------------------------------------------------- the context
class record_grads:
    """Keep a summary of every gradient (and of every saved value) during backward, so that
    `draw` can show them after backward has freed them.

    >>> import autograd
    >>> from autograd import viz
    >>> x = autograd.tensor(2.0, requires_grad=True)
    >>> y = x * x
    >>> with viz.record_grads():
    ...     (y * 3).backward()
    >>> viz.record.recorded(y)[0]   # dL/dy = 3
    (3.0,)
    """

    def __init__(self):
        self._key = object()  # our hook's key in each vertex's `_hooks` dict
        self._hooked = WeakTable()  # the vertices carrying our hook, to unhook at exit
        self._prev = None
        self.count = 0  # gradients received in the current backward, in the engine's order

    def __enter__(self):
        self._prev = state.on_backward
        state.on_backward = self._observe
        return self

    def __exit__(self, *exc):
        state.on_backward = self._prev
        for v in self._hooked.alive():
            hooks = v._hooks
            if hooks is not None:
                hooks.pop(self._key, None)
                if not hooks:
                    v._hooks = None
        self._hooked = WeakTable()
        return False

    def _observe(self, roots) -> None:
        """Called by `engine.run_backward` before it starts: hook every vertex of the graph
        and keep what its nodes saved."""
        if self._prev is not None:
            self._prev(roots)
        key = self._key
        self.count = 0
        stack = [t._node if t._node is not None else t for t in roots if isinstance(t, Tensor)]
        seen = {id(v) for v in stack}
        kept: dict = {}
        while stack:
            v = stack.pop()
            hooks = v._hooks
            if hooks is None or key not in hooks:  # hooked once per context, however many backwards
                if hooks is None:
                    v._hooks = hooks = {}
                hooks[key] = _hook_for(v, self)
                self._hooked.set(v, True)
            if not isinstance(v, Node):
                continue
            if v.vers is not None and v.args is not None:  # backward will free these
                _saved.set(v, _snapshot(v, kept))
            for e in v.edges:
                if e is not None and id(e) not in seen:
                    seen.add(id(e))
                    stack.append(e)


def _hook_for(v, ctx: record_grads):
    ref = weakref.ref(v)  # the hook lives in v._hooks: a strong reference would be a cycle

    def keep_summary(g):
        owner = ref()
        if owner is not None:
            _grads.set(owner, (summarise(g), ctx.count, histogram(g)))
            ctx.count += 1

    return keep_summary
