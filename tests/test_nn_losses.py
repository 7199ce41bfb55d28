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
