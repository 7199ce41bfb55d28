"""Several processes training one model: thin functions over MPI's `COMM_WORLD` (mpi4py), with
PyTorch's names (`init`, `get_rank`, `get_world_size`, `all_reduce`, `broadcast`, `barrier`).

Launch the same script on N ranks with the `mpiexec` that `pip install 'graphgrad[mpi]'` puts
beside Python (mpi4py and the mpich wheel; no system MPI needed)::

    mpiexec -n 2 python train.py

A process not started by a launcher is rank 0 of 1 and never imports mpi4py: the same script
runs alone unchanged. The world size is read from the launcher's environment (`PMI_SIZE` from
MPICH's and Intel MPI's mpiexec and from Slurm's PMI, `OMPI_COMM_WORLD_SIZE` from Open MPI,
`MV2_COMM_WORLD_SIZE` from MVAPICH); `GRAPHGRAD_MPI=1` makes it ask MPI itself under another
launcher.

Faults end the whole job instead of hanging it:
  - with more than one rank, `init` installs an exception hook: an exception nobody catches on
    one rank prints that rank's traceback and calls `MPI_Abort`, so `mpiexec` stops every rank
    within a second;
  - every collective here (and DistributedDataParallel's gradient allreduce) is started
    non-blocking and waited for in Python, so Ctrl-C reaches a waiting rank, and a rank that
    waits longer than `timeout` seconds (default 600; `init(timeout=)` or the environment
    variable `GRAPHGRAD_DIST_TIMEOUT`) says what it waited in and aborts the job. A rank that
    never arrives (stuck, crashed without an exception, or on another code path) would
    otherwise hang the others forever.

>>> import nn.distributed as dist
>>> dist.init(); dist.get_rank(), dist.get_world_size()
(0, 1)
>>> import numpy as np
>>> dist.all_reduce(np.array([1.0, 2.0])).tolist()  # the sum over the ranks: here one
[1.0, 2.0]
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import sys
import time
import traceback

import numpy as np

import autograd
from autograd import Tensor, backend

DEFAULT_TIMEOUT = 600.0  # seconds a rank may wait in one collective before the job is aborted
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")
INSTALL_HINT = "pip install 'graphgrad[mpi]' (mpi4py and mpich; this gives mpiexec too)"


class _World:
    """What `init` found: the communicator (None alone), rank, size, the watchdog."""

    comm = None
    MPI = None  # the mpi4py.MPI module, once imported
    rank = 0
    size = 1
    initialized = False
    timeout = DEFAULT_TIMEOUT


_world = _World()


def launcher_world_size() -> int:
    """The number of ranks the launcher started, from its environment (1 when none did).

    >>> launcher_world_size() >= 1
    True
    """
    for var in _SIZE_VARS:
        text = os.environ.get(var, "").strip()
        if text.isdigit() and int(text) >= 1:
            return int(text)
    return 1


def is_available() -> bool:
    """Whether mpi4py is installed (checked without importing it)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    return _world.initialized


