"""Atomic file writes, shared by everything in the project that writes files (pictures,
checkpoints, reports): a crash mid-write leaves the old file (or none), never half a file.

The data goes to a temp file in the target's folder, is flushed and fsynced, then renamed
over the target with `os.replace`. The temp file is created with mode 0o666 so the umask
applies, as for a plain `open(path, "wb")`; overwriting keeps the old file's permissions.
(`tempfile.mkstemp` would make it 0600, and the rename would keep that.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file to write; on leaving the block without an error it replaces `path`.
    On an error the temp file is removed and `path` is left as it was.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_open(p) as f:
    ...     _ = f.write(b"abc")
    >>> open(p, "rb").read()
    b'abc'
    """
    path = Path(path)
    folder = path.parent
    try:
        keep = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        keep = None
    for _ in range(100):  # a name clash is astronomically rare; O_EXCL makes it safe anyway
        tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise FileExistsError(f"atomic write of {path}: could not create a temp file in {folder}")
    try:
        with os.fdopen(fd, "wb") as f:
            if keep is not None:
                os.chmod(tmp, keep)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (see the module docstring); returns the path.

    >>> import os, tempfile
    >>> p = atomic_write(os.path.join(tempfile.mkdtemp(), "a.txt"), b"hello")
    >>> p.read_bytes()
    b'hello'
    """
    with atomic_open(path) as f:
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
