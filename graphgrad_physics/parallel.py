"""Training on several MPI ranks: `mpiexec -n 2 graphgrad-demo ...` (see `nn.distributed`).

Each rank trains the same network on its shard of every epoch (`nn.data.DistributedSampler`),
with BatchNorm's statistics over the global batch (`nn.SyncBatchNorm`) and gradients averaged
over the ranks (`nn.parallel.DistributedDataParallel`): a global batch of B is B/N per rank and
trains as one process taking the same B examples would, up to rounding. The epoch's training
loss is summed over the ranks; validation and test metrics are computed by every rank on the
whole split (the models are identical) and rank 0's decisions (best epoch, early stop) are the
ones every rank follows. Only rank 0 prints, writes the report and saves checkpoints.

Alone (no mpiexec, or `-n 1`) nothing changes: the plain DataLoader and model, and mpi4py is
never imported.
"""

from __future__ import annotations

import numpy as np

import nn
import nn.distributed as dist


def is_main() -> bool:
    """Whether this process prints and writes (rank 0; always true alone)."""
    return dist.get_rank() == 0


def prepare(model: nn.Module, data: nn.data.Dataset, batch_size: int, seed: int, device=None):
    """``(net, batches, sampler)``: what the training loop calls, iterates over and re-seeds
    (the batches moved to ``device`` when given).

    Alone: the model itself and a DataLoader shuffling with ``default_rng(seed)``, sampler None.
    On N ranks: the model with SyncBatchNorm layers inside DistributedDataParallel, and batches
    of ``ceil(batch_size / N)`` from this rank's shard (call ``sampler.set_epoch`` per epoch).
    """
    world = dist.get_world_size()
    if world == 1:
        loader = nn.data.DataLoader(data, batch_size=batch_size, shuffle=True,
                                    generator=np.random.default_rng(seed), device=device)
        return model, loader, None
    nn.SyncBatchNorm.convert_sync_batchnorm(model)  # swaps the layers inside (the root is not one)
    # SyncBatchNorm keeps the running statistics equal on every rank: no buffers to broadcast
    net = nn.parallel.DistributedDataParallel(model, broadcast_buffers=False)
    sampler = nn.data.DistributedSampler(data, seed=seed)
    loader = nn.data.DataLoader(data, batch_size=-(-batch_size // world), sampler=sampler, device=device)
    return net, loader, sampler


def total(*values: float) -> tuple[float, ...]:
    """The sums over the ranks (the values themselves alone)."""
    if dist.get_world_size() == 1:
        return values
    return tuple(dist.all_reduce(np.array(values, dtype=np.float64)).tolist())


def agree(value):
    """Rank 0's ``value`` on every rank (decisions all ranks must take together)."""
    return dist.broadcast(value) if dist.get_world_size() > 1 else value
