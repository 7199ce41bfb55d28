"""Shape primitives: reshape, transpose, broadcast_to, indexing and concatenation.

None of them reads input values in backward; they only move gradient entries around.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import call
from .registry import Op


class Reshape(Op):
    """x.reshape(shape);  backward reshapes back"""

    name = "reshape"
    needs_inputs = False
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
    needs_inputs = False
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
    needs_inputs = False
    sample = "broadcast"
    ref = staticmethod(np.broadcast_to)

    @staticmethod
    def forward(x, shape):
        if math.prod(shape) <= 4096:  # small: filling a new array beats np.broadcast_to's wrapper
            out = np.empty(shape, dtype=x.dtype)
            out[...] = x
            return out
        return np.broadcast_to(x, shape)

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
    needs_inputs = False
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
    needs_inputs = False
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


class Concatenate(Op):
    """concatenate(xs, axis);  backward slices the gradient back into pieces"""

    name = "concatenate"
    needs_inputs = False
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
