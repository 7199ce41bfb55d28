"""Every registered primitive, checked from its own metadata.

For each op in `autograd.REGISTRY` and each of its `attrs` entries, hypothesis draws inputs
with the op's `sample` generator (keeping values inside `domain` and away from `kinks`) and
checks: the forward against the numpy reference `ref`; float32 staying float32 in forward
and backward; gradients against central differences in float64 (also with only one input
requiring grad); and, for `smooth` ops, second derivatives through `create_graph=True`.
A meta-test fails when an op is registered without metadata this harness can use.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import REGISTRY, engine
from autograd.testing import gradcheck, gradgradcheck
from autograd.testing.strategies import arrays, broadcastable_shapes

GAP = 0.05  # how far drawn values stay from kinks, and apart from each other when distinct
SIDE = 3  # largest side drawn: finite differences cost two evaluations per element


@dataclass
class Case:
    args: list  # arrays (float64 where differentiable) and constants, in the op's order
    diff: tuple  # positions that carry gradient
    attrs: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- value helpers
def _domain(op, i):
    d = op.domain
    return d[i] if isinstance(d[0], (tuple, list)) else d


def _values(draw, op, shape, i=0, distinct=False):
    lo, hi = _domain(op, i)
    return draw(arrays(shape, min_value=lo, max_value=hi, avoid=op.kinks, gap=GAP,
                       distinct=distinct))


def _shape(draw, min_dims=0, max_dims=3):
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1,
                                 max_side=SIDE))


# --------------------------------------------------------------------------- generators
def sample_elementwise(draw, op, attrs):
    n = op.arity
    shapes = draw(broadcastable_shapes(n, max_side=SIDE)) if n > 1 else (_shape(draw),)
    return Case([_values(draw, op, s, i) for i, s in enumerate(shapes)], tuple(range(n)),
                dict(attrs))


def sample_separated(draw, op, attrs):
    # Two interleaved lattices (multiples of 0.2, and those shifted by 0.1): no value of
    # one input ever ties or nearly ties a value of the other.
    shapes = draw(broadcastable_shapes(2, max_side=SIDE))
    offsets = draw(st.sampled_from([(0.0, 0.1), (0.1, 0.0)]))
    args = [0.2 * draw(hnp.arrays(np.int64, s, elements=st.integers(-10, 10))) + off
            for s, off in zip(shapes, offsets)]
    return Case(args, (0, 1), dict(attrs))


def sample_where(draw, op, attrs):
    shapes = draw(broadcastable_shapes(3, max_side=SIDE))
    cond = draw(hnp.arrays(np.bool_, shapes[0]))
    return Case([cond, _values(draw, op, shapes[1], 1), _values(draw, op, shapes[2], 2)], (1, 2),
                dict(attrs))


def _axis_attrs(draw, ndim):
    if ndim == 0:
        return {"axis": None, "keepdims": draw(st.booleans())}
    axes = draw(st.none() | hnp.valid_tuple_axes(ndim, min_size=0))
    if axes is not None:
        axes = tuple(sorted(a % ndim for a in axes))
    return {"axis": axes, "keepdims": draw(st.booleans())}


def sample_reduce(draw, op, attrs, distinct=False):
    shape = _shape(draw)
    x = _values(draw, op, shape, distinct=distinct)
    return Case([x], (0,), {**_axis_attrs(draw, len(shape)), **attrs})


def sample_reduce_distinct(draw, op, attrs):
    # Pairwise gaps between all values: the top two along any axis are never near-tied.
    return sample_reduce(draw, op, attrs, distinct=True)


def sample_axis(draw, op, attrs):
    shape = _shape(draw, min_dims=1)
    axis = draw(st.integers(0, len(shape) - 1))
    return Case([_values(draw, op, shape)], (0,), {"axis": axis, **attrs})


def _factors(n):
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def sample_reshape(draw, op, attrs):
    # Regroup the prime factors of the size in a random order, then sprinkle axes of length 1.
    shape = _shape(draw)
    target = []
    for f in draw(st.permutations(_factors(math.prod(shape)))):
        if target and draw(st.booleans()):
            target[-1] *= f
        else:
            target.append(f)
    for _ in range(draw(st.integers(0, 2))):
        target.insert(draw(st.integers(0, len(target))), 1)
    return Case([_values(draw, op, shape)], (0,), {"shape": tuple(target), **attrs})


def sample_transpose(draw, op, attrs):
    shape = _shape(draw)
    axes = tuple(draw(st.permutations(range(len(shape)))))
    return Case([_values(draw, op, shape)], (0,), {"axes": axes, **attrs})


def sample_broadcast(draw, op, attrs):
    target = _shape(draw, min_dims=1)
    lead = draw(st.integers(0, len(target)))
    src = tuple(1 if draw(st.booleans()) else s for s in target[lead:])
    return Case([_values(draw, op, src)], (0,), {"shape": tuple(target), **attrs})


@st.composite
def indices(draw, shape):
    """Basic slicing (ints, negative ints, steps, None, Ellipsis), integer arrays with
    repeats, two broadcast integer arrays, boolean masks, and mixes of them."""
    ndim = len(shape)
    kinds = ["basic", "int_array", "mask_full", "mask_first", "mixed"]
    if ndim >= 2:
        kinds.append("two_arrays")
    kind = draw(st.sampled_from(kinds))

    def int_array(side, max_dims=2):
        return draw(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=max_dims,
                                                          max_side=4),
                               elements=st.integers(-side, side - 1)))

    if kind == "basic":
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True,
                                      allow_ellipsis=True))
    if kind == "int_array":
        axis = draw(st.integers(0, ndim - 1))
        return (slice(None),) * axis + (int_array(shape[axis]),)
    if kind == "two_arrays":
        s0, s1 = draw(broadcastable_shapes(2, min_dims=1, max_dims=2, max_side=3))
        i0 = draw(hnp.arrays(np.int64, s0, elements=st.integers(-shape[0], shape[0] - 1)))
        i1 = draw(hnp.arrays(np.int64, s1, elements=st.integers(-shape[1], shape[1] - 1)))
        return (i0, i1)
    if kind == "mask_full":
        return draw(hnp.arrays(np.bool_, shape))
    if kind == "mask_first":
        mask = draw(hnp.arrays(np.bool_, shape[:1]))
        return (mask,) + ((slice(None, None, -1),) if ndim > 1 else ())
    # mixed: an integer array on one axis, basic items (int, slice, None) on the others
    axis = draw(st.integers(0, ndim - 1))
    items = []
    for i, side in enumerate(shape):
        if i == axis:
            items.append(int_array(side, max_dims=1))
        else:
            items.append(draw(st.sampled_from([slice(None), slice(None, None, -1), -1, 0,
                                               slice(1, None)])))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    return tuple(items)


def sample_index(draw, op, attrs):
    shape = _shape(draw, min_dims=1)
    return Case([_values(draw, op, shape)], (0,), {"index": draw(indices(shape)), **attrs})


def sample_unindex(draw, op, attrs):
    shape = _shape(draw, min_dims=1)
    index = draw(indices(shape))
    gshape = np.zeros(shape)[index].shape
    return Case([_values(draw, op, gshape)], (0,), {"shape": shape, "index": index, **attrs})


def sample_concatenate(draw, op, attrs):
    base = list(_shape(draw, min_dims=1))
    axis = draw(st.integers(0, len(base) - 1))
    args = []
    for _ in range(draw(st.integers(1, 3))):
        base[axis] = draw(st.integers(1, SIDE))
        args.append(_values(draw, op, tuple(base), 0))
    return Case(args, tuple(range(len(args))), {"axis": axis, **attrs})


def sample_matmul(draw, op, attrs):
    m, k, n = (draw(st.integers(1, SIDE)) for _ in range(3))
    kind = draw(st.sampled_from(["1d@1d", "1d@nd", "nd@1d", "2d@2d", "batched"]))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=2))
    if kind == "1d@1d":
        sa, sb = (k,), (k,)
    elif kind == "1d@nd":
        sa, sb = (k,), batch + (k, n)
    elif kind == "nd@1d":
        sa, sb = batch + (m, k), (k,)
    elif kind == "2d@2d":
        sa, sb = (m, k), (k, n)
    else:
        ba, bb = draw(broadcastable_shapes(2, min_dims=1, max_dims=2, max_side=2))
        sa, sb = ba + (m, k), bb + (k, n)
    return Case([_values(draw, op, sa, 0), _values(draw, op, sb, 1)], (0, 1), dict(attrs))


def sample_linear(draw, op, attrs):
    # x (..., in), w (out, in) and, half the time, b (out,): 0 to 2 leading axes on x.
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=SIDE))
    k, n = draw(st.integers(1, SIDE)), draw(st.integers(1, SIDE))
    args = [_values(draw, op, lead + (k,), 0), _values(draw, op, (n, k), 1)]
    if draw(st.booleans()):
        args.append(_values(draw, op, (n,), 2))
    return Case(args, tuple(range(len(args))), dict(attrs))


def sample_rows(draw, op, attrs):
    # Two arrays of one shape (..., C) reduced along the last axis (logits and targets).
    shape = _shape(draw, min_dims=1)
    return Case([_values(draw, op, shape, 0), _values(draw, op, shape, 1)], (0, 1), dict(attrs))


SAMPLERS = {
    "elementwise": sample_elementwise,
    "separated": sample_separated,
    "where": sample_where,
    "reduce": sample_reduce,
    "reduce_distinct": sample_reduce_distinct,
    "axis": sample_axis,
    "reshape": sample_reshape,
    "transpose": sample_transpose,
    "broadcast": sample_broadcast,
    "index": sample_index,
    "unindex": sample_unindex,
    "concatenate": sample_concatenate,
    "matmul": sample_matmul,
    "linear": sample_linear,
    "rows": sample_rows,
}


# --------------------------------------------------------------------------- meta-test
def _metadata_problems(op) -> list[str]:
    problems = []
    if op.ref is None or not callable(op.ref):
        problems.append("no numpy reference `ref`")
    if op.sample not in SAMPLERS:
        problems.append(f"sample kind {op.sample!r} unknown to tests/test_ops.py "
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
    if not isinstance(op.smooth, bool):
        problems.append("`smooth` must be a bool")
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

    problems = " ".join(_metadata_problems(Bare))
    assert "ref" in problems and "no_such_kind" in problems and "docstring" in problems


# --------------------------------------------------------------------------- the property test
CASES = [(name, i) for name in sorted(REGISTRY) for i in range(len(REGISTRY[name].attrs))]


def _case_id(case):
    name, i = case
    return name if len(REGISTRY[name].attrs) == 1 else f"{name}-{i}"


def _inputs(case, dtype=np.float64, needs=None):
    out = []
    for i, a in enumerate(case.args):
        if i in case.diff:
            r = needs is None or i in needs
            out.append(autograd.tensor(np.asarray(a, dtype=dtype), requires_grad=r, dtype=dtype))
        else:
            out.append(a)
    return out


def _run(op, case):
    def fn(*xs):
        return engine.apply(op, *xs, **case.attrs)

    return fn


@pytest.mark.parametrize("case_key", CASES, ids=[_case_id(c) for c in CASES])
@given(data=st.data())
def test_op(case_key, data):
    name, which = case_key
    op = REGISTRY[name]
    if _metadata_problems(op):
        pytest.fail(f"{name}: {_metadata_problems(op)}")
    case = SAMPLERS[op.sample](data.draw, op, op.attrs[which])
    fn = _run(op, case)

    # Forward against the numpy reference.
    xs = _inputs(case)
    out = fn(*xs)
    ref = np.asarray(op.ref(*case.args, **case.attrs))
    assert out.shape == ref.shape, f"{name}: shape {out.shape}, reference {ref.shape}"
    np.testing.assert_allclose(out.data, ref, rtol=1e-9, atol=1e-12, err_msg=name)

    # float32 stays float32, forward and backward (the op's own formula, before the
    # engine's cast, must not upcast either: that doubles the memory traffic).
    x32 = _inputs(case, np.float32)
    out32 = fn(*x32)
    assert out32.dtype == case.attrs.get("dtype", np.float32), f"{name}: {out32.dtype}"
    raw = [a.data if isinstance(a, autograd.Tensor) else a for a in x32]
    g32 = np.ones(out32.shape, dtype=out32.dtype)
    saved = out32.data if op.save_out else None
    needs = tuple(i in case.diff for i in range(len(raw)))
    for i, g in enumerate(op.backward(g32, saved, needs, *raw, **case.attrs)):
        if g is not None and i in case.diff:
            assert np.asarray(g).dtype == out32.dtype, f"{name}: gradient {i} is {np.asarray(g).dtype}"
    if out32.requires_grad:
        out32.backward(g32)
        for i in case.diff:
            assert x32[i].grad.dtype == np.float32 and x32[i].grad.shape == x32[i].shape

    # Gradients against finite differences, all inputs at once...
    assert gradcheck(fn, xs)
    # ...and each input alone (the `needs` paths of the backward).
    if len(case.diff) > 1:
        both = autograd.grad(fn(*xs), [xs[i] for i in case.diff], grad_outputs=np.ones(out.shape))
        for j, i in enumerate(case.diff):
            alone = _inputs(case, needs=(i,))
            (g,) = autograd.grad(fn(*alone), [alone[i]], grad_outputs=np.ones(out.shape))
            np.testing.assert_allclose(g.data, both[j].data, rtol=1e-12, atol=1e-14)

    # Second order through create_graph=True.
    if op.smooth:
        assert gradgradcheck(fn, xs)


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
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


# --------------------------------------------------------------------------- the checkers themselves
class _SquareCutSecondOrder(autograd.Op, register=False):
    """x²;  backward reads x's raw array, so its gradient is right but not differentiable"""

    name = "square_cut"

    @staticmethod
    def forward(x):
        return x * x

    @staticmethod
    def backward(g, out, needs, x):
        return (g * 2 * engine.raw(x),)


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
    assert gradcheck(lambda a: engine.apply(_SquareCutSecondOrder, a), [x])
    with pytest.raises(AssertionError, match="gradgradcheck"):
        gradgradcheck(lambda a: engine.apply(_SquareCutSecondOrder, a), [x])
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
