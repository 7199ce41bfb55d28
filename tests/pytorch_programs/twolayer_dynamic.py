"""A network whose depth is drawn at random on each forward pass: one middle layer is applied
0 to 3 times, so the same weights appear several times in one graph."""

import json
import os
import random

import torch


class DynamicNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.input_linear = torch.nn.Linear(D_in, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.input_linear(x).clamp(min=0)
        for _ in range(random.randint(0, 3)):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        return self.output_linear(h_relu)


torch.manual_seed(0)
random.seed(0)

N, D_in, H, D_out = 64, 1000, 100, 10

x = torch.randn(N, D_in)
y = torch.randn(N, D_out)

model = DynamicNet(D_in, H, D_out)

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, value in [("x", x), ("y", y), *model.named_parameters()]:
            value.copy_(torch.tensor(start[name]))

# Depth changes from step to step, so plain SGD is jumpy; momentum smooths it.
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
first_loss = None
for step in range(300):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if first_loss is None:
        first_loss = loss.item()
    if step % 100 == 99:
        print(step, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

final_loss = loss.item()
