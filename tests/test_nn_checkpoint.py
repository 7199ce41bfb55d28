"""nn.save / nn.load: round trips without pickle, atomic writes, clear errors."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

import autograd
import nn
from nn import checkpoint


def model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_model_and_optimizer_round_trip(tmp_path):
    autograd.manual_seed(0)
    net = model()
    opt = nn.optim.Adam([{"params": list(net[0].parameters())}, {"params": list(net[3].parameters()), "lr": 0.1}],
                        amsgrad=True)
    x = autograd.tensor(np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32))
    for _ in range(2):
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()
    path = tmp_path / "ckpt.npz"
    nn.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 2, "note": None}, path)
    back = nn.load(path)
    assert back["epoch"] == 2 and back["note"] is None
    net2 = model()
    net2.load_state_dict(back["model"])
    for (k, a), (_, b) in zip(net.state_dict().items(), net2.state_dict().items()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=k)
        assert a.dtype == b.dtype
    assert back["model"]["1.num_batches_tracked"].data.dtype == np.int64
    opt2 = nn.optim.Adam([{"params": list(net2[0].parameters())}, {"params": list(net2[3].parameters())}])
    opt2.load_state_dict(back["optimizer"])
    assert opt2.param_groups[1]["lr"] == 0.1 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for p, q in zip(net.parameters(), net2.parameters()):
        if p in opt.state:
            for k, v in opt.state[p].items():
                np.testing.assert_array_equal(v, opt2.state[q][k])
    with zipfile.ZipFile(path) as z:  # plain npz members, no pickled objects
        assert all(n.endswith(".npy") for n in z.namelist())
    np.load(path, allow_pickle=False).close()


def test_nested_containers_keep_their_types(tmp_path):
    obj = {"a": (1, 2.5, "x"), 3: [np.arange(3), {"inf": float("inf")}], "t": autograd.tensor([1.0])}
    nn.save(obj, tmp_path / "n.npz")
    back = nn.load(tmp_path / "n.npz")
    assert back["a"] == (1, 2.5, "x") and back[3][1]["inf"] == float("inf")
    np.testing.assert_array_equal(back[3][0], np.arange(3))
    assert isinstance(back["t"], autograd.Tensor)


def test_unsavable_objects_are_refused_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match=r"root\['f'\]"):
        nn.save({"f": lambda: 0}, path)
    with pytest.raises(TypeError, match="dtype object"):
        nn.save({"o": np.array([None])}, path)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_crash_mid_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    nn.save({"w": np.arange(4.0)}, path)

    def dies_half_way(f, members):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(checkpoint, "_write_npz", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        nn.save({"w": np.zeros(4)}, path)
    np.testing.assert_array_equal(nn.load(path)["w"], np.arange(4.0))
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temp file left behind


def test_corrupt_and_foreign_files_give_clear_errors(tmp_path):
    good = tmp_path / "good.npz"
    nn.save({"w": np.ones(100)}, good)
    data = good.read_bytes()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(nn.CheckpointError, match="bad.npz.*corrupt or truncated"):
        nn.load(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, w=np.ones(2))
    with pytest.raises(nn.CheckpointError, match="not a graphgrad checkpoint"):
        nn.load(foreign)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(nn.CheckpointError, match="notes.txt"):
        nn.load(text)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        nn.load(tmp_path / "missing.npz")
