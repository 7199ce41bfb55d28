"""Reductions and normalisations along axes: sum, mean, max, min, logsumexp, softmax.

Attributes arrive normalised by the public functions: `axis` is a tuple of non-negative
ints or None (all axes), `keepdims` a bool.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import dtype_in, dtype_name, errstate, kind, namespace
from ..node import call, raw
from ..tensor import Tensor
from .elementwise import Exp, Where
from .registry import Op
from .shape import BroadcastTo, Reshape


def kept_shape(shape: tuple, axis) -> tuple:
    """The shape of a reduction over `axis` (a tuple, one int or None) with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(1 if i in axis else s for i, s in enumerate(shape))


def reduced_shape(shape: tuple, axis) -> tuple:
    """The shape of a reduction over `axis` with keepdims=False."""
    if axis is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axis)


def _kept(a, x, axis, keepdims):
    """A reduction's output or its gradient (Tensor or array) in keepdims form, to broadcast
    against x (a 0-d one, from a full reduction, broadcasts as it is)."""
    if keepdims or a.ndim == 0:
        return a
    if type(a) is np.ndarray:  # (the method: np.reshape's wrapper costs a quarter of Sum's backward)
        return a.reshape(kept_shape(x.shape, axis))
    return call(Reshape, a, shape=kept_shape(x.shape, axis))


def _zero_mask(a):
    """a == 0 as an array (numpy's comparison of a 0-d array gives a scalar)."""
    return namespace(a).asarray(a == 0)


def _count(shape, axis) -> int:
    if axis is None:
        return math.prod(shape)  # (np.prod on a tuple costs microseconds)
    return math.prod(shape[i] for i in axis)


def _total(xp, x, axis, keepdims):
    """xp.sum; for numpy floats the ufunc directly (np.sum's wrapper costs as much as a small sum)."""
    if xp is np and x.dtype.kind == "f":
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    if kind(x.dtype) == "b":  # (the standard's sum takes numbers; numpy counts booleans in int64)
        x = xp.astype(x, dtype_in(xp, np.int64))
    return xp.sum(x, axis=axis, keepdims=keepdims)


def _cast(xp, a, dtype):
    """a in `dtype` (a itself when it is in it already)."""
    return a if a.dtype == dtype else xp.astype(a, dtype)


def _widened(xp, x):
    """x in float64 when it is float16/32 (squares of values near 1e20 overflow float32), else x."""
    d = x.dtype
    narrow = d.kind == "f" and d.itemsize < 8 if isinstance(d, np.dtype) else dtype_name(d) in ("float16", "float32")
    return xp.astype(x, dtype_in(xp, np.float64)) if narrow else x


def _max_or_zero(xp, x, axis, count):
    """The max over `axis` with keepdims (the shift of exp-sums), zeros where the axis is empty."""
    if count == 0:  # (the standard's max has no `initial`: an empty axis has no max)
        return xp.zeros(kept_shape(x.shape, axis), dtype=x.dtype, device=x.device)
    return xp.max(x, axis=axis, keepdims=True)


class Sum(Op):
    """sum over axis;  d/dx = 1 broadcast back"""

    name = "sum"
    sample = "reduce"
    ref = staticmethod(np.sum)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        return _total(namespace(x), x, axis, keepdims)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        return (call(BroadcastTo, _kept(g, x, axis, keepdims), shape=x.shape),)


class Mean(Op):
    """mean over axis;  d/dx = 1/n broadcast back"""

    name = "mean"
    sample = "reduce"
    ref = staticmethod(np.mean)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        xp = namespace(x)
        # numpy floats: the ufunc, as in Sum (float16 goes to np.mean, which accumulates it in float32)
        if xp is np and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
            return np.true_divide(np.add.reduce(x, axis=axis, keepdims=keepdims), _count(x.shape, axis))
        if kind(x.dtype) in "biu":  # (the standard's mean takes floats; numpy's mean of ints is float64)
            x = xp.astype(x, dtype_in(xp, np.float64))
        return xp.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        gk = _kept(g, x, axis, keepdims) / _count(x.shape, axis)
        return (call(BroadcastTo, gk, shape=x.shape),)


class _Extreme(Op, register=False):
    save_inputs = (0,)
    save_output = True
    sample = "reduce_distinct"

    @staticmethod
    def backward(g, out, needs, x, axis=None, keepdims=False):
        # Ties share the gradient evenly (as torch.amax / numpy's subgradient convention).
        xd = raw(x)
        xp = namespace(xd)
        hit = xp.astype(xd == _kept(raw(out), xd, axis, keepdims), dtype_in(xp, np.float64))
        share = hit / _total(xp, hit, axis, True)
        return (_kept(g, x, axis, keepdims) * _cast(xp, share, xd.dtype),)


