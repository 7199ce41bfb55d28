"""A two-layer network as a custom nn.Module, trained with Adam."""

import json
import os

import torch


class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        return self.linear2(h_relu)


torch.manual_seed(0)

N, D_in, H, D_out = 64, 1000, 100, 10

x = torch.randn(N, D_in)
y = torch.randn(N, D_out)

model = TwoLayerNet(D_in, H, D_out)

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, value in [("x", x), ("y", y), *model.named_parameters()]:
            value.copy_(torch.tensor(start[name]))

criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
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
