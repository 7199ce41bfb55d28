"""Losses, as functions (`nn.functional.cross_entropy`) and as modules (`nn.CrossEntropyLoss`).

Softmax is fused with cross-entropy and sigmoid with binary cross-entropy (primitives in
`autograd/ops/nn_ops.py`): one op each, finite in value and gradient for logits of ±1e4.

Targets and class weights given as Python numbers or lists are made on the input's device;
arrays stay where they are (an op mixing two devices raises, naming both). The checks on
class indices cost one read back from the device per call.
"""

from __future__ import annotations

import numpy as np

import autograd
from autograd import Tensor, as_tensor, backend

from ._arrays import like
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


def _target(y, x):
    """Targets as a Tensor (kept if it is one) or a constant array of the input's dtype."""
    if isinstance(y, Tensor):
        return y
    return _const(y, x.data)


def _const(v, ref, dtype=None):
    """`v` as an array of `dtype` (ref's by default): an array stays in its library (mixing
    devices is the op's error to raise), numbers and lists are made where `ref` is."""
    xp = backend.namespace(v) if backend.is_array(v) else None
    if xp is None:
        v = like(np.asarray(v), ref)
        xp = backend.namespace(v)
    return xp.astype(v, backend.dtype_in(xp, ref.dtype if dtype is None else dtype), copy=False)


def _indices(t, ref, who: str):
    """Class indices as an array: kept when it is one (on ref's device), else made where `ref` is."""
    if not backend.is_array(t):
        return like(np.asarray(t), ref)
    _same_device(who, "target", t, ref)
    return t


def _same_device(who: str, what: str, a, ref) -> None:
    """Raise, naming both devices, when the array `a` is not where the input `ref` is (the
    loss works on them as raw arrays, so the op's own check would come too late)."""
    here, there = backend.device_name(a), backend.device_name(ref)
    if here != there:
        raise RuntimeError(f"{who}: {what} is on {here} but the input is on {there}; move it with .to({there!r})")


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


def _class_weights(weight, c: int, ref, dtype, who: str):
    if weight is None:
        return None
    w = _const(_raw(weight), ref, dtype)
    _same_device(who, "weight", w, ref)
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
    xp = backend.namespace(t)
    valid = t != ignore_index
    out = (t < 0) | (t >= c)
    if not 0 <= ignore_index < c:
        out &= valid
    if t.size and bool(xp.any(out)):  # (one read back from the device)
        raise IndexError(f"{who}: target {int(t[out][0])} is out of bounds for {c} classes")
    return valid


def _safe(t, valid):
    """The targets with the ignored ones replaced by class 0 (to index with)."""
    return backend.namespace(t).where(valid, t, backend.namespace(t).zeros_like(t))


def _pick(w, index):
    """w[index] for a 1-d `w` and integer `index` of any shape (`xp.take` takes 1-d indices)."""
    xp = backend.namespace(w)
    return xp.reshape(xp.take(w, xp.reshape(index, (-1,))), index.shape)


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
    zd = z.data
    w = _class_weights(weight, c, zd, z.dtype, who)
    eps = label_smoothing
    t = target.data if isinstance(target, Tensor) and backend.kind(target.dtype) in "iub" else target
    t_arr = None if isinstance(t, Tensor) else _indices(t, zd, who)
    if t_arr is not None and backend.kind(t_arr.dtype) in "iu":
        xp = backend.namespace(t_arr)
        if squeeze:
            t_arr = xp.reshape(t_arr, (1,))
        valid = _index_targets(t_arr, z.shape, ignore_index, who)
        # one-hot by comparison: an ignored target (ignore_index outside 0..C-1) matches no class
        q = xp.astype(t_arr[..., None] == xp.arange(c, dtype=t_arr.dtype, device=t_arr.device), zd.dtype)
        if eps:  # (1 - ε at the target, then ε/C everywhere)
            q *= 1.0 - eps
            q += eps / c
        masked = eps or 0 <= ignore_index < c
        fvalid = xp.astype(valid, zd.dtype) if masked or w is not None else None
        if masked:
            q *= fvalid[..., None]
        if w is not None:
            q *= w
            denom = xp.asarray(xp.sum(_pick(w, _safe(t_arr, valid)) * fvalid))  # (0-d arrays: no read back)
        else:
            denom = xp.asarray(xp.count_nonzero(valid), dtype=zd.dtype, device=zd.device)
        loss = autograd.softmax_cross_entropy(z, q)
        if squeeze:
            loss = loss.reshape(())
        if reduction == "mean":
            return loss.sum() / denom
        return _reduce(loss, reduction, who)
    # class probabilities
    q = t if isinstance(t, Tensor) else _const(t, zd)
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
    zd = z.data
    w = _class_weights(weight, c, zd, z.dtype, who)
    t = _indices(_raw(target), zd, who)
    if backend.kind(t.dtype) not in "iu":
        raise TypeError(f"{who}: target must hold integer class indices; got dtype {t.dtype}")
    xp = backend.namespace(t)
    if squeeze:
        t = xp.reshape(t, (1,))
    valid = _index_targets(t, z.shape, ignore_index, who)
    safe = _safe(t, valid)
    wt = (_pick(w, safe) if w is not None else xp.ones(safe.shape, dtype=zd.dtype, device=safe.device))
    wt = wt * xp.astype(valid, zd.dtype)
    nd = safe.ndim  # (numpy's np.indices(safe.shape, sparse=True), from the array API)
    lead = tuple(xp.reshape(xp.arange(n, device=safe.device), (1,) * i + (n,) + (1,) * (nd - i - 1))
                 for i, n in enumerate(safe.shape))
    picked = z[lead + (safe,)]
    loss = -(picked * wt)
    if squeeze:
        loss = loss.reshape(())
    if reduction == "mean":
        return loss.sum() / xp.asarray(xp.sum(wt))
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
        pw = pos_weight if isinstance(pos_weight, Tensor) else _const(pos_weight, x.data)
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
    xp = backend.namespace(xd)
    if xd.size and bool(xp.any((xd < 0) | (xd > 1))):  # (NaN passes, as before)
        raise ValueError(f"{who}: input values must lie in [0, 1]; got range [{xp.min(xd)}, {xp.max(xd)}]")
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
