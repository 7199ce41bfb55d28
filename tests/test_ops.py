"""Every registered primitive, checked from its own metadata.

For each op in `autograd.REGISTRY` and each of its `attrs` entries, hypothesis draws inputs
with the op's `sample` generator (tests/op_samples.py: values inside `domain`, away from
`kinks`) and checks: the forward against the independent numpy reference `ref`; float32
staying float32 in forward and backward; gradients against float64 central differences, and
second derivatives through `create_graph=True`, both at the tolerance central differences
reach (`rtol` 1e-6 unless the op declares a looser one, with its reason). What each node saves
and that no op writes to its inputs are checked in tests/test_registry_saves.py. A meta-test
fails when an op is registered without metadata this harness can use.
"""

from __future__ import annotations

import inspect
import math
import re
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from op_samples import CASE_IDS, CASES, SAMPLERS, draw_case, tensors_for

import autograd
from autograd import REGISTRY
from autograd.node import apply, raw
from autograd.testing import gradcheck, gradgradcheck

# Central differences in float64 with eps 1e-6 err by about 1e-10 x |output| (rounding) plus
# 2e-13 x |third derivative| (truncation): ATOL covers entries near zero, `op.rtol` (1e-6
# unless an op says why it needs more) the others. The old rtol 1e-3 let a derivative 5e-4 off pass.
ATOL = 1e-8
DEFAULT_RTOL = autograd.Op.rtol


# --------------------------------------------------------------------------- meta-test
def _indices_ok(ix, arity) -> bool:
    return isinstance(ix, tuple) and all(isinstance(i, int) and 0 <= i and (arity < 0 or i < arity)
                                         for i in ix)


def _is_numpy(f) -> bool:
    """numpy's own function (np.add, np.where): a forward that is the reference by definition."""
    return isinstance(f, np.ufunc) or (getattr(f, "__module__", None) or "").split(".")[0] == "numpy"


def _has_reason(op, attr) -> bool:
    """Whether the class body that sets `attr` says why, in a comment on that line."""
    for klass in type.mro(op):
        if attr in vars(klass):
            try:
                lines = inspect.getsource(klass).splitlines()
            except (OSError, TypeError):
                return False
            return any(re.match(rf"\s*{attr}\s*=[^#]*#\s*\S", line) for line in lines)
    return False


def _metadata_problems(op) -> list[str]:
    problems = []
    if op.ref is None or not callable(op.ref):
        problems.append("no numpy reference `ref`")
    elif op.ref is op.forward and not _is_numpy(op.forward):
        problems.append("`ref` is the forward itself, so the check cannot fail")
    if op.sample not in SAMPLERS:
        problems.append(f"sample kind {op.sample!r} unknown to tests/op_samples.py "
                        f"(known: {sorted(SAMPLERS)})")
    if not isinstance(op.attrs, (tuple, list)) or not op.attrs or not all(
            isinstance(a, dict) for a in op.attrs):
        problems.append("`attrs` must be a non-empty tuple of dicts")
    if not isinstance(op.arity, int) or op.arity == 0 or op.arity < -1:
        problems.append(f"bad arity {op.arity!r}")
    doms = op.domain if isinstance(op.domain[0], (tuple, list)) else (op.domain,)
    if any(len(d) != 2 or not d[0] < d[1] for d in doms):
        problems.append(f"bad domain {op.domain!r}")
    if not all(isinstance(k, (int, float)) for k in op.kinks):
        problems.append(f"bad kinks {op.kinks!r}")
    s = op.save_inputs
    if not (_indices_ok(s, op.arity) or isinstance(s, dict) and all(
            _indices_ok((i,), op.arity) and _indices_ok(js, op.arity) for i, js in s.items())):
        problems.append(f"bad save_inputs {s!r}: input indices, or {{input: (inputs whose grad needs it)}}")
    if not isinstance(op.save_output, bool) or not isinstance(op.view, bool):
        problems.append("`save_output` and `view` must be bools")
    if hasattr(op, "smooth") or hasattr(op, "needs_inputs"):
        problems.append("`smooth`/`needs_inputs` are gone: declare `save_inputs`; all ops get second order")
    if not (isinstance(op.rtol, float) and DEFAULT_RTOL <= op.rtol <= 1e-4):
        problems.append(f"rtol {op.rtol!r}: float64 differences reach 1e-6; looser than 1e-4 hides bugs")
    elif op.rtol != DEFAULT_RTOL and not _has_reason(op, "rtol"):
        problems.append("a looser rtol needs its reason in a comment on the same line")
    if not (op.__doc__ or "").strip():
        problems.append("no docstring (one line with its math)")
    return problems


