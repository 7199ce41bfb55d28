"""Core engine overhead: per-op cost of forward + backward on tiny tensors.

1. A chain of 1,000 ops (mul, add, tanh in turn) on a float64 array of shape (4,), forward
   and backward, against hand-written numpy that computes the same values and gradients.
2. A chain of 1,000,000 scalar ops (mul, add in turn) forward and backward: the engine
   must neither recurse nor slow down with depth.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import median_time, print_table, try_torch  # noqa: E402

import autograd  # noqa: E402

N_OPS = 1000
x0 = np.linspace(-1.0, 1.0, 4)
w = np.full(4, 0.9)
b = np.full(4, 0.1)


def ours():
    x = autograd.tensor(x0, requires_grad=True)
    wt, bt = autograd.tensor(w), autograd.tensor(b)
    h = x
    for i in range(N_OPS):
        k = i % 3
        h = h * wt if k == 0 else (h + bt if k == 1 else h.tanh())
    h.backward(np.ones(4))
    return x.grad


def numpy_by_hand():
    h = x0
    tape = []
    for i in range(N_OPS):
        k = i % 3
        if k == 0:
            h = h * w
        elif k == 1:
            h = h + b
        else:
            h = np.tanh(h)
            tape.append(h)
    g = np.ones(4)
    j = len(tape)
    for i in reversed(range(N_OPS)):
        k = i % 3
        if k == 0:
            g = g * w
        elif k == 2:
            j -= 1
            g = g * (1 - tape[j] * tape[j])
    return g


def torch_version(torch):
    xt0, wt, bt = (torch.tensor(a) for a in (x0, w, b))

    def run():
        x = xt0.clone().requires_grad_()
        h = x
        for i in range(N_OPS):
            k = i % 3
            h = h * wt if k == 0 else (h + bt if k == 1 else h.tanh())
        h.backward(torch.ones(4, dtype=torch.float64))
        return x.grad

    return run


assert np.allclose(ours(), numpy_by_hand())
torch = try_torch()
rows = [
    {
        "case": f"chain of {N_OPS} ops (4,) f64, fwd+bwd, per op",
        "graphgrad": median_time(ours) / N_OPS,
        "numpy": median_time(numpy_by_hand) / N_OPS,
        "torch": median_time(torch_version(torch)) / N_OPS if torch else None,
        "target": "≤ 5 µs (torch eager 6.3 µs here)",
    }
]

# The deep chain: measured once (it takes seconds), per op.
N_DEEP = 1_000_000


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


node_bytes = {}


def deep_ours():
    x = autograd.tensor(0.5, requires_grad=True, dtype=np.float64)
    h = x
    before = _rss_mib()
    for _ in range(N_DEEP // 2):
        h = h * 0.999999
        h = h + 1e-6
    node_bytes["graphgrad"] = (_rss_mib() - before) * 2**20 / N_DEEP
    h.backward()
    return x.grad


def deep_numpy():
    h = np.float64(0.5)
    for _ in range(N_DEEP // 2):
        h = h * 0.999999
        h = h + 1e-6
    g = np.float64(1.0)
    for _ in range(N_DEEP // 2):
        g = g * 0.999999
    return g


def deep_torch(torch):
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    h = x
    before = _rss_mib()
    for _ in range(N_DEEP // 2):
        h = h * 0.999999
        h = h + 1e-6
    node_bytes["torch"] = (_rss_mib() - before) * 2**20 / N_DEEP
    h.backward()
    return x.grad


def once(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


rows.append(
    {
        "case": f"chain of {N_DEEP:,} scalar ops, fwd+bwd, per op",
        "graphgrad": once(deep_ours) / N_DEEP,
        "numpy": once(deep_numpy) / N_DEEP,
        "torch": once(deep_torch, torch) / N_DEEP if torch else None,
        "target": "≤ torch's per-op time (8.9 µs here)",
        "note": "memory held by the graph before backward, per op: "
        + ", ".join(f"{k} {v:.0f} bytes" for k, v in node_bytes.items()),
    }
)
print_table("Engine overhead (median of repeats; deep chain timed once)", rows)
