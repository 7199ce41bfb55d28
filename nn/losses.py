"""Losses, as functions (`nn.functional.cross_entropy`) and as modules (`nn.CrossEntropyLoss`).

Softmax is fused with cross-entropy and sigmoid with binary cross-entropy (primitives in
`autograd/ops/nn_ops.py`): one op each, finite in value and gradient for logits of ±1e4.
"""

from __future__ import annotations

import numpy as np

import autograd
from autograd import Tensor, as_tensor

from .module import Module

_REDUCTIONS = ("none", "mean", "sum")


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _reduce(loss, reduction: str, who: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: reduction must be one of {_REDUCTIONS}; got {reduction!r}")


def _same_shape(who: str, x, y) -> None:
    if x.shape != y.shape:
        raise ValueError(
            f"{who}: input has shape {x.shape} but target has shape {y.shape}; they must match "
            "(broadcasting them is almost always a bug, e.g. (N, 1) against (N,))"
        )


def _target(y, like):
    """Targets as a Tensor (kept if it is one) or a constant array of the input's dtype."""
    if isinstance(y, Tensor):
        return y
    return np.asarray(y, dtype=like.dtype)


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error (x - y)².

    >>> import autograd
    >>> mse_loss(autograd.tensor([1.0, 3.0]), autograd.tensor([0.0, 0.0])).item()
    5.0
    """
    x = as_tensor(input)
    y = _target(target, x)
    _same_shape("mse_loss", x, y)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {_REDUCTIONS}; got {reduction!r}")
    return autograd.mse_loss(x, y, reduction=reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error |x - y|."""
    x = as_tensor(input)
    y = _target(target, x)
    _same_shape("l1_loss", x, y)
    return _reduce(autograd.abs(x - y), reduction, "l1_loss")


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½ d² where |d| < delta, else delta (|d| - ½ delta), with d = x - y."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive; got {delta}")
    x = as_tensor(input)
    y = _target(target, x)
    _same_shape("huber_loss", x, y)
    d = x - y
    a = autograd.abs(d)
    small = _raw(a) < delta
    loss = autograd.where(small, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def _classes_last(x, who: str):
    """Logits (N, C, d1, ...) -> (N, d1, ..., C); (C,) -> (1, C). Returns (tensor, squeeze)."""
    if x.ndim == 0:
        raise ValueError(f"{who}: input must have a class axis; got a 0-d tensor")
    if x.ndim == 1:
        return x.reshape(1, x.shape[0]), True
    if x.ndim > 2:
        perm = (0,) + tuple(range(2, x.ndim)) + (1,)
        return x.transpose(perm), False
    return x, False


def _class_weights(weight, c: int, dtype, who: str):
    if weight is None:
        return None
    w = np.asarray(_raw(weight), dtype=dtype)
    if w.shape != (c,):
        raise ValueError(f"{who}: weight must have shape ({c},) (one per class); got {w.shape}")
    return w


def _index_targets(t, zshape, ignore_index: int, who: str):
    c = zshape[-1]
    if t.shape != zshape[:-1]:
        raise ValueError(
            f"{who}: class-index target of shape {t.shape} does not match input of shape "
            f"{zshape} (classes last); expected {zshape[:-1]}"
        )
    valid = t != ignore_index
    tv = t[valid]
    if tv.size and (tv.min() < 0 or tv.max() >= c):
        bad = tv[(tv < 0) | (tv >= c)][0]
        raise IndexError(f"{who}: target {bad} is out of bounds for {c} classes")
    return valid, np.where(valid, t, 0)


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits (N, C) [or (C,), or (N, C, d1, ...)] against class indices
    (integers) or class probabilities (floats, same shape as input), as torch's.

    `weight` rescales classes, `ignore_index` drops targets, `label_smoothing` mixes the
    target with the uniform distribution. Fused with log-softmax: finite for logits of ±1e4.

    >>> import autograd, numpy as np
    >>> round(cross_entropy(autograd.tensor([[0.0, 0.0]]), np.array([1])).item(), 4)
    0.6931
    """
    who = "cross_entropy"
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{who}: label_smoothing must be in [0, 1]; got {label_smoothing}")
    x = as_tensor(input)
    z, squeeze = _classes_last(x, who)
    c = z.shape[-1]
    w = _class_weights(weight, c, z.dtype, who)
    eps = label_smoothing
    t = target.data if isinstance(target, Tensor) and target.dtype.kind in "iub" else target
    t_arr = None if isinstance(t, Tensor) else np.asarray(t)
    if t_arr is not None and t_arr.dtype.kind in "iu":
        if squeeze:
            t_arr = t_arr.reshape(1)
        valid, safe = _index_targets(t_arr, z.shape, ignore_index, who)
        q = np.zeros(z.shape, dtype=z.dtype)
        np.put_along_axis(q, safe[..., None], 1.0 - eps, axis=-1)
        if eps:
            q += eps / c
        q *= valid[..., None]
        if w is not None:
            q *= w
            denom = float((w[safe] * valid).sum())
        else:
            denom = float(valid.sum())
        loss = autograd.softmax_cross_entropy(z, q)
        if squeeze:
            loss = loss.reshape(())
        if reduction == "mean":
            return loss.sum() / np.asarray(denom, dtype=z.dtype)
        return _reduce(loss, reduction, who)
    # class probabilities
    q = t if isinstance(t, Tensor) else np.asarray(t, dtype=z.dtype)
    if q.shape != x.shape:
        raise ValueError(
            f"{who}: probability target of shape {q.shape} must match the input's shape {x.shape} "
            "(or pass integer class indices)"
        )
    if x.ndim > 2 or squeeze:
        q = _classes_last(as_tensor(q) if isinstance(q, Tensor) else autograd.tensor(q), who)[0]
        q = q if isinstance(t, Tensor) else q.data
    if eps:
        q = q * (1.0 - eps) + eps / c
    if w is not None:
        q = q * w
    loss = autograd.softmax_cross_entropy(z, q)
    if squeeze:
        loss = loss.reshape(())
    return _reduce(loss, reduction, who)


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) [or (N, C, d1, ...)] at class indices."""
    who = "nll_loss"
    x = as_tensor(input)
    z, squeeze = _classes_last(x, who)
    c = z.shape[-1]
    w = _class_weights(weight, c, z.dtype, who)
    t = np.asarray(_raw(target))
    if t.dtype.kind not in "iu":
        raise TypeError(f"{who}: target must hold integer class indices; got dtype {t.dtype}")
    if squeeze:
        t = t.reshape(1)
    valid, safe = _index_targets(t, z.shape, ignore_index, who)
    wt = (w[safe] if w is not None else np.ones(safe.shape, dtype=z.dtype)) * valid
    wt = wt.astype(z.dtype, copy=False)
    lead = tuple(np.indices(safe.shape, sparse=True))
    picked = z[lead + (safe,)]
    loss = -(picked * wt)
    if squeeze:
        loss = loss.reshape(())
    if reduction == "mean":
        return loss.sum() / np.asarray(wt.sum(), dtype=z.dtype)
    return _reduce(loss, reduction, who)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Sigmoid + binary cross-entropy in one op: finite for logits of ±1e4.
    `pos_weight` (broadcast along the last axis) weighs positive examples.

    >>> import autograd
    >>> binary_cross_entropy_with_logits(autograd.tensor([1e4, -1e4, 100.0]), autograd.tensor([0.0, 1.0, 0.0])).item()
    6700.0
    """
    who = "binary_cross_entropy_with_logits"
    x = as_tensor(input)
    y = _target(target, x)
    _same_shape(who, x, y)
    if pos_weight is None:
        loss = autograd.bce_with_logits(x, y)
    else:
        pw = pos_weight if isinstance(pos_weight, Tensor) else np.asarray(pos_weight, dtype=x.dtype)
        try:
            np.broadcast_shapes(pw.shape, x.shape)
        except ValueError:
            raise ValueError(f"{who}: pos_weight of shape {pw.shape} does not broadcast to input {x.shape}") from None
        loss = autograd.bce_with_logits(x, y, pw)
    if weight is not None:
        loss = loss * _target(weight, x)
    return _reduce(loss, reduction, who)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100, as torch).
    Prefer `binary_cross_entropy_with_logits` on logits: it is stabler."""
    who = "binary_cross_entropy"
    x = as_tensor(input)
    y = _target(target, x)
    _same_shape(who, x, y)
    xd = x.data
    if xd.size and (xd.min() < 0 or xd.max() > 1):
        raise ValueError(f"{who}: input values must lie in [0, 1]; got range [{xd.min()}, {xd.max()}]")
    loss = autograd.binary_cross_entropy(x, y)
    if weight is not None:
        loss = loss * _target(weight, x)
    return _reduce(loss, reduction, who)


# ---------------------------------------------------------------------------- modules
class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}; got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(_Loss):
    """Module form of `mse_loss`."""

    def forward(self, input, target):
        return mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Module form of `l1_loss`."""

    def forward(self, input, target):
        return l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Module form of `huber_loss`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return huber_loss(input, target, self.reduction, self.delta)


class CrossEntropyLoss(_Loss):
    """Module form of `cross_entropy`."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                             self.label_smoothing)


class NLLLoss(_Loss):
    """Module form of `nll_loss`."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Module form of `binary_cross_entropy_with_logits`."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                self.pos_weight)


class BCELoss(_Loss):
    """Module form of `binary_cross_entropy`."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = weight

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, self.reduction)
