"""Fused primitives for neural networks, where one op is both faster and stabler than its
composition: the affine map of a dense layer and the losses that pair a log-likelihood with
its link function (softmax + cross-entropy, sigmoid + binary cross-entropy).

Like every primitive, each backward is written with operators, methods and `call(...)`, so it
also runs on Tensors under `create_graph=True`. Forwards call the array API standard on the
inputs' own namespace (numpy's functions for numpy arrays).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import errstate, namespace
from ..node import call, raw
from .elementwise import Exp, Log, Maximum, Sigmoid, Softplus
from .reductions import LogSoftmax, Sum, _log_softmax
from .registry import Op
from .shape import Reshape


def _linear(x, w, b=None):
    out = x @ w.T  # (w is 2-d: .T is the standard's there)
    if b is not None:
        out += b  # `out` is fresh: add the bias in place instead of allocating again
    return out


class Linear(Op):
    """x @ wᵀ + b, x of shape (..., in), w (out, in), b (out,) or None;
    d/dx = g w, d/dw = gᵀ x, d/db = Σ g over the leading axes"""

    name = "linear"
    save_inputs = {0: (1,), 1: (0,)}
    arity = 3
    sample = "linear"
    ref = staticmethod(lambda x, w, b=None: x @ w.T + (0 if b is None else b))

    forward = staticmethod(_linear)

    @staticmethod
    def backward(g, out, needs, x, w, b=None):
        gx = g @ w if needs[0] else None
        gw = gb = None
        if needs[1] or (len(needs) > 2 and needs[2]):
            g2 = call(Reshape, g, shape=(-1, w.shape[0])) if g.ndim != 2 else g
            if needs[1]:
                x2 = call(Reshape, x, shape=(-1, w.shape[1])) if x.ndim != 2 else x
                gw = g2.T @ x2
            if len(needs) > 2 and needs[2]:
                gb = call(Sum, g2, axis=(0,))
        return gx, gw, gb


def _softmax_xent(z, q):
    return -Sum.forward(q * _log_softmax(z, z.ndim - 1), axis=(z.ndim - 1,))


class SoftmaxCrossEntropy(Op):
    """-Σ_c q_c log softmax(z)_c along the last axis, per row; finite for logits of ±1e4.
    d/dz = softmax(z) Σ_c q_c - q,  d/dq = -log softmax(z)"""

    name = "softmax_cross_entropy"
    save_inputs = {0: (0, 1), 1: (0,)}  # q only for z's gradient
    arity = 2
    sample = "rows"
    domain = ((-10.0, 10.0), (0.0, 1.0))
    ref = staticmethod(
        lambda z, q: -(q * (z - np.log(np.exp(z).sum(-1, keepdims=True)))).sum(-1)
    )

    forward = staticmethod(_softmax_xent)

    @staticmethod
    def backward(g, out, needs, z, q):
        logp = call(LogSoftmax, z, axis=z.ndim - 1)
        gk = g[..., None]
        if needs[0]:
            gz = gk * (call(Exp, logp) * call(Sum, q, axis=(q.ndim - 1,), keepdims=True) - q)
        else:
            gz = None
        gq = -(gk * logp) if needs[1] else None
        return gz, gq


def _bce_logits(x, y, pos_weight=1.0):
    sp = namespace(x).logaddexp(0, -x)  # softplus(-x) = -log σ(x), overflow-free
    if isinstance(pos_weight, float) and pos_weight == 1.0:
        return (1 - y) * x + sp
    return (1 - y) * x + (1 + (pos_weight - 1) * y) * sp


def _softplus(x):
    return call(Softplus, x, beta=1.0, threshold=20.0)


class BCEWithLogits(Op):
    """(1-y) x + (1 + (pw-1) y) softplus(-x), elementwise (as torch); finite for ±1e4.
    d/dx = (1-y) - (1 + (pw-1) y) σ(-x)"""

    name = "bce_with_logits"
    save_inputs = {0: (0, 1, 2), 1: (0, 2), 2: (0, 1)}  # y's gradient reads x and pw, pw's x and y
    arity = 3
    domain = ((-6.0, 6.0), (0.0, 1.0), (0.5, 3.0))
    ref = staticmethod(
        lambda x, y, pw=1.0: (1 - y) * x + (1 + (pw - 1) * y) * np.log1p(np.exp(-x))
    )

    forward = staticmethod(_bce_logits)

    @staticmethod
    def backward(g, out, needs, x, y, pos_weight=1.0):
        pw = pos_weight
        gx = gy = gpw = None
        if needs[0]:
            gx = g * ((1 - y) - (1 + (pw - 1) * y) * (1 - call(Sigmoid, x)))
        if needs[1] or (len(needs) > 2 and needs[2]):
            sp = _softplus(-x)
            if needs[1]:
                gy = g * ((pw - 1) * sp - x)
            if len(needs) > 2 and needs[2]:
                gpw = g * y * sp
        return gx, gy, gpw


def _bce(p, y):
    xp = namespace(p)
    with errstate(xp, divide="ignore"):
        # torch clamps each log at -100 so p = 0 or 1 gives a finite loss
        lp = xp.maximum(xp.log(p), -100)
        l1p = xp.maximum(xp.log1p(-p), -100)
    return -(y * lp + (1 - y) * l1p)


class BinaryCrossEntropy(Op):
    """-(y log p + (1-y) log(1-p)), logs clamped at -100 (as torch);
    d/dp = (p - y) / max(p (1-p), 1e-12),  d/dy = log(1-p) - log p"""

    name = "binary_cross_entropy"
    save_inputs = {0: (0, 1), 1: (0,)}  # y only for p's gradient
    arity = 2
    domain = ((0.05, 0.95), (0.0, 1.0))
    ref = staticmethod(lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)))

    forward = staticmethod(_bce)

    @staticmethod
    def backward(g, out, needs, p, y):
        gp = gy = None
        if needs[0]:
            gp = g * (p - y) / call(Maximum, p * (1 - p), 1e-12)
        if needs[1]:
            with errstate(namespace(raw(p)), divide="ignore"):  # log 0 = -inf, clamped like the forward
                gy = g * (call(Maximum, call(Log, 1 - p), -100.0) - call(Maximum, call(Log, p), -100.0))
        return gp, gy


def _mse(x, y, reduction):
    d = x - y
    sq = d * d
    if reduction == "none":
        return sq
    s = Sum.forward(sq)  # (numpy: the ufunc's reduce, without np.sum's wrapper)
    return s / sq.size if reduction == "mean" else s


def _mse_ref(x, y, reduction):
    """Test reference: Python floats and math.fsum, pair by pair (not the vectorised forward)."""
    xb, yb = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    sq = [(a - b) ** 2 for a, b in zip(xb.ravel().tolist(), yb.ravel().tolist())]
    if reduction == "none":
        return np.array(sq, dtype=np.float64).reshape(xb.shape)
    return math.fsum(sq) / (len(sq) if reduction == "mean" else 1)


class MseLoss(Op):
    """(x - y)², averaged, summed or kept elementwise; one node instead of sub, mul and mean.
    d/dx = 2 (x - y) · g (/ n for the mean),  d/dy = -d/dx"""

    name = "mse_loss"
    save_inputs = (0, 1)
    arity = 2
    attrs = ({"reduction": "mean"}, {"reduction": "sum"}, {"reduction": "none"})
    ref = staticmethod(_mse_ref)

    forward = staticmethod(_mse)

    @staticmethod
    def backward(g, out, needs, x, y, reduction):
        d = x - y
        scale = 2.0 / d.size if reduction == "mean" else 2.0
        gd = g * scale * d
        return (gd if needs[0] else None), (-gd if needs[1] else None)
