"""Stateless functions behind the layers (PyTorch's `torch.nn.functional` names).

>>> import autograd, nn.functional as F
>>> F.relu(autograd.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

import numpy as np

import autograd
from autograd import Tensor, as_tensor, backend
from autograd import random as _random

from ._arrays import like
from .losses import (  # noqa: F401  (re-exported: F.cross_entropy as in PyTorch)
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
)


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


relu = autograd.relu
tanh = autograd.tanh
sigmoid = autograd.sigmoid
leaky_relu = autograd.leaky_relu
gelu = autograd.gelu
softplus = autograd.softplus


def softmax(x, dim: int = -1) -> Tensor:
    """Softmax along `dim` (default the last axis)."""
    return autograd.softmax(x, axis=dim)


def log_softmax(x, dim: int = -1) -> Tensor:
    """log(softmax(x)) along `dim`, computed stably (finite for logits of ±1e4)."""
    return autograd.log_softmax(x, axis=dim)


linear = autograd.linear


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted
    dropout, as PyTorch); the identity when not training. Masks come from the seeded
    `autograd.manual_seed` generator, on the host, whatever x's device: the same seed drops the
    same elements everywhere."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1]; got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    xd = x.data
    if p == 1.0:
        return x * backend.namespace(xd).zeros(x.shape, dtype=xd.dtype, device=xd.device)
    nd = backend.numpy_dtype(xd.dtype)
    dt = nd if nd in (np.float32, np.float64) else np.float64
    keep = _random.generator().random(x.shape, dtype=dt) >= p
    return x * like(keep.astype(nd) * np.asarray(1.0 / (1.0 - p), dtype=nd), xd)


def _channel_shape(x, c: int) -> tuple:
    """(C,) parameters broadcast over (N, C) or (N, C, L) inputs."""
    return (c,) if x.ndim == 2 else (c, 1)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) of an (N, C) or (N, C, L) input.

    Training uses the batch mean and biased variance and updates the running statistics
    (with the unbiased variance) in place; evaluation uses the running statistics.
    """
    x = as_tensor(x)
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected a 2-d (N, C) or 3-d (N, C, L) input; got shape {x.shape}")
    c = x.shape[1]
    axes = (0,) if x.ndim == 2 else (0, 2)
    cs = _channel_shape(x, c)
    if x.size == 0:  # an empty batch: an empty result, statistics untouched (as PyTorch)
        return x * (weight.reshape(cs) if weight is not None else 1.0) + (bias.reshape(cs) if bias is not None else 0.0)
    if training:
        n = x.size // c
        if n <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training; got input of "
                f"shape {x.shape} (use a batch of 2 or more, or eval())"
            )
        mean = autograd.mean(x, axis=axes, keepdims=True)
        d = x - mean
        var = autograd.mean(d * d, axis=axes, keepdims=True)
        xhat = d / autograd.sqrt(var + eps)
        if running_mean is not None:
            m = momentum
            rm, rv = running_mean.data, running_var.data
            xp = backend.namespace(rm)
            bm = xp.astype(xp.reshape(mean.data, (c,)), rm.dtype, copy=False)
            bv = xp.astype(xp.reshape(var.data, (c,)), rv.dtype, copy=False) * (n / (n - 1))
            rm *= 1 - m
            rm += m * bm
            rv *= 1 - m
            rv += m * bv
            autograd.increment_version(running_mean, running_var)
    else:
        if running_mean is None:
            raise ValueError("batch_norm: evaluation without running statistics needs training=True")
        xp = backend.namespace(running_mean.data)
        rm = xp.astype(xp.reshape(running_mean.data, cs), x.dtype, copy=False)
        rv = xp.astype(xp.reshape(running_var.data, cs), x.dtype, copy=False)
        xhat = (x - rm) / xp.sqrt(rv + eps)
    if weight is not None:
        xhat = xhat * (weight.reshape(cs) if x.ndim == 3 else weight)
    if bias is not None:
        xhat = xhat + (bias.reshape(cs) if x.ndim == 3 else bias)
    return xhat


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) axes (biased variance), then scale and shift."""
    x = as_tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.shape[x.ndim - k :] != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape {shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = autograd.mean(x, axis=axes, keepdims=True)
    d = x - mean
    var = autograd.mean(d * d, axis=axes, keepdims=True)
    y = d / autograd.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def embedding(indices, weight) -> Tensor:
    """Rows of `weight` (num_embeddings, dim) picked by integer `indices` of any shape;
    repeated indices accumulate their gradients."""
    idx = _raw(indices)
    if not backend.is_array(idx):
        idx = like(np.asarray(idx), _raw(weight))
    n = _raw(weight).shape[0]
    if backend.kind(idx.dtype) not in "iu":
        raise TypeError(f"embedding: indices must be integers; got dtype {idx.dtype}")
    if idx.size:
        xp = backend.namespace(idx)
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= n:
            raise IndexError(f"embedding: index out of range: indices span [{lo}, {hi}] but the table has {n} rows")
    return as_tensor(weight)[idx]