def test_every_registered_op_has_test_metadata():
    bad = {name: p for name, op in REGISTRY.items() if (p := _metadata_problems(op))}
    assert not bad, f"ops registered without usable test metadata: {bad}"


def test_meta_test_catches_an_op_without_metadata():
    class Bare(autograd.Op, register=False):
        name = "bare"
        sample = "no_such_kind"
        save_inputs = (0, 3)
        rtol = 1e-3

    problems = " ".join(_metadata_problems(Bare))
    for part in ("ref", "no_such_kind", "docstring", "save_inputs", "rtol"):
        assert part in problems

    class SelfReferenced(autograd.Op, register=False):
        """x"""

        name = "self_ref"
        forward = ref = staticmethod(lambda x: -x)

    assert "forward itself" in " ".join(_metadata_problems(SelfReferenced))

    class Loose(autograd.Op, register=False):
        """x"""

        name = "loose"
        ref = staticmethod(np.negative)
        rtol = 1e-5

    class LooseWithReason(Loose, register=False):
        """x"""

        rtol = 1e-5  # (the reason goes here)

    assert "reason" in " ".join(_metadata_problems(Loose))
    assert not _metadata_problems(LooseWithReason)


# --------------------------------------------------------------------------- the property test
def _run(op, case):
    def fn(*xs):
        return apply(op, *xs, **case.attrs)

    return fn


@pytest.mark.parametrize("case_key", CASES, ids=CASE_IDS)
@given(data=st.data())
def test_op(case_key, data):
    op, case = draw_case(data.draw, case_key)
    name = op.name
    if _metadata_problems(op):
        pytest.fail(f"{name}: {_metadata_problems(op)}")
    fn = _run(op, case)

    # Forward against the numpy reference.
    xs = tensors_for(case)
    out = fn(*xs)
    ref = np.asarray(op.ref(*case.args, **case.attrs))
    assert out.shape == ref.shape, f"{name}: shape {out.shape}, reference {ref.shape}"
    np.testing.assert_allclose(out.data, ref, rtol=1e-9, atol=1e-12, err_msg=name)

    # float32 stays float32, forward and backward (the op's own formula, before the
    # engine's cast, must not upcast either: that doubles the memory traffic).
    x32 = tensors_for(case, np.float32)
    out32 = fn(*x32)
    assert out32.dtype == case.attrs.get("dtype", np.float32), f"{name}: {out32.dtype}"
    arrays32 = [raw(a) for a in x32]
    g32 = np.ones(out32.shape, dtype=out32.dtype)
    needs = tuple(i in case.diff for i in range(len(arrays32)))
    saved = out32.data if op.save_output else None
    for i, g in enumerate(op.backward(g32, saved, needs, *arrays32, **case.attrs)):
        if g is not None and i in case.diff:
            assert np.asarray(g).dtype == out32.dtype, f"{name}: gradient {i} is {np.asarray(g).dtype}"
    if not op.differentiable:
        assert not out.requires_grad and out.grad_fn is None
        return
    out32.backward(g32)
    for i in case.diff:
        assert x32[i].grad.dtype == np.float32 and x32[i].grad.shape == x32[i].shape

    # Gradients and second derivatives against float64 central differences.
    assert gradcheck(fn, xs, atol=ATOL, rtol=op.rtol)
    assert gradgradcheck(fn, xs, atol=ATOL, rtol=op.rtol)


