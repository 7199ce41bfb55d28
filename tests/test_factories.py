"""The PyTorch-style factories in autograd.factories: shapes, dtypes, values, requires_grad, errors,
the seeded generator, from_numpy's shared memory and cat's gradient. Where torch is installed the
deterministic results are also compared with torch's."""

from types import SimpleNamespace

import numpy as np
import pytest

import autograd
import autograd.factories as factories
from autograd.factories import (
    arange,
    cat,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    zeros,
    zeros_like,
)

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (it is never a project dependency)")
# our factories under torch's names, dtypes included, so one lambda can call either library
G = SimpleNamespace(**{n: getattr(factories, n) for n in factories.__all__},
                    **{n: getattr(np, n) for n in ("bool", "int32", "int64", "float32", "float64")})


@pytest.fixture(autouse=True)
def _restore_default_dtype():
    saved = autograd.get_default_dtype()
    yield
    autograd.set_default_dtype(saved)


F32, F64, I64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)
SHAPED = [zeros, ones, empty, rand, randn]  # factories taking a shape as *size


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("fn", SHAPED, ids=lambda f: f.__name__)
@pytest.mark.parametrize("args, kwargs", [
    ((2, 3), {}), (((2, 3),), {}), (([2, 3],), {}), ((), {"size": (2, 3)}), ((np.int64(2), np.int32(3)), {}),
], ids=["ints", "tuple", "list", "size=", "numpy-ints"])
def test_shape_forms(fn, args, kwargs):
    t = fn(*args, **kwargs)
    assert isinstance(t, autograd.Tensor)
    assert t.shape == (2, 3) and t.data.shape == (2, 3)
    assert t.is_leaf and not t.requires_grad


@pytest.mark.parametrize("fn", SHAPED, ids=lambda f: f.__name__)
def test_zero_dim_and_empty_shapes(fn):
    assert fn(()).shape == ()
    assert fn([]).shape == ()
    assert fn(0).shape == (0,)
    assert fn(3, 0).shape == (3, 0)


def test_full_and_randint_shapes():
    assert full((2, 3), 1.0).shape == (2, 3)
    assert full([4], 1.0).shape == (4,)
    assert full(4, 1.0).shape == (4,)
    assert full((), 2.0).shape == ()
    assert randint(5, (2, 3)).shape == (2, 3)
    assert randint(0, 5, size=[4]).shape == (4,)
    assert eye(3).shape == (3, 3) and eye(2, 4).shape == (2, 4) and eye(0).shape == (0, 0)


# --------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("make", [
    lambda **k: zeros(2, **k), lambda **k: ones(2, **k), lambda **k: empty(2, **k), lambda **k: rand(2, **k),
    lambda **k: randn(2, **k), lambda **k: full((2,), 1.5, **k), lambda **k: linspace(0, 1, 3, **k),
    lambda **k: arange(0.0, 2.0, **k), lambda **k: arange(0, 2, 0.5, **k), lambda **k: eye(2, **k),
], ids=["zeros", "ones", "empty", "rand", "randn", "full", "linspace", "arange-float-end", "arange-float-step",
        "eye"])
def test_floating_results_follow_the_default_dtype(make):
    assert make().dtype == F32
    autograd.set_default_dtype(np.float64)
    assert make().dtype == F64
    assert make(dtype=np.float32).dtype == F32


@pytest.mark.parametrize("spelling", [np.float64, "float64", autograd.float64, np.dtype("float64"), float])
def test_dtype_spellings(spelling):
    assert zeros(2, dtype=spelling).dtype == F64
    assert rand(2, dtype=spelling).dtype == F64
    assert randn(2, dtype=spelling).dtype == F64


def test_integer_and_bool_dtypes():
    assert zeros(2, dtype=int).dtype == I64
    assert ones(2, dtype="int32").dtype == np.int32
    assert zeros(2, dtype=bool).dtype == np.bool_
    assert eye(2, dtype=np.int64).tolist() == [[1, 0], [0, 1]]


