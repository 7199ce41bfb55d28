"""Matrix product in every numpy case: 1-d·1-d, 1-d·n-d, n-d·1-d, batched with broadcasting."""

from __future__ import annotations

import numpy as np

from ..node import call
from .registry import Op
from .shape import Reshape


class Matmul(Op):
    """a @ b;  d/da = g @ bᵀ, d/db = aᵀ @ g (1-d operands promoted, then squeezed back)"""

    name = "matmul"
    save_inputs = {0: (1,), 1: (0,)}
    arity = 2
    sample = "matmul"
    ref = staticmethod(np.matmul)

    forward = staticmethod(np.matmul)

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
        if a1 or b1:  # give g back the axes the product dropped
            gshape = tuple(g.shape) + ((1,) if b1 else ())
            if a1:
                gshape = gshape[:-1] + (1,) + gshape[-1:] if not b1 else gshape[:-1] + (1, 1)
            g = g.reshape(gshape)
        ga = gb = None
        if needs[0]:  # (only the input a gradient reads is kept: b for a's, a for b's)
            B = b.reshape(b.shape[0], 1) if b1 else b
            ga = g @ B.swapaxes(-1, -2)
            if a1:
                ga = ga[..., 0, :]
        if needs[1]:
            A = a.reshape(1, a.shape[0]) if a1 else a
            gb = A.swapaxes(-1, -2) @ g
            if b1:
                gb = gb[..., 0]
        return ga, gb
