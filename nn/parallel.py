"""`DistributedDataParallel`: one model replica per MPI rank, gradients averaged over the ranks
during `backward()`, PyTorch's name and contract (see `nn.distributed` for launching).

How the gradients travel. Parameters are laid out, last layer first (the order backward reaches
them), in a few flat buckets per dtype: the first holds about 1 MB, the others up to
`bucket_cap_mb` (25 MB, as PyTorch). A hook on each parameter copies its gradient, divided by
the world size, into its bucket's slot; a full bucket is all-reduced at once, with a
non-blocking `Iallreduce` started while backward goes on to the earlier layers (`overlap=True`),
buckets always started in the same order on every rank. When the last parameter's gradient
arrives, DDP waits for the buckets and each `.grad` becomes a view into its bucket (PyTorch's
`gradient_as_bucket_view=True`); a parameter whose `.grad` was already a Tensor before backward
(`zero_grad(set_to_none=False)`, or an optimizer's own flat buffer) keeps that Tensor, filled in
place.

What it asks of the user, as PyTorch does: every rank runs the same forward and backward
steps; one backward per forward of the wrapper; `backward()`, not `autograd.grad`. A backward
not preceded by the wrapper's forward (a second one through the same graph, or the inner
module called directly) accumulates this rank's own gradient, as in PyTorch.

On a GPU (or another array library) the buckets stay host arrays, which MPI reduces: each
gradient is copied into its slot on the host and the average copied back to the device.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

import autograd
from autograd import Tensor, backend

from . import distributed as dist
from ._arrays import like
from .module import Module

_IDLE, _ARMED, _LOCAL = "idle", "armed", "local"  # states of one forward/backward round


class DistributedDataParallel(Module):
    """Wrap `module` so that after `loss.backward()` every parameter's `.grad` is the average
    over the ranks of each rank's gradient. Rank 0's parameters and buffers are copied to every
    rank on wrapping, after checking (one allgather) that every rank wraps the same model.

    - `broadcast_buffers`: rank 0's buffers (BatchNorm's running statistics) are copied to the
      others at each training forward, as PyTorch does (or use `nn.SyncBatchNorm`).
    - `find_unused_parameters`: parameters the forward's output does not depend on are
      reduced too (found by walking the output's graph after each forward); without it, such
      a parameter makes the next forward raise, naming it.
    - `overlap`: start each bucket's allreduce as soon as it is full (non-blocking), rather
      than all of them once backward has ended.

    Alone (world size 1) it only calls `module`.

    >>> import nn, autograd
    >>> model = nn.parallel.DistributedDataParallel(nn.Linear(3, 1))
    >>> model(autograd.ones(2, 3)).sum().backward()
    >>> model.module.weight.grad.tolist()
    [[2.0, 2.0, 2.0]]
    """

    def __init__(self, module: Module, *, broadcast_buffers: bool = True, bucket_cap_mb: float = 25.0,
                 find_unused_parameters: bool = False, overlap: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expects an nn.Module; got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive; got {bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.overlap = overlap
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._state = _IDLE
        self.comm_seconds = 0.0  # time spent waiting for the gradient allreduce, all steps
        self.steps_synced = 0
        self.buckets: list[np.ndarray] = []
        if self.world_size == 1:
            return
        _check_same_model(module)
        _broadcast_tensors([p for _, p in module.named_parameters()] + [b for _, b in module.named_buffers()])
        self._comm = dist.comm()
        self._MPI = dist._world.MPI
        self._build_buckets(bucket_cap_mb)
        n = len(self._params)
        self._ready = [False] * n
        self._nready = 0
        self._prev = [None] * n
        self._pending = [0] * len(self.buckets)
        self._next_bucket = 0
        self._requests = []
        self._unused = ()
        self._zeros = [_zero_like(p.data) for p in self._params]
        for i, p in enumerate(self._params):
            p.register_hook(self._hook_for(i))

    # ------------------------------------------------------------------ layout
    def _build_buckets(self, cap_mb: float) -> None:
        """Reverse parameter order, split into buckets of one dtype: ~1 MB first, then cap_mb."""
        cap, groups, cur = min(1.0, cap_mb) * 2**20, [], []
        size = 0
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            if cur and p.dtype != self._params[cur[0]].dtype:
                groups.append(cur)
                cur, size = [], 0
            cur.append(i)
            size += p.data.size * backend.numpy_dtype(p.dtype).itemsize
            if size >= cap:
                groups.append(cur)
                cur, size, cap = [], 0, cap_mb * 2**20
        if cur:
            groups.append(cur)
        n = len(self._params)
        self._bucket_of = [0] * n
        self._slots = [None] * n
        self._views = [None] * n
        self._members = groups
        for b, members in enumerate(groups):
            dtype = backend.numpy_dtype(self._params[members[0]].dtype)  # (host buckets: MPI reduces them)
            buf = np.zeros(sum(self._params[i].data.size for i in members), dtype=dtype)
            off = 0
            for i in members:
                p = self._params[i]
                self._bucket_of[i] = b
                self._slots[i] = buf[off : off + p.data.size].reshape(p.shape)
                self._views[i] = autograd.from_numpy(self._slots[i])
                off += p.data.size
            self.buckets.append(buf)

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        if self.world_size > 1:
            self._begin_round()
        out = self.module(*args, **kwargs)
        if self.world_size > 1 and self.find_unused_parameters and self._state is _ARMED:
            used = _leaves_reached(out)
            self._unused = [i for i, p in enumerate(self._params) if id(p) not in used]
        return out

    def _begin_round(self) -> None:
        if self._state is _ARMED and self._nready:
            missing = [self._names[i] for i in range(len(self._params)) if not self._ready[i]]
            self._abandon_round()
            raise RuntimeError(
                f"DistributedDataParallel: the previous backward gave no gradient to {len(missing)} "
                f"parameter(s) ({', '.join(repr(m) for m in missing[:5])}{', ...' if len(missing) > 5 else ''}), "
                "so their gradients were not averaged over the ranks. Pass find_unused_parameters=True "
                "when some parameters do not take part in every forward."
            )
        if self.broadcast_buffers and self.module.training:
            bufs = [b for _, b in self.module.named_buffers()]
            if bufs:
                _broadcast_tensors(bufs)
        sync = self.require_backward_grad_sync and autograd.is_grad_enabled()
        self._state = _ARMED if sync else _LOCAL
        self._unused = ()

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate each rank's own gradients; the first backward
        after the block averages the accumulated sums (gradient accumulation).

        >>> import nn, autograd
        >>> model = nn.parallel.DistributedDataParallel(nn.Linear(1, 1))
        >>> with model.no_sync():
        ...     model(autograd.ones(1, 1)).sum().backward()
        >>> model(autograd.ones(1, 1)).sum().backward()
        >>> model.module.bias.grad.tolist()
        [2.0]
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------ backward
    def _hook_for(self, i: int):
        def ddp_average(g):
            if self._state is not _ARMED:  # no_sync, or a backward not after the wrapper's forward
                return None
            return self._arrived(i, g)

        return ddp_average

    def _arrived(self, i: int, g):
        if g.requires_grad:
            raise RuntimeError("DistributedDataParallel: backward(create_graph=True) is not supported")
        if self._ready[i]:  # two backward passes after one forward, the first not reaching every parameter
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self._names[i]!r} got a second gradient before every "
                "parameter had its first: run one backward per forward of the wrapper"
            )
        if self._nready == 0:  # backward has begun: take the gradients held before it aside
            params, prev = self._params, self._prev
            for j in range(len(params)):
                prev[j] = params[j].grad
                params[j].grad = None
            for j in self._unused:
                if j == i:
                    continue
                self._fill(j, None)
                self._mark(j)
        self._fill(i, g.data)
        if self._mark(i):
            z = self._zeros[i]
            if type(z) is not type(g.data) or z.device != g.data.device:  # (the model moved since)
                z = self._zeros[i] = _zero_like(g.data)
            return z  # `.grad` is already the average; the engine adds this zero
        return None  # the engine keeps g as `.grad` until the average replaces it

    def _fill(self, i: int, g) -> None:
        """slot = (gradient held before backward + this backward's) / world size."""
        slot, prev, scale = self._slots[i], self._prev[i], 1.0 / self.world_size
        if g is not None and not isinstance(g, np.ndarray):  # a device gradient: into the host slot
            g = backend.to_numpy(g)
        if prev is None:
            if g is None:
                slot[...] = 0
            else:
                np.multiply(g, scale, out=slot)
        else:
            held = backend.to_numpy(prev.data)
            if g is None:
                slot[...] = held
            else:
                np.add(held, g, out=slot)
            slot *= scale

    def _mark(self, i: int) -> bool:
        """Count parameter i as reduced-ready; start full buckets; finish after the last."""
        self._ready[i] = True
        self._nready += 1
        b = self._bucket_of[i]
        self._pending[b] += 1
        if self._pending[b] == len(self._members[b]):
            self._start_buckets()
        elif self._requests:
            self._MPI.Request.Testall(self._requests)  # MPI progresses only inside MPI calls
        if self._nready == len(self._params):
            self._finish()
            return True
        return False

    def _start_buckets(self) -> None:
        """Start every full bucket whose predecessors have started: the same order on all ranks."""
        if not self.overlap:
            return
        while self._next_bucket < len(self.buckets) and \
                self._pending[self._next_bucket] == len(self._members[self._next_bucket]):
            buf = self.buckets[self._next_bucket]
            self._requests.append(self._comm.Iallreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM))
            self._next_bucket += 1

    def _finish(self) -> None:
        start = time.perf_counter()
        if not self.overlap:  # every bucket now, in order
            self._requests = [self._comm.Iallreduce(self._MPI.IN_PLACE, b, op=self._MPI.SUM) for b in self.buckets]
        dist.wait(self._requests, "the gradient allreduce of DistributedDataParallel")
        self.comm_seconds += time.perf_counter() - start
        self.steps_synced += 1
        for j, p in enumerate(self._params):
            prev, slot = self._prev[j], self._slots[j]
            if not isinstance(p.data, np.ndarray):  # a parameter on a device: the average goes back there
                if prev is None:
                    p.grad = like(slot, p.data)
                else:
                    prev.data[...] = like(slot, prev.data)
                    autograd.increment_version(prev)
                    p.grad = prev
            elif prev is None or prev.data is slot:
                view = self._views[j]
                if view.data is not slot:  # re-pointed elsewhere by its holder (an optimizer's flat buffer)
                    view = self._views[j] = autograd.from_numpy(slot)
                p.grad = view if prev is None else prev
            else:  # the user's (or an optimizer's) own gradient Tensor keeps its identity
                prev.data[...] = slot
                autograd.increment_version(prev)
                p.grad = prev
        self._reset()
        self._state = _IDLE

    def _reset(self) -> None:
        self._requests.clear()
        self._ready = [False] * len(self._params)
        self._nready = 0
        self._prev = [None] * len(self._params)
        self._pending = [0] * len(self.buckets)
        self._next_bucket = 0

    def _abandon_round(self) -> None:
        """A backward that did not reach every parameter: wait for what was started (every rank
        started the same buckets), put the gradients held before it back."""
        dist.wait(self._requests, "the gradient allreduce of DistributedDataParallel")
        for j, p in enumerate(self._params):
            if self._ready[j] or self._prev[j] is not None:
                p.grad = self._prev[j]
        self._reset()
        self._state = _IDLE

    def extra_repr(self) -> str:
        sizes = ", ".join(f"{b.nbytes / 2**20:.2f} MB" for b in self.buckets)
        return f"world_size={self.world_size}" + (f", buckets=[{sizes}]" if self.buckets else "")


def _zero_like(a):
    """A read-only zero shaped like `a`, in its library and on its device (no memory per element)."""
    xp = backend.namespace(a)
    return xp.broadcast_to(xp.zeros((), dtype=a.dtype, device=a.device), a.shape)


def _leaves_reached(out) -> set:
    """ids of the leaf Tensors that the Tensors in `out` depend on (walking grad_fn)."""
    stack, seen, leaves = [], set(), set()

    def collect(o):
        if isinstance(o, Tensor):
            stack.append(o.grad_fn if o.grad_fn is not None else o)
        elif isinstance(o, (list, tuple)):
            for x in o:
                collect(x)
        elif isinstance(o, dict):
            for x in o.values():
                collect(x)

    collect(out)
    while stack:
        v = stack.pop()
        if v is None or id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, Tensor):
            leaves.add(id(v))
        else:
            stack.extend(v.next_functions)
    return leaves


