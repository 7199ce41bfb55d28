"""A two-layer ReLU network on random data; forward and backward written by hand."""

import json
import os

import torch

dtype = torch.float
device = torch.device("cpu")
torch.manual_seed(0)

# N samples of D_in features; a hidden layer of H units; D_out outputs.
N, D_in, H, D_out = 64, 1000, 100, 10

x = torch.randn(N, D_in, device=device, dtype=dtype)
y = torch.randn(N, D_out, device=device, dtype=dtype)
w1 = torch.randn(D_in, H, device=device, dtype=dtype)
w2 = torch.randn(H, D_out, device=device, dtype=dtype)

# Test hook: START_VALUES may name a JSON file of starting values, so that two engines can be
# compared from the same point. Without it the program starts from its own random draws.
if "START_VALUES" in os.environ:
    with open(os.environ["START_VALUES"]) as f:
        start = json.load(f)
    for name, value in {"x": x, "y": y, "w1": w1, "w2": w2}.items():
        value.copy_(torch.tensor(start[name]))

learning_rate = 1e-6
first_loss = None
for step in range(300):
    h = x.mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)

    loss = (y_pred - y).pow(2).sum().item()
    if first_loss is None:
        first_loss = loss
    if step % 100 == 99:
        print(step, loss)

    # Back through the two products and the ReLU.
    grad_y_pred = 2.0 * (y_pred - y)
    grad_w2 = h_relu.t().mm(grad_y_pred)
    grad_h_relu = grad_y_pred.mm(w2.t())
    grad_h = grad_h_relu.clone()
    grad_h[h < 0] = 0
    grad_w1 = x.t().mm(grad_h)

    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2

final_loss = loss
