"""Matrix product in every numpy case: 1-d·1-d, 1-d·n-d, n-d·1-d, batched with broadcasting."""

from __future__ import annotations

import operator

import numpy as np

from ..node import call
from ..tensor import Tensor
from .registry import Op
from .shape import Reshape, Transpose


def _swap_last(a):
    """a with its last two axes exchanged: the standard's `mT` of an array, a transpose op of a Tensor."""
    if isinstance(a, Tensor):
        n = a.ndim
        return call(Transpose, a, axes=tuple(range(n - 2)) + (n - 1, n - 2))
    return a.mT


class Matmul(Op):
    """a @ b;  d/da = g @ bᵀ, d/db = aᵀ @ g (1-d operands promoted, then squeezed back)"""

    name = "matmul"
    save_inputs = {0: (1,), 1: (0,)}
    arity = 2
    sample = "matmul"
    ref = staticmethod(np.matmul)

    forward = staticmethod(operator.matmul)  # (np.matmul for numpy arrays; every array library's @)

    @staticmethod
    def backward(g, out, needs, a, b):
        a1, b1 = a.ndim == 1, b.ndim == 1
        # Matrix-vector cases without reshapes: one product per gradient (gemv, and an
        # outer product by broadcasting, ~2x cheaper than a (m,1)@(1,n) matmul); under
        # create_graph this also records one op per gradient instead of four.
        if b1 and a.ndim == 2:
            ga = call(Reshape, g, shape=(g.shape[0], 1)) * b if needs[0] else None
            return ga, (g @ a if needs[1] else None)
        if a1 and b.ndim == 2:
            gb = call(Reshape, a, shape=(a.shape[0], 1)) * g if needs[1] else None
            return (b @ g if needs[0] else None), gb
        if a1 and b1:  # a dot product: g is 0-d
            return (g * b if needs[0] else None), (g * a if needs[1] else None)
        if a1 or b1:  # give g back the axes the product dropped
            shape = tuple(g.shape)
            g = call(Reshape, g, shape=shape + (1,) if b1 else shape[:-1] + (1,) + shape[-1:])
        ga = gb = None
        if needs[0]:  # (only the input a gradient reads is kept: b for a's, a for b's)
            B = call(Reshape, b, shape=(b.shape[0], 1)) if b1 else b
            ga = g @ _swap_last(B)
            if a1:
                ga = ga[..., 0, :]
        if needs[1]:
            A = call(Reshape, a, shape=(1, a.shape[0])) if a1 else a
            gb = _swap_last(A) @ g
            if b1:
                gb = gb[..., 0]
        return ga, gb