def _signature(module: Module) -> list[tuple]:
    sig = [("parameter", n, tuple(p.shape), str(p.dtype), p.requires_grad) for n, p in module.named_parameters()]
    return sig + [("buffer", n, tuple(b.shape), str(b.dtype), False) for n, b in module.named_buffers()]


def _describe(entry) -> str:
    kind, name, shape, dtype, grad = entry
    return f"{kind} {name!r} of shape {shape}, {dtype}" + ("" if grad or kind == "buffer" else ", frozen")


def model_difference(signatures: list[list[tuple]]) -> str | None:
    r"""The first difference between rank 0's model and another rank's, in words (None if none).

    >>> a = [("parameter", "0.weight", (8, 5), "float32", True)]
    >>> b = [("parameter", "0.weight", (8, 4), "float32", True)]
    >>> print(model_difference([a, b]).replace(" where ", "\n where "))
    rank 1 has parameter '0.weight' of shape (8, 4), float32
     where rank 0 has parameter '0.weight' of shape (8, 5), float32 (entry 1 of 1)
    """
    ref = signatures[0]
    for r, sig in enumerate(signatures[1:], 1):
        for k, (a, b) in enumerate(zip(ref, sig)):
            if a != b:
                return f"rank {r} has {_describe(b)} where rank 0 has {_describe(a)} (entry {k + 1} of {len(ref)})"
        if len(sig) != len(ref):
            k = min(len(sig), len(ref))
            extra, who, other = (sig, r, 0) if len(sig) > len(ref) else (ref, 0, r)
            return (f"rank {who} has {len(extra)} parameters and buffers where rank {other} has {k}: rank {who}'s "
                    f"{_describe(extra[k])} is missing on rank {other}")
    return None


def _check_same_model(module: Module) -> None:
    """Raise on every rank, naming the first difference, unless all ranks wrap the same model."""
    diff = model_difference(dist.all_gather_object(_signature(module)))
    if diff is not None:
        raise RuntimeError(
            f"DistributedDataParallel: the ranks wrap different models: {diff}. Every rank must build "
            "the same model (same code, sizes and dtypes) before wrapping it."
        )


def _broadcast_tensors(tensors: list[Tensor], src: int = 0) -> None:
    """Copy rank `src`'s values into these Tensors on every rank: one message per dtype."""
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(backend.numpy_dtype(t.dtype), []).append(t)
    rank = dist.get_rank()
    for dtype, ts in by_dtype.items():  # (through the host: MPI sends host memory)
        flat = np.concatenate([backend.to_numpy(t.data).reshape(-1) for t in ts]) if rank == src else \
            np.empty(sum(t.data.size for t in ts), dtype=dtype)
        dist.broadcast(flat, src=src)
        if rank != src:
            off = 0
            for t in ts:
                t.data[...] = like(flat[off : off + t.data.size].reshape(t.shape), t.data)
                off += t.data.size
            autograd.increment_version(*ts)
