"""Eager at scale (issue 17): elementwise work on big arrays, where a node must keep only what
its backward reads.

The chain: 100 × (h = h * 0.9 + 0.1, then h = tanh(h)), forward and backward, float64, one
thread, at 4, 1,024, 65,536, 262,144 and 1,048,576 elements. Beside it, hand-written numpy
that keeps only what backward reads (the tanh outputs) and, when installed, PyTorch eager.
Each implementation runs in a fresh process (so peak memory is its own): the time is the
median of steady-state repeats after a warm-up, the peak is the resident memory's high-water
mark above what the process held just before the first run.

Run: python benchmarks/bench_scaling.py   (one size: --worker KIND SIZE, used internally)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIZES = (4, 1024, 65_536, 262_144, 1_048_576)
STEPS = 100
OPS = 3 * STEPS  # mul, add, tanh per step


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ours(x0):
    import autograd

    x = autograd.tensor(x0, requires_grad=True)
    h = x
    for _ in range(STEPS):
        h = (h * 0.9 + 0.1).tanh()
    h.sum().backward()
    return x.grad.data


def numpy_lean(x0):
    import numpy as np

    h = x0
    kept = []
    for _ in range(STEPS):
        h = np.tanh(h * 0.9 + 0.1)
        kept.append(h)
    g = np.ones_like(x0)
    for t in reversed(kept):
        g = g * (1 - t * t) * 0.9
    return g


def torch_eager(x0):
    import torch

    x = torch.from_numpy(x0).requires_grad_()
    h = x
    for _ in range(STEPS):
        h = (h * 0.9 + 0.1).tanh()
    h.sum().backward()
    return x.grad.numpy()


def worker(kind: str, n: int) -> None:
    import numpy as np

    if kind == "torch":
        import torch

        torch.set_num_threads(1)
    fn = {"graphgrad": ours, "numpy": numpy_lean, "torch": torch_eager}[kind]
    x0 = np.linspace(-1.0, 1.0, n)
    base = _rss_mib()
    ref = numpy_lean(x0) if kind != "numpy" else None
    fn(x0)  # warm-up (also what the peak is measured on, with the runs below)
    repeat = max(5, min(200, int(2e6 / max(n, 1))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(x0)
        times.append(time.perf_counter() - t0)
    if ref is not None:
        assert np.allclose(out, ref, rtol=1e-9, atol=1e-12), f"{kind}: wrong gradient"
    print(json.dumps({"time": statistics.median(times), "peak": max(0.0, _peak_mib() - base)}))


def measure(kind: str, n: int):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, __file__, "--worker", kind, str(n)], capture_output=True,
                       text=True, env=env, timeout=600)
    if r.returncode:
        if kind == "torch" and "No module named 'torch'" in r.stderr:
            return None
        raise RuntimeError(f"{kind} at {n}: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from timing import fmt_time

    print("\n## Eager at scale: 100 × (h * 0.9 + 0.1, tanh), float64, fwd+bwd, one thread\n")
    print("Time per op (300 ops) and peak resident memory above the process's baseline; "
          "numpy keeps only the tanh outputs, as backward needs.\n")
    print("| elements | graphgrad / op | numpy / op | ratio | torch / op | peak graphgrad | peak numpy "
          "| ratio | peak torch |")
    print("|" + "---|" * 9)
    for n in SIZES:
        g, m, t = measure("graphgrad", n), measure("numpy", n), measure("torch", n)
        tt = fmt_time(t["time"] / OPS) if t else "-"
        tp = f"{t['peak']:.0f} MiB" if t else "-"
        mem_ratio = f"{g['peak'] / m['peak']:.2f}×" if m["peak"] > 1 else "-"
        print(f"| {n:,} | {fmt_time(g['time'] / OPS)} | {fmt_time(m['time'] / OPS)} | "
              f"{g['time'] / m['time']:.2f}× | {tt} | {g['peak']:.0f} MiB | {m['peak']:.0f} MiB | "
              f"{mem_ratio} | {tp} |")
    print("\nTargets at 262,144 elements: time ≤ 1.15× numpy, peak memory ≤ 1.2× numpy.")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