class _ExpOff(autograd.Op, register=False):
    """exp x with its derivative 5e-4 too large (a mutant the tolerances must catch)"""

    name = "exp_off"
    save_output = True
    forward = staticmethod(np.exp)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * out * 1.0005,)


def test_tolerances_catch_a_derivative_off_by_5e_4():
    # The old rtol 1e-3 let exactly this pass; a derivative off in its 4th digit must fail.
    x = autograd.tensor(np.array([-2.9, -1.0, 0.3, 2.5]), requires_grad=True)
    with pytest.raises(AssertionError, match="gradient mismatch"):
        gradcheck(lambda a: apply(_ExpOff, a), [x], atol=ATOL, rtol=DEFAULT_RTOL)
    with pytest.raises(AssertionError, match="gradient mismatch"):
        gradgradcheck(lambda a: apply(_ExpOff, a), [x], atol=ATOL, rtol=DEFAULT_RTOL)
    assert gradcheck(lambda a: a.exp(), [x], atol=ATOL, rtol=DEFAULT_RTOL)


# --------------------------------------------------------------------------- public functions
def _away(rng, shape, low=0.2, high=2.0):
    """Values with |v| in [low, high], random signs: away from the kinks at 0."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def _distinct(rng, shape):
    """Values 0.3 apart: no near-ties for max/min."""
    return (rng.permutation(math.prod(shape)) * 0.3 - 1.0).reshape(shape)


_MASK = np.array([[True, False, True], [False, True, True]])
PUBLIC = {
    "var_dim_ddof": (lambda x: autograd.var(x, dim=1, ddof=1), [(2, 3)]),
    "var_keepdim_correction": (lambda x: x.var(axis=0, keepdim=True, correction=1), [(3, 2)]),
    "std_all": (lambda x: autograd.std(x), [(2, 3)]),
    "std_tuple_axes": (lambda x: x.std(axis=(0, 2)), [(2, 2, 2)]),
    "stack_dim": (lambda a, b: autograd.stack([a, b * 2.0], dim=1), [(2, 3), (2, 3)]),
    "stack_last": (lambda a, b: autograd.stack((a, b), axis=-1), [(3,), (3,)]),
    "squeeze_dim": (lambda x: autograd.squeeze(x, dim=1), [(3, 1, 2)]),
    "squeeze_all": (lambda x: x.squeeze(), [(1, 3, 1)]),
    "unsqueeze_expand_dims": (lambda x: x.unsqueeze(0).expand_dims((0, -1)), [(2, 3)]),
    "swapaxes": (lambda x: autograd.swapaxes(x, 0, -1), [(2, 3, 2)]),
    "transpose_T": (lambda x: x.T @ x, [(3, 2)]),
    "flatten": (lambda x: autograd.flatten(x, 1), [(2, 2, 3)]),
    "reshape_minus_one": (lambda x: x.reshape(-1, 2) * 1.5, [(2, 3)]),
    "softmax_dim": (lambda x: autograd.softmax(x, dim=0), [(3, 2)]),
    "log_softmax_dim": (lambda x: x.log_softmax(dim=1), [(2, 3)]),
    "logsumexp_keepdim": (lambda x: autograd.logsumexp(x, dim=1, keepdim=True), [(2, 3)]),
    "mean_dims": (lambda x: autograd.mean(x, dim=(0, 2), keepdim=True), [(2, 3, 2)]),
    "sum_neg_axis": (lambda x: x.sum(axis=-1), [(2, 3)]),
    "max_dim": (lambda x: autograd.max(x, dim=1, keepdim=True), [("distinct", (2, 3))]),
    "min_all": (lambda x: x.min(), [("distinct", (2, 3))]),
    "concatenate_dim": (lambda a, b: autograd.concatenate([a, b], dim=-1), [(2, 1), (2, 3)]),
    "broadcast_to": (lambda x: autograd.broadcast_to(x, (2, 3)) * 2.0, [(3,)]),
    "where_scalar": (lambda x: autograd.where(_MASK, x, 2.0), [(2, 3)]),
    "clip_min_only": (lambda x: x.clip(min=-1.0), [(2, 3)]),
    "clamp_both": (lambda x: x.clamp(-0.5, 0.5), [(2, 3)]),
    "maximum_scalar": (lambda x: autograd.maximum(x, 0.1), [(2, 3)]),
    "pow_both_sides": (lambda x: x**2 + 2.0**x + (x * x) ** 0.5, [(2, 3)]),
    "divide_both_sides": (lambda x: x / 3.0 + 3.0 / x - 1.0, [(2, 3)]),
    "matmul_1d": (lambda a, b: a @ b, [(3,), (3,)]),
    "matmul_batched": (lambda a, b: autograd.matmul(a, b), [(2, 1, 2, 3), (3, 3, 2)]),
    "getitem_list": (lambda x: x[[0, 0, 2]], [(3, 2)]),
    "getitem_mask_tensor": (lambda x: x[x > 0.0], [(2, 3)]),
    "leaky_relu": (lambda x: autograd.leaky_relu(x, 0.1), [(2, 3)]),
    "gelu_tanh": (lambda x: autograd.gelu(x, approximate="tanh"), [(2, 3)]),
    "softplus_beta": (lambda x: autograd.softplus(x, beta=2.0), [(2, 3)]),
    "sigmoid_tanh_chain": (lambda x: x.sigmoid() * x.tanh() - x.relu(), [(2, 3)]),
    "astype_roundtrip": (lambda x: x.astype(np.float32).astype(np.float64) * 0 + x.exp(), [(3,)]),
    "abs_neg": (lambda x: -abs(x), [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_functions(name):
    fn, specs = PUBLIC[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same values whatever runs
    xs = []
    for spec in specs:
        data = _distinct(rng, spec[1]) if spec[0] == "distinct" else _away(rng, spec)
        xs.append(autograd.tensor(data, requires_grad=True))
    assert gradcheck(fn, xs, atol=ATOL, rtol=DEFAULT_RTOL)
    assert gradgradcheck(fn, xs, atol=ATOL, rtol=DEFAULT_RTOL)


# --------------------------------------------------------------------------- the checkers themselves
class _SquareCutSecondOrder(autograd.Op, register=False):
    """x²;  backward reads x's raw array, so its gradient is right but not differentiable"""

    name = "square_cut"

    @staticmethod
    def forward(x):
        return x * x

    @staticmethod
    def backward(g, out, needs, x):
        return (g * 2 * raw(x),)


