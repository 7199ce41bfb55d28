"""Shared timing helpers for the benchmarks: medians of repeated runs and one table format.

Every benchmark times graphgrad beside a hand-written numpy version of the same work in the
same process (and PyTorch when it is installed), and prints the ratio. The machine is shared
and noisy, so we report medians over many repeats, never single runs.
"""

from __future__ import annotations

import gc
import statistics
import time


def median_time(fn, *, repeat: int = 15, number: int | None = None, budget: float = 0.2) -> float:
    """Median seconds per call of fn() over `repeat` rounds of `number` calls each.

    `number` is chosen so one round takes about `budget / repeat` seconds when not given.
    The garbage collector is left on: memory management is part of what we measure.
    """
    fn()  # warm up
    if number is None:
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        number = max(1, int(budget / repeat / one))
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - t0) / number)
    gc.collect()
    return statistics.median(rounds)


def try_torch():
    """The torch module when installed, else None (benchmarks never require it)."""
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        return torch
    except Exception:
        return None


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds:.3f} s"


def print_table(title: str, rows: list[dict]) -> None:
    """Print rows of {case, graphgrad, numpy, torch, target, note} with ratios to numpy."""
    print(f"\n## {title}\n")
    header = "| case | graphgrad | numpy (hand-written) | graphgrad / numpy | torch | target |"
    print(header)
    print("|" + "---|" * 6)
    for r in rows:
        ours, ref, th = r.get("graphgrad"), r.get("numpy"), r.get("torch")
        ratio = f"{ours / ref:.2f}×" if ours and ref else "-"
        print(
            f"| {r['case']} | {fmt_time(ours)} | {fmt_time(ref)} | {ratio} | {fmt_time(th)} "
            f"| {r.get('target', '-')} |"
        )
    for r in rows:
        if r.get("note"):
            print(f"- {r['case']}: {r['note']}")
