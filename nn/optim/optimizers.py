"""SGD, Adam, AdamW and RMSprop, following PyTorch's update formulas operation for
operation (so the same inputs give the same parameters to float64 round-off).

Every update writes into the parameter and state arrays in place (`out=`), reusing one
scratch array per parameter: a step allocates almost nothing. The formulas call the array
library of the parameter (numpy, CuPy, ...), through `with_out` where it has no `out=`. Each optimizer's formulas are
written once, in `_math`, on arrays of any shape: one parameter's, or with ``flat=True`` the
whole flat buffer of a parameter group (see `Optimizer`), bit for bit the same numbers.
"""

from __future__ import annotations

from autograd import backend

from .._arrays import with_out
from .optimizer import Optimizer


def _check(name: str, cond: bool, what: str) -> None:
    if not cond:
        raise ValueError(f"{name}: invalid {what}")


def _decayed(o, p, grad, wd: float, work):
    """grad + wd·p (PyTorch's L2 weight decay), into `work` when wd is not 0."""
    if not wd:
        return grad
    o.multiply(p, wd, out=work)
    work += grad
    return work


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, dampening, Nesterov and weight decay.

    v ← μ v + (1 - τ) g (v ← g at the first step);  p ← p - lr·(g + μ v if nesterov else v)

    >>> import autograd, nn
    >>> w = nn.Parameter(autograd.tensor([1.0])); w.grad = w.detach() * 2
    >>> nn.optim.SGD([w], lr=0.1).step(); w.tolist()
    [0.800000011920929]
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, flat: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov), flat=flat)

    def _check_options(self, g):
        _check("SGD", g["lr"] >= 0, f"learning rate: {g['lr']}")
        _check("SGD", g["momentum"] >= 0, f"momentum value: {g['momentum']}")
        _check("SGD", g["weight_decay"] >= 0, f"weight_decay value: {g['weight_decay']}")
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")

    def _math(self, g, p, grad, state, work):
        lr, mu, damp, wd, nesterov = g["lr"], g["momentum"], g["dampening"], g["weight_decay"], g["nesterov"]
        xp = backend.namespace(p)
        o = with_out(xp)
        d_p = _decayed(o, p, grad, wd, work)
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = xp.asarray(d_p, copy=True)
            else:
                buf *= mu
                if damp:
                    o.multiply(d_p, 1 - damp, out=work)
                    buf += work
                else:
                    buf += d_p
            if nesterov:
                d_p = d_p + buf * mu  # d_p may live in `work`: a fresh array here
            else:
                d_p = buf
        o.multiply(d_p, -lr, out=work)
        p += work


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction, AMSGrad and L2 weight decay.

    m ← m + (1-β₁)(g - m);  v ← β₂ v + (1-β₂) g²;
    p ← p - lr/(1-β₁ᵗ) · m / (√v / √(1-β₂ᵗ) + ε)

    ``bias_correction=False`` drops the two 1/(1-βᵗ) factors, p ← p - lr · m / (√v + ε): Adam as
    many notes write it (not an option of torch.optim.Adam). Its first steps differ: after one
    step m = (1-β₁) g and √v = √(1-β₂) |g|, a step of lr·(1-β₁)/√(1-β₂) ≈ 3.2·lr per
    coordinate with the default betas instead of lr.

    >>> import autograd, nn
    >>> w = nn.Parameter(autograd.tensor([1.0], dtype="float64")); w.grad = autograd.tensor([0.5], dtype="float64")
    >>> nn.optim.Adam([w], lr=0.1, bias_correction=False).step(); round(1.0 - w.item(), 4)
    0.3162
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, bias_correction: bool = True, *,
                 flat: bool = False):
        # only a non-default value goes into the options: PyTorch's defaults and state_dicts stay
        extra = {} if bias_correction else {"bias_correction": False}
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad, **extra), flat=flat)

    def _check_options(self, g):
        name = type(self).__name__
        b1, b2 = g["betas"]
        _check(name, g["lr"] >= 0, f"learning rate: {g['lr']}")
        _check(name, g["eps"] >= 0, f"epsilon value: {g['eps']}")
        _check(name, 0 <= b1 < 1, f"beta parameter at index 0: {b1}")
        _check(name, 0 <= b2 < 1, f"beta parameter at index 1: {b2}")
        _check(name, g["weight_decay"] >= 0, f"weight_decay value: {g['weight_decay']}")

    def _math(self, g, p, grad, state, work):
        lr, eps, wd, amsgrad = g["lr"], g["eps"], g["weight_decay"], g["amsgrad"]
        b1, b2 = g["betas"]
        xp = backend.namespace(p)
        o = with_out(xp)
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        if self._decoupled:
            p *= 1 - lr * wd
        elif wd:
            grad = grad + wd * p
        state["step"] = step = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        o.subtract(grad, m, out=work)  # m.lerp_(grad, 1 - b1)
        work *= 1 - b1
        m += work
        v *= b2  # v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
        o.multiply(grad, 1 - b2, out=work)
        work *= grad
        v += work
        corrected = g.get("bias_correction", True)
        bias_correction1 = 1 - b1**step if corrected else 1.0
        bias_correction2 = 1 - b2**step if corrected else 1.0
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if amsgrad:
            vmax = state["max_exp_avg_sq"]
            o.maximum(vmax, v, out=vmax)
            v = vmax
        o.sqrt(v, out=work)  # denom = sqrt(v) / sqrt(bc2) + eps
        work /= bias_correction2_sqrt
        work += eps
        o.divide(m, work, out=work)  # p.addcdiv_(m, denom, value=-step_size)
        work *= -step_size
        p += work


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p ← p (1 - lr·λ) before the
    Adam step; weight_decay defaults to 0.01."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, flat: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, flat=flat)


