"""Optimizers step by step against their formulas; groups, state dicts; schedules with
PyTorch's values (computed with torch 2.13 once, written down here); gradient clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from nn.optim import SGD, Adam, AdamW, RMSprop
from nn.optim import lr_scheduler as S

RNG = np.random.default_rng(0)
P0 = RNG.normal(size=(3, 2))
GRADS = [RNG.normal(size=(3, 2)) for _ in range(5)]


def run(cls, **kw):
    p = nn.Parameter(P0.copy())
    opt = cls([p], **kw)
    out = []
    for g in GRADS:
        p.grad = g.copy()
        opt.step()
        out.append(p.data.copy())
    return out, opt, p


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.3, weight_decay=0.01),
                                dict(momentum=0.8, nesterov=True, weight_decay=0.1)])
def test_sgd_formula(kw):
    lr, mu, tau, wd = 0.1, kw.get("momentum", 0), kw.get("dampening", 0), kw.get("weight_decay", 0)
    got, _, _ = run(SGD, lr=lr, **kw)
    p, buf = P0.copy(), None
    for g, q in zip(GRADS, got):
        d = g + wd * p
        if mu:
            buf = d.copy() if buf is None else mu * buf + (1 - tau) * d
            d = d + mu * buf if kw.get("nesterov") else buf
        p = p - lr * d
        close(q, p)


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("kw", [dict(), dict(amsgrad=True, weight_decay=0.1), dict(betas=(0.8, 0.9), eps=1e-6)])
def test_adam_and_adamw_formula(cls, kw):
    lr, (b1, b2), eps = 0.01, kw.get("betas", (0.9, 0.999)), kw.get("eps", 1e-8)
    wd = kw.get("weight_decay", 0.0 if cls is Adam else 0.01)
    got, opt, param = run(cls, lr=lr, **kw)
    p, m, v, vmax = P0.copy(), 0 * P0, 0 * P0, 0 * P0
    for t, (g, q) in enumerate(zip(GRADS, got), 1):
        if cls is AdamW:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = m + (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vv = vmax if kw.get("amsgrad") else v
        p = p - lr / (1 - b1**t) * (m / (np.sqrt(vv) / math.sqrt(1 - b2**t) + eps))
        close(q, p)
    assert opt.state[param]["step"] == 5


@pytest.mark.parametrize("kw", [dict(), dict(momentum=0.9, centered=True, weight_decay=0.1), dict(momentum=0.5)])
def test_rmsprop_formula(kw):
    lr, a, eps, mu, wd = 0.01, 0.99, 1e-8, kw.get("momentum", 0), kw.get("weight_decay", 0)
    got, _, _ = run(RMSprop, lr=lr, **kw)
    p, s, gavg, buf = P0.copy(), 0 * P0, 0 * P0, 0 * P0
    for g, q in zip(GRADS, got):
        g = g + wd * p
        s = a * s + (1 - a) * g * g
        if kw.get("centered"):
            gavg = gavg + (1 - a) * (g - gavg)
            d = np.sqrt(s - gavg * gavg) + eps
        else:
            d = np.sqrt(s) + eps
        if mu:
            buf = mu * buf + g / d
            p = p - lr * buf
        else:
            p = p - lr * g / d
        close(q, p)


def test_float32_parameters_stay_float32_and_no_graph_is_built():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    opt = Adam([p], lr=0.1)
    p.grad = np.full(3, 0.5, dtype=np.float32)
    data = p.data
    opt.step()
    assert p.data is data and p.data.dtype == np.float32 and p.is_leaf and p.grad_fn is None
    np.testing.assert_allclose(p.data, 0.9, rtol=1e-6)


def test_param_groups_have_their_own_options_and_skip_missing_grads():
    a, b, c = (nn.Parameter(np.ones(2)) for _ in range(3))
    opt = SGD([{"params": [a]}, {"params": [b, c], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["lr"] == 0.5
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    close(a.data, [0.9, 0.9])
    close(b.data, [0.5, 0.5])
    close(c.data, [1.0, 1.0])
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="invalid learning rate"):
        SGD([a], lr=-1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([a], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])


def test_step_with_closure_returns_the_loss():
    w = nn.Parameter(np.array([2.0]))
    opt = SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 4.0
    close(w.data, [1.0])


def test_optimizer_state_dict_round_trip_continues_identically():
    full, _, _ = run(Adam, lr=0.01, amsgrad=True)
    p = nn.Parameter(P0.copy())
    opt = Adam([p], lr=0.01, amsgrad=True)
    for g in GRADS[:2]:
        p.grad = g.copy()
        opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    p2 = nn.Parameter(p.data.copy())
    opt2 = Adam([p2], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for g in GRADS[2:]:
        p2.grad = g.copy()
        opt2.step()
    close(p2.data, full[-1])


def test_optimizer_load_state_dict_checks_before_changing():
    p = nn.Parameter(np.zeros(3))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    other = SGD([nn.Parameter(np.zeros(4))], lr=0.3, momentum=0.9)
    with pytest.raises(ValueError, match=r"shape \(3,\); the parameter has \(4,\)"):
        other.load_state_dict(sd)
    assert other.state == {} and other.param_groups[0]["lr"] == 0.3
    with pytest.raises(ValueError, match="2 parameters in the saved state and 1 here"):
        SGD([nn.Parameter(np.zeros(3))], lr=0.1).load_state_dict(
            SGD([nn.Parameter(np.zeros(3)), nn.Parameter(np.zeros(3))], lr=0.1).state_dict())


# ---------------------------------------------------------------------- schedules
def lrs(make, n=10, metrics=None):
    opt = SGD([nn.Parameter(np.zeros(1))], lr=0.5)
    sched = make(opt)
    out = []
    for i in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(metrics[i]) if metrics else sched.step()
    return out


def test_schedules_match_pytorch_values():
    # Values printed by torch 2.13's schedulers for the same settings (lr 0.5).
    assert lrs(lambda o: S.StepLR(o, step_size=3, gamma=0.5), 8) == [0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]
    assert lrs(lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.5), 8) == [
        0.5, 0.5, 0.25, 0.25, 0.25, 0.0625, 0.0625, 0.0625]
    np.testing.assert_allclose(lrs(lambda o: S.ExponentialLR(o, gamma=0.9), 5),
                               [0.5, 0.45, 0.405, 0.3645, 0.32805], rtol=1e-15)
    np.testing.assert_allclose(lrs(lambda o: S.CosineAnnealingLR(o, T_max=6, eta_min=0.01), 9),
                               [0.5, 0.467176, 0.3775, 0.255, 0.1325, 0.042824, 0.01, 0.042824, 0.1325],
                               atol=5e-7)
    np.testing.assert_allclose(lrs(lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1)), 4),
                               [0.5, 0.25, 0.5 / 3, 0.125], rtol=1e-15)
    np.testing.assert_allclose(lrs(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4), 7),
                               [0.125, 0.21875, 0.3125, 0.40625, 0.5, 0.5, 0.5], rtol=1e-15)


def test_reduce_on_plateau_matches_pytorch():
    m = [1, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    got = lrs(lambda o: S.ReduceLROnPlateau(o, patience=2, factor=0.5, cooldown=1), len(m), m)
    assert got == [0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125]
    got = lrs(lambda o: S.ReduceLROnPlateau(o, mode="max", patience=1, threshold=0.1,
                                            threshold_mode="abs", min_lr=0.1), 6, m)
    assert got == [0.5, 0.5, 0.5, 0.1, 0.1, 0.1]


def test_scheduler_state_dict_resumes():
    opt = SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    s = S.StepLR(opt, 2, 0.1)
    for _ in range(3):
        s.step()
    sd = s.state_dict()
    opt2 = SGD([nn.Parameter(np.zeros(1))], lr=opt.param_groups[0]["lr"])
    s2 = S.StepLR(opt2, 2, 0.1)
    s2.load_state_dict(sd)
    s.step()
    s2.step()
    assert s2.get_last_lr() == s.get_last_lr() and s2.last_epoch == 4


# ---------------------------------------------------------------------- clipping
def test_clip_grad_norm_and_value():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    total = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    close(a.grad, [3 * coef, 0.0])
    close(b.grad, [4 * coef])
    a.grad = np.array([0.3, -0.4])
    assert nn.utils.clip_grad_norm_(a, 10.0).item() == pytest.approx(0.5)
    close(a.grad, [0.3, -0.4])  # under the limit: unchanged
    a.grad = np.array([3.0, -7.0])
    assert nn.utils.clip_grad_norm_([a], 1.0, norm_type=math.inf).item() == 7.0
    a.grad = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="total norm"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    a.grad = np.array([-3.0, 0.2])
    nn.utils.clip_grad_value_([a], 0.5)
    close(a.grad, [-0.5, 0.2])