def test_float16_draws():
    for fn in (rand, randn):
        t = fn(100, dtype=np.float16)
        assert t.dtype == np.float16 and np.isfinite(t.data).all()


@pytest.mark.parametrize("value, expected", [
    (True, np.bool_), (3, np.int64), (3.5, np.float32), (np.int32(1), np.int64), (np.float64(1.0), np.float32),
    (np.bool_(False), np.bool_), (1 + 2j, np.complex64), (autograd.tensor(2.0), np.float32),
])
def test_full_infers_dtype_from_the_value(value, expected):
    t = full((2,), value)
    assert t.dtype == np.dtype(expected)
    assert t.data.tolist() == [np.asarray(value).item()] * 2


def test_full_complex_follows_default_dtype():
    autograd.set_default_dtype(np.float64)
    assert full((1,), 1j).dtype == np.complex128
    assert full((1,), 2.5).dtype == F64


def test_arange_dtypes():
    assert arange(5).dtype == I64
    assert arange(np.int32(5)).dtype == I64
    assert arange(1, 5, 2).dtype == I64
    assert arange(5.0).dtype == F32
    assert arange(0, 5, 0.5).dtype == F32
    assert arange(np.float64(2)).dtype == F32
    assert arange(5, dtype=np.float64).dtype == F64
    assert arange(autograd.tensor(3)).tolist() == [0, 1, 2]


def test_linspace_and_randint_dtypes():
    assert linspace(0, 10, 4).dtype == F32
    assert linspace(0, 10, 4, dtype=np.int64).tolist() == [0, 3, 6, 10]
    assert randint(10, (3,)).dtype == I64
    t = randint(0, 10, (50,), dtype=np.float32)
    assert t.dtype == F32 and (t.data == np.round(t.data)).all()


# --------------------------------------------------------------------------- values
def test_filled_values():
    assert zeros(2, 2).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert ones(3).tolist() == [1.0, 1.0, 1.0]
    assert full((2,), -7).tolist() == [-7, -7]
    assert eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert eye(3, 2).tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]


def test_arange_values():
    assert arange(4).tolist() == [0, 1, 2, 3]
    assert arange(2, 5).tolist() == [2, 3, 4]
    assert arange(5, 0, -2).tolist() == [5, 3, 1]
    assert arange(3, 3).tolist() == []
    assert arange(end=3).tolist() == [0, 1, 2] and arange(1, step=1, end=3).tolist() == [1, 2]
    assert arange(1, 2.5, 0.5).tolist() == [1.0, 1.5, 2.0]
    assert arange(-1.5, 1.5).tolist() == [-1.5, -0.5, 0.5]
    assert len(arange(0.0, 1.0, 0.1)) == 10  # ceil((end - start) / step), as torch counts


def test_linspace_values():
    assert linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert linspace(2, 3, 1).tolist() == [2.0]
    assert linspace(0, 1, 0).shape == (0,)
    assert linspace(1, 0, 3).tolist() == [1.0, 0.5, 0.0]


def test_like_factories_take_shape_and_dtype():
    src = autograd.tensor(np.arange(6, dtype=np.float64).reshape(2, 3), requires_grad=True)
    for t in (zeros_like(src), ones_like(src), full_like(src, 4.0)):
        assert t.shape == (2, 3) and t.dtype == F64
        assert t.is_leaf and not t.requires_grad  # the source's requires_grad is not copied, as in torch
    assert zeros_like(src).data.sum() == 0 and ones_like(src).data.sum() == 6 and full_like(src, 4.0).data.sum() == 24
    arr = np.zeros((4,), np.int32)
    assert zeros_like(arr).dtype == np.int32 and ones_like(arr).shape == (4,)
    assert zeros_like(arr, dtype=np.float32).dtype == F32
    assert full_like(np.zeros(2, np.int64), 2.7).tolist() == [2, 2]  # cast to the input's dtype, as torch
    assert full_like(src, 1, dtype=np.float32).dtype == F32
    assert ones_like(src, requires_grad=True).requires_grad


