"""End to end: a small MLP learns two moons (a non-linear boundary) in a fixed number of steps."""

from __future__ import annotations

import numpy as np

import autograd
import nn
import nn.functional as F


def two_moons(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], 1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    y = rng.integers(0, 2, n)
    x = np.where(y[:, None] == 0, upper, lower) + rng.normal(0, noise, (n, 2))
    return x.astype(np.float32), y


def test_mlp_learns_two_moons():
    rng = np.random.default_rng(0)
    x, y = two_moons(400, 0.1, rng)
    xt, yt = two_moons(400, 0.1, rng)
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = nn.optim.Adam(model.parameters(), lr=0.02)
    sched = nn.optim.lr_scheduler.StepLR(opt, step_size=150, gamma=0.5)
    loader = nn.data.DataLoader((x, y), batch_size=100, shuffle=True)
    first = None
    for _ in range(75):  # 300 steps
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with autograd.no_grad():
        acc = (model(autograd.tensor(xt)).data.argmax(1) == yt).mean()
    assert acc >= 0.97, acc
    assert loss.item() < first / 10


def test_binary_head_with_bce_and_batchnorm_learns_too():
    rng = np.random.default_rng(1)
    x, y = two_moons(300, 0.1, rng)
    autograd.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 1))
    opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    xb, yb = autograd.tensor(x), y[:, None].astype(np.float32)
    for _ in range(300):
        loss = F.binary_cross_entropy_with_logits(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with autograd.no_grad():
        acc = ((model(xb).data > 0) == (yb > 0.5)).mean()
    assert acc >= 0.97, acc
