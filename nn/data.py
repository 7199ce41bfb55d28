"""Datasets and batching: `TensorDataset`, `Subset`, `random_split`, `DataLoader`,
`DistributedSampler`.

Shuffling and splitting draw from the seeded generator (`autograd.manual_seed`) unless a
numpy Generator is passed; `DistributedSampler` draws from its own seed, the same on every rank.
`DataLoader(..., device="cuda")` moves each batch to the device; a dataset of device arrays
(CuPy, array-api-strict) stays where it is and is batched there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from autograd import Tensor, as_tensor, backend
from autograd import random as _random

from . import distributed
from ._arrays import check_device


class Dataset:
    """Anything with `__len__` and `__getitem__(i)` returning one example."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, i):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Examples are rows of arrays (or Tensors) that share their first dimension.

    >>> import numpy as np
    >>> ds = TensorDataset(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
    >>> len(ds), [t.tolist() for t in ds[1]]
    (3, [[2, 3], 1])
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = [_array(t.data if isinstance(t, Tensor) else t) for t in tensors]
        n = self.arrays[0].shape[0] if self.arrays[0].ndim else 0
        for i, a in enumerate(self.arrays):
            if a.ndim == 0 or a.shape[0] != n:
                raise ValueError(
                    f"TensorDataset: array {i} has shape {a.shape}; every array needs first dimension {n}"
                )

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, i):
        if isinstance(i, np.ndarray):
            return tuple(as_tensor(_rows(a, i)) for a in self.arrays)
        return tuple(as_tensor(_array(a[i, ...])) for a in self.arrays)


class Subset(Dataset):
    """The examples of `dataset` at `indices`."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        if isinstance(i, np.ndarray):
            return self.dataset[self.indices[i]]
        return self.dataset[int(self.indices[i])]


def random_split(dataset, lengths: Sequence, generator: np.random.Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions that sum
    to 1, the remainder handed out round-robin as torch does)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: lengths {lengths} must be non-negative ints summing to the dataset's length {n}"
        )
    gen = generator or _random.generator()
    perm = gen.permutation(n)
    out, start = [], 0
    for k in lengths:
        out.append(Subset(dataset, perm[start : start + int(k)]))
        start += int(k)
    return out


def _array(a):
    """An array as it is (numpy, or another library's), anything else through numpy."""
    return a if backend.is_array(a) else np.asarray(a)


def _rows(a, idx: np.ndarray):
    """The rows `idx` (host integers) of an array of any library."""
    if isinstance(a, np.ndarray):
        return a[idx]
    xp = backend.namespace(a)
    return xp.take(a, xp.asarray(idx, device=a.device), axis=0)


def _collate(items):
    """A list of examples (tuples of Tensors/arrays, or single ones) -> stacked Tensors."""
    first = items[0]
    if isinstance(first, tuple):
        return tuple(_collate([it[j] for it in items]) for j in range(len(first)))
    arrays = [_array(it.data if isinstance(it, Tensor) else it) for it in items]
    return as_tensor(backend.namespace(arrays[0]).stack(arrays))


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    `dataset` may be a Dataset, an array, or a tuple of arrays (wrapped in a TensorDataset).
    Array-backed datasets are batched by one fancy-index per array (no per-example loop).
    `sampler` (an iterable of indices with a length, such as `DistributedSampler`) gives the
    order instead of `shuffle`. `device` ("cuda", "cpu", an array namespace) moves each batch
    there (raising at once when the device is not available).

    >>> import numpy as np
    >>> [b.shape for (b,) in DataLoader(np.zeros((5, 2)), batch_size=2)]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator: np.random.Generator | None = None, sampler=None, device=None):
        if isinstance(dataset, Tensor) or backend.is_array(dataset):
            dataset = TensorDataset(dataset)
        elif isinstance(dataset, (tuple, list)) and dataset and all(
            isinstance(a, Tensor) or backend.is_array(a) for a in dataset
        ):
            dataset = TensorDataset(*dataset)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int; got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True exclude each other (the sampler gives the order)")
        if device is not None:
            check_device(device)
        self.dataset = dataset
        self.sampler = sampler
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.device = device

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator:
        if self.sampler is not None:
            s = self.sampler
            order = s.indices() if isinstance(s, DistributedSampler) else np.fromiter(s, dtype=np.int64)
        elif self.shuffle:
            order = (self.generator or _random.generator()).permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        base, idx_map = self.dataset, None
        while isinstance(base, Subset):  # resolve subsets to one index array into the arrays
            idx_map = base.indices if idx_map is None else base.indices[idx_map]
            base = base.dataset
        for start in range(0, stop, self.batch_size):
            idx = order[start : start + self.batch_size]
            if isinstance(base, TensorDataset):
                rows = idx if idx_map is None else idx_map[idx]
                batch = tuple(as_tensor(_rows(a, rows)) for a in base.arrays)
            else:
                batch = _collate([self.dataset[int(i)] for i in idx])
            yield batch if self.device is None else _moved(batch, self.device)


def _moved(batch, device):
    if isinstance(batch, tuple):
        return tuple(_moved(b, device) for b in batch)
    return as_tensor(backend.on_device(batch.data, device))


class DistributedSampler:
    """The indices of one rank's shard of a dataset, as torch.utils.data.DistributedSampler:
    rank r takes every `num_replicas`-th index of one order, from position r.

    The order is a permutation drawn from `seed + epoch` (`shuffle`, the same on every rank:
    call `set_epoch(epoch)` before each epoch for a new one), or 0..n-1. Without `drop_last`
    the order is padded with its own first indices to a multiple of `num_replicas`, so every
    rank gets `ceil(n / num_replicas)` and a few examples appear twice; with it the tail
    is dropped, so the shards are disjoint. Either way the ranks' i-th indices together are one
    contiguous piece of the order: a per-rank batch of B/num_replicas gives, over the ranks, the
    batch of B a single process would take from the same order.

    >>> s = DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False)
    >>> list(s), len(s)
    ([1, 4, 7, 0], 4)
    >>> list(DistributedSampler(range(10), num_replicas=3, rank=1, shuffle=False, drop_last=True))
    [1, 4, 7]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int; got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {num_replicas - 1}]; got {rank!r}")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = int(seed)
        self.drop_last = drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last:
            self.num_samples = n // num_replicas
        else:
            self.num_samples = -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Draw the next epoch's order (from `seed + epoch`): call it at the start of each epoch."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad (repeating the order as often as needed)
            order = np.resize(order, self.total_size) if n else order
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
