"""autograd.compile: replays give eager's numbers bit for bit, and never a stale replay."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3))
Y = RNG.normal(size=(20, 1))


def mlp(seed=0, dtype=np.float64, act=nn.Tanh):
    autograd.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8, dtype=dtype), act(), nn.Linear(8, 1, dtype=dtype))


def training_step(model, opt, loss=F.mse_loss):
    def step(x, y):
        opt.zero_grad()
        out = loss(model(x), y)
        out.backward()
        opt.step()
        return out

    return step


def same(a, b):
    a = a.data if isinstance(a, autograd.Tensor) else a
    b = b.data if isinstance(b, autograd.Tensor) else b
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), f"max difference {np.max(np.abs(a - b))}"


def twins(make_opt, seed=0, **kw):
    """Two identical models and optimizers: one stepped eagerly, one compiled."""
    pairs = []
    for _ in range(2):
        m = mlp(seed, **kw)
        pairs.append((m, make_opt(m.parameters())))
    return pairs


def test_training_step_replays_bit_for_bit():
    (m1, o1), (m2, o2) = twins(lambda ps: nn.optim.SGD(ps, lr=0.1))
    eager, compiled = training_step(m1, o1), autograd.compile(training_step(m2, o2))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for _ in range(5):
        same(eager(x, y), compiled(x, y))
        for p, q in zip(m1.parameters(), m2.parameters()):
            same(p, q)
            same(p.grad, q.grad)
    assert compiled.stats["replays"] >= 3


# --------------------------------------------------------------------------- every registry op
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from op_samples import CASE_IDS, CASES, draw_case, tensors_for  # noqa: E402

from autograd.node import apply  # noqa: E402


def _op_step(op, attrs, weights):
    def f(*ts):
        out = apply(op, *ts, **attrs)
        if out.requires_grad:
            (out * weights).sum().backward()
        return out

    return f


@pytest.mark.parametrize("case_key", CASES, ids=CASE_IDS)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_every_op_compiled_matches_eager(case_key, data):
    op, case = draw_case(data.draw, case_key)
    ref = tensors_for(case)
    out = apply(op, *ref, **case.attrs)
    weights = np.asarray(RNG.normal(size=out.shape), dtype=out.dtype)
    f = _op_step(op, case.attrs, weights)
    want_out = f(*ref)
    compiled = autograd.compile(f)
    for _ in range(3):  # the capture, then replays
        ts = tensors_for(case)
        got = compiled(*ts)
        same(got, want_out)
        for a, b in zip(ref, ts):
            if isinstance(a, autograd.Tensor) and a.grad is not None:
                same(a.grad, b.grad)
    assert compiled.stats["replays"] >= 1, compiled.stats
