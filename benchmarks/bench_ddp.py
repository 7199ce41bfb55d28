"""Data-parallel training over MPI (issue 12): MLP 784-512-512-10, float32, batch 256 per rank,
cross-entropy + Adam, one BLAS thread per rank.

Rows: graphgrad alone and with DistributedDataParallel on 2 ranks (`mpiexec -n 2`, with and
without overlapping the allreduce with backward); the same network hand-written in numpy with
one mpi4py Allreduce of a flat gradient buffer per step; PyTorch alone and with DDP over gloo
(2 processes), when torch is importable here or `TORCH_PYTHON` names a Python that has it.
Every configuration runs once per round, each 2-rank run right after its 1-rank baseline, for
ROUNDS rounds; each run reports its median step over STEPS steps. The table gives the median over
the rounds, and the speedups are medians of the same round's ratios (the load of this shared
machine changes from minute to minute). Targets: graphgrad's 2-rank throughput >= 1.5x its own
1-rank throughput, and >= 1.0x PyTorch DDP's.

Also reported: the allreduce of the whole gradient alone (2.7 MB, blocking, after a barrier),
and the allreduce time a DDP step still waits for, with and without overlap.

    python benchmarks/bench_ddp.py            # the table (2 to 5 minutes on this machine)
    TORCH_PYTHON=/path/to/python python benchmarks/bench_ddp.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIZES = (784, 512, 512, 10)
BATCH = 256
STEPS, WARMUP, ROUNDS = 20, 5, 5
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def batch(rank: int):
    rng = np.random.default_rng(100 + rank)
    return rng.normal(size=(BATCH, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], BATCH)


def timed_steps(step, barrier=lambda: None) -> list[float]:
    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(STEPS):
        barrier()  # every step starts together: no rank's lag is carried into the next
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


# ------------------------------------------------------------------ workers (one per process)
def graphgrad_worker(overlap: bool) -> dict:
    import autograd
    import nn
    import nn.distributed as dist
    import nn.functional as F

    dist.init()
    rank, world = dist.get_rank(), dist.get_world_size()
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    net = nn.parallel.DistributedDataParallel(model, overlap=overlap) if world > 1 else model
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = batch(rank)
    x = autograd.tensor(xb)

    def step():
        opt.zero_grad()
        F.cross_entropy(net(x), yb).backward()
        opt.step()

    times = timed_steps(step, dist.barrier)
    out = {"step": statistics.median(times)}
    if world > 1:
        net.comm_seconds, net.steps_synced = 0.0, 0
        waits = []
        for _ in range(STEPS):
            dist.barrier()
            before = net.comm_seconds
            step()
            waits.append(net.comm_seconds - before)
        out["wait"] = statistics.median(waits)
        out["buckets"] = [round(b.nbytes / 2**20, 2) for b in net.buckets]
        # the whole gradient's allreduce alone, every rank arriving together
        flat = np.concatenate([p.data.ravel() for p in model.parameters()])
        comm, MPI = dist.comm(), dist._world.MPI
        alone = []
        for _ in range(STEPS):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, flat)
            alone.append(time.perf_counter() - t0)
        out["allreduce"] = statistics.median(alone)
        out["mbytes"] = flat.nbytes / 2**20
    return out if rank == 0 else None


def numpy_worker() -> dict:
    """The network by hand: gradients written into views of one flat buffer, one Allreduce."""
    world, rank, comm, MPI = 1, 0, None, None
    if os.environ.get("PMI_SIZE", "1") != "1":
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        world, rank = comm.Get_size(), comm.Get_rank()
    rng = np.random.default_rng(0)
    shapes = [(512, 784), (512,), (512, 512), (512,), (10, 512), (10,)]
    params = [(rng.uniform(-1, 1, s) / np.sqrt(s[-1] if len(s) > 1 else 512)).astype(np.float32) for s in shapes]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.zeros(sum(sizes), np.float32)
    grads, off = [], 0
    for s, n in zip(shapes, sizes):
        grads.append(flat[off : off + n].reshape(s))
        off += n
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    work = [np.empty_like(p) for p in params]
    x, y = batch(rank)
    t = [0]

    def step():
        W1, b1, W2, b2, W3, b3 = params
        gW1, gb1, gW2, gb2, gW3, gb3 = grads
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
        e /= e.sum(1, keepdims=True)
        n = len(y)
        e[np.arange(n), y] -= 1
        e /= n * world  # the average over ranks, divided before the sum
        np.matmul(e.T, a2, out=gW3)
        e.sum(0, out=gb3)
        g = e @ W3
        g *= h2 > 0
        np.matmul(g.T, a1, out=gW2)
        g.sum(0, out=gb2)
        g = g @ W2
        g *= h1 > 0
        np.matmul(g.T, x, out=gW1)
        g.sum(0, out=gb1)
        if comm is not None:
            comm.Allreduce(MPI.IN_PLACE, flat)
        t[0] += 1
        bc1, bc2 = 1 - 0.9 ** t[0], (1 - 0.999 ** t[0]) ** 0.5
        for p, gr, mm, vv, w in zip(params, grads, m, v, work):
            np.subtract(gr, mm, out=w)
            w *= 0.1
            mm += w
            vv *= 0.999
            np.multiply(gr, 0.001, out=w)
            w *= gr
            vv += w
            np.sqrt(vv, out=w)
            w /= bc2
            w += 1e-8
            np.divide(mm, w, out=w)
            w *= -1e-3 / bc1
            p += w

    times = timed_steps(step, comm.Barrier if comm is not None else lambda: None)
    return {"step": statistics.median(times)} if rank == 0 else None


def torch_worker(rank: int, world: int, port: int, results) -> None:
    import torch

    torch.set_num_threads(1)
    if world > 1:
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb, yb = batch(rank)
    x, y = torch.from_numpy(xb), torch.from_numpy(yb)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    times = timed_steps(step, torch.distributed.barrier if world > 1 else lambda: None)
    if rank == 0:
        results.put({"step": statistics.median(times)})
    if world > 1:
        torch.distributed.destroy_process_group()


def torch_main(world: int) -> dict:
    import torch.multiprocessing as mp

    if world == 1:
        q = mp.get_context("spawn").SimpleQueue()
        torch_worker(0, 1, 0, q)
        return q.get()
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    mp.spawn(torch_worker, args=(world, 29500 + os.getpid() % 1000, q), nprocs=world, join=True)
    return q.get()


# ------------------------------------------------------------------ driver
def _torch_python() -> str | None:
    given = os.environ.get("TORCH_PYTHON")
    if given:
        return given
    try:
        import torch  # noqa: F401

        return sys.executable
    except ImportError:
        return None


def run(kind: str, ranks: int, python: str = sys.executable, extra: tuple = ()) -> dict | None:
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(ROOT)}
    script = [python, str(Path(__file__).resolve()), "--worker", kind, *extra]
    if kind.startswith("torch"):
        cmd = script + ["--ranks", str(ranks)]
    elif ranks > 1:
        mpiexec = Path(sys.executable).parent / "mpiexec"
        cmd = [str(mpiexec), "-n", str(ranks)] + script
    else:
        cmd = script
        env = {k: v for k, v in env.items() if not k.startswith(("PMI_", "OMPI_"))}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        print(f"  ({kind} on {ranks} failed: {done.stderr.strip().splitlines()[-1:]})", flush=True)
        return None
    return json.loads(lines[-1])


def main() -> None:
    from timing import fmt_time

    have_mpi = (Path(sys.executable).parent / "mpiexec").exists()
    torch_python = _torch_python()
    configs = [("graphgrad", 1, ())]
    if have_mpi:
        configs += [("graphgrad", 2, ()), ("graphgrad", 2, ("--no-overlap",))]
    configs += [("numpy", 1, ())] + ([("numpy", 2, ())] if have_mpi else [])
    if torch_python:
        configs += [("torch", 1, ()), ("torch", 2, ())]
    found: dict = {c: [] for c in configs}
    for r in range(ROUNDS):
        for c in configs:
            kind, ranks, extra = c
            found[c].append(run(kind, ranks, torch_python if kind == "torch" else sys.executable, extra))
        print(f"  round {r + 1}/{ROUNDS} done", flush=True)

    def med(c, key="step"):
        vals = [x[key] for x in found.get(c, []) if x and key in x]
        return statistics.median(vals) if vals else None

    def ratio(a, b):
        """Median over the rounds of (throughput of a) / (throughput of b) in the same round."""
        pairs = [(x, y) for x, y in zip(found.get(a, []), found.get(b, [])) if x and y]
        return statistics.median((a[1] * y["step"]) / (b[1] * x["step"]) for x, y in pairs) if pairs else None

    names = {"graphgrad": "graphgrad", "numpy": "numpy + mpi4py (hand-written)", "torch": "PyTorch (gloo DDP)"}
    print(f"\n## Data parallel: MLP 784-512-512-10 f32, batch {BATCH} per rank, Adam, 1 BLAS thread per rank\n")
    print("| setup | ranks | time / step | samples / s | vs its own 1 rank, same round | allreduce waited / step |")
    print("|---|---|---|---|---|---|")
    for c in configs:
        kind, ranks, extra = c
        s = med(c)
        if s is None:
            continue
        speed = ratio(c, (kind, 1, ()))
        wait = med(c, "wait")
        label = names[kind] + (" no overlap" if extra else (" overlap" if kind == "graphgrad" and ranks > 1 else ""))
        print(f"| {label} | {ranks} | {fmt_time(s)} | {ranks * BATCH / s:,.0f} | "
              f"{f'{speed:.2f}×' if speed else '-'} | {fmt_time(wait) if wait is not None else '-'} |")
    ov, blk = ("graphgrad", 2, ()), ("graphgrad", 2, ("--no-overlap",))
    if med(ov):
        alone, w_ov, w_blk = med(ov, "allreduce"), med(ov, "wait"), med(blk, "wait")
        first = next(x for x in found[ov] if x)
        print(f"\n- The whole gradient ({first['mbytes']:.2f} MB, buckets {first['buckets']} MB) all-reduced "
              f"alone: {fmt_time(alone)} ({100 * alone / med(ov):.0f} % of a 2-rank step).")
        if w_blk:
            print(f"- Allreduce time a step still waits for (the other rank's lag included): {fmt_time(w_ov)} with "
                  f"overlap, {fmt_time(w_blk)} without: overlap hides {100 * (1 - w_ov / w_blk):.0f} % of it; "
                  f"steps {fmt_time(med(ov))} and {fmt_time(med(blk))} (throughput with / without, same round: "
                  f"{ratio(ov, blk):.2f}x).")
        torch2 = ratio(ov, ("torch", 2, ()))
        print(f"- Targets: 2-rank throughput >= 1.5x graphgrad's 1 rank: {ratio(ov, ('graphgrad', 1, ())):.2f}x"
              + (f"; >= 1.0x PyTorch DDP's: {torch2:.2f}x" if torch2 else "; PyTorch not installed")
              + f" (hand-written numpy + mpi4py: {ratio(('numpy', 2, ()), ('numpy', 1, ())) or 0:.2f}x its 1 rank)")
    elif not have_mpi:
        print("\n- mpiexec not found beside Python: pip install 'graphgrad[mpi]' for the 2-rank rows")


if __name__ == "__main__":
    if "--worker" in sys.argv:
        kind = sys.argv[sys.argv.index("--worker") + 1]
        if kind == "graphgrad":
            result = graphgrad_worker(overlap="--no-overlap" not in sys.argv)
        elif kind == "numpy":
            result = numpy_worker()
        else:
            result = torch_main(int(sys.argv[sys.argv.index("--ranks") + 1]))
        if result is not None:
            print(json.dumps(result), flush=True)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        main()
