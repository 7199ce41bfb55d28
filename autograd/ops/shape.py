"""Shape primitives: reshape, transpose, broadcast_to, indexing and concatenation.

None of them reads input values in backward; they only move gradient entries around.
"""

from __future__ import annotations

import numpy as np

from ..node import call
from .registry import Op


class Reshape(Op):
    """x.reshape(shape);  backward reshapes back"""

    name = "reshape"
    view = True
    sample = "reshape"
    ref = staticmethod(np.reshape)

    @staticmethod
    def forward(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def backward(g, out, needs, x, shape):
        return (g.reshape(x.shape),)


class Transpose(Op):
    """x.transpose(axes);  backward transposes by the inverse permutation"""

    name = "transpose"
    view = True
    sample = "transpose"
    ref = staticmethod(np.transpose)

    @staticmethod
    def forward(x, axes):
        return np.transpose(x, axes)

    @staticmethod
    def backward(g, out, needs, x, axes):
        return (g.transpose(tuple(np.argsort(axes).tolist())),)


class BroadcastTo(Op):
    """broadcast_to(x, shape);  the engine sums the gradient back to x's shape"""

    name = "broadcast_to"
    view = True
    sample = "broadcast"
    ref = staticmethod(np.broadcast_to)

    @staticmethod
    def forward(x, shape):
        return np.broadcast_to(x, shape)  # a read-only view at every size, as numpy's

    @staticmethod
    def backward(g, out, needs, x, shape):
        return (g,)


def is_basic_index(index) -> bool:
    """True when numpy indexing with `index` is basic (a view; no repeated elements)."""
    items = index if isinstance(index, tuple) else (index,)
    for it in items:
        if not (it is None or it is Ellipsis or isinstance(it, (int, np.integer, slice))):
            if isinstance(it, np.ndarray) and it.dtype == bool:
                continue
            return False
    return True


class GetItem(Op):
    """x[index]: basic slicing, None, integer arrays (repeats accumulate), boolean masks"""

    name = "getitem"
    view = True  # basic indexing; integer-array indexing copies (checked per call)
    sample = "index"
    ref = staticmethod(lambda x, index: x[index])

    @staticmethod
    def forward(x, index):
        return x[index]

    @staticmethod
    def backward(g, out, needs, x, index):
        return (call(UnIndex, g, shape=x.shape, index=index),)


class UnIndex(Op):
    """zeros(shape)[index] += g: the adjoint of x[index]"""

    name = "unindex"
    sample = "unindex"

    @staticmethod
    def ref(g, shape, index):
        z = np.zeros(shape, dtype=g.dtype)
        np.add.at(z, index, g)
        return z

    @staticmethod
    def forward(g, shape, index):
        z = np.zeros(shape, dtype=g.dtype)
        if is_basic_index(index):
            z[index] = g
        else:
            np.add.at(z, index, g)
        return z

    @staticmethod
    def backward(gg, out, needs, g, shape, index):
        return (call(GetItem, gg, index=index),)


class SetItem(Op):
    """x with x[index] = v (a new array; `t[index] = v` writes it back in place);
    d/dx = g with g[index] = 0, d/dv = g[index] summed to v's shape"""

    name = "setitem"
    arity = 2
    sample = "setitem"
    ref = staticmethod(lambda x, v, index: _assigned(x, v, index))

    @staticmethod
    def forward(x, v, index):
        out = x.copy()
        out[index] = v
        return out

    @staticmethod
    def backward(g, out, needs, x, v, index):
        gx = call(SetItem, g, 0.0, index=index) if needs[0] else None
        gv = call(GetItem, g, index=index) if needs[1] else None
        return gx, gv


def _assigned(x, v, index):
    out = np.array(x, copy=True)
    positions = np.arange(out.size).reshape(out.shape)[index]
    np.put(out, positions, np.broadcast_to(v, positions.shape))  # (np.put cycles v, never broadcasts it)
    return out


class Concatenate(Op):
    """concatenate(xs, axis);  backward slices the gradient back into pieces"""

    name = "concatenate"
    sample = "concatenate"
    arity = -1  # variadic
    ref = staticmethod(lambda *xs, axis: np.concatenate(xs, axis=axis))

    @staticmethod
    def forward(*xs, axis):
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def backward(g, out, needs, *xs, axis):
        grads = []
        start = 0
        lead = (slice(None),) * axis
        for x, need in zip(xs, needs):
            stop = start + x.shape[axis]
            grads.append(g[lead + (slice(start, stop),)] if need else None)
            start = stop
        return grads
