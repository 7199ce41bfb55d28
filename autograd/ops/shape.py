"""Shape primitives: reshape, transpose, broadcast_to, indexing and concatenation.

None of them reads input values in backward; they only move gradient entries around.
Indexing takes numpy's forms for every array library: where a library refuses one the
standard lacks (an integer array beside a slice, a mask beside other indices, assignment
through integer arrays), the positions are worked out from the index alone, on the host,
and the data is moved with the standard's `take` and `where` (see `_take` and `_put`).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import is_array, kind, namespace, scatter_add, to_numpy
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
        return namespace(x).reshape(x, shape)

    @staticmethod
    def backward(g, out, needs, x, shape):
        return (call(Reshape, g, shape=x.shape),)


class Transpose(Op):
    """x.transpose(axes);  backward transposes by the inverse permutation"""

    name = "transpose"
    view = True
    sample = "transpose"
    ref = staticmethod(np.transpose)

    @staticmethod
    def forward(x, axes):
        return namespace(x).permute_dims(x, axes)

    @staticmethod
    def backward(g, out, needs, x, axes):
        inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return (call(Transpose, g, axes=inverse),)


class BroadcastTo(Op):
    """broadcast_to(x, shape);  the engine sums the gradient back to x's shape"""

    name = "broadcast_to"
    view = True
    sample = "broadcast"
    ref = staticmethod(np.broadcast_to)

    @staticmethod
    def forward(x, shape):
        return namespace(x).broadcast_to(x, shape)  # a read-only view at every size, as numpy's

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
            if is_array(it) and kind(it.dtype) == "b":
                continue
            return False
    return True


def _positions(shape, index) -> np.ndarray:
    """The flat positions that `zeros(shape)[index]` picks, by numpy's rules (host, int64)."""
    if isinstance(index, tuple):
        host = tuple(to_numpy(i) if is_array(i) else i for i in index)
    else:
        host = to_numpy(index) if is_array(index) else index
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[host]


def _take(x, index):
    """x[index] by numpy's rules, for a library whose own indexing refused `index`."""
    xp = namespace(x)
    p = _positions(x.shape, index)
    flat = xp.reshape(x, (-1,))
    picked = xp.take(flat, xp.asarray(p.reshape(-1), device=x.device), axis=0)
    return xp.reshape(picked, p.shape)


def _put(out, index, v):
    """out[index] = v by numpy's rules (a repeated position takes the last value), in place,
    for a library whose own indexing refused `index`."""
    xp = namespace(out)
    p = _positions(out.shape, index)
    if p.size == 0:
        return
    if not is_array(v):
        v = xp.asarray(v, dtype=out.dtype, device=out.device)
    elif v.dtype != out.dtype:
        v = xp.astype(v, out.dtype)
    values = xp.reshape(xp.broadcast_to(v, p.shape), (-1,))
    source = np.zeros(out.size, dtype=np.int64)  # which value lands on each position
    source[p.reshape(-1)] = np.arange(p.size, dtype=np.int64)
    hit = np.zeros(out.size, dtype=bool)
    hit[p.reshape(-1)] = True
    dev = out.device
    new = xp.take(values, xp.asarray(source, device=dev), axis=0)
    flat = xp.where(xp.asarray(hit, device=dev), new, xp.reshape(out, (-1,)))
    out[...] = xp.reshape(flat, out.shape)


class GetItem(Op):
    """x[index]: basic slicing, None, integer arrays (repeats accumulate), boolean masks"""

    name = "getitem"
    view = True  # basic indexing; integer-array indexing copies (checked per call)
    sample = "index"
    ref = staticmethod(lambda x, index: x[index])

    @staticmethod
    def forward(x, index):
        try:
            return x[index]
        except (IndexError, TypeError):
            if namespace(x) is np:
                raise
        return _take(x, index)  # an index form the library lacks

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
        z = namespace(g).zeros(shape, dtype=g.dtype, device=g.device)
        if is_basic_index(index):
            assign(z, index, g)
        else:
            scatter_add(z, index, g)
        return z

    @staticmethod
    def backward(gg, out, needs, g, shape, index):
        return (call(GetItem, gg, index=index),)


def assign(out, index, v) -> None:
    """out[index] = v in place, by numpy's rules, for arrays of any library (the forms the
    library's own indexing refuses go through `_put`)."""
    try:
        out[index] = v
    except (IndexError, TypeError):
        if namespace(out) is np:
            raise
        _put(out, index, v)  # an index form the library lacks


class SetItem(Op):
    """x with x[index] = v (a new array; `t[index] = v` writes it back in place);
    d/dx = g with g[index] = 0, d/dv = g[index] summed to v's shape"""

    name = "setitem"
    arity = 2
    sample = "setitem"
    ref = staticmethod(lambda x, v, index: _assigned(x, v, index))

    @staticmethod
    def forward(x, v, index):
        out = namespace(x).asarray(x, copy=True)
        assign(out, index, v)
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
        return namespace(xs[0]).concat(xs, axis=axis)

    @staticmethod
    def backward(g, out, needs, *xs, axis):
        grads = []
        start = 0
        lead = (slice(None),) * axis
        for x, need in zip(xs, needs):
            stop = start + x.shape[axis]
            grads.append(g[lead + (slice(start, stop), ...)] if need else None)
            start = stop
        return grads
