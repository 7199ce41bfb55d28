"""Gradient clipping, in place (PyTorch's `torch.nn.utils` names), on the gradients' device."""

from __future__ import annotations

import math
from collections.abc import Iterable

import autograd
from autograd import Tensor, backend, tensor

from ._arrays import with_out


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    autograd.increment_version(*grads)  # (changed in place below)
    return [g.data for g in grads]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm; returns the
    norm before clipping (as a 0-d Tensor), as torch.

    >>> import autograd, nn, numpy as np
    >>> p = nn.Parameter(np.zeros(2, dtype=np.float32)); p.grad = autograd.tensor([3.0, 4.0])
    >>> nn.utils.clip_grad_norm_([p], 1.0).item(), [round(v, 4) for v in p.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0)
    norm_type = float(norm_type)
    if norm_type == math.inf:
        total = max(float(_xp(g).max(_xp(g).abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = sum(float(_xp(g).sum(_xp(g).abs(_float64(g)) ** norm_type)) for g in grads) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= coef  # (a Python float takes g's dtype: the same as multiplying by dtype(coef))
    g = grads[0]
    return tensor(_xp(g).asarray(total, dtype=g.dtype, device=g.device))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value] in place."""
    c = float(clip_value)
    for g in _grads(parameters):
        with_out(_xp(g)).clip(g, -c, c, out=g)


_xp = backend.namespace


def _float64(g):
    xp = _xp(g)
    return xp.astype(g, backend.dtype_in(xp, "float64"))
