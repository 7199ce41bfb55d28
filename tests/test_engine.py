"""Engine invariants: graph reuse, accumulation, retain_graph, grad mode, dtypes, operands,
indexing, errors, freeing without the garbage collector, deep graphs, higher order,
numerical stability at the edges, hooks."""

from __future__ import annotations

import gc
import math
import threading
import weakref

import numpy as np
import pytest

import autograd
from autograd import Tensor, grad, tensor


def f64(data, requires_grad=True):
    return tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


# --------------------------------------------------------------------------- reuse
def test_diamond_sums_both_paths():
    x = f64(0.7)
    y = x * 2.0
    z = y.exp() + y.sin()  # y feeds two consumers
    z.backward()
    assert x.grad == pytest.approx(2 * math.exp(1.4) + 2 * math.cos(1.4))


def test_same_tensor_twice_in_one_op():
    a = f64([1.0, -2.0])
    (a + a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0])
    x = f64([3.0, -1.5])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, -3.0])


def test_gradient_arrays_are_not_shared_between_leaves():
    # Add passes the same gradient array to both inputs; each leaf must own its .grad.
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).backward(np.ones(2))
    a.grad += 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


# --------------------------------------------------------------------------- accumulation
def test_gradients_accumulate_across_backward_calls():
    x = f64([1.0, 2.0])
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_user_gradient_is_copied_not_aliased():
    x = f64([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    x.backward(seed)
    x.grad += 5
    np.testing.assert_array_equal(seed, [1.0, 1.0])


# --------------------------------------------------------------------------- retain_graph
def test_second_backward_needs_retain_graph():
    x = f64([0.5, 1.5])
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = f64([0.5, 1.5])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.clone()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_backward_needs_gradient_for_non_scalars():
    x = f64([1.0, 2.0])
    y = x * 2.0
    with pytest.raises(RuntimeError, match="gradient"):
        y.backward()
    with pytest.raises(ValueError, match=r"\(2,\)"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 0.5]))
    np.testing.assert_array_equal(x.grad, [2.0, 1.0])


def test_backward_on_a_tensor_without_grad_explains():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tensor([1.0]).sum().backward()


# --------------------------------------------------------------------------- grad mode
def test_no_grad_context_manager_and_enable_grad():
    x = f64([1.0])
    with autograd.no_grad():
        assert not autograd.is_grad_enabled()
        y = x * 2.0
        with autograd.enable_grad():
            z = x * 2.0
    assert autograd.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad


def test_no_grad_as_decorator_and_set_grad_enabled():
    @autograd.no_grad()
    def infer(t):
        return t * 2.0

    x = f64([1.0])
    assert not infer(x).requires_grad
    assert (x * 2.0).requires_grad
    with autograd.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with autograd.no_grad():
            raise ZeroDivisionError
    assert autograd.is_grad_enabled()

    @autograd.no_grad()
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert autograd.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}

    def worker():
        seen["enabled"] = autograd.is_grad_enabled()
        seen["records"] = (f64([1.0]) * 2.0).requires_grad

    with autograd.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not autograd.is_grad_enabled()
    assert seen == {"enabled": True, "records": True}

    def disabling_worker():
        with autograd.no_grad():
            seen["inner"] = autograd.is_grad_enabled()

    t = threading.Thread(target=disabling_worker)
    t.start()
    t.join()
    assert seen["inner"] is False and autograd.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = f64([1.0, 2.0])
    d = (x * 3.0).detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, d.data)  # d counted as a constant
    v = x.detach()
    v.data[0] = 9.0
    assert x.data[0] == 9.0