def test_gradcheck_reports_output_input_index_and_values():
    x = autograd.tensor(np.array([[0.5, 1.0], [1.5, 2.0]]), requires_grad=True)
    y = autograd.tensor(np.array([1.0, 2.0]), requires_grad=True)

    def wrong(a, b):  # d/db ignores a's second column (the constant hides it from backward)
        return a * b + autograd.tensor(a.data[:, 1:] * b.data[1:]) - a.detach() * 0

    with pytest.raises(AssertionError) as err:
        gradcheck(lambda a, b: (a * b, wrong(a, b)), [x, y])
    msg = str(err.value)
    assert "output 1" in msg and "input 0" in msg and "numerical" in msg and "analytical" in msg
    assert re.search(r"index \(\d, \d\)", msg)
    assert gradcheck(lambda a, b: wrong(a, b), [x, y], raise_exception=False) is False


def test_gradcheck_random_directions_catch_errors_in_big_inputs():
    x = autograd.tensor(np.linspace(0.1, 1.0, 600), requires_grad=True)
    assert gradcheck(lambda a: (a * a).sum() + a.sin(), [x], full_limit=100)
    with pytest.raises(AssertionError, match="random direction"):
        gradcheck(lambda a: a * autograd.tensor(a.data), [x], full_limit=100)


