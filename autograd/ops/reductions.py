"""Reductions and normalisations along axes: sum, mean, max, min, logsumexp, softmax.

Attributes arrive normalised by the public functions: `axis` is a tuple of non-negative
ints or None (all axes), `keepdims` a bool.
"""

from __future__ import annotations

import math

import numpy as np

from ..node import call, raw
from .elementwise import Exp, Where
from .registry import Op
from .shape import BroadcastTo


def kept_shape(shape: tuple, axis) -> tuple:
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else s for i, s in enumerate(shape))


def _spread(g, x, axis, keepdims):
    """Gradient of a reduction's output, reshaped to keepdims form (a full reduction's
    0-d gradient broadcasts as it is)."""
    if keepdims or axis is None:
        return g
    return g.reshape(kept_shape(x.shape, axis))


def _count(shape, axis) -> int:
    if axis is None:
        return math.prod(shape)  # (np.prod on a tuple costs microseconds)
    return math.prod(shape[i] for i in axis)


class Sum(Op):
    """sum over axis;  d/dx = 1 broadcast back"""

    name = "sum"
    sample = "reduce"
    ref = staticmethod(np.sum)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        if x.dtype.kind == "f":  # the ufunc directly: np.sum's wrapper costs more than a small sum
            return np.add.reduce(x, axis=axis, keepdims=keepdims)
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        return (call(BroadcastTo, _spread(g, x, axis, keepdims), shape=x.shape),)


class Mean(Op):
    """mean over axis;  d/dx = 1/n broadcast back"""

    name = "mean"
    sample = "reduce"
    ref = staticmethod(np.mean)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        if x.dtype.kind == "f" and x.dtype.itemsize >= 4:  # (np.mean accumulates float16 in float32)
            return np.true_divide(np.add.reduce(x, axis=axis, keepdims=keepdims), _count(x.shape, axis))
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        gk = _spread(g, x, axis, keepdims) / _count(x.shape, axis)
        return (call(BroadcastTo, gk, shape=x.shape),)


class _Extreme(Op, register=False):
    save_inputs = (0,)
    save_output = True
    sample = "reduce_distinct"

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        # Ties share the gradient evenly (as torch.amax / numpy's subgradient convention).
        xd = raw(x)
        hit = xd == raw(out if keepdims else out.reshape(kept_shape(xd.shape, axis)))
        share = hit / hit.sum(axis=axis, keepdims=True)
        return (_spread(g, x, axis, keepdims) * share.astype(xd.dtype, copy=False),)


class Max(_Extreme):
    """max over axis"""

    name = "max"
    ref = staticmethod(np.max)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return np.max(x, axis=axis, keepdims=keepdims)


class Min(_Extreme):
    """min over axis"""

    name = "min"
    ref = staticmethod(np.min)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return np.min(x, axis=axis, keepdims=keepdims)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)  # (initial: an empty axis gives -inf)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):  # log 0 = -inf: the sum over an empty axis
        s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else s.reshape(np.sum(x, axis=axis).shape)


class LogSumExp(Op):
    """log Σ exp x, shifted by the max (finite for ±1e4);  d/dx = softmax x"""

    name = "logsumexp"
    save_inputs = (0,)
    save_output = True
    sample = "reduce"
    domain = (-10.0, 10.0)
    ref = staticmethod(lambda x, axis=None, keepdims=False: _reduce_ref(x, axis, keepdims, _lse_ref))

    forward = staticmethod(_logsumexp)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        shape = kept_shape(x.shape, axis)
        gk = g if keepdims else g.reshape(shape)
        ok = out if keepdims else out.reshape(shape)
        return (gk * call(Exp, x - ok),)


def _std(x, axis=None, keepdims=False, ddof=0):
    # float16/32 are squared in float64: values around 1e20 would overflow float32's square
    wide = np.float64 if x.dtype.kind == "f" and x.dtype.itemsize < 8 else None
    return np.asarray(np.std(x, axis=axis, keepdims=keepdims, ddof=ddof, dtype=wide)).astype(x.dtype, copy=False)


class Std(Op):
    """standard deviation over axis, numpy's ddof;  d/dx = (x - mean) / ((n - ddof) std),
    0 where std = 0 (as torch: a constant's std has gradient 0, not nan)"""

    name = "std"
    save_inputs = (0,)
    save_output = True
    sample = "reduce_distinct"
    ref = staticmethod(lambda x, axis=None, keepdims=False, ddof=0: _reduce_ref(x, axis, keepdims, _std_ref))

    forward = staticmethod(_std)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False, ddof=0):
        n = _count(x.shape, axis)
        sk = out if keepdims else out.reshape(kept_shape(x.shape, axis))
        zero = np.asarray(raw(sk) == 0)
        scale = _spread(g, x, axis, keepdims) / (call(Where, zero, 1.0, sk) * (n - ddof))
        d = x - call(Mean, x, axis=axis, keepdims=True)
        return (call(Where, zero, 0.0, scale) * d,)


