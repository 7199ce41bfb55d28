"""Run under `mpiexec -n 2`: errors that must be raised on every rank, in step, without
hanging. Rank 0 prints `rank R: <case>: <message>` for each error each rank caught (gathered,
since mpiexec may interleave the ranks' output mid-line)."""

from __future__ import annotations

import autograd
import nn
import nn.distributed as dist

dist.init(timeout=30)
RANK = dist.get_rank()
caught = []


def report(case: str, fn) -> None:
    try:
        fn()
    except RuntimeError as e:
        caught.append(f"rank {RANK}: {case}: {e}")
    else:
        caught.append(f"rank {RANK}: {case}: NO ERROR")


# 1. rank 1 builds its second layer one input short
def wrap_different_models():
    width = 8 if RANK == 0 else 7
    nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(width, 1)))


report("mismatch", wrap_different_models)


# 2. rank 1 has an extra layer
def wrap_longer_model():
    layers = [nn.Linear(4, 8), nn.Linear(8, 1)] + ([nn.Linear(1, 1)] if RANK == 1 else [])
    nn.parallel.DistributedDataParallel(nn.Sequential(*layers))


report("extra", wrap_longer_model)


# 3. a parameter unused in forward, without find_unused_parameters
class Spare(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(2, 1)
        self.spare = nn.Linear(2, 1)

    def forward(self, x):
        return self.used(x)


def unused_parameter():
    model = nn.parallel.DistributedDataParallel(Spare())
    model(autograd.ones(3, 2)).sum().backward()
    model(autograd.ones(3, 2))  # the next forward notices


report("unused", unused_parameter)


# 4. after a synced backward, the inner module alone gives this rank's own gradient
def inner_module_is_local():
    model = nn.parallel.DistributedDataParallel(nn.Linear(2, 1, bias=False))
    model(autograd.ones(1, 2)).sum().backward()
    model.module.weight.grad = None
    model.module(autograd.full((1, 2), float(RANK + 1))).sum().backward()
    raise RuntimeError(f"local gradient {model.module.weight.grad.tolist()}")


report("local", inner_module_is_local)
everyone = dist.all_gather_object(caught)
if RANK == 0:
    print("\n".join(line for lines in everyone for line in lines), flush=True)