def init(timeout: float | None = None) -> None:
    """Join the job the launcher started (PyTorch's `init_process_group`). Safe to call again.

    Alone (no launcher, or one rank) nothing is imported. With several ranks, mpi4py is
    imported, the exception hook and the watchdog are installed (see the module's doc);
    `timeout` (seconds, default `GRAPHGRAD_DIST_TIMEOUT` or 600) bounds any wait in a collective.
    """
    if timeout is None:
        timeout = float(os.environ.get("GRAPHGRAD_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    if not timeout > 0:
        raise ValueError(f"nn.distributed.init: timeout must be a positive number of seconds; got {timeout}")
    _world.timeout = timeout
    if _world.initialized:
        return
    n = launcher_world_size()
    if n == 1 and os.environ.get("GRAPHGRAD_MPI", "") not in ("1", "true", "yes"):
        _world.initialized = True
        return
    if not is_available():
        raise RuntimeError(
            f"nn.distributed: this process is one of {n} ranks started by mpiexec, but mpi4py is "
            f"not installed here ({sys.executable}). Install the extra: {INSTALL_HINT}; or run "
            f"without mpiexec for one process."
        )
    from mpi4py import MPI  # imported only here: a single process never loads MPI

    comm = MPI.COMM_WORLD
    if comm.Get_size() != n and n > 1:
        raise RuntimeError(
            f"nn.distributed: the launcher started {n} ranks but MPI sees {comm.Get_size()}: the "
            f"mpiexec used is not the MPI mpi4py was built with ({MPI.Get_library_version().splitlines()[0]}). "
            f"Use the mpiexec beside this Python: {os.path.join(os.path.dirname(sys.executable), 'mpiexec')}"
        )
    _world.MPI, _world.comm = MPI, comm
    _world.rank, _world.size = comm.Get_rank(), comm.Get_size()
    _world.initialized = True
    if _world.size > 1:
        _install_excepthook()


def _ensure() -> _World:
    if not _world.initialized:
        init()
    return _world


def get_rank() -> int:
    """This process's rank, 0 to world size - 1 (0 alone)."""
    return _ensure().rank


def get_world_size() -> int:
    """How many ranks train together (1 alone)."""
    return _ensure().size


def comm():
    """The mpi4py communicator (`MPI.COMM_WORLD`), or None in a single process."""
    return _ensure().comm


# ------------------------------------------------------------------ faults
def wait(requests: list, what: str) -> None:
    """Wait for non-blocking MPI requests in Python (not inside MPI): Ctrl-C reaches this rank,
    and after the timeout the job is aborted with a message naming `what`. MPI progresses only
    inside its calls, so this tests in a loop, yielding the core every 10 tests (as MPICH's own
    wait does; on a shared machine a rank that only spins loses its share of the CPU to the
    scheduler), and after 20 ms (more than a step's usual skew) every 0.1 to 1 ms, so that a
    long wait, such as for rank 0 writing the report, does not hold a core."""
    test = _world.MPI.Request.Testall
    if test(requests):
        return
    start = time.monotonic()
    deadline, nap, k = start + _world.timeout, 0.0, 0
    while not test(requests):
        k += 1
        if k % 10:
            continue
        os.sched_yield()
        now = time.monotonic()
        if now - start > 0.02:
            if now > deadline:
                _abort(
                    f"graphgrad: rank {_world.rank} of {_world.size} waited {now - start:.1f} s in {what}, "
                    f"longer than the timeout of {_world.timeout:g} s: at least one rank never reached it "
                    f"(stuck, dead, or on another code path). Aborting the job. (The timeout is "
                    f"nn.distributed.init(timeout=) or GRAPHGRAD_DIST_TIMEOUT.)",
                    errorcode=3,
                )
            nap = min(max(nap * 2, 1e-4), 1e-3)
            time.sleep(nap)


def _abort(message: str, errorcode: int = 1) -> None:
    if message:
        sys.stderr.write(message + "\n")
    sys.stderr.flush()
    sys.stdout.flush()
    MPI = _world.MPI
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized():
        # mpiexec forwards each rank's output through a pipe, and on MPI_Abort it kills the job
        # without draining that pipe: about one abort in five lost the message just written (and
        # MPICH's own). Half a second lets the forwarder read it; the job is ending anyway.
        time.sleep(0.5)
        _world.comm.Abort(errorcode)
    os._exit(errorcode)


def abort(errorcode: int = 1, message: str | None = None) -> None:
    """End every rank of the job now (`MPI_Abort`), after printing `message` (a process alone
    just exits). For a rank that must stop while the others may be waiting for it."""
    _abort(message or f"graphgrad: rank {get_rank()} ends the job (exit code {errorcode})", errorcode)


def _install_excepthook() -> None:
    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            head = f"graphgrad: rank {_world.rank} of {_world.size} was interrupted; aborting the job"
        else:
            head = f"graphgrad: rank {_world.rank} of {_world.size} raised an exception; aborting the job"
        try:
            text = "".join(traceback.format_exception(kind, value, tb))
            sys.stderr.write(f"{head}\n" + "".join(f"[rank {_world.rank}] {line}\n" for line in text.splitlines()))
        except Exception:  # noqa: BLE001 - never let the hook itself hang the job
            previous(kind, value, tb)
        _abort("", errorcode=1)

    sys.excepthook = hook


# ------------------------------------------------------------------ collectives
_OPS = {"sum": "SUM", "prod": "PROD", "product": "PROD", "min": "MIN", "max": "MAX", "mean": "SUM", "avg": "SUM"}


def _mpi_op(op: str):
    key = str(op).lower()
    if key not in _OPS:
        raise ValueError(f"nn.distributed: unknown reduction {op!r}; expected one of sum, prod, min, max, mean")
    return getattr(_world.MPI, _OPS[key]) if _world.MPI is not None else None, key in ("mean", "avg")


def _writable_array(x, who: str) -> np.ndarray:
    a = x.data if isinstance(x, Tensor) else x
    if not isinstance(a, np.ndarray) or not a.flags.c_contiguous or not a.flags.writeable:
        raise TypeError(
            f"nn.distributed.{who}: expects a Tensor or a writable C-contiguous numpy array to work on in "
            f"place; got {type(x).__name__}" + (" (not contiguous or read-only)" if isinstance(a, np.ndarray) else "")
        )
    return a


def all_reduce(x, op: str = "sum"):
    """Reduce `x` over all ranks, in place; returns `x`. `op`: "sum" (default), "mean",
    "prod", "min" or "max". `x` is a Tensor or a contiguous array; a Python number returns
    the reduced number. Alone, `x` is returned as it is (divided by 1 for "mean"). Arrays on
    a device (CuPy, ...) travel through a host copy, and the result is copied back in place.

    >>> all_reduce(3.5, op="max")
    3.5
    """
    w = _ensure()
    mpi_op, mean = _mpi_op(op)
    if isinstance(x, (int, float, np.number)):
        if w.comm is None:
            return x
        value = all_reduce(np.array([x]), op)[0]
        return value.item() if isinstance(x, (int, float)) else value
    device = _on_device(x)
    if device is not None:  # MPI reduces host memory: through a host copy
        if w.comm is not None:
            host = np.array(backend.to_numpy(device), copy=True)
            all_reduce(host, op)
            _write_back(x, device, host)
        return x
    a = _writable_array(x, "all_reduce")
    if w.comm is not None:
        wait([w.comm.Iallreduce(w.MPI.IN_PLACE, a, op=mpi_op)], f"all_reduce({op}) of shape {a.shape}")
        if mean:
            a /= w.size
        if isinstance(x, Tensor):
            autograd.increment_version(x)
    return x


def broadcast(x, src: int = 0):
    """Give every rank rank `src`'s `x`: in place for a Tensor or array (returned), any
    other picklable object is returned (PyTorch's `broadcast_object_list`)."""
    w = _ensure()
    if not 0 <= src < w.size:
        raise ValueError(f"nn.distributed.broadcast: src {src} is not a rank (world size {w.size})")
    if w.comm is None:
        return x
    device = _on_device(x)
    if device is not None:  # through a host copy
        host = np.array(backend.to_numpy(device), copy=True)
        broadcast(host, src)
        _write_back(x, device, host)
        return x
    if isinstance(x, (Tensor, np.ndarray)):
        a = _writable_array(x, "broadcast")
        wait([w.comm.Ibcast(a, root=src)], f"broadcast from rank {src} of shape {a.shape}")
        if isinstance(x, Tensor):
            autograd.increment_version(x)
        return x
    data = np.frombuffer(pickle.dumps(x), dtype=np.uint8) if w.rank == src else None
    size = np.array([0 if data is None else data.size], dtype=np.int64)
    wait([w.comm.Ibcast(size, root=src)], f"broadcast from rank {src}")
    buf = data.copy() if data is not None else np.empty(int(size[0]), dtype=np.uint8)
    wait([w.comm.Ibcast(buf, root=src)], f"broadcast from rank {src}")
    return x if w.rank == src else pickle.loads(buf.tobytes())


def all_gather_object(obj) -> list:
    """Every rank's `obj` (picklable), in rank order, on every rank."""
    w = _ensure()
    if w.comm is None:
        return [obj]
    data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
    sizes = np.empty(w.size, dtype=np.int64)
    wait([w.comm.Iallgather(np.array([data.size], dtype=np.int64), sizes)], "all_gather_object")
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    buf = np.empty(int(sizes.sum()), dtype=np.uint8)
    wait([w.comm.Iallgatherv(data, [buf, sizes, offsets, w.MPI.BYTE])], "all_gather_object")
    return [pickle.loads(buf[o : o + n].tobytes()) for o, n in zip(offsets, sizes)]


def barrier() -> None:
    """Wait until every rank has reached this call."""
    w = _ensure()
    if w.comm is not None:
        wait([w.comm.Ibarrier()], "barrier")


class _AllReduceSum(autograd.Function):
    """y = Σ_ranks x; the gradient of each rank's input is Σ_ranks dL_r/dy (the same allreduce)."""

    @staticmethod
    def forward(ctx, x):
        return all_reduce(_copy(x.data))

    @staticmethod
    def backward(ctx, g):
        return all_reduce(_copy(g.data))


def _copy(a):
    return backend.namespace(a).asarray(a, copy=True)


def _on_device(x):
    """The array of `x` (a Tensor or an array) when it is not a numpy array, else None."""
    a = x.data if isinstance(x, Tensor) else x
    return a if backend.is_array(a) and not isinstance(a, np.ndarray) else None


def _write_back(x, a, host: np.ndarray) -> None:
    """Copy the host result into the device array `a` (of `x`), in place."""
    a[...] = backend.namespace(a).asarray(host, device=a.device)
    if isinstance(x, Tensor):
        autograd.increment_version(x)


def all_reduce_sum(x: Tensor) -> Tensor:
    """The sum of `x` over the ranks, recorded in the graph (SyncBatchNorm's statistics): its
    backward sums the incoming gradients over the ranks too. Every rank must run it, and its
    backward, in the same order."""
    return _AllReduceSum.apply(x) if get_world_size() > 1 else x

