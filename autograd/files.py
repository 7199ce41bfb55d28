"""Atomic file writes, shared by everything in the project that writes files (pictures,
checkpoints): a crash mid-write leaves the old file (or none), never half a file.

The data goes to a temp file in the target's folder, is flushed and fsynced, then renamed
over the target with `os.replace`. The temp file is created with mode 0o666 so the umask
applies, as for a plain `open(path, "wb")`; overwriting keeps the old file's permissions.
(`tempfile.mkstemp` would make it 0600, and the rename would keep that.)

Like `open(path, "w")`: a symlink is written through (its target is replaced, the link
stays), and a file we may not write raises `PermissionError` instead of being replaced.

A writer killed mid-write (`kill -9`, power cut) leaves its temp file
`.<name>.<pid>@<host>.<random>.tmp` behind; the next write to the same path removes it once
it is stale: its writer's process is gone (same host), or it is untouched for `STALE_AFTER`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

STALE_AFTER = 24 * 3600.0  # seconds; covers pids reused by another process and other hosts
_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
# What follows ".<name>." in a temp file's name; old versions wrote no pid and host.
_TEMP_TAIL = re.compile(r"(?:(?P<pid>\d+)@(?P<host>[0-9a-f]{6})\.)?[0-9a-f]{8}\.tmp")


def _target(path: str | os.PathLike, who: str) -> Path:
    """The file that `open(path, "w")` would write: symlinks followed, read-only refused."""
    raw = os.fspath(path)
    if raw in ("", b""):
        raise ValueError(f"{who}: the path is empty; expected a file name such as 'out.npz'")
    target = Path(os.path.realpath(raw))
    if target.is_symlink():  # realpath gave up: a symlink loop
        raise OSError(errno.ELOOP, f"{who}: too many levels of symbolic links", raw)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, f"{who}: the path is a folder; expected a file path", raw)
    if target.exists() and not os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise PermissionError(errno.EACCES, f"{who}: permission denied (the file is not writable)", raw)
    return target


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, who: str = "atomic write") -> Iterator[BinaryIO]:
    """A binary file to write; on leaving the block without an error it replaces `path`
    (or a symlink's target). On an error the temp file is removed and `path` is left as it
    was. `who` names the caller in error messages.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_open(p) as f:
    ...     _ = f.write(b"abc")
    >>> open(p, "rb").read()
    b'abc'
    """
    target = _target(path, who)
    folder = target.parent
    try:
        keep = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        keep = None
    fd, tmp = _create_temp(target, who)
    try:
        with os.fdopen(fd, "wb") as f:
            if keep is not None:
                os.chmod(tmp, keep)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    remove_stale_temps(target)


def _create_temp(target: Path, who: str) -> tuple[int, Path]:
    """Open a new temp file beside `target`; its name carries our pid and host (see module doc)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):  # a name clash is astronomically rare; O_EXCL makes it safe anyway
        tmp = target.parent / f".{target.name[:200]}.{os.getpid()}@{_HOST}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except PermissionError as e:
            raise PermissionError(e.errno, f"{who}: cannot create a file in folder {str(target.parent)!r}",
                                  str(target)) from None
    raise FileExistsError(f"{who}: could not create a temp file in {target.parent}")


def remove_stale_temps(target: str | os.PathLike) -> list[str]:
    """Remove the temp files that killed writes to `target` left behind; returns their names.
    Only stale ones: a live writer's temp file (this process or another) is kept."""
    target = Path(target)
    prefix = f".{target.name[:200]}."
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_TAIL.fullmatch(entry.name[len(prefix):]) if entry.name.startswith(prefix) else None
        if m is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        old = time.time() - st.st_mtime > STALE_AFTER
        if stat.S_ISREG(st.st_mode) and (old or _writer_gone(m["pid"], m["host"])):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _writer_gone(pid: str | None, host: str | None) -> bool:
    """True only when we know the writing process has ended."""
    if pid is None or host != _HOST or os.name == "nt":  # on Windows os.kill would kill it
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # PermissionError: alive, another user's
        return False
    return False


def atomic_write(path: str | os.PathLike, data: bytes, who: str = "atomic write") -> Path:
    """Write `data` to `path` atomically (see the module docstring); returns the path.

    >>> import os, tempfile
    >>> p = atomic_write(os.path.join(tempfile.mkdtemp(), "a.txt"), b"hello")
    >>> p.read_bytes()
    b'hello'
    """
    with atomic_open(path, who) as f:
        f.write(data)
    return Path(path)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform lets a folder be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