class RMSprop(Optimizer):
    """RMSprop (Hinton) with optional centering, momentum and weight decay.

    s ← α s + (1-α) g²;  d = √(s - ḡ² if centered else s) + ε;
    p ← p - lr·b with b ← μ b + g/d (momentum), else p ← p - lr·g/d
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 flat: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered), flat=flat)

    def _check_options(self, g):
        _check("RMSprop", g["lr"] >= 0, f"learning rate: {g['lr']}")
        _check("RMSprop", g["eps"] >= 0, f"epsilon value: {g['eps']}")
        _check("RMSprop", g["alpha"] >= 0, f"alpha value: {g['alpha']}")
        _check("RMSprop", g["momentum"] >= 0, f"momentum value: {g['momentum']}")
        _check("RMSprop", g["weight_decay"] >= 0, f"weight_decay value: {g['weight_decay']}")

    def _math(self, g, p, grad, state, work):
        lr, alpha, eps, wd, mu, centered = (
            g["lr"], g["alpha"], g["eps"], g["weight_decay"], g["momentum"], g["centered"]
        )
        xp = backend.namespace(p)
        o = with_out(xp)
        if not state:
            state["step"] = 0.0
            state["square_avg"] = xp.zeros_like(p)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if centered:
                state["grad_avg"] = xp.zeros_like(p)
        if wd:
            grad = grad + wd * p
        state["step"] += 1
        s = state["square_avg"]
        s *= alpha
        o.multiply(grad, 1 - alpha, out=work)
        work *= grad
        s += work
        if centered:
            ga = state["grad_avg"]
            o.subtract(grad, ga, out=work)  # ga.lerp_(grad, 1 - alpha)
            work *= 1 - alpha
            ga += work
            o.multiply(ga, -1.0, out=work)
            work *= ga
            work += s
            o.sqrt(work, out=work)
        else:
            o.sqrt(s, out=work)
        work += eps
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            o.divide(grad, work, out=work)
            buf += work
            o.multiply(buf, -lr, out=work)
        else:
            o.divide(grad, work, out=work)
            work *= -lr
        p += work
