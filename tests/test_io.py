"""autograd.files: the one atomic writer (pictures, checkpoints) — permissions as a
plain open() gives them, the old file kept on a crash, symlinks written through, read-only
files refused, and the temp files of killed writers cleaned up by the next write."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import autograd
import nn
from autograd import files as _io
from autograd import viz
from autograd.files import atomic_open, atomic_write
from nn import checkpoint


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
    """nn.save and viz.render both come out 0644 under umask 022. (The physics report writes
    plain files into a staging folder that is swapped in whole: graphgrad_physics.staging.)"""
    umask(0o022)
    nn.save(nn.Linear(2, 1).state_dict(), tmp_path / "m.npz")
    viz.render(autograd.tensor(1.0, requires_grad=True).exp(), tmp_path / "g.svg")
    for name in ("m.npz", "g.svg"):
        assert mode(tmp_path / name) == 0o644, name
    assert sorted(os.listdir(tmp_path)) == ["g.svg", "m.npz"]
    np.testing.assert_array_equal(nn.load(tmp_path / "m.npz")["weight"].shape, (1, 2))


# --------------------------------------------------------------------------- symlinks
def test_save_through_a_symlink_replaces_the_target_atomically(tmp_path, monkeypatch):
    real, links = tmp_path / "real", tmp_path / "links"
    real.mkdir()
    links.mkdir()
    nn.save({"w": np.zeros(2)}, real / "m.npz")
    (links / "m.npz").symlink_to(os.path.join("..", "real", "m.npz"))
    seen = {}
    write_npz = checkpoint._write_npz

    def look_while_writing(f, members):
        seen.update(real=sorted(os.listdir(real)), links=os.listdir(links))
        write_npz(f, members)

    monkeypatch.setattr(checkpoint, "_write_npz", look_while_writing)
    nn.save({"w": np.ones(2)}, links / "m.npz")
    assert os.readlink(links / "m.npz") == os.path.join("..", "real", "m.npz")  # still the same link
    np.testing.assert_array_equal(nn.load(real / "m.npz")["w"], np.ones(2))
    assert seen["links"] == ["m.npz"] and len(seen["real"]) == 2  # the temp file sat beside the target
    assert os.listdir(real) == ["m.npz"]


def test_save_through_a_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "link.npz").symlink_to(tmp_path / "new.npz")
    nn.save({"w": np.ones(2)}, tmp_path / "link.npz")
    assert (tmp_path / "link.npz").is_symlink() and (tmp_path / "new.npz").is_file()


# --------------------------------------------------------------------------- bad paths
def test_empty_path_and_folder_are_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"nn\.save: the path is empty"):
        nn.save({"w": np.ones(2)}, "")
    with pytest.raises(ValueError, match=r"nn\.load: the path is empty"):
        nn.load("")
    with pytest.raises(IsADirectoryError, match=r"nn\.save: the path is a folder"):
        nn.save({"w": np.ones(2)}, tmp_path)
    with pytest.raises(IsADirectoryError, match=r"nn\.load: the path is a folder"):
        nn.load(tmp_path)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- permissions
NOBODY = 65534


def as_nobody(folder, fn) -> str:
    """Run `fn()` in a forked child that switched from root to uid/gid 65534 (nobody), so file
    permissions apply as for any user; returns its result or the error it raised, as text."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child must never return into pytest
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = repr(fn()) if os.access(folder, os.W_OK | os.X_OK) else "unreachable"
        except BaseException as e:
            out = f"{type(e).__name__}: {e}"
        finally:
            os.write(w, out.encode("utf-8", "replace"))
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    if out == "unreachable":
        pytest.skip(f"user nobody cannot reach {folder}")
    return out


