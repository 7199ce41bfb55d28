"""`nn.save` / `nn.load`: state dicts (nested dicts, lists, numbers, strings, arrays and
Tensors) in one `.npz` file, without pickle.

Arrays become the npz's members; everything else is a JSON tree stored beside them (member
`__graphgrad__`) that refers to the arrays by name. Writing is atomic (`autograd._io`): a
crash mid-save leaves the previous checkpoint intact, and the file gets the usual permissions.
"""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from autograd._io import atomic_open
from autograd.tensor import Tensor

FORMAT = "graphgrad-checkpoint"
VERSION = 1
_META = "__graphgrad__"


class CheckpointError(ValueError):
    """A file that is not a readable graphgrad checkpoint."""


def _encode(obj, arrays: dict, where: str):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, np.generic) and obj.dtype.kind in "biuf":
        return obj.item()
    if isinstance(obj, (np.ndarray, Tensor)):
        arr = obj.data if isinstance(obj, Tensor) else obj
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"save: array at {where} has dtype {arr.dtype}; only bool, int and float arrays can be saved"
            )
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__array__": key, "tensor": isinstance(obj, Tensor)}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays, where), _encode(v, arrays, f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else {"__list__": items}
    raise TypeError(f"save: cannot save a {type(obj).__name__} at {where} (dicts, lists, tuples, "
                    "numbers, strings, None, arrays and Tensors only)")


def _decode(node, arrays):
    if isinstance(node, dict):
        if "__array__" in node:
            arr = arrays[node["__array__"]]
            return Tensor(arr) if node.get("tensor") else arr
        if "__dict__" in node:
            out = {}
            for k, v in node["__dict__"]:
                out[_decode(k, arrays)] = _decode(v, arrays)
            return out
        if "__list__" in node:
            return [_decode(v, arrays) for v in node["__list__"]]
        if "__tuple__" in node:
            return tuple(_decode(v, arrays) for v in node["__tuple__"])
        raise ValueError(f"unknown node {sorted(node)}")
    return node


def _write_npz(f, members: dict) -> None:
    """Write the npz members to an open binary file (a seam the crash test interrupts)."""
    np.savez(f, **members)


def save(obj, path: str | os.PathLike) -> None:
    """Save a state dict (or nested dicts/lists of them) to `path`, atomically.

    >>> import nn, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> nn.save(nn.Linear(2, 1).state_dict(), p); sorted(nn.load(p))
    ['bias', 'weight']
    """
    path = os.fspath(path)
    arrays: dict = {}
    tree = _encode(obj, arrays, "root")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "root": tree}, allow_nan=True)
    members = dict(arrays)
    members[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    with atomic_open(path) as f:
        _write_npz(f, members)


def load(path: str | os.PathLike):
    """Load what `save` wrote; arrays come back as numpy arrays, Tensors as Tensors.
    A missing, truncated or foreign file raises `CheckpointError` naming it."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no checkpoint at {path!r}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise CheckpointError(f"load: {path!r} is a single .npy array, not a graphgrad checkpoint")
            if _META not in z.files:
                raise CheckpointError(
                    f"load: {path!r} is an .npz file but not a graphgrad checkpoint (no {_META!r} member)"
                )
            meta = json.loads(bytes(z[_META]).decode("utf-8"))
            if meta.get("format") != FORMAT:
                raise CheckpointError(f"load: {path!r} has format {meta.get('format')!r}; expected {FORMAT!r}")
            if meta.get("version") != VERSION:
                raise CheckpointError(
                    f"load: {path!r} is checkpoint version {meta.get('version')}; this graphgrad reads {VERSION}"
                )
            arrays = {k: z[k] for k in z.files if k != _META}
            return _decode(meta["root"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"load: {path!r} is not a readable graphgrad checkpoint (corrupt or truncated?): {e}"
        ) from None
