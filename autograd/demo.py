"""A first look at graphgrad: a small network, one backward pass, values and gradients.

Run with `python -m autograd.demo` (`make demo` runs the physics application, `graphgrad_physics`).
"""

from __future__ import annotations

import numpy as np

import autograd


def main() -> None:
    rng = np.random.default_rng(0)
    # Four points of XOR, a 2-4-1 tanh network, mean squared error.
    x = autograd.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = autograd.tensor([[0], [1], [1], [0]], dtype=np.float64)
    w1 = autograd.tensor(rng.normal(0, 1, (2, 4)), requires_grad=True, name="w1")
    b1 = autograd.tensor(np.zeros(4), requires_grad=True, name="b1")
    w2 = autograd.tensor(rng.normal(0, 1, (4, 1)), requires_grad=True, name="w2")
    b2 = autograd.tensor(np.zeros(1), requires_grad=True, name="b2")
    params = [w1, b1, w2, b2]

    for step in range(301):
        h = (x @ w1 + b1).tanh()
        pred = h @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with autograd.no_grad():
            for p in params:
                p.data -= 0.2 * p.grad
        if step % 100 == 0:
            print(f"step {step:3d}  loss {loss.item():.5f}")

    print("\npredictions:", np.round(pred.data.ravel(), 3), " targets:", y.data.ravel())
    print("\ngradients after the last backward:")
    for p in params:
        print(f"  d loss / d {p.name} (shape {p.shape}): norm {np.linalg.norm(p.grad):.2e}")

    # Second order: the Hessian-vector product of the loss along w2's gradient.
    h = (x @ w1 + b1).tanh()
    loss = (((h @ w2 + b2) - y) ** 2).mean()
    (g,) = autograd.grad(loss, w2, create_graph=True)
    (hv,) = autograd.grad((g * g.detach()).sum(), w2)
    print(f"\nHessian-vector product d²loss/dw2² · g: {np.round(hv.data.ravel(), 5)}")


if __name__ == "__main__":
    main()