# --------------------------------------------------------------------------- dtypes
def test_float32_stays_float32_including_grads():
    x = tensor(np.array([0.5, 1.0], dtype=np.float32), requires_grad=True)
    w = tensor(np.ones((2, 2), dtype=np.float32), requires_grad=True)
    y = ((x @ w).tanh() * 2 + 1.5 - x / 3.0) ** 2
    y = autograd.softmax(y, dim=0).log().sum() + autograd.logsumexp(x * np.float64(2.0))
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_lists_and_numbers_take_the_default_dtype():
    # as PyTorch infers them: Python floats the default float dtype, ints int64, bools bool
    assert tensor([1.0, 2]).dtype == np.float32
    assert tensor([1, 2]).dtype == np.int64
    assert tensor(3.0).dtype == np.float32
    assert tensor(np.arange(3)).dtype == np.int64  # numpy arrays keep theirs
    assert tensor([True, False]).dtype == np.bool_
    autograd.set_default_dtype(np.float64)
    try:
        assert tensor([1.0]).dtype == np.float64
    finally:
        autograd.set_default_dtype(np.float32)
    with pytest.raises(TypeError, match="float"):
        autograd.set_default_dtype(np.int32)


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="int64"):
        tensor(np.arange(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="bool"):
        tensor([True], requires_grad=True)
    t = tensor(np.arange(3))
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad = True
    assert not t.requires_grad
    y = f64([1.0]) * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False


# --------------------------------------------------------------------------- operands
def test_python_and_numpy_scalars_on_either_side():
    x = tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    for y in (2 * x, x * 2, 2.0 + x, x - 1, 1 - x, 1 / x, x / 2, x**2, 2**x,
              np.float64(2.0) * x, x * np.float64(2.0), np.float32(3) - x, np.int64(2) * x):
        assert isinstance(y, Tensor) and y.dtype == np.float32 and y.requires_grad
    (np.float64(3.0) * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_ndarray_on_the_left_gives_a_tensor():
    x = f64([1.0, 2.0])
    for y in (np.ones(2) * x, np.ones(2) + x, np.ones(2) - x, np.ones(2) / x,
              np.ones((2, 2)) @ x):
        assert isinstance(y, Tensor) and y.requires_grad
    (np.array([2.0, 3.0]) * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


def test_comparisons_give_bool_tensors_without_grad():
    x = f64([1.0, 2.0, 3.0])
    for m in (x > 1.5, x >= 2, x < 2, x <= 2.0, x == 2, x != 2, 2 < x, x > f64([0.0, 5.0, 1.0])):
        assert isinstance(m, Tensor) and m.dtype == np.bool_ and not m.requires_grad
    np.testing.assert_array_equal((x > 1.5).data, [False, True, True])


# --------------------------------------------------------------------------- indexing
def test_repeated_integer_indices_accumulate():
    x = f64([1.0, 2.0, 3.0, 4.0])
    (x[[0, 0, 2, -1, 0]] * f64([1.0, 2.0, 3.0, 4.0, 5.0], False)).sum().backward()
    np.testing.assert_array_equal(x.grad, [8.0, 0.0, 3.0, 4.0])


def test_boolean_masks_and_basic_slicing():
    x = f64(np.arange(6.0).reshape(2, 3))
    y = x[x > 1.5].sum() + x[:, ::-2].sum() + x[None, -1, 1:].sum() + x[..., 0].sum()
    y.backward()
    expected = np.array([[0, 0, 0], [0, 0, 0]], dtype=float)
    expected[x.data > 1.5] += 1
    expected[:, ::-2] += 1
    expected[-1, 1:] += 1
    expected[..., 0] += 1
    np.testing.assert_array_equal(x.grad, expected)


def test_integer_array_pairs_and_tensor_indices():
    x = f64(np.arange(12.0).reshape(3, 4))
    rows = tensor(np.array([0, 2, 0]))
    y = x[rows, np.array([1, 3, 1])]
    np.testing.assert_array_equal(y.data, [1.0, 11.0, 1.0])
    y.sum().backward()
    assert x.grad[0, 1] == 2.0 and x.grad[2, 3] == 1.0 and x.grad.sum() == 3.0


# --------------------------------------------------------------------------- errors
def test_matmul_error_names_shapes():
    a, b = tensor(np.ones((2, 3))), tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"^matmul: shapes \(2, 3\) and \(4, 5\) are not aligned: 3 != 4$"):
        a @ b


def test_broadcast_failure_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add.*\(2,\).*\(3,\)"):
        tensor([1.0, 2.0]) + tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"maximum.*float64\[2, 2\], float64\[3\]"):
        autograd.maximum(tensor(np.ones((2, 2))), tensor(np.ones(3)))
    with pytest.raises(ValueError, match="broadcast_to"):
        autograd.broadcast_to(tensor([1.0, 2.0]), (3,))


def test_bad_axis_is_reported():
    x = tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range.*\(2, 3\)"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match="softmax"):
        autograd.softmax(x, dim=-3)
    with pytest.raises(ValueError, match="transpose"):
        x.transpose(0, 3)  # 3 % 2 == 1 must not pass for axis 1
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(4, 2)
    with pytest.raises(IndexError, match=r"getitem.*\[2, 3\]"):
        x[5]


def test_type_errors_from_numpy_keep_their_message():
    # numpy's own TypeError subclasses can't be rebuilt from a message; the engine must
    # still raise a TypeError that names the op rather than crash while reporting.
    x = tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="add"):
        x + np.array(["a", "b"])


