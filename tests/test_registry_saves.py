"""What every registered op keeps for backward, and that no op writes to what it is given.

A node keeps only the arrays its backward reads (issue 17): the op declares them in
`save_inputs` and `save_output`, and every other input reaches backward as a stand-in with
only its shape and dtype. For each op, each of its `attrs`, and each pattern of inputs that
need a gradient (all of them, then each one alone), the first test checks that the node holds
exactly the declared arrays and that backward, run on nothing else, gives the gradient the
op's formula gives with every array at hand. A formula that reads an undeclared input fails
there with an AttributeError or TypeError on the stand-in. The second test checks that no
forward or backward writes to its inputs, its saved output or the gradient it is passed.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from op_samples import CASE_IDS, CASES, draw_case

import autograd
from autograd.engine import sum_to
from autograd.node import Meta, apply


def _patterns(case) -> list[tuple]:
    """Which inputs need a gradient: all the differentiable ones, then each one alone."""
    if len(case.diff) == 1:
        return [case.diff]
    return [case.diff] + [(i,) for i in case.diff]


def _seed(shape):
    return np.random.default_rng(len(shape)).standard_normal(shape)


def _full_information_grads(op, case, g) -> dict:
    """Gradients from the op's formula given every array (no stand-ins) and every needed
    input, summed back to each input's shape as the engine does."""
    out = np.asarray(op.forward(*case.args, **case.attrs))
    needs = tuple(i in case.diff for i in range(len(case.args)))
    gin = op.backward(g, out, needs, *case.args, **case.attrs)
    return {i: sum_to(np.asarray(gin[i]), np.shape(case.args[i])) for i in case.diff}


class _Withheld(Meta):
    """A stand-in stricter than the engine's: not even numpy can turn it into values."""

    __slots__ = ()
    __array_ufunc__ = None  # `array * standin` raises instead of making an object array

    def __array__(self, *args, **kwargs):
        raise TypeError("backward read the values of an input that is not saved")


def _standin(a, kept: bool):
    return a if kept or not isinstance(a, np.ndarray) else _Withheld(a.shape, a.dtype)


def _reads(op, case, g, out, needs, args, pattern, full, j) -> bool:
    """Whether backward needs argument j (-1: the output): it fails or changes without it."""
    if j == -1:
        out = None
    else:
        args = list(args)
        args[j] = _Withheld(case.args[j].shape, case.args[j].dtype)
    try:
        with np.errstate(all="ignore"):
            gin = op.backward(g, out, needs, *args, **case.attrs)
            got = [sum_to(np.asarray(gin[i]), case.args[i].shape) for i in pattern]
    except (TypeError, AttributeError, ValueError):
        return True
    return not all(np.array_equal(a, full[i]) for a, i in zip(got, pattern))


@pytest.mark.parametrize("case_key", CASES, ids=CASE_IDS)
@given(data=st.data())
def test_node_keeps_exactly_the_declared_arrays(case_key, data):
    op, case = draw_case(data.draw, case_key)
    name = op.name
    out_array = np.asarray(op.forward(*case.args, **case.attrs))
    g = _seed(out_array.shape)
    want = _full_information_grads(op, case, g)
    # An output sharing memory with an input must be declared a view of input 0 (so that it
    # shares its version counter), and never of any other input.
    for i, a in enumerate(case.args):
        if isinstance(a, np.ndarray) and np.shares_memory(out_array, a):
            assert i == 0 and op.view, f"{name}: the output shares memory with input {i} undeclared"

    for pattern in _patterns(case):
        needs = tuple(i in pattern for i in range(len(case.args)))
        plan = op.plan(needs)
        where = f"{name} with inputs {pattern} needing grad (plan {plan})"

        # The formula alone, every undeclared input replaced by a bare stand-in...
        args = [_standin(a, plan[i]) for i, a in enumerate(case.args)]
        saved_out = out_array if op.save_output else None
        gin = op.backward(g, saved_out, needs, *args, **case.attrs)
        alone = {}
        for i in pattern:
            a, gi = case.args[i], np.asarray(gin[i])
            if op.same_shape:  # the engine trusts these ops' gradient shape and dtype
                assert gi.shape == a.shape and gi.dtype == a.dtype, f"{where}: {gi.shape} {gi.dtype}"
            alone[i] = sum_to(gi, a.shape)
            np.testing.assert_allclose(alone[i], want[i], rtol=1e-12, atol=1e-14, err_msg=where)
        # ...and nothing is kept that it does not read (a node keeps only what backward reads).
        for j in [j for j, a in enumerate(case.args) if plan[j] and isinstance(a, np.ndarray)] + (
                [-1] if op.save_output else []):
            assert _reads(op, case, g, saved_out, needs, args, pattern, alone, j), \
                f"{where}: keeps {'its output' if j == -1 else f'input {j}'}, which backward never reads"

        # The node the engine records. Needed inputs are non-leaf (clones), so a stand-in is
        # their producing Node, which has no values either.
        inputs = []
        for i, a in enumerate(case.args):
            t = autograd.tensor(a, requires_grad=i in pattern, dtype=a.dtype)
            inputs.append(autograd.clone(t) if i in pattern else t)
        out = apply(op, *inputs, **case.attrs)
        node = out.grad_fn
        assert node is not None and node.needs == needs, where
        for i, t in enumerate(inputs):
            kept = node.args[i]
            if plan[i]:
                assert kept is t.data, f"{where}: input {i} not kept as its own array"
                assert node.saved_value(i) is t.data, where
            else:
                assert not isinstance(kept, (np.ndarray, autograd.Tensor)), \
                    f"{where}: input {i} kept ({type(kept).__name__}) though undeclared"
                assert tuple(kept.shape) == t.shape and kept.dtype == t.dtype, where
                assert node.saved_value(i) is None, where
        if op.save_output:
            assert node.out is out.data, f"{where}: output not kept"
        else:
            assert node.out is None, f"{where}: output kept ({type(node.out).__name__}) though undeclared"

        # Backward on those alone: first order, then the create_graph path (saved arrays
        # unpacked into Tensors, stand-ins as they are).
        got = autograd.grad(out, [inputs[i] for i in pattern], grad_outputs=g, retain_graph=True)
        again = autograd.grad(out, [inputs[i] for i in pattern], grad_outputs=g, create_graph=True)
        for i, g1, g2 in zip(pattern, got, again):
            np.testing.assert_allclose(g1.data, want[i], rtol=1e-12, atol=1e-14, err_msg=where)
            np.testing.assert_allclose(g2.data, want[i], rtol=1e-12, atol=1e-14, err_msg=where)