def test_like_results_do_not_share_memory_with_the_input():
    arr = np.zeros(3)
    t = zeros_like(arr)
    t.data[0] = 1
    assert arr[0] == 0


# --------------------------------------------------------------------------- requires_grad
@pytest.mark.parametrize("make", [
    lambda: zeros(3, requires_grad=True), lambda: ones(3, requires_grad=True), lambda: empty(3, requires_grad=True),
    lambda: full((3,), 1.0, requires_grad=True), lambda: rand(3, requires_grad=True),
    lambda: randn(3, requires_grad=True), lambda: arange(0.0, 3.0, requires_grad=True),
    lambda: linspace(0, 1, 3, requires_grad=True), lambda: zeros_like(np.zeros(3), requires_grad=True),
    lambda: full_like(np.zeros(3), 2.0, requires_grad=True),
], ids=["zeros", "ones", "empty", "full", "rand", "randn", "arange", "linspace", "zeros_like", "full_like"])
def test_requires_grad_makes_a_differentiable_leaf(make):
    x = make()
    assert x.requires_grad and x.is_leaf
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad), np.full(3, 3.0, x.dtype))


@pytest.mark.parametrize("name, make", [
    ("zeros", lambda: zeros(2, dtype=np.int64, requires_grad=True)),
    ("ones", lambda: ones(2, dtype=bool, requires_grad=True)),
    ("full", lambda: full((2,), 3, requires_grad=True)),
    ("arange", lambda: arange(3, requires_grad=True)),
    ("randint", lambda: randint(3, (2,), requires_grad=True)),
    ("eye", lambda: eye(2, dtype="int32", requires_grad=True)),
    ("linspace", lambda: linspace(0, 3, 4, dtype=np.int64, requires_grad=True)),
    ("zeros_like", lambda: zeros_like(np.zeros(2, np.int64), requires_grad=True)),
])
def test_only_floating_dtypes_may_require_grad(name, make):
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients") as e:
        make()
    assert str(e.value).startswith(f"{name}:")
    assert "int" in str(e.value) or "bool" in str(e.value)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, exc, words", [
    (lambda: zeros(-1), ValueError, ["zeros", "-1", ">= 0"]),
    (lambda: ones(2, -3), ValueError, ["ones", "(2, -3)"]),
    (lambda: rand(2.0), TypeError, ["rand", "2.0", "float", "ints"]),
    (lambda: randn(True), TypeError, ["randn", "bool"]),
    (lambda: empty("3"), TypeError, ["empty", "'3'"]),
    (lambda: zeros(), TypeError, ["zeros", "missing the shape"]),
    (lambda: zeros(2, size=(2,)), TypeError, ["zeros", "not both"]),
    (lambda: zeros(2, dtype="float99"), TypeError, ["zeros", "float99", "dtype"]),
    (lambda: zeros(2, dtype=str), TypeError, ["zeros", "<U0", "cannot be held"]),
    (lambda: rand(2, dtype=np.int64), TypeError, ["rand", "floating dtype", "int64"]),
    (lambda: randn(2, dtype=bool), TypeError, ["randn", "floating dtype", "bool"]),
    (lambda: full((2,), "a"), TypeError, ["full", "fill_value", "'a'"]),
    (lambda: full((2,), [1, 2]), TypeError, ["full", "fill_value"]),
    (lambda: full(2.5, 1.0), TypeError, ["full", "size", "2.5"]),
    (lambda: full_like([1, 2], 0), TypeError, ["full_like", "Tensor or numpy array", "list"]),
    (lambda: zeros_like(3), TypeError, ["zeros_like", "int"]),
    (lambda: linspace(0, 1, -1), ValueError, ["linspace", "steps", "-1", ">= 0"]),
    (lambda: linspace(0, 1, 2.0), TypeError, ["linspace", "steps", "2.0", "int"]),
    (lambda: arange(0, 5, 0), ValueError, ["arange", "step must be nonzero"]),
    (lambda: arange(5, 0), ValueError, ["arange", "start=5, end=0 and step=1", "inconsistent"]),
    (lambda: arange(0, 5, -1), ValueError, ["arange", "step=-1", "inconsistent"]),
    (lambda: arange("5"), TypeError, ["arange", "end", "'5'"]),
    (lambda: arange(), TypeError, ["arange", "missing end"]),
    (lambda: randint(5, 5, (2,)), ValueError, ["randint", "low=5", "high=5"]),
    (lambda: randint(5, 2, (2,)), ValueError, ["randint", "greater than low"]),
    (lambda: randint(3.5, (2,)), TypeError, ["randint", "high", "3.5"]),
    (lambda: randint(0, 10, 3.0), TypeError, ["randint", "size", "tuple"]),
    (lambda: randint(0, 10, (-2,)), ValueError, ["randint", "negative"]),
    (lambda: randint(10), TypeError, ["randint", "randint(low, high, size)"]),
    (lambda: randint(0, 1, 2, (3,)), TypeError, ["randint", "too many"]),
    (lambda: rand(2, generator=0), TypeError, ["rand", "generator", "int"]),
    (lambda: eye(-1), ValueError, ["eye", "n=-1"]),
    (lambda: eye(2, -2), ValueError, ["eye", "m=-2"]),
    (lambda: eye(2.0), TypeError, ["eye", "n", "2.0"]),
    (lambda: cat([]), ValueError, ["cat", "non-empty"]),
    (lambda: cat(zeros(2, 2)), TypeError, ["cat", "list or tuple", "Tensor"]),
    (lambda: cat([zeros(2)], dim=0, axis=1), TypeError, ["cat", "dim=0", "axis=1"]),
    (lambda: cat([zeros(2, 3), zeros(2, 4)]), ValueError, ["(2, 3)", "(2, 4)"]),
    (lambda: from_numpy([1.0]), TypeError, ["from_numpy", "ndarray", "list"]),
    (lambda: from_numpy(np.array(["a"])), TypeError, ["from_numpy", "<U1"]),
    (lambda: zeros(2, device="cuda"), RuntimeError, ["zeros", "cuda:0", "not available"]),
])
def test_bad_input_raises_a_clear_error(call, exc, words):
    with pytest.raises(exc) as e:
        call()
    for w in words:
        assert w in str(e.value), f"{w!r} missing from {str(e.value)!r}"


