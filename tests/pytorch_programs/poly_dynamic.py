"""Fit sin(x) with a polynomial whose degree is chosen at random on every forward pass: the
4th-degree coefficient e is reused for the terms of degree 4, 5 (and 6)."""

import json
import math
import os
import random

import torch


class RandomDegree(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        # Plain Python control flow: each forward builds a graph of a different size, and
        # the same parameter may appear several times in it.
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for exp in range(4, random.randint(4, 6)):
            y = y + self.e * x**exp
        return y

    def describe(self):
        return (
            f"y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2"
            f" + {self.d.item():.4f} x^3 + {self.e.item():.4f} x^4 ? + {self.e.item():.4f} x^5 ?"
        )


torch.manual_seed(0)
random.seed(0)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = RandomDegree()

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.tensor(start[name]))

# Momentum helps here: plain SGD needs a very small step to stay stable with x^5 in the sum.
# (A tenth of the usual 30,000 steps: enough to see it train, not to reach the best fit.)
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
first_loss = None
for step in range(3000):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if first_loss is None:
        first_loss = loss.item()
    if step % 500 == 499:
        print(step, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

final_loss = loss.item()
print(model.describe())
