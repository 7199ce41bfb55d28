"""Tensor hooks and retain_grad; anomaly mode (messages asserted on op name, index and the
line of this file that called the op)."""

import threading
from pathlib import Path

import numpy as np
import pytest

import autograd
from autograd import AnomalyError

THIS = Path(__file__).resolve()


def line_of(marker: str) -> int:
    """The line number in this file of the (only) line ending with `marker`."""
    lines = THIS.read_text().splitlines()
    hits = [i + 1 for i, text in enumerate(lines) if text.rstrip().endswith(marker)]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def t64(a, grad=True):
    return autograd.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# --------------------------------------------------------------------------- hooks
def test_hook_scales_gradient_and_can_be_removed():
    x = t64([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_hook_on_intermediate_changes_what_flows_upstream():
    x = t64([1.0, -2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.clone()))  # None: observe only
    h.register_hook(lambda g: g * 0.5)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * h.data)
    np.testing.assert_allclose(x.grad, 0.5 * 2 * h.data * 3)


def test_hook_returning_wrong_shape_is_named():
    x = t64([1.0, 2.0])

    def bad_hook(g):
        return np.ones(3)

    x.register_hook(bad_hook)
    with pytest.raises(ValueError, match=r"bad_hook.*\(3,\).*\(2,\)"):
        (x * x).sum().backward()


def test_retain_grad_keeps_non_leaf_gradient():
    x = t64([1.0, 2.0])
    h = x * x
    h.retain_grad()
    other = x * 2
    (h * 3 + other).sum().backward()
    np.testing.assert_allclose(h.grad, [3.0, 3.0])
    assert other.grad is None


def test_hooks_run_under_create_graph():
    x = t64([1.5])
    x.register_hook(lambda g: g * 2)
    (g,) = autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * 3 * 1.5 ** 2)


# --------------------------------------------------------------------------- anomaly mode
def test_off_by_default_and_nan_passes_silently():
    assert not autograd.is_anomaly_enabled()
    x = t64([-1.0])
    with np.errstate(invalid="ignore"):
        y = autograd.sqrt(x)
    assert np.isnan(y.data).all()


def test_forward_nan_names_op_output_and_line():
    x = t64([4.0, -1.0])
    with autograd.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(AnomalyError) as info:
            autograd.sqrt(x)  # <-- forward sqrt
    msg = str(info.value)
    assert "Function 'sqrt' returned nan values in its 0th output" in msg
    assert f"{THIS}:{line_of('# <-- forward sqrt')}" in msg
    assert info.value.phase == "forward" and info.value.lineno == line_of("# <-- forward sqrt")
    assert not autograd.is_anomaly_enabled()


def test_backward_inf_names_op_input_and_forward_line():
    x = t64([0.0, 4.0])
    with autograd.detect_anomaly():
        y = autograd.sqrt(x)  # <-- sqrt at zero
        z = (y * 2).sum()
        with pytest.raises(AnomalyError) as info, np.errstate(divide="ignore"):
            z.backward()
    err = info.value
    assert "Function 'sqrtBackward' returned inf values in its 0th output" in str(err)
    assert "gradient for input 0" in str(err)
    assert f"{THIS}:{line_of('# <-- sqrt at zero')}" in str(err)
    assert (err.op, err.phase, err.index, err.kind) == ("sqrt", "backward", 0, "inf")


def test_backward_nan_in_second_input_of_binary_op():
    x = t64([-1.0])
    y = t64([2.0])
    with autograd.detect_anomaly(), np.errstate(all="ignore"):
        p = x ** y  # <-- power of a negative base
        with pytest.raises(AnomalyError) as info:
            p.sum().backward()  # d/dy x^y = x^y log x = log(-1) = nan (as torch)
    assert "Function 'powBackward' returned nan values in its 1th output" in str(info.value)
    assert "gradient for input 1" in str(info.value)
    assert info.value.index == 1 and info.value.lineno == line_of("# <-- power of a negative base")


def test_forward_inf_raises_at_the_division():
    a, b = t64([1.0]), t64([0.0])
    with autograd.detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(AnomalyError, match=r"Function 'div' returned inf values in its 0th output") as info:
            a / b  # <-- inf division
    assert info.value.lineno == line_of("# <-- inf division")


def test_decorator_set_detect_anomaly_and_check_nan_false():
    @autograd.detect_anomaly()
    def run():
        assert autograd.is_anomaly_enabled()
        return autograd.log(t64([-1.0]))

    with np.errstate(invalid="ignore"), pytest.raises(AnomalyError, match="'log'"):
        run()
    assert not autograd.is_anomaly_enabled()
    autograd.set_detect_anomaly(True)
    try:
        assert autograd.is_anomaly_enabled()
    finally:
        autograd.set_detect_anomaly(False)
    with autograd.detect_anomaly(check_nan=False), np.errstate(invalid="ignore"):
        y = autograd.log(t64([-1.0]))  # <-- recorded, not checked
    assert autograd.anomaly.origin_of(y).lineno == line_of("# <-- recorded, not checked")


def test_anomaly_mode_is_per_thread():
    seen = []
    with autograd.detect_anomaly():
        th = threading.Thread(target=lambda: seen.append(autograd.is_anomaly_enabled()))
        th.start()
        th.join()
    assert seen == [False]


def test_user_function_under_anomaly_is_named_by_class():
    class Reciprocal(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 1.0 / x.data

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return -g / (x * x) * np.nan  # a broken derivative

    x = t64([2.0])
    with autograd.detect_anomaly():
        y = Reciprocal.apply(x)  # <-- user op
        with pytest.raises(AnomalyError) as info:
            y.sum().backward()
    assert "Function 'ReciprocalBackward' returned nan values in its 0th output" in str(info.value)
    assert info.value.lineno == line_of("# <-- user op")


def test_second_order_keeps_origin_of_saved_outputs():
    x = t64([0.0])
    with autograd.detect_anomaly(), np.errstate(all="ignore"):
        y = autograd.sqrt(x + 1.0)  # <-- finite everywhere
        (g,) = autograd.grad(y.sum(), x, create_graph=True)
        (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, [-0.25])
