"""Losses: values against numpy formulas, PyTorch's options, extreme logits, gradchecks."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd.testing import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def t64(a, grad=True):
    return autograd.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad, dtype=np.float64)


def log_softmax(z):
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


Z = RNG.normal(size=(6, 4)) * 3
Y = np.array([0, 3, 1, -100, 2, 1])
W = np.array([1.0, 2.0, 0.5, 3.0])


def test_cross_entropy_indices_weight_ignore_and_smoothing():
    lp = log_softmax(Z)
    valid = Y != -100
    y = np.where(valid, Y, 0)
    nll = -lp[np.arange(6), y]
    assert F.cross_entropy(t64(Z), Y).item() == pytest.approx(nll[valid].mean(), rel=1e-12)
    wy = W[y] * valid
    assert F.cross_entropy(t64(Z), Y, weight=W).item() == pytest.approx((wy * nll).sum() / wy.sum(), rel=1e-12)
    eps = 0.3
    smooth = -(lp * W).sum(-1) * valid
    expect = ((1 - eps) * (wy * nll).sum() + eps / 4 * smooth.sum()) / wy.sum()
    got = F.cross_entropy(t64(Z), Y, weight=W, label_smoothing=eps).item()
    assert got == pytest.approx(expect, rel=1e-12)
    none = F.cross_entropy(t64(Z), Y, reduction="none").data
    np.testing.assert_allclose(none, nll * valid)
    assert F.cross_entropy(t64(Z), Y, reduction="sum").item() == pytest.approx((nll * valid).sum())
    loss_mod = nn.CrossEntropyLoss(weight=W, label_smoothing=eps)
    assert loss_mod(t64(Z), Y).item() == pytest.approx(expect, rel=1e-12)


def test_cross_entropy_probabilities_and_class_axis_1():
    q = RNG.random((6, 4))
    q /= q.sum(1, keepdims=True)
    expect = -(q * log_softmax(Z)).sum(-1).mean()
    assert F.cross_entropy(t64(Z), q).item() == pytest.approx(expect, rel=1e-12)
    z3 = RNG.normal(size=(2, 4, 3))
    y3 = RNG.integers(0, 4, size=(2, 3))
    lp = log_softmax(np.moveaxis(z3, 1, -1))
    expect = -np.take_along_axis(lp, y3[..., None], -1).mean()
    assert F.cross_entropy(t64(z3), y3).item() == pytest.approx(expect, rel=1e-12)
    single = F.cross_entropy(t64(Z[0]), np.array(2))
    assert single.shape == () and single.item() == pytest.approx(-log_softmax(Z[0])[2])


def test_cross_entropy_errors():
    with pytest.raises(IndexError, match="target 4 is out of bounds for 4 classes"):
        F.cross_entropy(t64(Z), np.array([0, 4, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match="does not match input"):
        F.cross_entropy(t64(Z), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(t64(Z), Y, weight=np.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(t64(Z), Y, reduction="avg")


def test_extreme_logits_stay_finite():
    z = t64([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    loss = F.cross_entropy(z, np.array([1, 0]))
    loss.backward()
    assert loss.item() == pytest.approx(2e4 + np.log(2) / 2, rel=1e-12)
    np.testing.assert_allclose(z.grad, [[0.5, -0.5, 0.0], [-0.5, 0.25, 0.25]])
    z32 = autograd.tensor(np.array([[1e4, -1e4]], dtype=np.float32), requires_grad=True)
    l32 = F.cross_entropy(z32, np.array([1]))
    l32.backward()
    assert l32.item() == pytest.approx(2e4) and np.isfinite(z32.grad).all()
    x = t64([1e4, -1e4, 100.0])
    b = F.binary_cross_entropy_with_logits(x, np.array([0.0, 1.0, 0.0]))
    b.backward()
    assert b.item() == pytest.approx(6700.0, rel=1e-12)
    np.testing.assert_allclose(x.grad, np.array([1.0, -1.0, 1.0]) / 3)
    lsm = F.log_softmax(t64([[1e4, 0.0]]), dim=1)
    assert np.isfinite(lsm.data).all()


def test_bce_with_logits_pos_weight_and_weight():
    x = RNG.normal(size=(5, 3)) * 3
    y = RNG.random((5, 3))
    pw = np.array([1.0, 2.0, 3.0])
    w = RNG.random((5, 3))
    logsig = -np.log1p(np.exp(-x))
    log1msig = -np.log1p(np.exp(x))
    expect = -(w * (pw * y * logsig + (1 - y) * log1msig)).mean()
    got = F.binary_cross_entropy_with_logits(t64(x), y, weight=w, pos_weight=pw)
    assert got.item() == pytest.approx(expect, rel=1e-12)
    assert nn.BCEWithLogitsLoss(reduction="sum")(t64(x), y).item() == pytest.approx(
        -(y * logsig + (1 - y) * log1msig).sum(), rel=1e-12)


def test_binary_cross_entropy_clamps_logs():
    p = np.array([0.0, 1.0, 0.3])
    y = np.array([1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(t64(p), y, reduction="none")
    np.testing.assert_allclose(loss.data, [100.0, 100.0, -np.log(0.3)])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.binary_cross_entropy(t64([1.5]), np.array([1.0]))


def test_regression_losses():
    x, y = np.array([0.0, 2.0, -3.0]), np.array([0.5, 0.0, 0.0])
    assert F.mse_loss(t64(x), y).item() == pytest.approx((0.25 + 4 + 9) / 3)
    assert F.l1_loss(t64(x), y, reduction="sum").item() == pytest.approx(5.5)
    assert F.huber_loss(t64(x), y).item() == pytest.approx((0.125 + 1.5 + 2.5) / 3)
    assert nn.HuberLoss(delta=2.0)(t64(x), y).item() == pytest.approx((0.125 + 2 + 4) / 3)
    with pytest.raises(ValueError, match=r"\(3,\) but target has shape \(3, 1\)"):
        nn.MSELoss()(t64(x), y[:, None])


LOSSES = {
    "mse": lambda x, t: F.mse_loss(x, t),
    "l1": lambda x, t: F.l1_loss(x, t),
    "huber": lambda x, t: F.huber_loss(x, t, delta=0.7),
    "bce_logits": lambda x, t: F.binary_cross_entropy_with_logits(x, t, pos_weight=np.array([1.5, 0.5, 2.0])),
    "bce": lambda x, t: F.binary_cross_entropy(autograd.sigmoid(x), t),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_elementwise_losses_gradcheck(name):
    x = t64(RNG.normal(size=(4, 3)))
    t = t64(RNG.random((4, 3)))
    fn = LOSSES[name]
    assert gradcheck(fn, [x, t])
    if name not in ("l1", "huber"):
        assert gradgradcheck(fn, [x, t])


@pytest.mark.parametrize("kw", [{}, {"weight": W}, {"label_smoothing": 0.2, "weight": W}, {"reduction": "sum"}])
def test_cross_entropy_and_nll_gradcheck(kw):
    z = t64(Z)
    assert gradcheck(lambda z: F.cross_entropy(z, Y, **kw), [z])
    assert gradgradcheck(lambda z: F.cross_entropy(z, Y, **kw), [z])
    kw_nll = {k: v for k, v in kw.items() if k != "label_smoothing"}
    assert gradcheck(lambda z: F.nll_loss(F.log_softmax(z, 1), Y, **kw_nll), [z])
    q = t64(RNG.random((6, 4)))
    assert gradcheck(lambda z, q: F.cross_entropy(z, q, **kw), [z, q])


def test_nll_loss_matches_cross_entropy():
    lp = log_softmax(Z)
    for kw in ({}, {"weight": W}):
        a = F.nll_loss(t64(lp), Y, **kw).item()
        b = F.cross_entropy(t64(Z), Y, **kw).item()
        assert a == pytest.approx(b, rel=1e-12)
    assert nn.NLLLoss(reduction="none")(t64(lp), Y).shape == (6,)


# ---------------------------------------------------------------------- found by mutation testing
# Issue 10: mutmut 3.8.1 over nn/losses.py with this file left these mutants alive; each test
# below kills some (the mutation is named in its comment). Errors are part of the API: their
# whole text is checked.
def _raises(err, text, fn, *args, **kw):
    with pytest.raises(err) as e:
        fn(*args, **kw)
    assert str(e.value) == text


def test_loss_errors_name_the_loss_and_what_was_expected():
    # (the loss's name as None or changed, a message as None, the shape expected cut short)
    x, x3 = t64(np.zeros((2, 3))), t64(np.zeros((2, 3, 4)))
    same = "they must match (broadcasting them is almost always a bug, e.g. (N, 1) against (N,))"
    red = "reduction must be one of ('none', 'mean', 'sum'); got 'avg'"
    for name, fn in (("mse_loss", F.mse_loss), ("l1_loss", F.l1_loss), ("huber_loss", F.huber_loss),
                     ("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
                     ("binary_cross_entropy", F.binary_cross_entropy)):
        _raises(ValueError, f"{name}: input has shape (2, 3) but target has shape (3,); {same}", fn, x, np.zeros(3))
        _raises(ValueError, f"{name}: {red}", fn, x, np.zeros((2, 3)), reduction="avg")
    indices, probabilities = np.array([0, 1]), np.zeros((2, 3))
    for name, fn, t in (("cross_entropy", F.cross_entropy, indices), ("cross_entropy", F.cross_entropy, probabilities),
                        ("nll_loss", F.nll_loss, indices)):
        _raises(ValueError, f"{name}: {red}", fn, x, t, reduction="avg")
        _raises(ValueError, f"{name}: input must have a class axis; got a 0-d tensor", fn, t64(1.0), np.array(0))
        _raises(ValueError, f"{name}: weight must have shape (3,) (one per class); got (2,)", fn, x, t,
                weight=np.ones(2))
    for name, fn in (("cross_entropy", F.cross_entropy), ("nll_loss", F.nll_loss)):
        _raises(ValueError, f"{name}: class-index target of shape (3,) does not match input of shape (2, 4, 3) "
                "(classes last); expected (2, 4)", fn, x3, np.array([0, 1, 2]))
        _raises(IndexError, f"{name}: target 3 is out of bounds for 3 classes", fn, x, np.array([0, 3]))
    _raises(ValueError, "cross_entropy: probability target of shape (3, 2) must match the input's shape (2, 3) "
            "(or pass integer class indices)", F.cross_entropy, x, np.zeros((3, 2)))
    _raises(ValueError, "cross_entropy: label_smoothing must be in [0, 1]; got 1.5", F.cross_entropy, x,
            np.array([0, 1]), label_smoothing=1.5)
    _raises(TypeError, "nll_loss: target must hold integer class indices; got dtype float64", F.nll_loss, x,
            np.array([0.0, 1.0]))
    _raises(ValueError, "huber_loss: delta must be positive; got 0", F.huber_loss, x, np.zeros((2, 3)), delta=0)
    _raises(ValueError, "binary_cross_entropy_with_logits: pos_weight of shape (4,) does not broadcast to input "
            "(2, 3)", F.binary_cross_entropy_with_logits, x, np.zeros((2, 3)), pos_weight=np.ones(4))
    _raises(ValueError, f"MSELoss: {red}", nn.MSELoss, reduction="avg")


def test_regression_losses_values_reductions_and_modules():
    # l1 and huber of x - y (x + y lived: the old test's y was 0 where it mattered), mse's
    # reduction passed on, the modules' reduction and HuberLoss's default delta
    x, y = np.array([0.5, 2.0, -3.0, 1.0]), np.array([1.0, -0.5, 0.0, 1.2])
    d = x - y
    hub = np.where(np.abs(d) < 1.0, 0.5 * d * d, np.abs(d) - 0.5)
    np.testing.assert_allclose(F.l1_loss(t64(x), y, reduction="none").data, np.abs(d), rtol=1e-15)
    np.testing.assert_allclose(F.huber_loss(t64(x), y, reduction="none").data, hub, rtol=1e-15)
    assert F.mse_loss(t64(x), y, reduction="sum").item() == pytest.approx((d * d).sum(), rel=1e-15)
    np.testing.assert_allclose(F.mse_loss(t64(x), y, reduction="none").data, d * d, rtol=1e-15)
    assert nn.MSELoss(reduction="sum")(t64(x), y).item() == pytest.approx((d * d).sum(), rel=1e-15)
    assert nn.L1Loss()(t64(x), y).item() == pytest.approx(np.abs(d).mean(), rel=1e-15)
    assert nn.L1Loss(reduction="sum")(t64(x), y).item() == pytest.approx(np.abs(d).sum(), rel=1e-15)
    assert nn.HuberLoss()(t64(x), y).item() == pytest.approx(hub.mean(), rel=1e-15)
    assert (repr(nn.MSELoss()), repr(nn.L1Loss(reduction="sum")), repr(nn.BCELoss(reduction="none"))) == (
        "MSELoss()", "L1Loss(reduction='sum')", "BCELoss(reduction='none')")


def test_huber_second_derivative_at_delta_is_the_linear_branchs():
    # at |d| = delta value and slope agree on both branches; the curvature is the linear
    # branch's 0 (as torch's huber_loss_double_backward, d < delta); `<=` gave 1
    x = t64([1.0, 0.5])
    (g,) = autograd.grad(F.huber_loss(x, np.zeros(2), reduction="sum"), [x], create_graph=True)
    np.testing.assert_array_equal(g.data, [1.0, 0.5])
    (h,) = autograd.grad(g.sum(), [x])
    np.testing.assert_array_equal(h.data, [0.0, 1.0])


def test_targets_and_weights_take_the_inputs_dtype_and_lists():
    # float32 logits stay float32 whatever the dtype of targets, weights, pos_weight and the
    # mean's denominator (each `dtype=...` dropped promoted the loss to float64); lists work
    # (.data of a list)
    z32 = autograd.tensor(Z.astype(np.float32), requires_grad=True)
    q = RNG.random((6, 4))
    cases = [
        F.mse_loss(z32, Z), F.cross_entropy(z32, Y), F.cross_entropy(z32, Y, weight=W),
        F.cross_entropy(z32, q), F.cross_entropy(z32, q, weight=W), F.nll_loss(z32, Y), F.nll_loss(z32, Y, weight=W),
        F.binary_cross_entropy_with_logits(z32, q, pos_weight=W), F.binary_cross_entropy_with_logits(z32, q, weight=q),
    ]
    assert [c.dtype for c in cases] == [np.float32] * len(cases)
    lists = (Y.tolist(), W.tolist())
    assert F.cross_entropy(t64(Z), Y, weight=lists[1]).item() == pytest.approx(
        F.cross_entropy(t64(Z), Y, weight=W).item(), rel=1e-15)
    assert F.nll_loss(t64(Z), lists[0]).item() == pytest.approx(F.nll_loss(t64(Z), Y).item(), rel=1e-15)
    assert F.cross_entropy(t64(Z), q.tolist()).item() == pytest.approx(F.cross_entropy(t64(Z), q).item(), rel=1e-15)
    assert F.binary_cross_entropy_with_logits(t64(Z), q, pos_weight=lists[1]).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(t64(Z), q, pos_weight=W).item(), rel=1e-15)


def test_cross_entropy_integer_tensor_targets_and_label_smoothing_bounds():
    # an integer Tensor target is class indices (it went down the probability path); label
    # smoothing 1 is allowed (the uniform target), 1.5 is not (the bound moved)
    lp = log_softmax(Z)
    assert F.cross_entropy(t64(Z), autograd.tensor(Y)).item() == pytest.approx(F.cross_entropy(t64(Z), Y).item())
    valid = Y != -100
    got = F.cross_entropy(t64(Z), Y, label_smoothing=1.0).item()
    assert got == pytest.approx(-(lp.mean(-1) * valid).sum() / valid.sum(), rel=1e-12)
    assert nn.CrossEntropyLoss()(t64(Z), Y).item() == pytest.approx(F.cross_entropy(t64(Z), Y).item(), rel=1e-15)


def test_cross_entropy_classes_on_axis_1_with_smoothing_and_weights():
    # c is the class count (z.shape[-1], not z.shape[1]) for (N, C, d) logits
    z3 = RNG.normal(size=(2, 4, 3))
    y3 = np.array([[0, 3, 1], [2, 3, 0]])
    lp = log_softmax(np.moveaxis(z3, 1, -1))
    eps = 0.2
    q = np.full(lp.shape, eps / 4)
    np.put_along_axis(q, y3[..., None], 1 - eps + eps / 4, -1)
    w = W[y3]
    expect = -(q * W * lp).sum(-1).sum() / w.sum()
    got = F.cross_entropy(t64(z3), y3, weight=W, label_smoothing=eps).item()
    assert got == pytest.approx(expect, rel=1e-12)
    picked = np.take_along_axis(lp, y3[..., None], -1)[..., 0]
    assert F.nll_loss(t64(np.moveaxis(lp, -1, 1)), y3, weight=W).item() == pytest.approx(
        -(w * picked).sum() / w.sum(), rel=1e-12)


def test_cross_entropy_probability_targets_of_every_layout():
    # probability targets for (C,) and (N, C, d) logits are moved to classes-last like the
    # logits (the layout step skipped, its pieces as None); with smoothing and weights; a
    # Tensor target keeps its gradient d/dq = -log softmax(z) (it was cut by a copy)
    z1, p1 = RNG.normal(size=4), RNG.dirichlet(np.ones(4))
    one = F.cross_entropy(t64(z1), p1)
    assert one.shape == () and one.item() == pytest.approx(-(p1 * log_softmax(z1)).sum(), rel=1e-12)
    one_t = F.cross_entropy(t64(z1), t64(p1, grad=False), reduction="none")
    assert one_t.shape == () and one_t.item() == pytest.approx(one.item(), rel=1e-15)
    z3 = RNG.normal(size=(2, 4, 3))
    p3 = RNG.dirichlet(np.ones(4), size=(2, 3))  # (2, 3, 4), classes last
    lp = log_softmax(np.moveaxis(z3, 1, -1))
    eps = 0.3
    qs = (p3 * (1 - eps) + eps / 4) * W
    expect = -(qs * lp).sum(-1).mean()
    target = np.moveaxis(p3, -1, 1)
    assert F.cross_entropy(t64(z3), target, weight=W, label_smoothing=eps).item() == pytest.approx(expect, rel=1e-12)
    tq = t64(target)
    loss = F.cross_entropy(t64(z3), tq, reduction="sum")
    loss.backward()
    np.testing.assert_allclose(tq.grad.data, -np.moveaxis(lp, -1, 1), rtol=1e-12)


def test_nll_loss_single_sample_and_ignored_rows():
    # (C,) log-probabilities and a 0-d target (the target's reshape to (1,)); an ignored row
    # adds nothing even where its log-probabilities are -inf (index 1 for ignored rows gave nan)
    lp = log_softmax(Z)
    one = F.nll_loss(t64(lp[1]), np.array(3))
    assert one.shape == () and one.item() == pytest.approx(-lp[1, 3])
    assert F.nll_loss(t64(lp[1]), np.array(3), reduction="none").shape == ()
    z = np.array([[0.0, -np.inf], [-0.5, -1.0]])
    assert F.nll_loss(t64(z), np.array([-100, 1]), reduction="sum").item() == 1.0
    assert nn.NLLLoss()(t64(lp), Y).item() == pytest.approx(F.nll_loss(t64(lp), Y).item(), rel=1e-15)
    assert nn.NLLLoss(weight=W)(t64(lp), Y).item() == pytest.approx(F.nll_loss(t64(lp), Y, weight=W).item())


def test_bce_modules_weights_and_a_pos_weight_with_gradient():
    # BCELoss and BCEWithLogitsLoss pass weight, reduction and pos_weight on (their defaults
    # were changed or dropped); binary_cross_entropy's weight multiplies; a Tensor pos_weight
    # keeps its gradient d/dpw = y softplus(-x) (it was made a constant)
    x = RNG.normal(size=(4, 3))
    y = RNG.random((4, 3))
    w = RNG.random((4, 3)) + 0.5
    pw = np.array([0.5, 2.0, 3.0])
    p = 1 / (1 + np.exp(-x))
    bce = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    assert nn.BCELoss()(t64(p), y).item() == pytest.approx(bce.mean(), rel=1e-12)
    assert nn.BCELoss(weight=w, reduction="sum")(t64(p), y).item() == pytest.approx((w * bce).sum(), rel=1e-12)
    np.testing.assert_allclose(F.binary_cross_entropy(t64(p), y, weight=w, reduction="none").data, w * bce, rtol=1e-12)
    sp = np.log1p(np.exp(-x))
    logits = (1 - y) * x + (1 + (pw - 1) * y) * sp
    assert nn.BCEWithLogitsLoss()(t64(x), y).item() == pytest.approx(((1 - y) * x + sp).mean(), rel=1e-12)
    got = nn.BCEWithLogitsLoss(weight=w, reduction="sum", pos_weight=pw)(t64(x), y).item()
    assert got == pytest.approx((w * logits).sum(), rel=1e-12)
    tpw = t64(pw)
    F.binary_cross_entropy_with_logits(t64(x), y, pos_weight=tpw, reduction="sum").backward()
    np.testing.assert_allclose(tpw.grad.data, (y * sp).sum(0), rtol=1e-12)
