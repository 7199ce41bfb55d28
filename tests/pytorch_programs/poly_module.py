"""Fit a cubic to sin(x) with a hand-made nn.Module holding the four coefficients."""

import json
import math
import os

import torch


class Cubic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        # Parameters assigned as attributes are registered: model.parameters() yields them.
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def describe(self):
        return f"y = {self.a.item():.4f} + {self.b.item():.4f} x + {self.c.item():.4f} x^2 + {self.d.item():.4f} x^3"


torch.manual_seed(0)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = Cubic()

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.tensor(start[name]))

criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
first_loss = None
for step in range(2000):
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