def test_failed_op_leaves_no_state_behind():
    x = f64([1.0, 2.0])
    with pytest.raises(ValueError):
        x @ f64([1.0, 2.0, 3.0])
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# --------------------------------------------------------------------------- freeing
def test_intermediates_are_freed_by_reference_counting():
    gc.disable()
    try:
        x = f64(np.ones(1000))
        h = x.exp()
        y = (h * 2.0).sum()
        arr, node = weakref.ref(h.data), weakref.ref(h.grad_fn)
        del h
        assert arr() is not None  # still needed by y's graph
        del y
        assert arr() is None and node() is None
    finally:
        gc.enable()


def test_an_intermediate_no_formula_reads_dies_as_soon_as_it_is_dropped():
    # (issue 17) mul by a constant keeps the constant, add keeps nothing, tanh its output:
    # a and b are unreferenced once the user drops them, while the graph lives on.
    gc.disable()
    try:
        x = f64(np.linspace(-1, 1, 1000))
        a = x * 3.0
        b = a + 1.0
        c = b.tanh()
        refs = [weakref.ref(o) for o in (a, b, a.data, b.data)]
        kept = weakref.ref(c.data)
        del a, b
        assert all(r() is None for r in refs)
        loss = c.sum()
        del c
        assert kept() is not None  # tanh's backward reads it
        loss.backward()
        t = np.tanh(3 * np.linspace(-1, 1, 1000) + 1)
        np.testing.assert_allclose(x.grad.data, 3 * (1 - t * t), rtol=1e-12)
        del loss
        assert kept() is None  # freed after backward
    finally:
        gc.enable()


def test_backward_drops_saved_buffers_unless_retained():
    x = f64([0.1, 0.2])
    h = x.exp()
    y = h.tanh().sum()
    y.backward(retain_graph=True)
    assert h.grad_fn.out is not None  # exp keeps its output
    y.backward()
    assert h.grad_fn.out is None and h.grad_fn.args is None
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_training_loop_memory_stays_flat_without_gc():
    gc.disable()
    try:
        w = f64(np.ones((8, 8)))
        refs = []
        for _ in range(20):
            h = (tensor(np.ones((4, 8))) @ w).tanh()
            loss = (h * h).mean()
            refs.append(weakref.ref(h.grad_fn))
            loss.backward()
            with autograd.no_grad():
                w.data -= 0.1 * w.grad
            w.grad = None
        del h, loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


