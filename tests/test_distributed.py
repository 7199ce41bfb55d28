"""Data parallelism over MPI (issue 12): nn.distributed alone (rank 0 of 1, mpi4py never
imported), DistributedSampler's shards, SyncBatchNorm and DistributedDataParallel in one
process; then the scripts of tests/mpi/ under `mpiexec -n 2`, each with a timeout so that a
hang fails its test: equivalence of 2 ranks with one process to 1e-12, the errors every rank
raises, and faults (an exception or a missing rank ends the job within seconds)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
import nn
import nn.distributed as dist
import nn.functional as F
from nn.data import DataLoader, DistributedSampler

ROOT = Path(__file__).resolve().parent.parent
MPI_DIR = ROOT / "tests" / "mpi"
_beside = Path(sys.executable).parent / "mpiexec"
MPIEXEC = str(_beside) if _beside.exists() else None
needs_mpi = pytest.mark.skipif(MPIEXEC is None or not dist.is_available(),
                               reason="needs the mpi extra: pip install 'graphgrad[mpi]'")


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in dist._SIZE_VARS and not k.startswith(("PMI_", "OMPI_"))}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", **extra)
    return env


def mpirun(*args: str, timeout: float, n: int = 2) -> tuple[subprocess.CompletedProcess, float]:
    """Run `mpiexec -n 2 python <args>`; a hang fails the test at `timeout`."""
    start = time.monotonic()
    try:
        done = subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *args], cwd=ROOT, env=_clean_env(),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"mpiexec {' '.join(args)} hung: still running after {timeout} s\n{e.stdout}\n{e.stderr}")
    return done, time.monotonic() - start


# ------------------------------------------------------------------ one process
def test_alone_is_rank_0_of_1_without_importing_mpi4py():
    code = ("import sys, numpy as np, nn, nn.distributed as d; d.init(); "
            "a = d.all_reduce(np.ones(3), op='mean'); d.broadcast(a); d.barrier(); "
            "print(d.get_rank(), d.get_world_size(), a.tolist(), 'mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_clean_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1", "[1.0,", "1.0,", "1.0]", "False"]


def test_more_ranks_without_mpi4py_say_how_to_install(monkeypatch):
    monkeypatch.setattr(dist, "_world", dist._World())
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # as if not installed
    with pytest.raises(RuntimeError, match=r"one of 2 ranks.*pip install 'graphgrad\[mpi\]'"):
        dist.init()


def test_collectives_check_their_arguments():
    with pytest.raises(ValueError, match="unknown reduction 'avgx'"):
        dist.all_reduce(np.ones(2), op="avgx")
    with pytest.raises(TypeError, match="contiguous"):
        dist.all_reduce(np.ones((3, 3))[:, 0])
    with pytest.raises(ValueError, match="src 1 is not a rank"):
        dist.broadcast(np.ones(2), src=1)
    with pytest.raises(ValueError, match="timeout must be a positive"):
        dist.init(timeout=0)
    assert dist.all_reduce(2.5, op="sum") == 2.5 and dist.all_gather_object({"a": 1}) == [{"a": 1}]


@given(n=st.integers(0, 60), world=st.integers(1, 5), drop_last=st.booleans(), shuffle=st.booleans(),
       seed=st.integers(0, 2**31), epoch=st.integers(0, 3))
def test_distributed_sampler_shards(n, world, drop_last, shuffle, seed, epoch):
    samplers = [DistributedSampler(range(n), num_replicas=world, rank=r, shuffle=shuffle, seed=seed,
                                   drop_last=drop_last) for r in range(world)]
    for s in samplers:
        s.set_epoch(epoch)
    shards = [list(s) for s in samplers]
    assert all(len(sh) == len(s) for sh, s in zip(shards, samplers))
    assert len({len(sh) for sh in shards}) == 1  # every rank runs the same number of steps
    together = np.array(shards).T.ravel() if shards[0] else np.array([], dtype=int)
    if drop_last or n % world == 0:  # disjoint, and everything but the tail (< world examples)
        assert len(set(together)) == len(together) == n - n % world
    else:  # every example, plus the padding (the order's first indices again)
        assert set(together) == set(range(n)) and len(together) - n < world
    # the ranks' i-th indices together are consecutive pieces of one order
    order = np.random.default_rng(seed + epoch).permutation(n) if shuffle else np.arange(n)
    np.testing.assert_array_equal(together[: min(n, len(together))], order[: len(together)][: min(n, len(together))])
    # reproducible
    again = DistributedSampler(range(n), num_replicas=world, rank=0, shuffle=shuffle, seed=seed, drop_last=drop_last)
    again.set_epoch(epoch)
    assert list(again) == shards[0]


def test_set_epoch_reshuffles_the_same_way_on_every_rank():
    a, b = DistributedSampler(range(100), 2, 0, seed=3), DistributedSampler(range(100), 2, 1, seed=3)
    first = list(a) + list(b)
    a.set_epoch(1)
    b.set_epoch(1)
    second = list(a) + list(b)
    assert sorted(first) == sorted(second) == list(range(100)) and first != second
    assert list(DistributedSampler(range(100), 2, 0, seed=4)) != list(DistributedSampler(range(100), 2, 0, seed=3))


def test_sampler_arguments_are_checked():
    with pytest.raises(ValueError, match=r"rank must be in \[0, 1\]; got 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be a positive int"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(ValueError, match="exclude each other"):
        DataLoader(np.zeros(4), sampler=DistributedSampler(range(4), 1, 0), shuffle=True)
    assert DistributedSampler(range(4)).num_replicas == 1  # alone: rank 0 of 1


def test_dataloader_takes_its_order_from_the_sampler():
    x = np.arange(10.0)
    s = DistributedSampler(x, num_replicas=2, rank=1, shuffle=True, seed=0)
    loader = DataLoader(x, batch_size=2, sampler=s)
    got = np.concatenate([b.data for (b,) in loader])
    np.testing.assert_array_equal(got, x[s.indices()])
    assert len(loader) == 3 and len(DataLoader(x, batch_size=2, sampler=s, drop_last=True)) == 2
    plain = DataLoader(x, batch_size=4, sampler=[3, 1, 2])  # any iterable of indices with a length
    assert [b.data.tolist() for (b,) in plain] == [[3.0, 1.0, 2.0]]


def test_sync_batchnorm_alone_is_batchnorm_and_shares_the_parameters():
    autograd.manual_seed(0)
    inner = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    model = nn.Sequential(inner, nn.BatchNorm1d(4))
    reference = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    reference.load_state_dict(inner.state_dict())
    bn, weight, mean = inner[1], inner[1].weight, inner[1].running_mean
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model and type(inner[1]) is nn.SyncBatchNorm and type(model[1]) is nn.SyncBatchNorm
    assert inner[1] is not bn and inner[1].weight is weight and inner[1].running_mean is mean
    x = autograd.randn(8, 3)
    np.testing.assert_array_equal(inner(x).data, reference(x).data)
    np.testing.assert_array_equal(inner[1].running_var.data, reference[1].running_var.data)
    assert list(model.state_dict()) == list(nn.Sequential(inner, nn.BatchNorm1d(4)).state_dict())
    root = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2).eval())
    assert type(root) is nn.SyncBatchNorm and not root.training


def test_ddp_alone_gives_the_plain_gradients():
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    x, y = autograd.randn(6, 4), autograd.randn(6, 2)
    F.mse_loss(model(x), y).backward()
    plain = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    ddp = nn.parallel.DistributedDataParallel(model)
    F.mse_loss(ddp(x), y).backward()
    for p, g in zip(model.parameters(), plain):
        np.testing.assert_array_equal(p.grad.data, g)
    assert list(ddp.state_dict())[0] == "module.0.weight"  # PyTorch's prefix
    with pytest.raises(TypeError, match="expects an nn.Module"):
        nn.parallel.DistributedDataParallel(lambda x: x)


def test_model_difference_names_the_first_one():
    a = [("parameter", "0.weight", (8, 5), "float32", True), ("buffer", "1.running_mean", (8,), "float32", False)]
    assert nn.parallel.model_difference([a, list(a), list(a)]) is None
    b = [a[0], ("buffer", "1.running_mean", (8,), "float64", False)]
    assert "rank 2 has buffer '1.running_mean' of shape (8,), float64 where rank 0 has" in \
        nn.parallel.model_difference([a, a, b])
    assert "rank 0's buffer '1.running_mean' of shape (8,), float32 is missing on rank 1" in \
        nn.parallel.model_difference([a, a[:1]])


# ------------------------------------------------------------------ two ranks
@needs_mpi
def test_two_ranks_train_as_one_process_with_the_whole_batch():
    done, _ = mpirun(str(MPI_DIR / "ddp_equivalence.py"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("ok") for line in lines), done.stdout
    assert "3 bucket(s)" in lines[1]  # tiny buckets: several messages, in the same order on both


@needs_mpi
def test_errors_are_raised_on_every_rank():
    done, _ = mpirun(str(MPI_DIR / "ddp_errors.py"), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for rank in (0, 1):
        out = {line.split(": ", 2)[1]: line.split(": ", 2)[2] for line in done.stdout.splitlines()
               if line.startswith(f"rank {rank}: ")}
        assert "rank 1 has parameter '2.weight' of shape (1, 7), float32 where rank 0 has parameter " \
               "'2.weight' of shape (1, 8)" in out["mismatch"]
        assert "rank 1's parameter '2.weight' of shape (1, 1), float32 is missing on rank 0" in out["extra"]
        assert "no gradient to 2 parameter(s) ('spare.weight', 'spare.bias')" in out["unused"]
        assert "find_unused_parameters=True" in out["unused"]
    assert "local gradient [[2.0, 2.0]]" in done.stdout.split("rank 1: local: ")[1]
    assert "local gradient [[1.0, 1.0]]" in done.stdout.split("rank 0: local: ")[1]


@needs_mpi
def test_an_exception_on_one_rank_ends_the_job_with_its_traceback():
    done, seconds = mpirun(str(MPI_DIR / "faults.py"), "raise", timeout=60)
    assert done.returncode != 0
    assert "graphgrad: rank 1 of 2 raised an exception; aborting the job" in done.stderr
    assert "[rank 1] ValueError: rank 1 fails on purpose at step 3" in done.stderr
    assert "finished all steps" not in done.stdout
    assert seconds < 30  # within seconds, not the 2 s watchdog's doing: rank 1 aborts at once


@needs_mpi
def test_a_rank_that_never_reaches_the_allreduce_is_timed_out():
    done, seconds = mpirun(str(MPI_DIR / "faults.py"), "hang", timeout=60)
    assert done.returncode != 0
    assert "graphgrad: rank 0 of 2 waited" in done.stderr
    assert "in the gradient allreduce of DistributedDataParallel, longer than the timeout of 2 s" in done.stderr
    assert "finished all steps" not in done.stdout


# ------------------------------------------------------------------ the demo application on two ranks
@needs_mpi
def test_the_demo_trains_on_two_ranks_and_an_interrupt_leaves_the_report(tmp_path):
    out = tmp_path / "report"
    args = ("-m", "graphgrad_physics", "--task", "classify", "--epochs", "2", "--no-graph", "--out", str(out))
    done, _ = mpirun(*args, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("== classify ==") == 1 and done.stdout.count("wrote ") == 1  # rank 0 alone
    assert done.stdout.count("epoch   2/2") == 1  # the epoch lines too
    doc = (out / "metrics.json").read_text()
    assert '"ranks": 2' in doc and (out / "checkpoints").is_dir()
    # Ctrl-C (mpiexec passes SIGINT to every rank) mid-training: the report stays as it was
    proc = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, *args[:5], "50", *args[6:]], cwd=ROOT,
                            env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if "epoch   1/50" in line:
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the interrupted run did not end within 30 s")
    assert proc.returncode != 0
    assert f"interrupted; {out} is as it was before this run" in rest
    assert (out / "metrics.json").read_text() == doc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging folder left


@needs_mpi
def test_the_lessons_command_refuses_mpiexec(tmp_path):
    done, _ = mpirun("-m", "graphgrad_physics", "lessons", "--out", str(tmp_path / "lessons"), timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("lessons: error: runs as one process; start it without mpiexec") == 1
    assert not (tmp_path / "lessons").exists()
