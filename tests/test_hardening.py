"""Issue 10's edge cases: each bad or unusual input gets PyTorch's answer or a clear error."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
from autograd import tensor


def f64(data, requires_grad=True):
    return tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


# --------------------------------------------------------------------------- 0-d tensors
def test_zero_d_squeeze_and_swapaxes_return_the_tensor():
    x = f64(2.0)
    assert autograd.squeeze(x, 0).item() == 2.0
    assert autograd.swapaxes(x, 0, 0).item() == 2.0
    assert autograd.swapaxes(x, 0, -1).item() == 2.0
    with pytest.raises(ValueError, match="out of range"):
        autograd.squeeze(x, 1)


@pytest.mark.parametrize("axis", [0, -1])
def test_zero_d_reductions_take_axis_0_and_minus_1(axis):
    x = f64(3.0)
    for fn in (autograd.sum, autograd.mean, autograd.max, autograd.logsumexp):
        assert fn(x, axis=axis).item() == pytest.approx(3.0)
    assert autograd.softmax(x, axis=axis).item() == 1.0
    with pytest.raises(ValueError, match="out of range"):
        autograd.sum(x, axis=1)


# --------------------------------------------------------------------------- empty tensors
def test_softmax_family_over_an_empty_axis_is_empty():
    z = f64(np.zeros((2, 0)))
    assert autograd.softmax(z, axis=1).shape == (2, 0)
    assert autograd.log_softmax(z, axis=1).shape == (2, 0)
    lse = autograd.logsumexp(z, axis=1)
    assert lse.shape == (2,) and np.all(np.isneginf(lse.data))  # log of an empty sum, as torch


def test_max_over_a_nonempty_axis_of_an_empty_tensor_is_empty():
    assert autograd.zeros(0, 3).max(axis=1).shape == (0,)
    with pytest.raises(ValueError, match="axis of length 0"):
        autograd.zeros(3, 0).max(axis=1)


def test_batchnorm_and_linear_with_empty_sizes():
    bn = nn.BatchNorm1d(3)
    before = bn.running_mean.data.copy()
    assert bn(autograd.zeros(0, 3)).shape == (0, 3)
    np.testing.assert_array_equal(bn.running_mean.data, before)
    layer = nn.Linear(0, 2)
    out = layer(autograd.zeros(4, 0))
    assert out.shape == (4, 2) and np.all(out.data == 0)


# --------------------------------------------------------------------------- clip with Tensor bounds
def test_clip_with_tensor_bounds_differentiates_through_them():
    x = f64([-2.0, 0.5, 3.0, 1.0])
    lo = f64([-1.0, 0.0, 0.0, 0.0])
    hi = f64(1.0)
    y = autograd.clip(x, lo, hi)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [-1.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [0, 1, 0, 1])  # at the bound itself: to x (torch)
    np.testing.assert_array_equal(lo.grad.data, [1, 0, 0, 0])
    assert hi.grad.item() == 1.0


# --------------------------------------------------------------------------- NaN where torch gives 0
def test_pow_gradients_at_zero_are_zero_not_nan():
    x = f64([0.0, 0.0, 2.0])
    y = f64([0.0, 2.0, 3.0])
    (x**y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 12.0])
    np.testing.assert_allclose(y.grad.data, [0.0, 0.0, 8 * np.log(2.0)])


# --------------------------------------------------------------------------- input validation
@pytest.mark.parametrize("data", ["abc", np.array([1, "a"], dtype=object), [object()]])
def test_non_numeric_data_is_refused(data):
    with pytest.raises(TypeError, match="tensor"):
        tensor(data)


def test_hooks_must_return_a_gradient_of_the_right_kind():
    x = tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="returned list"):
        h.sum().backward()
    y = tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    k = y * 2
    k.register_hook(lambda g: np.ones(3))  # float64 for a float32 tensor
    with pytest.raises(ValueError, match="float64.*expected.*float32"):
        k.sum().backward()


def test_an_error_names_its_op_once():
    with pytest.raises(IndexError) as e:
        tensor([1.0, 2.0])[5]
    assert str(e.value).count("getitem") == 1


def test_std_of_a_constant_has_gradient_zero():
    x = f64([3.0, 3.0, 3.0])
    s = x.std()
    s.backward()
    assert s.item() == 0.0
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])


def test_std_matches_numpy_and_torch_with_ddof():
    x = f64([1.0, 2.0, 4.0])
    x.std(ddof=1).backward()
    np.testing.assert_allclose(x.grad.data, [-0.43643578, -0.10910895, 0.54554473], rtol=1e-7)  # torch's
    assert autograd.std(f64(np.arange(6.0).reshape(2, 3)), axis=1, correction=1).tolist() == [1.0, 1.0]


# --------------------------------------------------------------------------- float32 precision
def test_float32_std_of_huge_values_does_not_overflow():
    x = tensor(np.array([1e20, 2e20, 3e20], dtype=np.float32))
    assert x.std(ddof=1).item() == pytest.approx(1e20, rel=1e-6)  # the square is taken in float64


@pytest.mark.parametrize("v", [1e7, 1e8])
def test_float32_cross_entropy_of_equal_huge_logits_is_log_3(v):
    z = tensor(np.full((1, 3), v, dtype=np.float32), requires_grad=True)
    loss = nn.functional.cross_entropy(z, np.array([0]))
    assert loss.item() == pytest.approx(np.log(3.0), rel=1e-6)
    assert autograd.log_softmax(z, axis=1).data[0, 0] == pytest.approx(-np.log(3.0), rel=1e-6)


# --------------------------------------------------------------------------- what had no test
def test_init_functions_fill_with_the_right_statistics():
    autograd.manual_seed(0)
    w = nn.Parameter(np.zeros((400, 300), dtype=np.float64))
    v0 = w._version
    nn.init.xavier_normal_(w, gain=2.0)
    assert w.data.std() == pytest.approx(2.0 * np.sqrt(2.0 / 700), rel=0.02)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w.data.std() == pytest.approx(np.sqrt(2.0 / 300), rel=0.02)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.data.std() == pytest.approx(np.sqrt(2.0 / 400), rel=0.02)
    nn.init.constant_(w, 0.25)
    assert np.all(w.data == 0.25)
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert np.all(w.data == 1)
    assert w._version == v0 + 6  # every fill counts as an in-place change
    assert nn.init.calculate_gain("relu") == pytest.approx(np.sqrt(2.0))
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(np.sqrt(2 / 1.04))
    assert nn.init.calculate_gain("linear") == 1.0
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.init.calculate_gain("swish")


def test_grad_mode_classes_work_as_decorators():
    @autograd.enable_grad()
    def inner(x):
        return (x * 2).requires_grad

    @autograd.set_grad_enabled(False)
    def off(x):
        return (x * 2).requires_grad

    x = f64([1.0])
    with autograd.no_grad():
        assert inner(x) is True
    assert off(x) is False
    assert autograd.is_grad_enabled()


def test_iterating_a_tensor_gives_its_rows_in_the_graph():
    x = f64([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows = list(x)
    assert len(x) == 3 and len(rows) == 3 and rows[1].tolist() == [3.0, 4.0]
    sum(r.sum() * (i + 1) for i, r in enumerate(rows)).backward()
    np.testing.assert_array_equal(x.grad.data, [[1, 1], [2, 2], [3, 3]])
    with pytest.raises(TypeError, match="0-d"):
        len(f64(1.0))


@pytest.mark.parametrize("stat, expected", [
    (lambda x: x.std(), np.std([1, 2, 4])),
    (lambda x: x.norm(), np.linalg.norm([1, 2, 4])),
    (lambda x: x.norm(p=1), 7.0),
    (lambda x: x.var(), np.var([1, 2, 4])),
])
def test_statistics_of_integers_are_float64_as_numpys(stat, expected):
    out = stat(autograd.tensor([1, 2, 4]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.item(), expected)


def test_to_takes_dtype_names_and_names_a_bad_argument():
    x = autograd.tensor([1.0, 2.0])
    assert x.to("float64").dtype == np.float64 and x.to("cpu", "float16").dtype == np.float16
    with pytest.raises(TypeError, match="'tpu' is neither a device"):
        x.to("tpu")
    if not autograd.cuda.is_available():  # (on a GPU machine the move itself is tested in tests/gpu)
        with pytest.raises(RuntimeError, match="to: device 'cuda:0' is not available"):
            x.to("cuda:0")