# --------------------------------------------------------------------------- deep graphs
@pytest.mark.parametrize("n_ops", [
    200_000,  # PyTorch backpropagates a chain this deep; far past any recursion limit
    pytest.param(1_000_000, marks=pytest.mark.slow),  # `make fuzz` runs it
])
def test_deep_chain_backpropagates_and_is_dropped(n_ops):
    x = tensor(np.float64(1.0), requires_grad=True)
    y = x
    for _ in range(n_ops // 2):
        y = y * 1.000001
        y = y + 0.5
    y.backward()
    assert x.grad.item() == pytest.approx(1.000001 ** (n_ops // 2))
    r = weakref.ref(y.grad_fn)
    del y  # a Node->Node chain this deep must not crash on release
    assert r() is None


# --------------------------------------------------------------------------- higher order
def _hvp(f, x, v):
    (g,) = grad(f(x), x, create_graph=True)
    (h,) = grad(g, x, grad_outputs=v)
    return h.data


HVP_CASES = {
    "cube": (lambda x: (x**3).sum(), lambda x, v: 6 * x * v),
    "exp_sin": (lambda x: (x.exp() * x.sin()).sum(),
                lambda x, v: 2 * np.exp(x) * np.cos(x) * v),
    "tanh": (lambda x: x.tanh().sum(), lambda x, v: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2) * v),
    "log": (lambda x: x.log().sum(), lambda x, v: -v / x**2),
    "sqrt": (lambda x: x.sqrt().sum(), lambda x, v: -v / (4 * x**1.5)),
    "sigmoid": (lambda x: x.sigmoid().sum(),
                lambda x, v: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s) * v),
    "logsumexp": (lambda x: x.logsumexp(),
                  lambda x, v: (p := np.exp(x) / np.exp(x).sum()) * v - p * (p @ v)),
    "quadratic_form": (lambda x: x @ (tensor(QA) @ x),
                       lambda x, v: (QA + QA.T) @ v),
    "norm": (lambda x: (x * x).sum().sqrt(),
             lambda x, v: v / np.linalg.norm(x) - x * (x @ v) / np.linalg.norm(x) ** 3),
}
QA = np.arange(9.0).reshape(3, 3) / 7 - 0.4


@pytest.mark.parametrize("name", sorted(HVP_CASES))
def test_hessian_vector_products_match_closed_forms(name):
    f, closed = HVP_CASES[name]
    xd = np.array([0.3, 1.2, 0.8])
    v = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(_hvp(f, f64(xd), v), closed(xd, v), rtol=1e-10, atol=1e-12)


def test_third_derivative():
    x = f64(1.5)
    (g1,) = grad(x**4, x, create_graph=True)
    (g2,) = grad(g1, x, create_graph=True)
    (g3,) = grad(g2, x)
    assert (g1.item(), g2.item(), g3.item()) == pytest.approx((4 * 1.5**3, 12 * 1.5**2, 24 * 1.5))


def test_grad_leaves_dot_grad_alone_and_first_order_is_not_recorded():
    x = f64([1.0, 2.0])
    (g,) = grad((x * x).sum(), x)
    assert x.grad is None and not g.requires_grad
    np.testing.assert_array_equal(g.data, [2.0, 4.0])


def test_allow_unused():
    x, z = f64([1.0]), f64([2.0])
    y = (x * 3.0).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        grad(y, [x, z], retain_graph=True)
    gx, gz = grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.data.tolist() == [3.0]


def test_grad_casts_grad_outputs_to_the_output_dtype():
    x = tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (g,) = grad(x, x, grad_outputs=f64([1.0, 1.0], False))
    assert g.dtype == np.float32


# --------------------------------------------------------------------------- stability
@pytest.mark.parametrize("fn", [autograd.softmax, autograd.log_softmax, autograd.logsumexp])
def test_stable_for_huge_logits(fn):
    for dtype in (np.float32, np.float64):
        x = tensor(np.array([1e4, -1e4, 0.0, 1e4 - 1], dtype=dtype), requires_grad=True)
        y = fn(x)
        assert np.all(np.isfinite(y.data)) or fn is autograd.log_softmax and np.isfinite(y.data[0])
        (y * tensor(np.array([1.0, 2.0, 3.0, 4.0], dtype=dtype))).sum().backward() if y.ndim else y.backward()
        assert np.all(np.isfinite(x.grad)), (fn.__name__, dtype, x.grad)
    assert autograd.log_softmax(f64([1e4, -1e4], False)).data.tolist() == [0.0, -2e4]


def test_logsumexp_of_equal_large_values():
    assert autograd.logsumexp(f64([1000.0, 1000.0])).item() == pytest.approx(1000 + math.log(2))


def test_sigmoid_is_accurate_in_both_tails():
    x = f64([-40.0, -20.0, 0.0, 20.0, 40.0])
    s = autograd.sigmoid(x)
    np.testing.assert_allclose(s.data, 1 / (1 + np.exp(-x.data)), rtol=1e-13)
    assert np.isfinite(autograd.sigmoid(tensor([-30.0])).log().data).all()  # float32 too


def test_derivatives_at_zero_follow_pytorch():
    x = f64(0.0)
    with np.errstate(divide="ignore"):  # 1/(2·sqrt 0): numpy's warning, PyTorch's inf
        autograd.sqrt(x).backward()
    assert x.grad == np.inf
    for fn in (autograd.abs, autograd.relu):
        x = f64(0.0)
        fn(x).backward()
        assert x.grad == 0.0


def test_max_ties_split_the_gradient_evenly():
    x = f64([1.0, 3.0, 3.0])
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5])
    m = f64([[2.0, 2.0], [1.0, 5.0]])
    m.min(axis=1).sum().backward()
    np.testing.assert_array_equal(m.grad, [[0.5, 0.5], [1.0, 0.0]])
    a, b = f64([1.0, 2.0]), f64([1.0, 0.0])
    autograd.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [0.5, 0.0])
