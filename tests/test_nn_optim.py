"""Optimizers step by step against their formulas; groups, state dicts; schedules with
PyTorch's values (computed with torch 2.13 once, written down here); gradient clipping."""

from __future__ import annotations

import copy
import math
import re
import tracemalloc

import numpy as np
import pytest

import autograd
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


# ---------------------------------------------------------------------- found by mutation testing
# Issue 10: mutmut 3.8.1 over nn/optim/optimizer.py and optimizers.py with this file left these
# mutants alive; each test below kills some (the mutant it is for is named in its comment).
def test_defaults_are_pytorchs():  # a changed default lr
    p = nn.Parameter(np.zeros(1))
    assert SGD([p]).defaults == dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)
    assert Adam([p]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)
    assert AdamW([p]).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)
    assert RMSprop([p]).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                                         centered=False)


@pytest.mark.parametrize("cls, kw, what", [
    (SGD, dict(lr=-0.5), "learning rate: -0.5"),
    (SGD, dict(momentum=-0.5), "momentum value: -0.5"),
    (SGD, dict(weight_decay=-0.5), "weight_decay value: -0.5"),
    (Adam, dict(lr=-0.5), "learning rate: -0.5"),
    (Adam, dict(eps=-0.5), "epsilon value: -0.5"),
    (Adam, dict(betas=(-0.5, 0.9)), "beta parameter at index 0: -0.5"),
    (Adam, dict(betas=(1.0, 0.9)), "beta parameter at index 0: 1.0"),
    (Adam, dict(betas=(0.9, -0.5)), "beta parameter at index 1: -0.5"),
    (Adam, dict(weight_decay=-0.5), "weight_decay value: -0.5"),
    (AdamW, dict(lr=-0.5), "learning rate: -0.5"),
    (RMSprop, dict(lr=-0.5), "learning rate: -0.5"),
    (RMSprop, dict(eps=-0.5), "epsilon value: -0.5"),
    (RMSprop, dict(alpha=-0.5), "alpha value: -0.5"),
    (RMSprop, dict(momentum=-0.5), "momentum value: -0.5"),
    (RMSprop, dict(weight_decay=-0.5), "weight_decay value: -0.5"),
])
def test_invalid_options_name_the_optimizer_the_option_and_the_value(cls, kw, what):
    # (the name, the text or the bound changed: "None: ...", "XXSGDXX", "sgd", beta1 < 2)
    with pytest.raises(ValueError, match=f"^{cls.__name__}: invalid {re.escape(what)}$"):
        cls([nn.Parameter(np.zeros(1))], **kw)


def test_zero_is_a_valid_lr_eps_beta_and_alpha():
    # as torch (only negative values are refused; `> 0` instead of `>= 0` survived): with β = 0
    # and ε = 0, Adam and RMSprop step by lr·sign(g)
    g = np.array([3.0, -0.5])
    for opt_of in (lambda p: Adam([p], lr=0.1, betas=(0.0, 0.0), eps=0.0),
                   lambda p: RMSprop([p], lr=0.1, alpha=0.0, eps=0.0)):
        p = nn.Parameter(np.ones(2))
        opt = opt_of(p)
        for _ in range(2):
            p.grad = g.copy()
            opt.step()
        close(p.data, [0.8, 1.2])
    for cls in (SGD, Adam, AdamW, RMSprop):
        p = nn.Parameter(np.ones(2))
        p.grad = g.copy()
        cls([p], lr=0.0, weight_decay=0.0).step()
        close(p.data, [1.0, 1.0])