def test_device_cpu_is_accepted():
    assert zeros(2, device="cpu").shape == (2,)
    assert randn(2, device=None).shape == (2,)


# --------------------------------------------------------------------------- randomness
@pytest.mark.parametrize("draw", [
    lambda: rand(4, 3), lambda: randn(5), lambda: randn(2, dtype=np.float64), lambda: randint(-3, 9, (20,)),
], ids=["rand", "randn", "randn-f64", "randint"])
def test_manual_seed_makes_draws_reproducible(draw):
    autograd.manual_seed(0)
    a, b = draw(), draw()
    autograd.manual_seed(0)
    c = draw()
    np.testing.assert_array_equal(a.data, c.data)
    assert not np.array_equal(a.data, b.data)  # the generator moves on between draws
    autograd.manual_seed(1)
    assert not np.array_equal(a.data, draw().data)


def test_draws_come_from_the_shared_generator():
    autograd.manual_seed(7)
    x = randn(3)
    expected = np.random.default_rng(7).standard_normal(3, dtype=np.float32)
    np.testing.assert_array_equal(x.data, expected)
    autograd.manual_seed(7)
    expected = autograd.random.generator().random(4)  # what a seeded draw of another kind gives
    autograd.manual_seed(7)
    np.testing.assert_array_equal(rand(4, dtype=np.float64).data, expected)


