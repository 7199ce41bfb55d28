"""Public functions of the fused primitives: the affine map of a dense layer and the losses
that pair a log-likelihood with its link function. One op each, faster and stabler than the
composition; `nn` builds its layers and losses on these, and a user's own layer can too.

>>> import autograd
>>> z = autograd.tensor([[1e4, 0.0]]); q = autograd.tensor([[0.0, 1.0]])
>>> autograd.softmax_cross_entropy(z, q).tolist()  # finite where log(softmax) is -inf
[10000.0]
"""

from __future__ import annotations

import numpy as np

from .backend import is_array, kind
from .node import apply, raw, same_device
from .operations import as_tensor
from .ops import nn_ops
from .tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def same_float_dtype(op: str, *xs) -> None:
    """Raise when floating inputs of a product differ in dtype (numpy would silently upcast)."""
    dts = [d.dtype for d in (raw(x) for x in xs if x is not None) if is_array(d)]
    if len(dts) > 1 and any(dt is not dts[0] for dt in dts):  # (the common case ends here)
        same_device(op, [raw(x) for x in xs if x is not None])  # (the device first: it is the cause)
        floats = [dt for dt in dts if kind(dt) == "f"]
        if len(set(floats)) > 1:
            raise TypeError(
                f"{op}: inputs must have the same dtype, but got {' and '.join(str(k) for k in floats)}; "
                "cast one of them (x.float() / x.double(), or model.float() / model.double())"
            )


def linear(x, weight, bias=None) -> Tensor:
    """x @ weight.T + bias in one op; weight has shape (out, in) as in PyTorch.

    >>> import autograd, numpy as np
    >>> w = autograd.tensor(np.eye(2, dtype=np.float32)); b = autograd.tensor([1.0, 2.0])
    >>> autograd.linear(autograd.tensor([[3.0, 4.0]]), w, b).tolist()
    [[4.0, 6.0]]
    """
    x = as_tensor(x)
    ws = raw(weight).shape
    if len(ws) != 2 or x.ndim == 0 or x.shape[-1] != ws[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features; "
            f"the weight of shape {ws} expects {ws[1] if len(ws) == 2 else '?'} (weight must be (out, in))"
        )
    wd = raw(weight).dtype
    if x.dtype is not wd or (bias is not None and raw(bias).dtype is not wd):  # (rare: check it all)
        same_float_dtype("linear", x, weight, bias)
    if bias is None:
        return apply(nn_ops.Linear, x, weight)
    bs = raw(bias).shape
    if bs != (ws[0],):
        raise ValueError(f"linear: bias of shape {bs}; expected ({ws[0]},) for a weight of shape {ws}")
    return apply(nn_ops.Linear, x, weight, bias)


def _same_shape(op, x, y):
    xs = raw(x).shape
    y = raw(y)
    ys = y.shape if is_array(y) else np.shape(y)  # (np.shape: of a number or a list)
    if xs != ys:
        raise ValueError(f"{op}: input of shape {xs} and target of shape {ys} must match "
                         "(broadcasting them is almost always a bug, e.g. (N, 1) against (N,))")


def mse_loss(x, y, reduction: str = "mean") -> Tensor:
    """(x - y)², averaged, summed or elementwise (`reduction`), in one op."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}; got {reduction!r}")
    _same_shape("mse_loss", x, y)
    return apply(nn_ops.MseLoss, as_tensor(x), y, reduction=reduction)


def softmax_cross_entropy(z, q) -> Tensor:
    """-Σ_c q_c log softmax(z)_c along the last axis, one loss per row (q: class weights or
    probabilities of z's shape)."""
    _same_shape("softmax_cross_entropy", z, q)
    return apply(nn_ops.SoftmaxCrossEntropy, as_tensor(z), q)


def bce_with_logits(x, y, pos_weight=None) -> Tensor:
    """Elementwise sigmoid + binary cross-entropy of logits x against targets y; finite for
    logits of ±1e4. `pos_weight` (broadcast) weighs positive examples."""
    _same_shape("bce_with_logits", x, y)
    if pos_weight is None:
        return apply(nn_ops.BCEWithLogits, as_tensor(x), y)
    return apply(nn_ops.BCEWithLogits, as_tensor(x), y, pos_weight)


def binary_cross_entropy(p, y) -> Tensor:
    """Elementwise -(y log p + (1-y) log(1-p)) of probabilities p, logs clamped at -100."""
    _same_shape("binary_cross_entropy", p, y)
    return apply(nn_ops.BinaryCrossEntropy, as_tensor(p), y)
