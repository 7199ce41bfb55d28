"""A two-layer network built from nn layers; parameters updated by hand."""

import json
import os

import torch

torch.manual_seed(0)

N, D_in, H, D_out = 64, 1000, 100, 10

x = torch.randn(N, D_in)
y = torch.randn(N, D_out)

# Each Linear holds its own weight and bias, initialised at random.
model = torch.nn.Sequential(
    torch.nn.Linear(D_in, H),
    torch.nn.ReLU(),
    torch.nn.Linear(H, D_out),
)
loss_fn = torch.nn.MSELoss(reduction="sum")

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, value in [("x", x), ("y", y), *model.named_parameters()]:
            value.copy_(torch.tensor(start[name]))

learning_rate = 1e-4
first_loss = None
for step in range(300):
    y_pred = model(x)

    loss = loss_fn(y_pred, y)
    if first_loss is None:
        first_loss = loss.item()
    if step % 100 == 99:
        print(step, loss.item())

    model.zero_grad()
    loss.backward()

    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

final_loss = loss.item()
