"""nn.save / nn.load: round trips without pickle, atomic writes, clear errors."""

from __future__ import annotations

import io
import json
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
    with pytest.raises(nn.CheckpointError, match=r"nn\.load: .*bad\.npz.*corrupt or truncated"):
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


# --------------------------------------------------------------------------- hostile files
def npy(arr=None, header=None) -> bytes:
    """One .npy member: an array, or just a header (whatever shape it claims, no data)."""
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, arr, allow_pickle=True)
    else:
        np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def fake(path, root=None, meta: bytes | None = None, compress=False, **members):
    """A checkpoint written by hand: `root` as nn.save would store it, or raw `meta` bytes."""
    if meta is None:
        meta = json.dumps({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "root": root}).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        z.writestr("__graphgrad__.npy", npy(np.frombuffer(meta, np.uint8)))
        for key, member in members.items():
            z.writestr(key + ".npy", member if isinstance(member, bytes) else npy(member))
    return path


def test_a_hand_written_checkpoint_loads(tmp_path):
    """The control for the tests below: `fake` writes what nn.load reads."""
    back = nn.load(fake(tmp_path / "ok.npz", {"__list__": [{"__array__": "a0", "tensor": True}, 1]},
                        a0=np.arange(3)))
    assert isinstance(back[0], autograd.Tensor) and back[1] == 1


def test_a_single_npy_file_is_named_as_such(tmp_path):
    np.save(tmp_path / "w.npy", np.arange(3))
    with pytest.raises(nn.CheckpointError, match=r"nn\.load: .*w\.npy.* single \.npy array.*expected an \.npz"):
        nn.load(tmp_path / "w.npy")


MALFORMED = {
    "not an object": b"[1, 2]",
    "unhashable key": json.dumps({"format": checkpoint.FORMAT, "version": 1,
                                  "root": {"__dict__": [[{"__list__": []}, 1]]}}).encode(),
    "list that is a number": json.dumps({"format": checkpoint.FORMAT, "version": 1, "root": {"__list__": 5}}).encode(),
    "array named by a list": json.dumps({"format": checkpoint.FORMAT, "version": 1,
                                         "root": {"__array__": ["a0"]}}).encode(),
    "missing array": json.dumps({"format": checkpoint.FORMAT, "version": 1, "root": {"__array__": "a9"}}).encode(),
    "bad pair": json.dumps({"format": checkpoint.FORMAT, "version": 1, "root": {"__dict__": [[1]]}}).encode(),
    "raw JSON list": json.dumps({"format": checkpoint.FORMAT, "version": 1, "root": [1]}).encode(),
    "no root": json.dumps({"format": checkpoint.FORMAT, "version": 1}).encode(),
    "deep nesting": b"[" * 100_000,
    "not UTF-8": b"\xff\xfe",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_metadata_is_a_checkpoint_error(tmp_path, case):
    path = fake(tmp_path / "m.npz", meta=MALFORMED[case], a0=np.arange(2))
    with pytest.raises(nn.CheckpointError, match=r"nn\.load: .*m\.npz.* not a valid graphgrad checkpoint: .*metadata"):
        nn.load(path)


def test_metadata_nested_too_deeply_is_refused_both_ways(tmp_path):
    deep = 1
    for _ in range(checkpoint.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match=r"nn\.save: root\[0\].* nested deeper than"):
        nn.save(deep, tmp_path / "deep.npz")
    root = 1
    for _ in range(checkpoint.MAX_DEPTH + 5):
        root = {"__list__": [root]}
    with pytest.raises(nn.CheckpointError, match="nested deeper than"):
        nn.load(fake(tmp_path / "deep.npz", root))


@pytest.mark.parametrize("arr", [np.array(["ab"]), np.array([b"ab"]), np.array([1 + 2j]),
                                 np.zeros(2, dtype=[("a", "<f4")]), np.array(["2020-01-01"], dtype="datetime64[D]"),
                                 np.array([1], dtype="timedelta64[s]"), np.array([None, 1], dtype=object)],
                         ids=lambda a: a.dtype.kind)
def test_members_that_are_not_bool_int_or_float_are_refused(tmp_path, arr):
    path = fake(tmp_path / "m.npz", {"__array__": "a0"}, a0=arr)
    with pytest.raises(nn.CheckpointError, match=r"nn\.load: .*m\.npz.*member 'a0' has dtype .*expected a bool, int"):
        nn.load(path)


def test_absurd_declared_shapes_are_refused_before_allocating(tmp_path):
    huge = npy(header={"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with pytest.raises(nn.CheckpointError, match=r"m\.npz': member 'a0' declares a float64 array of shape \(1000000,"):
        nn.load(fake(tmp_path / "m.npz", {"__array__": "a0"}, a0=huge))
    negative = npy(header={"descr": "<f8", "fortran_order": False, "shape": (-1, 4)})
    with pytest.raises(nn.CheckpointError, match="negative dimension"):
        nn.load(fake(tmp_path / "n.npz", {"__array__": "a0"}, a0=negative))


def test_zip_bombs_stop_at_a_limit_the_caller_can_raise(tmp_path):
    # 2 GiB declared by a file of a few hundred bytes: over the default (1 GiB, or 16x the file's size).
    claim = npy(header={"descr": "<f8", "fortran_order": False, "shape": (1 << 14, 1 << 14)})
    with pytest.raises(nn.CheckpointError, match="over the limit of 1,073,741,824 bytes.*max_bytes="):
        nn.load(fake(tmp_path / "claim.npz", {"__array__": "a0"}, compress=True, a0=claim))
    # A real bomb in miniature: 32 MiB of zeros deflated to about 32 kB.
    bomb = fake(tmp_path / "bomb.npz", {"__array__": "a0"}, compress=True, a0=np.zeros((4, 1 << 20)))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(nn.CheckpointError, match="over the limit of 1,048,576 bytes"):
        nn.load(bomb, max_bytes=1 << 20)
    assert nn.load(bomb, max_bytes=64 << 20).shape == (4, 1 << 20)