class Max(_Extreme):
    """max over axis"""

    name = "max"
    ref = staticmethod(np.max)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        xp = namespace(x)
        if kind(x.dtype) == "b":  # (the standard's max takes numbers; the max of booleans is any)
            return xp.any(x, axis=axis, keepdims=keepdims)
        return xp.max(x, axis=axis, keepdims=keepdims)


class Min(_Extreme):
    """min over axis"""

    name = "min"
    ref = staticmethod(np.min)

    @staticmethod
    def forward(x, axis=None, keepdims=False):
        xp = namespace(x)
        if kind(x.dtype) == "b":  # (the min of booleans is all)
            return xp.all(x, axis=axis, keepdims=keepdims)
        return xp.min(x, axis=axis, keepdims=keepdims)


def _logsumexp(x, axis=None, keepdims=False):
    xp = namespace(x)
    m = _max_or_zero(xp, x, axis, _count(x.shape, axis))
    m = xp.where(xp.isfinite(m), m, 0)
    with errstate(xp, divide="ignore"):  # log 0 = -inf: the sum over an empty axis
        s = xp.log(_total(xp, xp.exp(x - m), axis, True)) + m
    return s if keepdims or s.ndim == 0 else xp.reshape(s, reduced_shape(x.shape, axis))


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
        return (_kept(g, x, axis, keepdims) * call(Exp, x - _kept(out, x, axis, keepdims)),)


def _std(x, axis=None, keepdims=False, ddof=0):
    xp = namespace(x)
    w = _widened(xp, x)
    if kind(w.dtype) in "biu":  # (the standard's std takes floats; numpy's std of ints is float64)
        w = xp.astype(w, dtype_in(xp, np.float64))
    s = xp.std(w, axis=axis, keepdims=keepdims, correction=ddof)
    return _cast(xp, xp.asarray(s), x.dtype)


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
        sk = _kept(out, x, axis, keepdims)
        zero = _zero_mask(raw(sk))
        scale = _kept(g, x, axis, keepdims) / (call(Where, zero, 1.0, sk) * (n - ddof))
        d = x - call(Mean, x, axis=axis, keepdims=True)
        return (call(Where, zero, 0.0, scale) * d,)


def _norm(x, axis=None, keepdims=False):
    xp = namespace(x)
    total = _total(xp, xp.square(_widened(xp, x)), axis, keepdims)
    if kind(total.dtype) in "biu":  # (the standard's sqrt takes floats; numpy's casts ints to float64)
        total = xp.astype(total, dtype_in(xp, np.float64))
    return _cast(xp, xp.sqrt(total), x.dtype)


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
        nk = _kept(out, x, axis, keepdims)
        zero = _zero_mask(raw(nk))
        scale = _kept(g, x, axis, keepdims) / call(Where, zero, 1.0, nk)
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


def _axis_length(x, axis) -> int:
    return x.shape[axis] if x.ndim else 1


def _softmax(x, axis):
    xp = namespace(x)
    e = xp.exp(x - _max_or_zero(xp, x, axis, _axis_length(x, axis)))  # (empty axis: empty result)
    return e / _total(xp, e, axis, True)


def _log_softmax(x, axis):
    # (x - m) - log Σ exp(x - m), not x - logsumexp: with logits of 1e8 in float32, 1e8 + log 3
    # rounds back to 1e8 and three equal logits would give a cross-entropy of 0 instead of log 3
    xp = namespace(x)
    m = _max_or_zero(xp, x, axis, _axis_length(x, axis))
    s = x - xp.where(xp.isfinite(m), m, 0)
    with errstate(xp, divide="ignore"):
        return s - xp.log(_total(xp, xp.exp(s), axis, True))


def _lane_sum(a, axis):
    """Σ along one axis, kept: a Sum op for a Tensor (over no axis when it is 0-d, as Tensor.sum),
    the sum itself for an array."""
    if isinstance(a, Tensor):
        return call(Sum, a, axis=(axis,) if a.ndim else None, keepdims=True)
    return _total(namespace(a), a, axis, True)


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
        return (out * (g - _lane_sum(g * out, axis)),)


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
        return (g - call(Exp, out) * _lane_sum(g, axis),)
