"""graphgrad on an NVIDIA GPU (CuPy) beside PyTorch CUDA eager, in the same process (issue 14).

One training step of the MLP 784-512-512-10 (ReLU), float32, softmax cross-entropy and Adam
(lr 1e-3): forward, backward, update, at batch 256 (where Python overhead dominates: reported
as measured) and at batch 8,192. Target: graphgrad <= 1.5x PyTorch CUDA eager at 8,192.
graphgrad runs with per-parameter Adam (the default) and with `flat=True` (one buffer per
dtype: a few kernels per step instead of a few per parameter).

Both start from the same weights, and their first losses must agree before anything is timed.
Each round runs `number` steps and then waits for the GPU (cupy.cuda.Device().synchronize(),
torch.cuda.synchronize()); the table gives the median over rounds, after warm-up steps (CuPy
compiles its kernels on first use), rounds of the two libraries interleaved.

Without CuPy and a GPU the same script runs on numpy (and PyTorch on the CPU when installed),
a few rounds only: a check of the script, not a measurement of the target. PyTorch is not a
dependency; its column is "-" without it. Options: --rounds N, --json PATH (results as JSON),
--device cpu|cuda|array_api_strict (default: cuda when CuPy sees a GPU, else cpu; the last one
checks the non-numpy path on a machine without a GPU), BENCH_QUICK=1 (fewer rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from timing import fmt_time  # noqa: E402

import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402
from autograd import backend  # noqa: E402

SIZES = (784, 512, 512, 10)
BATCHES = (256, 8192)
TARGET = 1.5  # graphgrad / torch at batch 8,192
QUICK = bool(os.environ.get("BENCH_QUICK"))


def data(batch: int):
    rng = np.random.default_rng(batch)
    return rng.normal(size=(batch, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], batch)


def graphgrad_step(device: str, batch: int, flat: bool):
    """(step, initial weights as host arrays): one training step on `device`."""
    autograd.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = nn.Sequential(*layers)
    weights = [p.numpy().copy() for p in model.parameters()]
    model.to(device)
    opt = nn.optim.Adam(model.parameters(), lr=1e-3, flat=flat)
    xs, ys = data(batch)
    x, y = autograd.tensor(xs, device=device), autograd.tensor(ys, device=device)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step, weights


def torch_step(torch, device: str, batch: int, weights):
    """The same step in PyTorch eager, from the same weights."""
    layers = []
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        layers += [torch.nn.Linear(a, b)] + ([torch.nn.ReLU()] if i < len(SIZES) - 2 else [])
    model = torch.nn.Sequential(*layers).to(device)
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(w))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys = data(batch)
    x, y = torch.from_numpy(xs).to(device), torch.from_numpy(ys).to(device)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def try_torch(cuda: bool):
    try:
        import torch
    except Exception:  # noqa: BLE001 - not installed, or a broken install: no column
        return None
    if cuda and not torch.cuda.is_available():
        return None
    return torch


def timed_rounds(runs: dict, sync: dict, rounds: int, number: dict) -> dict:
    """Median seconds per step of each run, rounds interleaved; each round ends in a sync."""
    times: dict = {k: [] for k in runs}
    for _ in range(rounds):
        for k, fn in runs.items():
            sync[k]()
            t0 = time.perf_counter()
            for _ in range(number[k]):
                fn()
            sync[k]()
            times[k].append((time.perf_counter() - t0) / number[k])
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per case")
    parser.add_argument("--json", type=Path, default=None, help="write the results here as JSON")
    parser.add_argument("--device", choices=("cuda", "cpu", "array_api_strict"), default=None,
                        help="where graphgrad runs (default: cuda when CuPy sees a GPU, else cpu)")
    args = parser.parse_args(argv)

    cp = backend.cupy_or_none()
    if args.device == "cuda" and cp is None:
        print("bench_gpu: --device cuda needs CuPy and a CUDA device; none here", file=sys.stderr)
        return 2
    on_gpu = cp is not None and args.device in (None, "cuda")
    device = "cuda" if on_gpu else "cpu"
    if args.device == "array_api_strict":
        import array_api_strict

        device = array_api_strict
    torch = try_torch(on_gpu)
    tdev = "cuda" if on_gpu else "cpu"
    if on_gpu:
        props = cp.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        where = f"{name}, CuPy {cp.__version__}"
        sync_ours = cp.cuda.Device().synchronize
    else:
        lib = "numpy" if device == "cpu" else "array-api-strict"
        where = f"CPU ({platform.processor() or platform.machine()}), {lib}: no GPU, a check of the script"
        sync_ours = lambda: None  # noqa: E731
    sync_torch = (torch.cuda.synchronize if on_gpu else (lambda: None)) if torch else None
    rounds = args.rounds or (15 if on_gpu and not QUICK else 5 if on_gpu else 3)
    print(f"device: {where}; torch: {torch.__version__ + ' ' + tdev if torch else 'not installed'}", flush=True)

    rows, results = [], []
    for batch in BATCHES:
        runs, sync, number, first = {}, {}, {}, {}
        for flat in (False, True):
            key = "graphgrad flat Adam" if flat else "graphgrad"
            step, weights = graphgrad_step(device, batch, flat)
            runs[key], sync[key] = step, sync_ours
            first[key] = [step().item() for _ in range(2)]
        if torch is not None:
            runs["torch"], sync["torch"] = torch_step(torch, tdev, batch, weights), sync_torch
            first["torch"] = [runs["torch"]().item() for _ in range(2)]
        for k, losses in first.items():  # the same two first steps from the same weights
            np.testing.assert_allclose(losses, first["graphgrad"], rtol=2e-4, err_msg=f"{k}, batch {batch}")
        warm = 5 if on_gpu else 1
        for k, fn in runs.items():
            for _ in range(warm):
                fn()
            sync[k]()
        # about 20 ms of steps per round on the GPU; one step per round on the CPU
        t0 = time.perf_counter()
        runs["graphgrad"]()
        sync["graphgrad"]()
        one = time.perf_counter() - t0
        n = max(1, min(50, int(0.02 / max(one, 1e-6)))) if on_gpu else 1
        number = {k: n for k in runs}
        med = timed_rounds(runs, sync, rounds, number)
        t_th = med.get("torch")
        for k in ("graphgrad", "graphgrad flat Adam"):
            ratio = med[k] / t_th if t_th else None
            target = (f"≤ {TARGET}× torch" if batch == 8192 else "report") if on_gpu else "(CPU: no target)"
            met = None if ratio is None or batch != 8192 or not on_gpu else ratio <= TARGET
            rows.append((f"batch {batch:,}, {k}", med[k], t_th, ratio, target, met))
            results.append({"batch": batch, "graphgrad": k, "seconds": med[k], "torch_seconds": t_th,
                            "ratio": ratio, "target": TARGET if batch == 8192 else None, "met": met,
                            "device": where, "steps_per_round": n, "rounds": rounds})
        print(f"batch {batch}: done", flush=True)

    device = getattr(device, "__name__", device)
    print(f"\n## MLP 784-512-512-10 f32 training step (CE + Adam) on {device}\n")
    print(f"| case | graphgrad | torch {tdev} eager | graphgrad / torch | target |")
    print("|---|---|---|---|---|")
    for case, ours, th, ratio, target, met in rows:
        mark = "" if met is None else (" (met)" if met else " (NOT met)")
        print(f"| {case} | {fmt_time(ours)} | {fmt_time(th)} | {f'{ratio:.2f}×' if ratio else '-'} | {target}{mark} |")
    print(f"\nmedian of {rounds} rounds per case, each a sync, steps, a sync; {device}: {where}")
    if args.json:
        args.json.write_text(json.dumps({"device": where, "torch": torch.__version__ if torch else None,
                                         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
