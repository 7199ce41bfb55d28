"""autograd._io: the one atomic writer (pictures, checkpoints, reports) — permissions as a
plain open() gives them, the old file kept on a crash, no temp files left behind."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

import autograd
import nn
from autograd import viz
from autograd._io import atomic_open, atomic_write
from nn.physics.report import write_bytes_atomic


@pytest.fixture
def umask():
    """Set the process umask for one test and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_files_get_0666_minus_the_umask_like_open(tmp_path, umask, mask):
    umask(mask)
    atomic_write(tmp_path / "a.bin", b"x")
    with open(tmp_path / "b.bin", "wb") as f:
        f.write(b"x")
    assert mode(tmp_path / "a.bin") == 0o666 & ~mask == mode(tmp_path / "b.bin")


def test_overwriting_keeps_the_files_permissions(tmp_path, umask):
    umask(0o022)
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    atomic_write(p, b"new")
    assert p.read_bytes() == b"new" and mode(p) == 0o640


def test_error_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_open(p) as f:
            f.write(b"half")
            raise RuntimeError("disk on fire")
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.bin"]


def test_every_writer_uses_it(tmp_path, umask):
    """nn.save, viz.render and the physics report all come out 0644 under umask 022."""
    umask(0o022)
    nn.save(nn.Linear(2, 1).state_dict(), tmp_path / "m.npz")
    viz.render(autograd.tensor(1.0, requires_grad=True).exp(), tmp_path / "g.svg")
    write_bytes_atomic(tmp_path / "sub" / "r.json", b"{}")
    for name in ("m.npz", "g.svg", "sub/r.json"):
        assert mode(tmp_path / name) == 0o644, name
    assert sorted(os.listdir(tmp_path)) == ["g.svg", "m.npz", "sub"]
    np.testing.assert_array_equal(nn.load(tmp_path / "m.npz")["weight"].shape, (1, 2))