# --------------------------------------------------------------------------- no writes
def _freeze(obj):
    """A deep copy of `obj` whose arrays (also inside tuples, as in an index) are read-only."""
    obj = copy.deepcopy(obj)

    def lock(x):
        if isinstance(x, np.ndarray):
            x.flags.writeable = False
        elif isinstance(x, (tuple, list)):
            for y in x:
                lock(y)
        elif isinstance(x, dict):
            for y in x.values():
                lock(y)

    lock(obj)
    return obj


def _assert_same(before, after, what):
    if isinstance(before, np.ndarray):
        assert np.array_equal(before, after, equal_nan=True), f"{what} changed"
    elif isinstance(before, (tuple, list)):
        for k, (b, a) in enumerate(zip(before, after)):
            _assert_same(b, a, f"{what}[{k}]")
    elif isinstance(before, dict):
        for k in before:
            _assert_same(before[k], after[k], f"{what}[{k!r}]")


# A write does not depend on the values: a third of the profile's examples is plenty.
@pytest.mark.parametrize("case_key", CASES, ids=CASE_IDS)
@settings(max_examples=max(3, settings.default.max_examples // 3))
@given(data=st.data())
def test_no_op_writes_to_its_inputs(case_key, data):
    op, case = draw_case(data.draw, case_key)
    name = op.name
    # On the op itself: every array read-only, so a write raises at the line that makes it...
    args, attrs = _freeze(case.args), _freeze(case.attrs)
    out = np.asarray(op.forward(*args, **attrs))
    _assert_same(case.args, args, f"{name}: forward input")
    out_before = out.copy()
    out.flags.writeable = False
    g = _freeze(_seed(out.shape))
    needs = tuple(i in case.diff for i in range(len(args)))
    op.backward(g, out, needs, *args, **attrs)
    _assert_same(case.args, args, f"{name}: backward input")
    _assert_same(case.attrs, attrs, f"{name}: attribute")
    _assert_same(out_before, out, f"{name}: saved output")
    _assert_same(_seed(out.shape), g, f"{name}: incoming gradient")

    # ...and through the engine, whose inputs, seed and accumulated .grad are writable: two
    # backward passes (the second accumulates) and one with create_graph.
    seed = _seed(out.shape)
    xs = [autograd.tensor(a, requires_grad=i in case.diff, dtype=a.dtype) for i, a in enumerate(case.args)]
    y = apply(op, *xs, **case.attrs)
    y.backward(seed, retain_graph=True)
    y.backward(seed, retain_graph=True)
    autograd.grad(y, [xs[i] for i in case.diff], grad_outputs=seed, create_graph=True)
    _assert_same(_seed(out.shape), seed, f"{name}: the gradient passed to backward")
    for i, (x, a) in enumerate(zip(xs, case.args)):
        _assert_same(a, x.data, f"{name}: input {i} through the engine")
    _assert_same(out_before, y.data, f"{name}: output through the engine")