def test_gradcheck_leaves_inputs_and_their_grads_alone():
    data = np.array([0.3, -0.7])
    x = autograd.tensor(data, requires_grad=True)
    x.grad = np.array([5.0, 5.0])
    c = autograd.tensor(np.array([2.0, 3.0]))
    assert gradcheck(lambda a, k, s: (a.exp() * k * s).sum(), [x, c, 1.5])
    np.testing.assert_array_equal(x.data, data)
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])
    assert c.grad is None and not c.requires_grad


def test_gradcheck_needs_float64():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)  # float32
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda a: a * 2, [x])
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda a: a * 2, [autograd.tensor(np.ones(2))])


def test_gradgradcheck_catches_a_gradient_that_is_not_differentiable():
    x = autograd.tensor(np.array([0.5, 1.5]), requires_grad=True)
    assert gradcheck(lambda a: apply(_SquareCutSecondOrder, a), [x])
    with pytest.raises(AssertionError, match="gradgradcheck"):
        gradgradcheck(lambda a: apply(_SquareCutSecondOrder, a), [x])
    assert gradgradcheck(lambda a: a * a, [x], grad_outputs=[np.array([1.0, -2.0])])


@given(data=st.data())
def test_strategies_respect_bounds_kinks_and_gaps(data):
    from autograd.testing.strategies import broadcastable_tensors, tensors

    t = data.draw(tensors(min_value=-2.0, max_value=2.0, avoid=(0.0, 1.0), gap=0.1,
                          requires_grad=True))
    assert t.requires_grad and t.dtype == np.float64
    assert np.all(np.abs(t.data) <= 2.0) and np.all(np.abs(t.data) >= 0.1)
    assert np.all(np.abs(t.data - 1.0) >= 0.1 - 1e-12)  # 1.0 - 0.1 may round to 0.0999…
    d = data.draw(tensors(shape=(3, 4), distinct=True, gap=0.05, dtype="float32"))
    assert d.dtype == np.float32 and d.shape == (3, 4)
    v = np.sort(d.data.ravel().astype(np.float64))
    assert np.all(np.diff(v) >= 0.05 - 1e-6)
    a, b, c = data.draw(broadcastable_tensors(3, max_side=3))
    np.broadcast_shapes(a.shape, b.shape, c.shape)
    i = data.draw(tensors(shape=st.just((2,)), dtype="int64", min_value=-3, max_value=3))
    assert i.dtype == np.int64 and np.all(np.abs(i.data) <= 3)


def test_engine_imports_without_hypothesis():
    code = ("import sys, autograd, autograd.testing; "
            "assert 'hypothesis' not in sys.modules, 'hypothesis imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- behaviour at the edges
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_passes_gradient_at_the_bounds(dtype):
    # As torch.clamp: x exactly at min or max gets the gradient (`>=`, not `>`).
    data = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], dtype=dtype)
    for lo, hi, want in [(-1.0, 1.0, [0, 1, 1, 1, 1, 1, 0]), (-1.0, None, [0, 1, 1, 1, 1, 1, 1]),
                         (None, 1.0, [1, 1, 1, 1, 1, 1, 0]), (0.5, 0.5, [0, 0, 0, 0, 1, 0, 0])]:
        x = autograd.tensor(data, requires_grad=True)
        y = autograd.clip(x, lo, hi)
        np.testing.assert_array_equal(y.data, np.clip(data, lo, hi))
        y.backward(np.ones_like(data))
        assert x.grad.dtype == dtype
        np.testing.assert_array_equal(x.grad.data, want, err_msg=f"clip({lo}, {hi})")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_at_p_0_and_1_is_finite(dtype):
    # As torch: each log clamped at -100, and d/dp = (p - y) / max(p (1 - p), 1e-12).
    p = autograd.tensor(np.array([0.0, 0.0, 1.0, 1.0], dtype=dtype), requires_grad=True)
    y = autograd.tensor(np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype), requires_grad=True)
    loss = autograd.binary_cross_entropy(p, y)
    np.testing.assert_array_equal(loss.data, [100.0, 0.0, 100.0, 0.0])
    loss.backward(np.ones(4, dtype=dtype))
    assert p.grad.dtype == dtype and y.grad.dtype == dtype
    np.testing.assert_allclose(p.grad.data, [-1e12, 0.0, 1e12, 0.0], rtol=1e-6)
    np.testing.assert_array_equal(y.grad.data, [100.0, 100.0, -100.0, -100.0])


