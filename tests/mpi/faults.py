"""Run under `mpiexec -n 2`: a training loop in which rank 1 fails after a few steps.

    faults.py raise   rank 1 raises an exception: the job must end within seconds, showing it
    faults.py hang    rank 1 stops calling backward (sleeps): rank 0's watchdog must end the
                      job after the timeout (2 s here) with a message naming the wait
"""

from __future__ import annotations

import sys
import time

import autograd
import nn
import nn.distributed as dist
import nn.functional as F

mode = sys.argv[1]
dist.init(timeout=60)  # starting up may take seconds on a busy machine
rank = dist.get_rank()
autograd.manual_seed(0)
model = nn.parallel.DistributedDataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
opt = nn.optim.SGD(model.parameters(), lr=0.1)
x, y = autograd.randn(16, 4), autograd.randn(16, 1)
for step in range(1000):
    if step == 3:
        dist.init(timeout=2.0)  # (init again only sets the timeout)
    if rank == 1 and step == 3:
        if mode == "raise":
            raise ValueError("rank 1 fails on purpose at step 3")
        time.sleep(600)  # never reaches the allreduce
    opt.zero_grad()
    F.mse_loss(model(x), y).backward()
    opt.step()
print(f"rank {rank}: finished all steps (the fault did not stop the job)", flush=True)
