"""The report folder holds one consistent run: the previous one until the new one is complete.

A run writes into a staging folder beside the report (``.NAME.staging-PID-XXXX``) that starts
as a copy of the previous report, so a run of some tasks keeps the others' results. At the end
the staging folder is swapped in with two renames; on any error or Ctrl-C it is removed and
the previous report is left as it was. Leftovers of a killed run are cleaned up by the next.

>>> import tempfile
>>> out = Path(tempfile.mkdtemp()) / "report"
>>> check_folder(str(out), reading=False) is None
True
>>> stage = begin(out)
>>> _ = (stage / "metrics.json").write_text("{}")
>>> commit(stage, out)
>>> sorted(p.name for p in out.parent.iterdir())
['report']
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


def _marker(target: Path, kind: str) -> str:
    return f".{target.name}.{kind}-"


def check_folder(text: str, reading: bool, how_to_train: str = "train first") -> str | None:
    """What is wrong with ``text`` as the report folder, in one line; None if nothing is.

    ``reading``: the folder must hold a report (``evaluate``; a missing one ends the message
    with ``how_to_train``); otherwise it will be written.

    >>> check_folder("", reading=False)
    'the path is empty; name the report folder, e.g. --out report'
    """
    if not text:
        return "the path is empty; name the report folder, e.g. --out report"
    out = Path(text)
    if reading:
        if not out.exists():
            return f"{out} does not exist; {how_to_train}"
        if not out.is_dir():
            return f"{out} is a file, not a report folder"
        if not (out / "metrics.json").is_file():
            return f"{out} holds no report (no metrics.json); {how_to_train}"
        return None
    if out.exists() and not out.is_dir():
        return f"{out} is a file, not a folder"
    target = Path(os.path.realpath(out))
    if target == Path.cwd() or target in Path.cwd().parents:
        return f"{out} is the current folder or holds it; choose a folder of its own"
    if out.is_dir() and any(out.iterdir()) and not (out / "metrics.json").is_file():
        return f"{out} holds files but no report (no metrics.json); choose a new or empty folder"
    # the run renames the folder and creates its staging folder beside it
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    for folder in ([target] if target.exists() else []) + [parent]:
        if not folder.is_dir():
            return f"{folder} is a file, not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{folder} is not writable"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _clean_up(target: Path) -> None:
    """Put back a report a killed run had moved aside, remove killed runs' staging folders."""
    previous = sorted(target.parent.glob(_marker(target, "previous") + "*"), key=os.path.getmtime)
    if previous and not target.exists():
        os.rename(previous.pop(), target)  # killed between the two renames of `commit`
    for folder in previous:
        shutil.rmtree(folder, ignore_errors=True)
    for folder in target.parent.glob(_marker(target, "staging") + "*"):
        pid = folder.name.removeprefix(_marker(target, "staging")).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def begin(out: str | os.PathLike) -> Path:
    """A new staging folder beside ``out`` holding a copy of the report in ``out``, if any.

    Raises OSError (PermissionError, ...) when it cannot be made; nothing is left behind then.
    """
    target = Path(os.path.realpath(out))  # a link to a folder: the folder it names is replaced
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_up(target)
    staging = target.parent / f"{_marker(target, 'staging')}{os.getpid()}-{secrets.token_hex(4)}"
    if target.is_dir():
        try:
            shutil.copytree(target, staging, symlinks=True)
        except BaseException:
            abandon(staging)
            raise
    else:
        os.mkdir(staging)
    return staging


def commit(staging: Path, out: str | os.PathLike) -> None:
    """Swap ``staging`` in for ``out``; the previous report is deleted once the new one is there."""
    target = Path(os.path.realpath(out))
    previous = None
    if target.exists():
        previous = target.parent / f"{_marker(target, 'previous')}{secrets.token_hex(4)}"
        os.rename(target, previous)
    try:
        os.rename(staging, target)
    except BaseException:
        if previous is not None:
            os.rename(previous, target)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def abandon(staging: Path) -> None:
    """Remove a staging folder (the run failed or was interrupted)."""
    shutil.rmtree(staging, ignore_errors=True)