@pytest.fixture
def open_folder():
    """A folder anyone may write in (/tmp's own pytest folders are root-only 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="graphgrad-perm-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                               reason="switches to user nobody, which needs root (non-root runs the direct test)")
not_root = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                              reason="root bypasses file permissions; test_*_as_nobody covers this as root")


@not_root
def test_save_over_a_read_only_file_raises_permission_error(tmp_path):
    p = tmp_path / "m.npz"
    nn.save({"w": np.zeros(2)}, p)
    p.chmod(0o444)
    with pytest.raises(PermissionError, match=r"nn\.save: permission denied.*m\.npz"):
        nn.save({"w": np.ones(2)}, p)
    np.testing.assert_array_equal(nn.load(p)["w"], np.zeros(2))
    assert os.listdir(tmp_path) == ["m.npz"]


@root_only
def test_save_over_a_read_only_file_raises_permission_error_as_nobody(open_folder):
    p = open_folder / "m.npz"
    nn.save({"w": np.zeros(2)}, p)
    p.chmod(0o444)  # owned by root; nobody may still create and rename files in the folder
    out = as_nobody(open_folder, lambda: nn.save({"w": np.ones(2)}, p))
    assert out.startswith("PermissionError") and "nn.save: permission denied" in out and "m.npz" in out, out
    np.testing.assert_array_equal(nn.load(p)["w"], np.zeros(2))
    assert os.listdir(open_folder) == ["m.npz"]


@not_root
def test_load_without_read_permission_says_so(tmp_path):
    p = tmp_path / "m.npz"
    nn.save({"w": np.zeros(2)}, p)
    p.chmod(0o000)
    with pytest.raises(PermissionError, match=r"nn\.load: permission denied reading the checkpoint.*m\.npz"):
        nn.load(p)


@root_only
def test_load_without_read_permission_says_so_as_nobody(open_folder):
    p = open_folder / "m.npz"
    nn.save({"w": np.zeros(2)}, p)
    p.chmod(0o600)
    out = as_nobody(open_folder, lambda: nn.load(p))
    assert out.startswith("PermissionError: [Errno 13] nn.load: permission denied reading") and "m.npz" in out, out
    assert "corrupt" not in out


# --------------------------------------------------------------------------- leftover temp files
KILLED_MID_WRITE = {  # each child dies by SIGKILL after fsyncing its temp file, before the rename
    "nn.save": "import nn, numpy as np; nn.save({'w': np.ones(3)}, sys.argv[1])",
    "viz.render": "import autograd; from autograd import viz; "
                  "viz.render(autograd.tensor(1.0, requires_grad=True).exp(), sys.argv[1])",
}


@pytest.mark.skipif(os.name == "nt", reason="needs SIGKILL")
@pytest.mark.parametrize("writer", sorted(KILLED_MID_WRITE))
def test_the_next_write_removes_a_killed_writers_temp_file(tmp_path, writer):
    name = "m.npz" if writer == "nn.save" else "g.svg"
    script = "import os, sys, signal; os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL); "
    child = subprocess.run([sys.executable, "-c", script + KILLED_MID_WRITE[writer], str(tmp_path / name)],
                           cwd=Path(nn.__file__).parents[1], capture_output=True)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert len(list(tmp_path.glob(f".{name}.*.tmp"))) == 1  # what kill -9 leaves behind
    if writer == "nn.save":
        nn.save({"w": np.zeros(3)}, tmp_path / name)
    else:
        viz.render(autograd.tensor(2.0, requires_grad=True).exp(), tmp_path / name)
    assert os.listdir(tmp_path) == [name]


def test_only_stale_temp_files_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process now
    other_host = "000000" if _io._HOST != "000000" else "111111"
    names = {
        f".m.npz.{dead.pid}@{_io._HOST}.0123abcd.tmp": "gone",  # its writer has ended
        ".m.npz.89abcdef.tmp": "gone",  # written before temp names carried a pid, and untouched for 2 days
        f".m.npz.{os.getpid()}@{_io._HOST}.0123abcd.tmp": "kept",  # a live writer (this process)
        f".m.npz.{dead.pid}@{other_host}.0123abcd.tmp": "kept",  # another machine's pid says nothing here
        ".m.npz.0123abcd.tmp": "kept",  # no pid, and fresh
        ".m.npz.notes.tmp": "kept",  # not a name we make
        f".n.npz.{dead.pid}@{_io._HOST}.0123abcd.tmp": "kept",  # another file's
    }
    for name in names:
        (tmp_path / name).write_bytes(b"half")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(tmp_path / ".m.npz.89abcdef.tmp", (two_days_ago, two_days_ago))
    atomic_write(tmp_path / "m.npz", b"new")
    kept = sorted(n for n, fate in names.items() if fate == "kept")
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["m.npz"])


def test_temp_file_names_carry_the_writers_pid(tmp_path):
    with atomic_open(tmp_path / "a.bin") as f:
        f.write(b"x")
        (tmp,) = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert tmp.startswith(f".a.bin.{os.getpid()}@{_io._HOST}.")
