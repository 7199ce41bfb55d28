"""Inputs for every registered op, drawn from its own metadata (shared by the registry tests).

An op names its generator in `sample`; the generator draws a `Case`: the op's arguments in
order (float64 arrays where differentiable, constants elsewhere), which of them carry
gradient, and the attributes. Values stay inside the op's `domain` and at least `GAP` away
from its `kinks`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import REGISTRY
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


def _broadcast_source(draw, target):
    """A shape that broadcasts to `target`: leading axes dropped, some sides set to 1."""
    lead = draw(st.integers(0, len(target)))
    return tuple(1 if draw(st.booleans()) else s for s in target[lead:])


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
    return Case([_values(draw, op, _broadcast_source(draw, target))], (0,),
                {"shape": tuple(target), **attrs})


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


@st.composite
def assignment_indices(draw, shape):
    """Indices that write each element at most once (a repeated integer index makes the last
    write win, so the gradient of the lost writes is undefined): a basic slice, an integer
    array without repeats (negative entries included), or a boolean mask."""
    kind = draw(st.sampled_from(["basic", "int_array", "mask"]))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True,
                                      allow_ellipsis=True))
    if kind == "int_array":
        axis = draw(st.integers(0, len(shape) - 1))
        side = shape[axis]
        picks = draw(st.lists(st.integers(0, side - 1), min_size=1, max_size=side, unique=True))
        picks = [p - side if draw(st.booleans()) else p for p in picks]
        return (slice(None),) * axis + (np.array(picks, dtype=np.int64),)
    mask = draw(hnp.arrays(np.bool_, shape[:draw(st.integers(1, len(shape)))]))
    return mask if mask.ndim == len(shape) else (mask,)


def sample_setitem(draw, op, attrs):
    # x[index] = v; v has the shape of x[index], or (half the time) one that broadcasts to it.
    shape = _shape(draw, min_dims=1)
    index = draw(assignment_indices(shape))
    target = np.empty(shape)[index].shape
    vshape = _broadcast_source(draw, target) if draw(st.booleans()) else target
    return Case([_values(draw, op, shape, 0), _values(draw, op, vshape, 1)], (0, 1),
                {"index": index, **attrs})


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
    "setitem": sample_setitem,
    "concatenate": sample_concatenate,
    "matmul": sample_matmul,
    "linear": sample_linear,
    "rows": sample_rows,
}


# --------------------------------------------------------------------------- cases
CASES = [(name, i) for name in sorted(REGISTRY) for i in range(len(REGISTRY[name].attrs))]
CASE_IDS = [name if len(REGISTRY[name].attrs) == 1 else f"{name}-{i}" for name, i in CASES]


def draw_case(draw, case_key):
    """The op and one drawn Case for a (name, attrs index) key of `CASES`."""
    name, which = case_key
    op = REGISTRY[name]
    return op, SAMPLERS[op.sample](draw, op, op.attrs[which])


def tensors_for(case, dtype=np.float64, needs=None):
    """The case's arguments with its differentiable arrays as leaf Tensors of `dtype`;
    those in `needs` (all of them when None) require grad."""
    out = []
    for i, a in enumerate(case.args):
        if i in case.diff:
            r = needs is None or i in needs
            out.append(autograd.tensor(np.asarray(a, dtype=dtype), requires_grad=r, dtype=dtype))
        else:
            out.append(a)
    return out
