"""Fit a cubic to sin(x), with autograd computing the gradients; updates by hand with -=."""

import json
import math
import os

import torch

dtype = torch.float
device = torch.device("cpu")
torch.manual_seed(0)

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# requires_grad=True: backward() fills a.grad, b.grad, ... with d(loss)/d(coefficient).
a = torch.randn((), device=device, dtype=dtype, requires_grad=True)
b = torch.randn((), device=device, dtype=dtype, requires_grad=True)
c = torch.randn((), device=device, dtype=dtype, requires_grad=True)
d = torch.randn((), device=device, dtype=dtype, requires_grad=True)

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, value in {"a": a, "b": b, "c": c, "d": d}.items():
            value.copy_(torch.tensor(start[name]))

learning_rate = 1e-6
first_loss = None
for step in range(2000):
    y_pred = a + b * x + c * x**2 + d * x**3

    loss = (y_pred - y).pow(2).sum()
    if first_loss is None:
        first_loss = loss.item()
    if step % 500 == 499:
        print(step, loss.item())

    loss.backward()

    # The update itself must not be recorded: step outside the graph.
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad

        # Gradients accumulate; forget them before the next backward.
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

final_loss = loss.item()
print(f"y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