def test_construction_errors_name_the_optimizer_and_the_culprit():
    p = nn.Parameter(np.zeros(2))
    cases = [
        (lambda: SGD(p), TypeError,
         "SGD: params must be an iterable of Tensors or of dicts; got a Tensor (pass model.parameters() or [tensor])"),
        (lambda: Adam([]), ValueError, "Adam: got an empty parameter list"),
        (lambda: SGD([p]).add_param_group([p]), TypeError, "SGD: a parameter group must be a dict; got list"),
        (lambda: RMSprop([p, np.zeros(2)]), TypeError, "RMSprop: parameter 1 is a ndarray, not a Tensor"),
        (lambda: AdamW([p * 2]), ValueError, "AdamW: can't optimize a non-leaf Tensor (parameter 0)"),
        (lambda: SGD([p, autograd.tensor([1, 2])]), TypeError, "SGD: parameter 1 has dtype int64; floats expected"),
        (lambda: Adam([p, p]), ValueError, "Adam: some parameters appear in more than one parameter group"),
        (lambda: SGD([p], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
         "SGD: Nesterov momentum requires a momentum and zero dampening"),
    ]
    for make, err, text in cases:
        with pytest.raises(err) as e:
            make()
        assert str(e.value) == text


def test_a_group_may_hold_one_tensor_or_a_generator():
    # ("params" not stored back as a list: the group kept the Tensor or the spent generator)
    a, b, c = (nn.Parameter(np.ones(2)) for _ in range(3))
    opt = SGD([{"params": a}, {"params": (q for q in [b, c]), "lr": 0.5}], lr=0.1)
    assert [[id(q) for q in g["params"]] for g in opt.param_groups] == [[id(a)], [id(b), id(c)]]
    for q in (a, b, c):
        q.grad = np.ones(2)
    opt.step()
    close(a.data, [0.9, 0.9])
    close(b.data, [0.5, 0.5])
    close(c.data, [0.5, 0.5])


def test_zero_grad_without_set_to_none_zeroes_in_place():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = SGD([a, b], lr=0.1)
    a.grad = np.full(2, 3.0)
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and b.grad is None
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])
    assert opt.step() is None  # no closure, no loss (not "")


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop])
def test_a_parameter_without_grad_is_skipped_not_the_rest(cls):  # (continue -> break)
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = cls([a, b], lr=0.1)
    b.grad = np.ones(2)
    opt.step()
    close(a.data, [1.0, 1.0])
    assert np.all(b.data < 1.0) and a not in opt.state


def test_steps_after_the_first_allocate_no_parameter_sized_array():
    # the module's promise, "one scratch array per parameter, reused": a mutant that made a new
    # one each step (get(None), storing None, `==` for `!=`) computed the same numbers
    n = 100_000
    for cls in (SGD, Adam, RMSprop):
        p = nn.Parameter(np.zeros(n))
        opt = cls([p], lr=0.1)
        p.grad = np.ones(n)
        opt.step()  # state and scratch arrays are made here
        tracemalloc.start()
        try:
            opt.step()
            opt.step()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < n * 8 // 4, (cls.__name__, peak)


def test_a_parameter_whose_array_changes_shape_gets_a_new_scratch_array():
    # (`and` for `or`: a scratch array of the old shape was reused)
    p = nn.Parameter(np.ones(3))
    opt = SGD([p], lr=0.5)
    p.grad = np.ones(3)
    opt.step()
    p.data = np.ones(5)
    p.grad = np.ones(5)
    opt.step()
    close(p.data, [0.5] * 5)


