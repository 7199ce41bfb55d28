"""Fit a cubic to sin(x) on [-pi, pi], gradients written by hand (no autograd at all)."""

import json
import math
import os

import torch

dtype = torch.float
device = torch.device("cpu")
torch.manual_seed(0)

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# The cubic's four coefficients, drawn at random.
a = torch.randn((), device=device, dtype=dtype)
b = torch.randn((), device=device, dtype=dtype)
c = torch.randn((), device=device, dtype=dtype)
d = torch.randn((), device=device, dtype=dtype)

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    for name, value in {"a": a, "b": b, "c": c, "d": d}.items():
        value.copy_(torch.tensor(start[name]))

learning_rate = 1e-6
first_loss = None
for step in range(2000):
    y_pred = a + b * x + c * x**2 + d * x**3

    loss = (y_pred - y).pow(2).sum().item()
    if first_loss is None:
        first_loss = loss
    if step % 500 == 499:
        print(step, loss)

    # d(loss)/d(y_pred), then the chain rule by hand for each coefficient.
    grad_y_pred = 2.0 * (y_pred - y)
    grad_a = grad_y_pred.sum()
    grad_b = (grad_y_pred * x).sum()
    grad_c = (grad_y_pred * x**2).sum()
    grad_d = (grad_y_pred * x**3).sum()

    a -= learning_rate * grad_a
    b -= learning_rate * grad_b
    c -= learning_rate * grad_c
    d -= learning_rate * grad_d

final_loss = loss
print(f"y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