def test_generator_argument():
    a = rand(3, generator=np.random.default_rng(5)).data
    b = rand(3, generator=np.random.default_rng(5)).data
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(randint(0, 100, (5,), generator=np.random.default_rng(2)).data,
                                  randint(0, 100, (5,), generator=np.random.default_rng(2)).data)


def test_distributions():
    autograd.manual_seed(0)
    u = rand(20_000, dtype=np.float64).data
    assert u.min() >= 0.0 and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    z = randn(20_000, dtype=np.float64).data
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03
    k = randint(-2, 3, (5_000,)).data
    assert set(np.unique(k).tolist()) == {-2, -1, 0, 1, 2}  # high is exclusive, every value reached


def test_randint_signatures():
    autograd.manual_seed(3)
    a = randint(10, (6,))
    autograd.manual_seed(3)
    b = randint(0, 10, (6,))
    autograd.manual_seed(3)
    c = randint(low=0, high=10, size=(6,))
    autograd.manual_seed(3)
    d = randint(10, size=(6,))
    for t in (b, c, d):
        np.testing.assert_array_equal(a.data, t.data)
    assert (a.data >= 0).all() and (a.data < 10).all()


# --------------------------------------------------------------------------- from_numpy and cat
def test_from_numpy_shares_memory():
    a = np.zeros((2, 3), dtype=np.float64)
    t = from_numpy(a)
    assert t.data is a and t.dtype == F64 and t.shape == (2, 3)
    a[0, 1] = 5.0
    assert t.tolist()[0][1] == 5.0
    t.data[1, 2] = -1.0
    assert a[1, 2] == -1.0
    assert t.is_leaf and not t.requires_grad


def test_from_numpy_keeps_dtype_and_views():
    a = np.arange(10, dtype=np.int32)
    view = a[::2]
    t = from_numpy(view)
    assert t.dtype == np.int32 and t.tolist() == [0, 2, 4, 6, 8]
    a[4] = 40
    assert t.tolist()[2] == 40
    assert from_numpy(np.array(3.0)).shape == ()


