"""Fit a cubic to sin(x) as a linear layer over the features (x, x^2, x^3); the parameters
are updated by hand from param.grad."""

import json
import math
import os

import torch

torch.manual_seed(0)

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# (2000,) -> (2000, 1) -> (2000, 3): column i holds x^(i+1), by broadcasting the powers.
powers = torch.tensor([1, 2, 3])
features = x.unsqueeze(-1).pow(powers)

# Linear gives (2000, 1); Flatten(0, 1) turns that into (2000,) to match y.
model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
loss_fn = torch.nn.MSELoss(reduction="sum")

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.tensor(start[name]))

learning_rate = 1e-6
first_loss = None
for step in range(2000):
    y_pred = model(features)

    loss = loss_fn(y_pred, y)
    if first_loss is None:
        first_loss = loss.item()
    if step % 500 == 499:
        print(step, loss.item())

    model.zero_grad()
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

final_loss = loss.item()
linear_layer = model[0]
print(
    f"y = {linear_layer.bias.item():.4f} + {linear_layer.weight[:, 0].item():.4f} x"
    f" + {linear_layer.weight[:, 1].item():.4f} x^2 + {linear_layer.weight[:, 2].item():.4f} x^3"
)
