"""A two-layer ReLU network on random data; autograd gives the gradients."""

import json
import os

import torch

dtype = torch.float
device = torch.device("cpu")
torch.manual_seed(0)

N, D_in, H, D_out = 64, 1000, 100, 10

# The data needs no gradient; the weights do.
x = torch.randn(N, D_in, device=device, dtype=dtype)
y = torch.randn(N, D_out, device=device, dtype=dtype)
w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    with torch.no_grad():
        for name, value in {"x": x, "y": y, "w1": w1, "w2": w2}.items():
            value.copy_(torch.tensor(start[name]))

learning_rate = 1e-6
first_loss = None
for step in range(300):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)

    loss = (y_pred - y).pow(2).sum()
    if first_loss is None:
        first_loss = loss.item()
    if step % 100 == 99:
        print(step, loss.item())

    loss.backward()

    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad

        # Zero the gradients in place, ready for the next backward.
        w1.grad.zero_()
        w2.grad.zero_()

final_loss = loss.item()