def _norm(x, axis=None, keepdims=False):
    wide = np.float64 if x.dtype.kind == "f" and x.dtype.itemsize < 8 else x.dtype  # (as _std)
    sq = np.square(x, dtype=wide)
    return np.sqrt(np.add.reduce(sq, axis=axis, keepdims=keepdims)).astype(x.dtype, copy=False)


class Norm(Op):
    """Euclidean norm over axis;  d/dx = x / norm, 0 where the norm is 0 (as torch)"""

    name = "norm"
    save_inputs = (0,)
    save_output = True
    sample = "reduce"
    kinks = (0.0,)  # a one-element lane's norm is |x|
    ref = staticmethod(lambda x, axis=None, keepdims=False: _reduce_ref(
        x, axis, keepdims, lambda lane: math.sqrt(math.fsum(v * v for v in lane))))

    forward = staticmethod(_norm)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        nk = out if keepdims else out.reshape(kept_shape(x.shape, axis))
        zero = np.asarray(raw(nk) == 0)
        scale = _spread(g, x, axis, keepdims) / call(Where, zero, 1.0, nk)
        return (call(Where, zero, 0.0, scale) * x,)


# Test references (`ref`): each lane in Python floats with math.fsum, not the vectorised forward.
def _lanes(x, axes):
    """x in float64 as one list per lane along `axes`, and the axis order that lays them out."""
    rest = [i for i in range(x.ndim) if i not in axes]
    order = rest + list(axes)
    rows = np.transpose(np.asarray(x, dtype=np.float64), order).reshape(_count(x.shape, rest), _count(x.shape, axes))
    return rows.tolist(), order


def _reduce_ref(x, axis, keepdims, fn):
    x = np.asarray(x)
    axes = tuple(range(x.ndim)) if axis is None else tuple(axis)
    rows, _ = _lanes(x, axes)
    out = np.array([fn(r) for r in rows], dtype=np.float64)
    return out.reshape(kept_shape(x.shape, axes) if keepdims else [s for i, s in enumerate(x.shape) if i not in axes])


def _lanewise_ref(x, axis, fn):
    x = np.asarray(x)
    rows, order = _lanes(x, (axis,))
    out = np.array([fn(r) for r in rows], dtype=np.float64)
    return np.transpose(out.reshape([x.shape[i] for i in order]), np.argsort(order))


def _lse_ref(lane):
    m = max(lane)
    return m + math.log(math.fsum(math.exp(v - m) for v in lane))


def _softmax_ref(lane):
    m = max(lane)
    e = [math.exp(v - m) for v in lane]
    s = math.fsum(e)
    return [u / s for u in e]


def _std_ref(lane):
    mean = math.fsum(lane) / len(lane)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in lane) / len(lane))


def _log_softmax_ref(lane):
    lse = _lse_ref(lane)
    return [v - lse for v in lane]


def _softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))  # (empty axis: empty result)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    # (x - m) - log Σ exp(x - m), not x - logsumexp: with logits of 1e8 in float32, 1e8 + log 3
    # rounds back to 1e8 and three equal logits would give a cross-entropy of 0 instead of log 3
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    s = x - np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


class Softmax(Op):
    """exp x / Σ exp x along axis;  backward y (g - Σ g y)"""

    name = "softmax"
    save_output = True
    sample = "axis"
    domain = (-10.0, 10.0)
    ref = staticmethod(lambda x, axis: _lanewise_ref(x, axis, _softmax_ref))

    forward = staticmethod(_softmax)

    @staticmethod
    def backward(g, out, needs, x, axis):
        return (out * (g - (g * out).sum(axis=axis, keepdims=True)),)


class LogSoftmax(Op):
    """x - logsumexp x along axis;  backward g - softmax(x) Σ g"""

    name = "log_softmax"
    save_output = True
    sample = "axis"
    domain = (-10.0, 10.0)
    ref = staticmethod(lambda x, axis: _lanewise_ref(x, axis, _log_softmax_ref))

    forward = staticmethod(_log_softmax)

    @staticmethod
    def backward(g, out, needs, x, axis):
        return (g - call(Exp, out) * g.sum(axis=axis, keepdims=True),)

