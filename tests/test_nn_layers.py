"""Layers: init, gradients (gradcheck), BatchNorm statistics, dropout, the small layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd.testing import gradcheck, gradgradcheck


def t64(a, grad=True):
    return autograd.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad, dtype=np.float64)


RNG = np.random.default_rng(0)


def test_linear_default_init_and_shapes():
    autograd.manual_seed(0)
    lin = nn.Linear(100, 30)
    assert lin.weight.shape == (30, 100) and lin.bias.shape == (30,)
    bound = 1 / math.sqrt(100)
    assert np.abs(lin.weight.data).max() <= bound and np.abs(lin.weight.data).max() > 0.9 * bound
    assert np.abs(lin.bias.data).max() <= bound
    assert abs(lin.weight.data.std() - bound / math.sqrt(3)) < 0.01  # U(-b, b) has std b/√3
    assert lin.weight.dtype == np.float32
    y = lin(autograd.tensor(np.ones((4, 7, 100), dtype=np.float32)))
    assert y.shape == (4, 7, 30) and y.dtype == np.float32


def test_manual_seed_makes_init_reproducible():
    autograd.manual_seed(3)
    a = nn.Linear(5, 5).weight.data.copy()
    autograd.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(5, 5).weight.data)
    assert not np.array_equal(a, nn.Linear(5, 5).weight.data)


def test_linear_matches_numpy_and_gradchecks():
    x, w, b = t64(RNG.normal(size=(4, 3))), t64(RNG.normal(size=(2, 3))), t64(RNG.normal(size=2))
    np.testing.assert_allclose(F.linear(x, w, b).data, x.data @ w.data.T + b.data)
    assert gradcheck(F.linear, [x, w, b])
    assert gradgradcheck(F.linear, [x, w, b])
    x3 = t64(RNG.normal(size=(2, 2, 3)))
    assert gradcheck(lambda x, w: F.linear(x, w), [x3, w])


def test_linear_module_uses_its_parameters():
    lin = nn.Linear(3, 2, dtype=np.float64)
    x = t64(RNG.normal(size=(4, 3)))
    lin(x).sum().backward()
    np.testing.assert_allclose(lin.weight.grad, np.ones((4, 2)).T @ x.data)
    np.testing.assert_allclose(lin.bias.grad, [4.0, 4.0])
    assert nn.Linear(3, 2, bias=False).bias is None


def test_batchnorm_training_uses_batch_stats_and_updates_running_ones():
    bn = nn.BatchNorm1d(2, dtype=np.float64)
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0], [6.0, 30.0]])
    y = bn(t64(x, grad=False)).data
    mean = x.mean(0)
    var_b = ((x - mean) ** 2).mean(0)  # biased, for normalising
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var_b + 1e-5))
    np.testing.assert_allclose(bn.running_mean.data, 0.9 * 0 + 0.1 * mean)
    np.testing.assert_allclose(bn.running_var.data, 0.9 * 1 + 0.1 * var_b * 4 / 3)  # unbiased
    bn(t64(x, grad=False))
    np.testing.assert_allclose(bn.running_mean.data, 0.9 * 0.1 * mean + 0.1 * mean)
    assert int(bn.num_batches_tracked.data) == 2
    bn.eval()
    rm, rv = bn.running_mean.data.copy(), bn.running_var.data.copy()
    np.testing.assert_allclose(bn(t64(x)).data, (x - rm) / np.sqrt(rv + 1e-5))
    np.testing.assert_array_equal(bn.running_mean.data, rm)  # eval changes nothing


def test_batchnorm_3d_input_normalises_per_channel():
    bn = nn.BatchNorm1d(3, dtype=np.float64)
    x = RNG.normal(size=(4, 3, 5)) * 3 + 2
    y = bn(t64(x, grad=False)).data
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2)), 1, rtol=1e-4)


def test_batchnorm_batch_of_one_is_a_clear_error_and_changes_nothing():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(autograd.tensor(np.ones((1, 3), dtype=np.float32)))
    assert int(bn.num_batches_tracked.data) == 0 and not bn.running_mean.data.any()
    bn.eval()
    assert bn(autograd.tensor(np.ones((1, 3), dtype=np.float32))).shape == (1, 3)
    with pytest.raises(ValueError, match=r"expected input \(N, 3\)"):
        bn(autograd.tensor(np.ones((2, 4), dtype=np.float32)))


def test_batchnorm_and_layernorm_gradcheck():
    x = t64(RNG.normal(size=(5, 3)))
    w, b = t64(RNG.normal(size=3)), t64(RNG.normal(size=3))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])
    x3 = t64(RNG.normal(size=(3, 2, 4)))
    w2, b2 = w[:2].detach().requires_grad_(), b[:2].detach().requires_grad_()
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x3, w2, b2])
    ln_w, ln_b = t64(RNG.normal(size=(4,))), t64(RNG.normal(size=(4,)))
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), [t64(RNG.normal(size=(3, 4))), ln_w, ln_b])
    assert gradgradcheck(lambda x: F.layer_norm(x, 4), [t64(RNG.normal(size=(2, 4)))])


def test_layernorm_module():
    ln = nn.LayerNorm((2, 3), dtype=np.float64)
    x = RNG.normal(size=(4, 2, 3))
    y = ln(t64(x, grad=False)).data
    m = x.mean(axis=(1, 2), keepdims=True)
    v = x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (x - m) / np.sqrt(v + 1e-5))
    with pytest.raises(ValueError, match="normalized_shape"):
        ln(t64(np.ones((4, 3, 2))))


def test_dropout_scales_kept_units_and_is_seeded():
    x = autograd.tensor(np.ones((200, 50), dtype=np.float32))
    d = nn.Dropout(0.25)
    autograd.manual_seed(7)
    y1 = d(x).data
    autograd.manual_seed(7)
    np.testing.assert_array_equal(y1, d(x).data)
    assert set(np.unique(y1)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y1 == 0).mean() - 0.25) < 0.02
    assert y1.dtype == np.float32
    d.eval()
    assert d(x) is x
    assert not F.dropout(x, 1.0).data.any()
    with pytest.raises(ValueError, match="p must be"):
        nn.Dropout(1.5)


def test_dropout_gradient_is_the_mask():
    x = t64(np.ones((10, 10)))
    autograd.manual_seed(1)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)


def test_activations_flatten_embedding():
    x = autograd.tensor([-2.0, 0.5])
    assert nn.ReLU()(x).tolist() == [0.0, 0.5]
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, [-0.2, 0.5], rtol=1e-6)
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh([-2.0, 0.5]), rtol=1e-6)
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp([2.0, -0.5])), rtol=1e-6)
    np.testing.assert_allclose(nn.Softplus()(x).data, np.log1p(np.exp([-2.0, 0.5])), rtol=1e-6)
    np.testing.assert_allclose(nn.GELU()(x).data, [-0.0455003, 0.3457312], rtol=1e-5)
    assert nn.Identity(3, k=1)(x) is x
    assert nn.Flatten()(autograd.tensor(np.zeros((2, 3, 4)))).shape == (2, 12)
    emb = nn.Embedding(5, 3, dtype=np.float64)
    idx = np.array([[0, 4], [4, 1]])
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad[:, 0], [1, 1, 0, 0, 2])
    with pytest.raises(IndexError, match="out of range"):
        emb(np.array([5]))
