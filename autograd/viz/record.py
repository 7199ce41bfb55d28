"""Gradients of intermediate tensors, for drawing.

The engine drops an intermediate's gradient as soon as it has been passed on (that is what
keeps backward's memory flat), so a drawing made after `loss.backward()` only knows the
leaves' `.grad`. Inside `record_grads()`, every backward first hooks each tensor of its graph,
and the hook keeps a small summary of the gradient (the values when there are at most four,
else the norm and the count of NaN/inf) — not the array. Outside the context the engine pays
one thread-local attribute check per backward call, nothing per op.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from ..mode import state
from ..tensor import Tensor

SMALL = 4  # arrays up to this size are shown value by value

# id(tensor) -> (weakref to the tensor, summary); entries go when their tensor does.
_recorded: dict[int, tuple] = {}


def summarise(a) -> tuple:
    """`(values, norm, n_nan, n_inf)`: values is a tuple for arrays of at most SMALL elements."""
    a = a.data if isinstance(a, Tensor) else a
    if type(a) is not np.ndarray:
        a = np.asarray(a)
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


def recorded(t: Tensor):
    """The summary recorded for `t`'s gradient by the last backward inside `record_grads`, or None."""
    entry = _recorded.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def _store(t: Tensor, summary: tuple) -> None:
    k = id(t)
    _recorded[k] = (weakref.ref(t, lambda _r, k=k: _recorded.pop(k, None)), summary)


class record_grads:
    """Keep a summary of every tensor's gradient during backward, so `draw` can show them.

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
        self._handles: list = []
        self._hooked: set[int] = set()
        self._prev = None

    def __enter__(self):
        self._prev = state.on_backward
        state.on_backward = self._observe
        return self

    def __exit__(self, *exc):
        state.on_backward = self._prev
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._hooked.clear()
        return False

    def _observe(self, roots) -> None:
        """Called by `engine.run_backward` before it starts: hook every tensor of the graph."""
        if self._prev is not None:
            self._prev(roots)
        stack = [r for r in roots if isinstance(r, Tensor)]
        seen = {id(t) for t in stack}
        while stack:
            t = stack.pop()
            if t.requires_grad and id(t) not in self._hooked:
                self._hooked.add(id(t))
                self._handles.append(t.register_hook(_hook_for(t)))
            node = t._node
            if node is None:
                continue
            for inp in node.inputs:
                if isinstance(inp, Tensor) and id(inp) not in seen:
                    seen.add(id(inp))
                    stack.append(inp)


def _hook_for(t: Tensor):
    ref = weakref.ref(t)  # the hook lives in t._hooks: a strong reference would be a cycle

    def keep_summary(g):
        owner = ref()
        if owner is not None:
            _store(owner, summarise(g))

    return keep_summary