_F16 = {  # name: (function, input shapes); values 0.2 to 2 in size, either sign
    "add_broadcast": (lambda a, b: a + b, [(2, 3), (3,)]),
    "mul_div": (lambda a, b: a * b / (b * b + 1.0), [(2, 3), (2, 3)]),
    "exp_log": (lambda a: a.exp() + abs(a).log(), [(2, 3)]),
    "tanh_sigmoid_relu": (lambda a: a.tanh() * a.sigmoid() + a.relu(), [(2, 3)]),
    "sum_mean": (lambda a: a.sum(axis=1) + a.mean(axis=1), [(2, 3)]),
    "softmax_logsumexp": (lambda a: a.softmax(axis=-1) * autograd.logsumexp(a, axis=1, keepdims=True),
                          [(2, 3)]),
    "matmul": (lambda a, b: a @ b, [(2, 3), (3, 2)]),
    "mse_loss": (lambda a, b: autograd.mse_loss(a, b, reduction="sum"), [(2, 3), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(_F16))
def test_float16_forward_and_backward(name):
    # float16 in, float16 out and float16 gradients, close to the same values in float64.
    fn, shapes = _F16[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    data = [_away(rng, s).astype(np.float16) for s in shapes]
    x16 = [autograd.tensor(d, requires_grad=True) for d in data]
    x64 = [autograd.tensor(d.astype(np.float64), requires_grad=True) for d in data]
    y16, y64 = fn(*x16), fn(*x64)
    assert y16.dtype == np.float16, f"{name}: {y16.dtype}"
    np.testing.assert_allclose(y16.data.astype(np.float64), y64.data, rtol=4e-3, atol=4e-3)
    seed = rng.uniform(0.5, 1.5, y64.shape)
    y16.backward(seed.astype(np.float16))
    y64.backward(seed)
    for a16, a64 in zip(x16, x64):
        assert a16.grad.dtype == np.float16, f"{name}: gradient {a16.grad.dtype}"
        np.testing.assert_allclose(a16.grad.data.astype(np.float64), a64.grad.data, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("fn, ref", [(autograd.argmax, np.argmax), (autograd.argmin, np.argmin)],
                         ids=["argmax", "argmin"])
def test_argmax_argmin_values_and_no_gradient(fn, ref):
    data = _distinct(np.random.default_rng(3), (3, 4))
    x = autograd.tensor(data, requires_grad=True)
    method = getattr(x, ref.__name__)
    for kwargs, np_kwargs in [({}, {}), ({"axis": 0}, {"axis": 0}), ({"axis": -1}, {"axis": -1}),
                              ({"dim": 1, "keepdim": True}, {"axis": 1, "keepdims": True})]:
        for got in (fn(x, **kwargs), method(**kwargs)):
            np.testing.assert_array_equal(got.data, ref(data, **np_kwargs), err_msg=str(kwargs))
            assert got.dtype == np.int64 and got.shape == ref(data, **np_kwargs).shape
            assert not got.requires_grad and got.grad_fn is None
    # Ties go to the first occurrence (numpy's and torch's rule); a float32 input gives int64.
    assert fn(autograd.tensor([1.0, 3.0, 3.0, 1.0])).item() == (1 if ref is np.argmax else 0)
    # Indices are constants in a graph: the gradient flows to x only through x.
    idx = fn(x, axis=1)
    (x.sum(axis=1) * idx).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.repeat(ref(data, axis=1)[:, None], 4, axis=1))
