"""Hypothesis strategies for property-testing functions of Tensors.

Values are always bounded explicitly: left to itself hypothesis draws numbers like 1e-126,
which sit on top of the kinks of abs, relu or max and break finite differences. `avoid`
keeps values at least `gap` away from chosen points; `distinct=True` keeps every pair of
values at least `gap` apart (a real gap between the top values for max/min).

This module needs hypothesis (a test extra); nothing else in autograd imports it.

>>> from hypothesis import given
>>> from autograd.testing.strategies import tensors
>>> @given(tensors(shape=(3,), min_value=0.5, max_value=2.0, requires_grad=True))
... def test_log_is_finite(x):
...     assert bool((x.log().data > -1).all()) and x.requires_grad
>>> test_log_is_finite()
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor, tensor

__all__ = [
    "floats",
    "array_shapes",
    "arrays",
    "tensors",
    "broadcastable_shapes",
    "broadcastable_tensors",
]


def array_shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1,
                 max_side: int = 4) -> st.SearchStrategy[tuple]:
    """Shapes small enough for finite differences (at most 4**3 elements by default)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def _allowed(min_value: float, max_value: float, avoid, gap: float) -> list[tuple[float, float]]:
    """[min_value, max_value] minus the open gap-neighbourhoods of the points in `avoid`."""
    if not min_value <= max_value:
        raise ValueError(f"strategies: min_value {min_value} is above max_value {max_value}")
    pieces = [(float(min_value), float(max_value))]
    for k in sorted(float(a) for a in avoid):
        nxt = []
        for lo, hi in pieces:
            if k + gap <= lo or k - gap >= hi:
                nxt.append((lo, hi))
                continue
            if lo <= k - gap:
                nxt.append((lo, k - gap))
            if k + gap <= hi:
                nxt.append((k + gap, hi))
        pieces = nxt
    if not pieces:
        raise ValueError(
            f"strategies: nothing in [{min_value}, {max_value}] is at least {gap} away from {avoid}"
        )
    return pieces


def floats(min_value: float = -3.0, max_value: float = 3.0, avoid=(),
           gap: float = 0.05) -> st.SearchStrategy[float]:
    """Finite floats in [min_value, max_value], at least `gap` away from each point in `avoid`.

    >>> from hypothesis import find
    >>> v = find(floats(-1.0, 1.0, avoid=(0.0,), gap=0.1), lambda v: True)
    >>> abs(v) >= 0.1
    True
    """
    pieces = _allowed(min_value, max_value, avoid, gap)
    return st.one_of([st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                                allow_subnormal=False) for lo, hi in pieces])


def _distinct_values(n: int, min_value, max_value, avoid, gap) -> st.SearchStrategy[list]:
    """n values, every pair at least `gap` apart: distinct points of a lattice of spacing
    2·gap, each moved by its own jitter in [0, gap)."""
    points = []
    for lo, hi in _allowed(min_value, max_value, avoid, gap):
        m = int(math.floor((hi - lo - gap) / (2 * gap))) + 1 if hi - lo >= gap else 0
        points.extend(lo + 2 * gap * i for i in range(m))
    if len(points) < n:
        raise ValueError(
            f"strategies: cannot draw {n} values at least {gap} apart in [{min_value}, {max_value}]"
        )
    return st.tuples(
        st.lists(st.sampled_from(points), min_size=n, max_size=n, unique=True),
        st.lists(st.floats(0.0, gap, exclude_max=True), min_size=n, max_size=n),
    ).map(lambda pj: [p + j for p, j in zip(*pj)])


@st.composite
def arrays(draw, shape=None, dtype="float64", *, min_value: float = -3.0,
           max_value: float = 3.0, avoid=(), gap: float = 0.05, distinct: bool = False,
           elements: st.SearchStrategy | None = None) -> np.ndarray:
    """numpy arrays with bounded values (see `tensors` for the arguments)."""
    if shape is None:
        shape = array_shapes()
    if isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind == "b":
        return draw(hnp.arrays(dt, shape, elements=elements or st.booleans()))
    if dt.kind in "iu":
        lo, hi = math.ceil(min_value), math.floor(max_value)
        return draw(hnp.arrays(dt, shape, elements=elements or st.integers(lo, hi),
                               unique=distinct))
    if dt.kind != "f":
        raise TypeError(f"strategies: unsupported dtype {dt}; use a float, integer or bool dtype")
    if distinct:
        vals = draw(_distinct_values(n, min_value, max_value, avoid, gap))
        return np.array(vals, dtype=np.float64).reshape(shape).astype(dt)
    # Draw float64 and cast: bounds like 0.05 are not float32 numbers, and rounding moves a
    # value by far less than any sensible gap.
    elems = elements or floats(min_value, max_value, avoid, gap)
    return draw(hnp.arrays(np.float64, shape, elements=elems)).astype(dt)


@st.composite
def tensors(draw, shape=None, dtype="float64", *, min_value: float = -3.0,
            max_value: float = 3.0, avoid=(), gap: float = 0.05, distinct: bool = False,
            requires_grad: bool = False,
            elements: st.SearchStrategy | None = None) -> Tensor:
    """Tensors of a given or drawn shape (a tuple, an int or a strategy; small
    `array_shapes()` by default), with values in [min_value, max_value].

    `avoid` lists points (kinks, poles) every value keeps at least `gap` away from;
    `distinct=True` keeps all values pairwise at least `gap` apart; `elements` replaces the
    value strategy entirely. Integer and bool dtypes are supported without requires_grad.
    """
    if requires_grad and np.dtype(dtype).kind != "f":
        raise TypeError(f"tensors: a {np.dtype(dtype)} tensor cannot require grad")
    arr = draw(arrays(shape, dtype, min_value=min_value, max_value=max_value, avoid=avoid,
                      gap=gap, distinct=distinct, elements=elements))
    return tensor(arr, requires_grad=requires_grad, dtype=arr.dtype)


def broadcastable_shapes(num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                         min_side: int = 1, max_side: int = 4,
                         base_shape: tuple = ()) -> st.SearchStrategy[tuple]:
    """Tuples of `num_shapes` shapes that broadcast together (numpy rules).

    >>> from hypothesis import find
    >>> a, b = find(broadcastable_shapes(), lambda s: len(s[0]) == 2 and len(s[1]) == 1)
    >>> np.broadcast_shapes(a, b) == a
    True
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, base_shape=base_shape, min_dims=min_dims, max_dims=max_dims,
        min_side=min_side, max_side=max_side,
    ).map(lambda bs: tuple(bs.input_shapes))


@st.composite
def broadcastable_tensors(draw, num_tensors: int = 2, *, min_dims: int = 0, max_dims: int = 3,
                          min_side: int = 1, max_side: int = 4, **tensor_kwargs) -> tuple:
    """A tuple of tensors whose shapes broadcast together; `tensor_kwargs` go to `tensors`."""
    shapes = draw(broadcastable_shapes(num_tensors, min_dims=min_dims, max_dims=max_dims,
                                       min_side=min_side, max_side=max_side))
    return tuple(draw(tensors(s, **tensor_kwargs)) for s in shapes)
