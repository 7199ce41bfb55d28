"""autograd.compile: replays give eager's numbers bit for bit, and never a stale replay."""

from __future__ import annotations

import numpy as np

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
