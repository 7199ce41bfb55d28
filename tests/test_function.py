"""User-defined ops (`autograd.Function`): first and second order, broadcasting, contexts,
several outputs, no_grad, freeing, errors. Gradients are checked against central finite
differences in float64."""

import numpy as np
import pytest

import autograd
from autograd.engine import GraphFreedError

RNG = np.random.default_rng(0)


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x for scalar f of a float64 array, by central differences."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def t64(a, grad=True):
    return autograd.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


class Cube(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.data ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class MyExp(autograd.Function):
    """Saves its output: second order must see the output's own dependence on x."""

    @staticmethod
    def forward(ctx, x):
        y = autograd.tensor(np.exp(x.data))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class ScaledMul(autograd.Function):
    """x * y * scale with a non-tensor argument and broadcasting."""

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        ctx.seen_needs = ctx.needs_input_grad
        return x.data * y.data * scale

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g * y * ctx.scale if ctx.needs_input_grad[0] else None
        gy = g * x * ctx.scale if ctx.needs_input_grad[1] else None
        return gx, gy, None  # full broadcast shape: the engine sums it back


class SinCos(autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x.data), np.cos(x.data)

    @staticmethod
    def backward(ctx, gs, gc):
        (x,) = ctx.saved_tensors
        return gs * autograd.cos(x) - gc * autograd.sin(x)


def test_first_order_matches_finite_differences():
    x0 = RNG.uniform(-2, 2, size=(3, 2))
    x = t64(x0)
    Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, numeric_grad(lambda a: (a ** 3).sum(), x0), rtol=1e-6)


def test_second_order_through_tensor_backward():
    x0 = RNG.uniform(-2, 2, size=4)
    x = t64(x0)
    (g,) = autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x0 ** 2)
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x0)
    # and against finite differences of the first derivative
    np.testing.assert_allclose(h.data, numeric_grad(lambda a: (3 * a ** 2).sum(), x0), rtol=1e-6)


def test_saved_output_is_in_the_graph_for_second_order():
    x0 = np.array([0.3, -1.2])
    x = t64(x0)
    (g,) = autograd.grad(MyExp.apply(x).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, np.exp(x0))


def test_non_tensor_arguments_needs_input_grad_and_broadcasting():
    x = t64(RNG.normal(size=(2, 3)))
    y = t64(RNG.normal(size=(3,)))
    c = autograd.tensor(np.ones(3))  # a constant tensor: no gradient asked
    out = ScaledMul.apply(x, y, 2.5)
    assert out.grad_fn.name == "ScaledMul"
    assert out.grad_fn.out.seen_needs == (True, True, False)
    out.sum().backward()
    assert y.grad.shape == (3,)
    np.testing.assert_allclose(x.grad, np.broadcast_to(2.5 * y.data, (2, 3)))
    np.testing.assert_allclose(y.grad, 2.5 * x.data.sum(axis=0))
    out2 = ScaledMul.apply(x, c, 1.0)
    assert out2.grad_fn.out.seen_needs == (True, False, False)


def test_several_outputs():
    x0 = RNG.uniform(-2, 2, size=5)
    x = t64(x0)
    s, c = SinCos.apply(x)
    (2 * s + c * c).sum().backward()
    np.testing.assert_allclose(x.grad, numeric_grad(lambda a: (2 * np.sin(a) + np.cos(a) ** 2).sum(), x0),
                               rtol=1e-6)
    # only one output used: the other gets zeros, not an error
    x.grad = None
    s, _ = SinCos.apply(x)
    s.sum().backward()
    np.testing.assert_allclose(x.grad, np.cos(x0))


def test_user_op_is_not_registered_and_works_under_no_grad():
    assert "Cube" not in autograd.REGISTRY
    x = t64([1.0, 2.0])
    with autograd.no_grad():
        y = Cube.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(y.data, [1.0, 8.0])


def test_context_is_freed_after_backward_unless_retained():
    x = t64([1.0, 2.0])
    y = Cube.apply(x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 3 * x.data ** 2)
    with pytest.raises(GraphFreedError, match="Cube"):
        y.backward()


def test_wrong_number_of_gradients_is_named():
    class Bad(autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x.data + y.data

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match=r"Bad.backward returned 1 gradients; expected 2"):
        Bad.apply(t64([1.0]), t64([2.0])).sum().backward()


def test_wrong_gradient_shape_is_named():
    class BadShape(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.data * 2

        @staticmethod
        def backward(ctx, g):
            return autograd.tensor(np.ones(7))

    with pytest.raises(ValueError, match=r"BadShape.backward: gradient 0 has shape \(7,\)"):
        BadShape.apply(t64([1.0, 2.0])).sum().backward()


def test_gradient_dtype_follows_the_input():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)  # float32
    Cube.apply(x).sum().backward()
    assert x.grad.dtype == np.float32


def test_gradcheck_first_and_second_order():
    from autograd.testing import gradcheck, gradgradcheck

    x = t64(RNG.uniform(-2, 2, size=(2, 3)))
    y = t64(RNG.uniform(-2, 2, size=(3,)))
    assert gradcheck(lambda a, b: ScaledMul.apply(a, b, 0.7), [x, y])
    assert gradgradcheck(lambda a, b: ScaledMul.apply(a, b, 0.7), [x, y])
    assert gradcheck(lambda a: SinCos.apply(a), [x])
    assert gradgradcheck(lambda a: SinCos.apply(a), [x])
    assert gradgradcheck(lambda a: MyExp.apply(a) * Cube.apply(a), [x])


def test_gradcheck_catches_a_wrong_derivative():
    from autograd.testing import GradcheckError, gradcheck

    class Wrong(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return np.sin(x.data)

        @staticmethod
        def backward(ctx, g):
            return g * 1.0  # should be g * cos x

    with pytest.raises(GradcheckError):
        gradcheck(Wrong.apply, [t64([0.3, 1.0])])
