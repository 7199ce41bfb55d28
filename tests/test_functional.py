"""autograd.functional: Jacobians and Hessians against finite differences and closed forms,
jvp against vjp, hvp against the Hessian, composable grad."""

import numpy as np
import pytest

import autograd
from autograd.functional import grad, hessian, hvp, jacobian, jvp, value_and_grad, vhp, vjp

RNG = np.random.default_rng(1)
W = RNG.normal(size=(3, 4)) / 2


def numeric_jacobian(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences: shape f(x).shape + x.shape (float64)."""
    y0 = np.asarray(f(x))
    jac = np.zeros(y0.shape + x.shape)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        jac[(...,) + i] = (np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)
    return jac


def f_np(x):
    return np.tanh(W @ x) * (W @ x) ** 2


def f_ag(x):
    h = W @ x
    return autograd.tanh(h) * h * h


def test_jacobian_matches_finite_differences():
    x0 = RNG.normal(size=4)
    jac = jacobian(f_ag, x0)
    assert jac.shape == (3, 4) and not jac.requires_grad
    np.testing.assert_allclose(jac.data, numeric_jacobian(f_np, x0), rtol=1e-6, atol=1e-8)


def test_jacobian_structure_for_several_inputs_and_outputs():
    a0, b0 = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    jac = jacobian(lambda a, b: (a * b, (a ** 2).sum(axis=0)), (a0, b0))
    assert len(jac) == 2 and all(len(row) == 2 for row in jac)
    assert jac[0][0].shape == (2, 3, 2, 3) and jac[0][1].shape == (2, 3, 3)
    assert jac[1][0].shape == (3, 2, 3) and jac[1][1].shape == (3, 3)
    np.testing.assert_allclose(jac[0][1].data, numeric_jacobian(lambda b: a0 * b, b0), atol=1e-8)
    np.testing.assert_allclose(jac[1][0].data, numeric_jacobian(lambda a: (a ** 2).sum(axis=0), a0), atol=1e-8)
    np.testing.assert_array_equal(jac[1][1].data, 0.0)  # unused input: zeros


def test_hessian_of_quadratic_form_is_a_plus_a_transpose():
    A = RNG.normal(size=(5, 5))
    x0 = RNG.normal(size=5)
    H = hessian(lambda x: x @ A @ x, x0)
    np.testing.assert_allclose(H.data, A + A.T, rtol=1e-12)


def test_hessian_matches_finite_differences_of_the_gradient():
    x0 = RNG.normal(size=4)

    def g_np(x):  # analytic gradient of sum(tanh(W x))
        t = np.tanh(W @ x)
        return W.T @ (1 - t * t)

    H = hessian(lambda x: autograd.tanh(W @ x).sum(), x0)
    np.testing.assert_allclose(H.data, numeric_jacobian(g_np, x0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H.data, H.data.T, rtol=1e-12)


def test_hessian_of_two_inputs_is_a_tuple_of_tuples():
    x0, y0 = RNG.normal(size=2), RNG.normal(size=3)
    H = hessian(lambda x, y: (x.sum() ** 2) * (y ** 2).sum(), (x0, y0))
    assert H[0][1].shape == (2, 3) and H[1][0].shape == (3, 2)
    np.testing.assert_allclose(H[0][1].data, H[1][0].data.T, rtol=1e-12)
    np.testing.assert_allclose(H[0][1].data, np.outer(2 * x0.sum() * np.ones(2), 2 * y0), rtol=1e-12)


def test_jvp_agrees_with_vjp():
    x0, v0, u0 = RNG.normal(size=4), RNG.normal(size=4), RNG.normal(size=3)
    out1, jv = jvp(f_ag, x0, v0)
    out2, uj = vjp(f_ag, x0, u0)
    np.testing.assert_allclose(out1.data, f_np(x0))
    np.testing.assert_allclose(out2.data, f_np(x0))
    np.testing.assert_allclose(u0 @ jv.data, uj.data @ v0, rtol=1e-10)
    J = numeric_jacobian(f_np, x0)
    np.testing.assert_allclose(jv.data, J @ v0, rtol=1e-6, atol=1e-8)


def test_hvp_and_vhp_match_hessian():
    x0, v0 = RNG.normal(size=4), RNG.normal(size=4)

    def f(x):
        return (autograd.sin(x) * x).sum() + (x @ x) ** 2

    H = hessian(f, x0).data
    val, hv = hvp(f, x0, v0)
    _, vh = vhp(f, x0, v0)
    np.testing.assert_allclose(val.data, (np.sin(x0) * x0).sum() + (x0 @ x0) ** 2)
    np.testing.assert_allclose(hv.data, H @ v0, rtol=1e-10)
    np.testing.assert_allclose(vh.data, v0 @ H, rtol=1e-10)


def test_grad_composes_and_value_and_grad_options():
    x0 = np.float64(0.7)
    assert grad(grad(autograd.sin))(x0).item() == pytest.approx(-np.sin(x0), rel=1e-12)
    assert grad(grad(grad(autograd.sin)))(x0).item() == pytest.approx(-np.cos(x0), rel=1e-12)

    def f(a, b):
        return (a * b).sum(), "aux"

    (val, aux), (ga, gb) = value_and_grad(f, argnums=(0, 1), has_aux=True)(np.ones(2), np.array([2.0, 3.0]))
    assert aux == "aux" and val.item() == 5.0 and not val.requires_grad
    np.testing.assert_allclose(ga.data, [2.0, 3.0])
    np.testing.assert_allclose(gb.data, [1.0, 1.0])
    with pytest.raises(TypeError, match="one element"):
        grad(lambda x: x * 2)(np.ones(3))


def test_create_graph_results_are_differentiable():
    x = autograd.tensor(np.array([0.5, -0.3]), requires_grad=True)
    jac = jacobian(lambda t: t ** 3, x, create_graph=True)
    assert jac.requires_grad
    jac.sum().backward()
    np.testing.assert_allclose(x.grad, 6 * x.data)


def test_strict_raises_on_independent_inputs():
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda a, b: a * 2, (np.ones(2), np.ones(2)), np.ones(2), strict=True)
    _, (ga, gb) = vjp(lambda a, b: a * 2, (np.ones(2), np.ones(2)), np.ones(2))
    np.testing.assert_array_equal(gb.data, 0.0)


def test_vector_shape_errors_are_named():
    with pytest.raises(ValueError, match=r"v\[0\] has shape \(3,\); expected \(2,\)"):
        vjp(lambda a: a * 2, np.ones(2), np.ones(3))
    with pytest.raises(RuntimeError, match="can be left out only"):
        vjp(lambda a: a * 2, np.ones(2))


def test_swapaxes_and_matrix_products_under_create_graph():
    # regression: the axis check of swapaxes recursed forever (operations.max shadowed max)
    A = autograd.tensor(RNG.normal(size=(2, 3)), requires_grad=True)
    assert autograd.swapaxes(A, 0, 1).shape == (3, 2)
    B0 = RNG.normal(size=(3, 2))
    H = hessian(lambda b: ((A.detach() @ b) ** 2).sum(), B0)
    assert H.shape == (3, 2, 3, 2)
    a = A.data
    expected = 2 * np.einsum("ij,ik,lm->jlkm", a, a, np.eye(2))
    np.testing.assert_allclose(H.data, expected, rtol=1e-10, atol=1e-12)


def test_strict_and_zero_fill_in_jvp_and_hvp():
    const = autograd.tensor(np.ones(2))
    with pytest.raises(RuntimeError, match=r"jvp: output 1 \(shape \(2,\)\) is independent"):
        jvp(lambda a: (a * 2, const), np.ones(2), np.ones(2), strict=True)
    _, (ja, jc) = jvp(lambda a: (a * 2, const), np.ones(2), np.ones(2))
    np.testing.assert_array_equal(ja.data, 2.0)
    np.testing.assert_array_equal(jc.data, 0.0)
    assert not jc.requires_grad

    def cube(a, b):
        return (a ** 3).sum()

    ones = (np.ones(2), np.ones(2))
    with pytest.raises(RuntimeError, match="hvp: the output is independent of input 1"):
        hvp(cube, ones, ones, strict=True)
    _, (ha, hb) = hvp(cube, ones, ones)
    np.testing.assert_array_equal(ha.data, 6.0)
    np.testing.assert_array_equal(hb.data, 0.0)
