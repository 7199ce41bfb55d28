"""nn training steps against hand-written numpy (explicit forward, backward formulas,
in-place Adam with preallocated buffers), in the same process.

1. MLP 784-512-512-10, ReLU, batch 256, float32, cross-entropy + Adam: one training step
   (forward, backward, update). Target: graphgrad <= 1.10x the hand-written numpy.
2. MLP 2-16-16-1, tanh, 100 points, float64, MSE + SGD: one full-batch step. Target <= 0.25 ms.
3. Memory: 500 steps of workload 1; resident memory must stay flat after the first steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from timing import median_time, print_table, try_torch  # noqa: E402

import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402

rng = np.random.default_rng(0)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------- workload 1
SIZES = (784, 512, 512, 10)
N = 256
X1 = rng.normal(size=(N, 784)).astype(np.float32)
Y1 = rng.integers(0, 10, N)


def ours_big():
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)
    x = autograd.tensor(X1)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), Y1)
        loss.backward()
        opt.step()
        return loss

    return model, step


class NumpyMLP:
    """The same network by hand: explicit forward and backward, Adam in place with
    preallocated moment and scratch buffers."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.p = [p.copy() for p in params]
        self.m = [np.zeros_like(p) for p in self.p]
        self.v = [np.zeros_like(p) for p in self.p]
        self.work = [np.empty_like(p) for p in self.p]
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0

    def step(self, x, y):
        W1, b1, W2, b2, W3, b3 = self.p
        h1 = x @ W1.T
        h1 += b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2.T
        h2 += b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3.T
        z += b3
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        n = len(y)
        loss = (np.log(s[:, 0]) - z[np.arange(n), y]).mean()
        g = e / s
        g[np.arange(n), y] -= 1
        g /= n
        gW3, gb3 = g.T @ a2, g.sum(0)
        g = g @ W3
        g *= h2 > 0
        gW2, gb2 = g.T @ a1, g.sum(0)
        g = g @ W2
        g *= h1 > 0
        gW1, gb1 = g.T @ x, g.sum(0)
        self.t += 1
        bc1 = 1 - self.b1**self.t
        bc2 = (1 - self.b2**self.t) ** 0.5
        for p, gr, m, v, w in zip(self.p, (gW1, gb1, gW2, gb2, gW3, gb3), self.m, self.v, self.work):
            np.subtract(gr, m, out=w)
            w *= 1 - self.b1
            m += w
            v *= self.b2
            np.multiply(gr, 1 - self.b2, out=w)
            w *= gr
            v += w
            np.sqrt(v, out=w)
            w /= bc2
            w += self.eps
            np.divide(m, w, out=w)
            w *= -self.lr / bc1
            p += w
        return loss


def torch_big(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.from_numpy(X1), torch.from_numpy(Y1)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    return step


# ----------------------------------------------------------------------------- workload 2
X2 = rng.normal(size=(100, 2))
Y2 = np.sin(X2[:, :1] * 2) * X2[:, 1:]


def ours_small():
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16, dtype=np.float64), nn.Tanh(), nn.Linear(16, 16, dtype=np.float64),
                          nn.Tanh(), nn.Linear(16, 1, dtype=np.float64))
    opt = nn.optim.SGD(model.parameters(), lr=0.05)
    x = autograd.tensor(X2)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), Y2)
        loss.backward()
        opt.step()
        return loss

    return model, step


def numpy_small(params, lr=0.05):
    W1, b1, W2, b2, W3, b3 = (p.copy() for p in params)
    ps = [W1, b1, W2, b2, W3, b3]
    x, y = X2, Y2
    n = y.size

    def step():
        a1 = np.tanh(x @ W1.T + b1)
        a2 = np.tanh(a1 @ W2.T + b2)
        out = a2 @ W3.T + b3
        d = out - y
        g = d * (2 / n)
        gW3, gb3 = g.T @ a2, g.sum(0)
        g = (g @ W3) * (1 - a2 * a2)
        gW2, gb2 = g.T @ a1, g.sum(0)
        g = (g @ W2) * (1 - a1 * a1)
        gW1, gb1 = g.T @ x, g.sum(0)
        for p, gr in zip(ps, (gW1, gb1, gW2, gb2, gW3, gb3)):
            p -= lr * gr
        return (d * d).mean()

    return step


def torch_small(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.from_numpy(X2), torch.from_numpy(Y2)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    torch = try_torch()
    model, step = ours_big()
    ref = NumpyMLP([p.data for p in model.parameters()])
    # Same numbers first: 3 steps of each from the same start agree.
    for _ in range(3):
        a = step().item()
        b = ref.step(X1, Y1)
    assert abs(a - b) < 1e-4 * max(1, abs(b)), (a, b)
    for p, q in zip(model.parameters(), ref.p):
        np.testing.assert_allclose(p.data, q, rtol=1e-3, atol=1e-5)
    rows = []
    t_ours = median_time(step, repeat=15)
    t_np = median_time(lambda: ref.step(X1, Y1), repeat=15)
    t_th = median_time(torch_big(torch), repeat=15) if torch else None
    rows.append({"case": "MLP 784-512-512-10 ReLU, batch 256 f32, CE + Adam step", "graphgrad": t_ours,
                 "numpy": t_np, "torch": t_th, "target": "≤ 1.10× numpy"})

    model2, step2 = ours_small()
    ref2 = numpy_small([p.data for p in model2.parameters()])
    for _ in range(3):
        a, b = step2().item(), ref2()
    assert abs(a - b) < 1e-12 * max(1, abs(b)), (a, b)
    t2 = median_time(step2, repeat=25)
    t2n = median_time(ref2, repeat=25)
    t2t = median_time(torch_small(torch), repeat=25) if torch else None
    rows.append({"case": "MLP 2-16-16-1 tanh, 100 points f64, MSE + SGD step", "graphgrad": t2,
                 "numpy": t2n, "torch": t2t, "target": "≤ 0.25 ms"})
    print_table("nn training steps", rows)

    # Memory: 500 steps of workload 1.
    model, step = ours_big()
    marks = {}
    for i in range(1, 501):
        step()
        if i in (10, 50, 100, 200, 300, 400, 500):
            marks[i] = rss_mb()
    print("\n## memory over 500 steps of workload 1 (resident set, MB)\n")
    print("| step | " + " | ".join(str(k) for k in marks) + " |")
    print("|---|" + "---|" * len(marks))
    print("| RSS | " + " | ".join(f"{v:.1f}" for v in marks.values()) + " |")
    growth = marks[500] - marks[10]
    print(f"\ngrowth from step 10 to 500: {growth:+.1f} MB ({'flat' if abs(growth) < 5 else 'NOT flat'})")


if __name__ == "__main__":
    main()
