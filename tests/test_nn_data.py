"""DataLoader, TensorDataset, random_split."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
from nn.data import DataLoader, Dataset, Subset, TensorDataset, random_split

X = np.arange(20, dtype=np.float32).reshape(10, 2)
Y = np.arange(10)


def test_batches_in_order_and_drop_last():
    batches = list(DataLoader((X, Y), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert isinstance(batches[0][0], autograd.Tensor)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), Y)
    loader = DataLoader(TensorDataset(X, Y), batch_size=4, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2
    assert len(DataLoader(X, batch_size=4)) == 3


def test_shuffle_is_a_seeded_permutation():
    autograd.manual_seed(5)
    a = np.concatenate([y.data for _, y in DataLoader((X, Y), batch_size=3, shuffle=True)])
    autograd.manual_seed(5)
    b = np.concatenate([y.data for _, y in DataLoader((X, Y), batch_size=3, shuffle=True)])
    np.testing.assert_array_equal(a, b)
    assert sorted(a) == list(range(10)) and not np.array_equal(a, Y)
    g = np.random.default_rng(1)
    c = np.concatenate([y.data for _, y in DataLoader((X, Y), batch_size=3, shuffle=True, generator=g)])
    assert sorted(c) == list(range(10))


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float64), i % 2

    xs, ys = next(iter(DataLoader(Squares(), batch_size=5)))
    np.testing.assert_array_equal(xs.data[:, 1], [0, 1, 4, 9, 16])
    np.testing.assert_array_equal(ys.data, [0, 1, 0, 1, 0])


def test_random_split_lengths_fractions_and_nesting():
    ds = TensorDataset(X, Y)
    autograd.manual_seed(0)
    a, b = random_split(ds, [7, 3])
    ids = np.concatenate([a.indices, b.indices])
    assert sorted(ids) == list(range(10)) and len(a) == 7
    c, d, e = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(c), len(d), len(e)] == [5, 3, 2]
    inner = Subset(a, [0, 2])
    (xb, yb), = DataLoader(inner, batch_size=2)
    np.testing.assert_array_equal(yb.data, Y[a.indices[[0, 2]]])
    with pytest.raises(ValueError, match="summing to the dataset's length 10"):
        random_split(ds, [3, 3])


def test_errors():
    with pytest.raises(ValueError, match="first dimension 10"):
        TensorDataset(X, Y[:5])
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(X, batch_size=0)
    x, y = TensorDataset(X, Y)[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