def test_cat_values_and_dims():
    a, b = autograd.tensor([[1.0, 2.0]]), autograd.tensor([[3.0, 4.0]])
    assert cat([a, b]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert cat((a, b), dim=1).tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert cat([a, b], axis=1).tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert cat([a, b], -1).shape == (1, 4)
    assert cat([a]).tolist() == [[1.0, 2.0]]


def test_cat_gradient_reaches_every_input():
    a = randn(2, 3, requires_grad=True)
    b = randn(1, 3, requires_grad=True)
    c = randn(2, 2, dtype=np.float32, requires_grad=True)
    w = np.arange(9, dtype=np.float32).reshape(3, 3)
    y = cat([a, b], dim=0)
    (y * autograd.tensor(w)).sum().backward()
    np.testing.assert_array_equal(np.asarray(a.grad), w[:2])
    np.testing.assert_array_equal(np.asarray(b.grad), w[2:])
    z = cat([a, c], dim=1)  # (2, 5)
    (z * z).sum().backward()
    np.testing.assert_allclose(np.asarray(c.grad), 2 * c.data)


# --------------------------------------------------------------------------- against torch
TORCH_CASES = [  # (factory name, args, kwargs); dtypes are given by name so both libraries can read them
    ("zeros", (2, 3), {}), ("zeros", ((2, 3),), {}), ("zeros", ((),), {}), ("ones", (4,), {"dtype": "int64"}),
    ("ones", (2,), {"dtype": "bool"}), ("full", ((2,), 3), {}), ("full", ((2,), 3.5), {}),
    ("full", ((2,), True), {}), ("full", ((2,), 1.5), {"dtype": "float64"}), ("full", ((2,), 7), {"dtype": "int32"}),
    ("eye", (3,), {}), ("eye", (2, 4), {}), ("eye", (2,), {"dtype": "int64"}), ("eye", (0,), {}),
    ("arange", (5,), {}), ("arange", (2, 9, 3), {}), ("arange", (5, 0, -1), {}), ("arange", (1, 2.5, 0.5), {}),
    ("arange", (-1.5, 1.5), {}), ("arange", (0.0, 1.0, 0.1), {}), ("arange", (0, 1, 0.3), {}),
    ("arange", (3,), {"dtype": "float64"}), ("arange", (0.5, 10.0, 0.7), {"dtype": "float64"}),
    ("arange", (-3, 3.0, 0.25), {}), ("arange", (4, 4), {}),
    ("linspace", (0, 1, 5), {}), ("linspace", (-3.14159, 3.14159, 7), {}), ("linspace", (0, 10, 4), {"dtype": "int64"}),
    ("linspace", (2, -2, 9), {"dtype": "float64"}), ("linspace", (0, 1, 0), {}), ("linspace", (0, 1, 1), {}),
]


def _kwargs_for(lib, kwargs):
    return {k: (getattr(lib, v) if k == "dtype" else v) for k, v in kwargs.items()}


@needs_torch
@pytest.mark.parametrize("name, args, kwargs", TORCH_CASES)
def test_dtype_and_values_match_torch(name, args, kwargs):
    ours = getattr(G, name)(*args, **_kwargs_for(G, kwargs))
    theirs = getattr(torch, name)(*args, **_kwargs_for(torch, kwargs)).numpy()
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    # values: ours are rounded once from float64; torch's float32 linspace may differ in the last bit
    np.testing.assert_allclose(ours.data, theirs, rtol=2e-7, atol=2e-7)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda lib: lib.rand(2, 3), lambda lib: lib.randn(4), lambda lib: lib.randint(0, 5, (3,)),
    lambda lib: lib.randint(5, (3,)), lambda lib: lib.zeros_like(lib.zeros(2, dtype=lib.float64)),
    lambda lib: lib.full_like(lib.zeros(2, dtype=lib.int64), 2.7), lambda lib: lib.empty(2, 1),
    lambda lib: lib.rand(2, dtype=lib.float64), lambda lib: lib.cat([lib.zeros(2, 1), lib.ones(2, 2)], dim=1),
])
def test_random_and_like_dtypes_match_torch(make):
    ours, theirs = make(G), make(torch)
    assert ours.dtype == theirs.numpy().dtype and ours.shape == tuple(theirs.shape)


@needs_torch
def test_default_dtype_float64_matches_torch():
    autograd.set_default_dtype(np.float64)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for name, args in [("full", ((2,), 1.5)), ("arange", (0, 1, 0.25)), ("linspace", (0, 1, 3)), ("zeros", (2,))]:
            assert getattr(G, name)(*args).dtype == getattr(torch, name)(*args).numpy().dtype
    finally:
        torch.set_default_dtype(old)


@needs_torch
@pytest.mark.parametrize("call", [
    lambda lib: lib.zeros(-1), lambda lib: lib.zeros(2.0), lambda lib: lib.linspace(0, 1, -1),
    lambda lib: lib.arange(0, 5, 0), lambda lib: lib.arange(5, 0), lambda lib: lib.randint(5, 5, (2,)),
    lambda lib: lib.eye(-1), lambda lib: lib.cat([]), lambda lib: lib.from_numpy([1.0]),
    lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True), lambda lib: lib.rand(2, dtype=lib.int64),
])
def test_torch_rejects_the_same_input(call):
    with pytest.raises((TypeError, ValueError, RuntimeError, NotImplementedError)):
        call(torch)
    with pytest.raises((TypeError, ValueError, RuntimeError)):
        call(G)