def test_state_dict_is_a_snapshot_and_load_state_dict_a_copy():
    # (copy for deepcopy, state arrays not copied: later steps or edits leaked through)
    p = nn.Parameter(np.zeros(2))
    opt = SGD([{"params": [p], "tags": {"names": ["w"]}}], lr=0.1, momentum=0.9)
    p.grad = np.ones(2)
    opt.step()
    sd = opt.state_dict()
    opt.step()  # changes the momentum buffer in place
    opt.param_groups[0]["tags"]["names"].append("changed")
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0, 1.0])
    assert sd["param_groups"][0]["tags"] == {"names": ["w"]}
    opt2 = SGD([nn.Parameter(np.zeros(2))], lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    sd["param_groups"][0]["tags"]["names"].append("later")
    assert opt2.param_groups[0]["tags"] == {"names": ["w"]}


def test_state_dict_copies_the_state_not_the_parameters():
    # ('params' not skipped before the deepcopy of the options: every parameter was copied, then
    # the copy thrown away; same result, a model's worth of memory)
    p = nn.Parameter(np.zeros(200_000))
    opt = SGD([p], lr=0.1)
    tracemalloc.start()
    try:
        sd = opt.state_dict()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sd["param_groups"][0]["params"] == [0] and peak < 100_000


def test_load_state_dict_errors_name_the_optimizer_and_every_problem():
    # (the name as None, messages as None, `break` for `continue`, the joiner changed)
    p = nn.Parameter(np.zeros(2))
    opt = Adam([p])
    with pytest.raises(ValueError) as e:
        opt.load_state_dict({})
    assert str(e.value) == "Adam.load_state_dict: expected a dict with 'state' and 'param_groups'"
    two = Adam([{"params": [nn.Parameter(np.zeros(2))]}, {"params": [nn.Parameter(np.zeros(1))]}]).state_dict()
    with pytest.raises(ValueError) as e:
        opt.load_state_dict(two)
    assert str(e.value) == "Adam.load_state_dict: the saved state has 2 parameter groups; this optimizer has 1"
    bad = {"state": {5: {"step": 1.0}, 0: {"step": 1.0, "exp_avg": np.zeros(3)}},
           "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(ValueError) as e:
        opt.load_state_dict(bad)
    assert str(e.value) == (
        "Adam.load_state_dict:\n"
        "  state for parameter index 5, which this optimizer does not have\n"
        "  state 'exp_avg' of parameter 0 has shape (3,); the parameter has (2,)"
    )


def test_load_state_dict_takes_json_like_input_and_casts_to_the_parameter():
    # what a JSON round trip or another dtype gives: lists for tuples, numpy scalars, float64
    # state for a float32 parameter (list kept as list, None for the scalar, dtype not cast)
    src = nn.Parameter(np.ones(2))
    opt = Adam([src], betas=(0.8, 0.9))
    src.grad = np.ones(2)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    sd["param_groups"][0]["betas"] = [0.8, 0.9]
    sd["state"][0]["step"] = np.float64(1.0)
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    opt2 = Adam([p])
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["betas"] == (0.8, 0.9) and isinstance(opt2.param_groups[0]["betas"], tuple)
    s = opt2.state[p]
    assert type(s["step"]) is float and s["step"] == 1.0
    assert s["exp_avg"].dtype == s["exp_avg_sq"].dtype == np.float32
    p.grad = np.ones(2, dtype=np.float32)
    opt2.step()
    assert s["step"] == 2.0 and p.dtype == np.float32


def test_adam_without_bias_correction():
    # p <- p - lr m / (sqrt(v) + eps); the option is kept in the group only when False (the
    # option dropped, renamed or stored as True, its factors of 1.0 changed to 2.0)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p = nn.Parameter(P0.copy())
    opt = Adam([p], lr=lr, bias_correction=False)
    assert opt.param_groups[0]["bias_correction"] is False
    assert "bias_correction" not in Adam([nn.Parameter(P0.copy())]).param_groups[0]
    x, m, v = P0.copy(), 0 * P0, 0 * P0
    for g in GRADS:
        p.grad = g.copy()
        opt.step()
        m = m + (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * m / (np.sqrt(v) + eps)
        close(p.data, x)

@pytest.mark.parametrize("cls", [Adam, AdamW])
def test_amsgrad_divides_by_the_largest_second_moment(cls):
    # the formula tests above never let v shrink, so AdamW dropping `amsgrad` lived
    lr, b1, b2, eps, wd = 0.1, 0.5, 0.5, 1e-8, 0.0
    grads = [10.0, 0.1, 0.1]
    p = nn.Parameter(np.array([1.0]))
    opt = cls([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=True)

    def reference(ams):
        x, m, v, vmax = 1.0, 0.0, 0.0, 0.0
        for t, g in enumerate(grads, 1):
            m = m + (1 - b1) * (g - m)
            v = b2 * v + (1 - b2) * g * g
            vmax = max(vmax, v)
            x -= lr / (1 - b1**t) * m / (math.sqrt(vmax if ams else v) / math.sqrt(1 - b2**t) + eps)
        return x

    for g in grads:
        p.grad = np.array([g])
        opt.step()
    assert opt.param_groups[0]["amsgrad"] is True
    assert abs(reference(True) - reference(False)) > 1e-3
    close(p.data, [reference(True)])


def test_rmsprop_state_counts_steps_and_holds_only_the_buffers_it_uses():
    # as torch's: 'step' counts (+= 2, -= 1, = 1, a start at 1 lived), a momentum buffer only
    # with momentum > 0 (`>=` lived)
    p, q = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = RMSprop([{"params": [p]}, {"params": [q], "momentum": 0.5, "centered": True}])
    for _ in range(3):
        p.grad, q.grad = np.ones(2), np.ones(2)
        opt.step()
    assert set(opt.state[p]) == {"step", "square_avg"} and opt.state[p]["step"] == 3.0
    assert set(opt.state[q]) == {"step", "square_avg", "momentum_buffer", "grad_avg"}


def test_repr_lists_each_groups_options():  # (__repr__ had no test)
    opt = SGD([{"params": [nn.Parameter(np.zeros(1))]}, {"params": [nn.Parameter(np.zeros(1))], "lr": 0.5}],
              lr=0.1)
    assert repr(opt) == (
        "SGD (\n"
        "Parameter Group 0\n    dampening: 0.0\n    lr: 0.1\n    momentum: 0.0\n    nesterov: False\n"
        "    weight_decay: 0.0\n"
        "Parameter Group 1\n    dampening: 0.0\n    lr: 0.5\n    momentum: 0.0\n    nesterov: False\n"
        "    weight_decay: 0.0\n"
        ")"
    )


# --------------------------------------------------------------------------- flat=True
FLAT_CASES = [(SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)), (SGD, dict(lr=0.1)),
              (Adam, dict(lr=0.01, amsgrad=True)), (AdamW, dict(lr=0.01)),
              (RMSprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1))]


def _two_groups(seed=1):
    rng = np.random.default_rng(seed)
    a = [nn.Parameter(rng.normal(size=s)) for s in ((3, 2), (2,))]
    b = [nn.Parameter(rng.normal(size=(4,)).astype(np.float32)), nn.Parameter(rng.normal(size=(2, 2)))]
    return a, b


@pytest.mark.parametrize("cls, kw", FLAT_CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_flat_buffers_give_the_same_numbers_and_keep_identities(cls, kw):
    runs = []
    for flat in (False, True):
        a, b = _two_groups()
        ids = [id(p) for p in a + b]
        opt = cls([{"params": a}, {"params": b, "lr": 0.05}], **kw, flat=flat)
        rng = np.random.default_rng(2)
        for _ in range(4):
            opt.zero_grad()
            for p in a + b:
                p.grad = rng.normal(size=p.shape).astype(p.dtype)
            opt.step()
        assert [id(p) for p in a + b] == ids
        runs.append(([p.data.copy() for p in a + b], opt.state_dict()))
    (p0, s0), (p1, s1) = runs
    for x, y in zip(p0, p1):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert s0["param_groups"] == s1["param_groups"] and s0["state"].keys() == s1["state"].keys()
    for k in s0["state"]:
        for name, v in s0["state"][k].items():
            w = s1["state"][k][name]
            assert np.array_equal(v, w) if isinstance(v, np.ndarray) else v == w


def test_flat_parameters_gradients_and_state_are_views_of_one_buffer():
    a, b = _two_groups()
    opt = Adam(a + b, lr=0.01, flat=True)
    for p in a + b:
        p.grad = np.ones(p.shape, dtype=p.dtype)
    opt.step()
    opt.zero_grad()
    buffers = {k: v for k, v in opt._flat.items()}
    for p in a + b:
        dt = p.dtype.str
        assert np.shares_memory(p.data, buffers[f"param {dt}"])
        assert np.shares_memory(p.grad.data, buffers[f"grad {dt}"]) and not p.grad.data.any()
        assert np.shares_memory(opt.state[p]["exp_avg"], buffers[f"exp_avg {dt}"])
    assert {k.split()[0] for k in buffers} == {"param", "grad", "work", "exp_avg", "exp_avg_sq"}


def test_flat_sees_data_replaced_and_state_loaded():
    a, b = _two_groups()
    ref_a, ref_b = _two_groups()
    opt, ref = SGD(a + b, lr=0.1, momentum=0.9, flat=True), SGD(ref_a + ref_b, lr=0.1, momentum=0.9)
    for step in range(4):
        for p, q in zip(a + b, ref_a + ref_b):
            p.grad = np.full(p.shape, 0.5, dtype=p.dtype)
            q.grad = np.full(q.shape, 0.5, dtype=q.dtype)
        if step == 2:
            a[0].data = np.zeros((3, 2))  # replaced from outside
            ref_a[0].data = np.zeros((3, 2))
            opt.load_state_dict(ref.state_dict())
        opt.step()
        ref.step()
        for p, q in zip(a + b, ref_a + ref_b):
            assert np.array_equal(p.data, q.data)
    assert np.shares_memory(a[0].data, opt._flat["param <f8"])


def test_flat_is_opt_in_and_reaches_every_optimizer():
    # (mutation testing, issue 10) flat=False by default, flat=True passed on by AdamW and
    # RMSprop (dropped, or defaulted to True, both lived), and an Optimizer without _math()
    # refuses flat=True by name
    for cls in (SGD, Adam, AdamW, RMSprop):
        assert cls([nn.Parameter(np.zeros(2))], lr=0.1)._flat is None
        assert cls([nn.Parameter(np.zeros(2))], lr=0.1, flat=True)._flat is not None

    class Plain(nn.optim.Optimizer):
        def _update(self, group):
            pass

    assert Plain([nn.Parameter(np.zeros(2))], {})._flat is None
    with pytest.raises(TypeError) as e:
        Plain([nn.Parameter(np.zeros(2))], {}, flat=True)
    assert str(e.value) == "Plain: flat=True needs the optimizer's formulas in _math()"


@pytest.mark.parametrize("make", [lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1, flat=True),
                                  lambda ps: nn.optim.Adam(ps, lr=0.1, weight_decay=0.1, flat=True),
                                  lambda ps: nn.optim.AdamW(ps, lr=0.1, flat=True)])
def test_flat_step_leaves_a_parameter_without_gradient_as_it_is(make):
    """As PyTorch: `.grad` None means no update, even with weight decay (flat=True too)."""
    autograd.manual_seed(0)
    used, unused = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = make(list(used.parameters()) + list(unused.parameters()))
    before, used_before = unused.weight.data.copy(), used.weight.data.copy()
    for _ in range(2):
        used(autograd.ones(1, 2)).sum().backward()
        unused.weight.grad = unused.bias.grad = None
        opt.step()
    np.testing.assert_array_equal(unused.weight.data, before)
    assert not np.array_equal(used.weight.data, used_before)
