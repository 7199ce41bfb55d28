"""Fit y = a + b * P3(c + d * x) to sin(x), where P3 is the Legendre polynomial of degree 3,
written as a custom autograd Function with its own backward."""

import math

import torch


class LegendreP3(torch.autograd.Function):
    """P3(z) = (5 z^3 - 3 z) / 2, and P3'(z) = (15 z^2 - 3) / 2."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return 0.5 * (5 * z**3 - 3 * z)

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * z**2 - 1)


dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# Start near a sensible answer: random starting points make this fit diverge easily.
a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

learning_rate = 5e-6
first_loss = None
for step in range(2000):
    P3 = LegendreP3.apply
    y_pred = a + b * P3(c + d * x)

    loss = (y_pred - y).pow(2).sum()
    if first_loss is None:
        first_loss = loss.item()
    if step % 500 == 499:
        print(step, loss.item())

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

final_loss = loss.item()
print(f"y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
