"""`nn.save` / `nn.load`: state dicts (nested dicts, lists, numbers, strings, arrays and
Tensors) in one `.npz` file, without pickle.

Arrays become the npz's members; everything else is a JSON tree stored beside them (member
`__graphgrad__`) that refers to the arrays by name. Writing is atomic (`autograd._io`): a
crash mid-save leaves the previous checkpoint intact, and the file gets the usual permissions.

Loading trusts nothing in the file: the JSON tree is checked node by node, members must be
bool, int or float arrays, and their declared sizes are added up from the npy headers before
any array is allocated, so a small file cannot inflate into gigabytes (a zip bomb). The
limit is `max_bytes`: by default the larger of 1 GiB and 16 times the file's size (`nn.save`
stores members uncompressed, so its files declare about their own size).

Arrays on a device (CuPy, array-api-strict) are saved from a host copy; `load` gives numpy
arrays, or puts them on `map_location` ("cuda", "cpu", an array namespace). A model's
`load_state_dict` copies each value onto the device its parameter is on, wherever it came from.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
import zlib

import numpy as np

from autograd import Tensor, backend
from autograd.files import atomic_open

from ._arrays import check_device

FORMAT = "graphgrad-checkpoint"
VERSION = 1
MAX_DEPTH = 100  # nesting of dicts/lists/tuples; a state dict needs a handful
MIN_LIMIT = 1 << 30  # bytes the arrays of any checkpoint may declare...
SIZE_RATIO = 16  # ...or this many times the file's size, whichever is larger
_META = "__graphgrad__"
_KINDS = "biuf"  # bool, int, unsigned, float
# What a damaged or foreign zip can raise while being read.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
                KeyError, RuntimeError)  # RuntimeError: encrypted members, unsupported compression


# What goes wrong before the file's contents are seen: the OS's own error, worded for nn.load.
_OPEN_ERRORS = {FileNotFoundError: "no checkpoint at this path",
                PermissionError: "permission denied reading the checkpoint (check its mode and owner)",
                IsADirectoryError: "the path is a folder; expected a checkpoint file"}


class CheckpointError(ValueError):
    """A file that is not a readable graphgrad checkpoint."""


def _encode(obj, arrays: dict, where: str, depth: int = 0):
    if depth > MAX_DEPTH:
        raise ValueError(f"nn.save: {where} is nested deeper than {MAX_DEPTH} levels")
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if isinstance(obj, np.generic) and obj.dtype.kind in _KINDS:
        return obj.item()
    if isinstance(obj, Tensor) or backend.is_array(obj):
        arr = backend.to_numpy(obj.data if isinstance(obj, Tensor) else obj)  # (a host copy of device arrays)
        if arr.dtype.kind not in _KINDS:
            raise TypeError(
                f"nn.save: array at {where} has dtype {arr.dtype}; only bool, int and float arrays can be saved"
            )
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__array__": key, "tensor": isinstance(obj, Tensor)}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays, where, depth + 1), _encode(v, arrays, f"{where}[{k!r}]", depth + 1)]
                             for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else {"__list__": items}
    raise TypeError(f"nn.save: cannot save a {type(obj).__name__} at {where} (dicts, lists, tuples, "
                    "numbers, strings, None, arrays and Tensors only)")


def _decode(node, arrays: dict, bad, depth: int = 0):
    """Rebuild what `_encode` wrote; `bad(what)` makes the CheckpointError for a malformed node."""
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if depth > MAX_DEPTH:
        raise bad(f"metadata nested deeper than {MAX_DEPTH} levels")
    tags = set(node) if isinstance(node, dict) else set()
    if tags in ({"__array__"}, {"__array__", "tensor"}):
        key = node["__array__"]
        if not isinstance(key, str) or key not in arrays or not isinstance(node.get("tensor", False), bool):
            raise bad(f"metadata node {str(node)[:80]} does not name an array of the file")
        return Tensor(arrays[key]) if node.get("tensor") else arrays[key]
    value = node.get(next(iter(tags))) if len(tags) == 1 else None
    if tags in ({"__list__"}, {"__tuple__"}) and isinstance(value, list):
        items = [_decode(v, arrays, bad, depth + 1) for v in value]
        return items if "__list__" in tags else tuple(items)
    if tags == {"__dict__"} and isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 for p in value):
        out = {}
        for k, v in value:
            key, item = _decode(k, arrays, bad, depth + 1), _decode(v, arrays, bad, depth + 1)
            try:
                out[key] = item
            except TypeError:
                raise bad(f"metadata has a dict key that cannot be hashed: {str(key)[:80]}") from None
        return out
    raise bad(f"malformed metadata node {str(node)[:80]}")


def _write_npz(f, members: dict) -> None:
    """Write the npz members to an open binary file (a seam the crash test interrupts)."""
    np.savez(f, **members)


def save(obj, path: str | os.PathLike) -> None:
    """Save a state dict (or nested dicts/lists of them) to `path`, atomically.
    A symlink is written through; a read-only file raises `PermissionError`, as `open` would.

    >>> import nn, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> nn.save(nn.Linear(2, 1).state_dict(), p); sorted(nn.load(p))
    ['bias', 'weight']
    """
    if os.fspath(path) in ("", b""):
        raise ValueError("nn.save: the path is empty; expected a file name such as 'model.npz'")
    arrays: dict = {}
    tree = _encode(obj, arrays, "root")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "root": tree}, allow_nan=True)
    members = dict(arrays)
    members[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    with atomic_open(path, "nn.save") as f:
        _write_npz(f, members)


def load(path: str | os.PathLike, *, max_bytes: int | None = None, map_location=None):
    """Load what `save` wrote; arrays come back as numpy arrays, Tensors as Tensors, on the
    host, or on `map_location` when given ("cuda", "cuda:1", "cpu", an array namespace such as
    `array_api_strict`; RuntimeError before reading when that device is not available).

    A file that is not a sound checkpoint (truncated, foreign, malformed, or declaring more
    than `max_bytes` of arrays; default in the module docstring) raises `CheckpointError`
    naming it; a missing or unreadable file raises `FileNotFoundError` / `PermissionError`.
    """
    path = os.fspath(path)
    if path in ("", b""):
        raise ValueError("nn.load: the path is empty; expected the file name of a checkpoint")
    if map_location is not None:
        check_device(map_location)
    try:
        f = open(path, "rb")
    except tuple(_OPEN_ERRORS) as e:
        raise type(e)(e.errno, f"nn.load: {_OPEN_ERRORS[type(e)]}", path) from None
    with f:
        if f.read(6) == b"\x93NUMPY":
            raise CheckpointError(f"nn.load: {path!r} is a single .npy array (numpy.save), not a graphgrad "
                                  "checkpoint; expected an .npz file written by nn.save")
        limit = max_bytes if max_bytes is not None else max(MIN_LIMIT, SIZE_RATIO * os.fstat(f.fileno()).st_size)
        try:
            with zipfile.ZipFile(f) as zf:
                return _read(zf, path, limit, map_location)
        except CheckpointError:
            raise
        except _READ_ERRORS as e:
            raise CheckpointError(
                f"nn.load: {path!r} is not a readable graphgrad checkpoint (corrupt or truncated?): {e}"
            ) from None


def _read(zf: zipfile.ZipFile, path: str, limit: int, map_location=None):
    """The checkpoint in an open zip: members checked, metadata checked, then arrays read."""
    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"nn.load: {path!r} is not a valid graphgrad checkpoint: {what}")

    infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
    if _META not in infos:
        raise CheckpointError(f"nn.load: {path!r} is an .npz file but not a graphgrad checkpoint "
                              f"(no {_META!r} member)")
    others = [i.filename for i in zf.infolist() if not i.filename.endswith(".npy")]
    if others:
        raise bad(f"member {others[0][:80]!r} is not an .npy array")
    total = 0
    for key, info in infos.items():
        shape, dtype = _member_header(zf, info, key, bad)
        total += math.prod(shape) * dtype.itemsize
        if total > limit:
            raise CheckpointError(
                f"nn.load: {path!r}: member {key!r} declares a {dtype} array of shape {shape}, which brings the "
                f"arrays to {total:,} bytes, over the limit of {limit:,} bytes (a damaged file or a zip bomb?); "
                "pass max_bytes= to load a larger checkpoint on purpose")
    meta = _read_meta(zf, infos.pop(_META), bad)
    arrays = {}
    for key, info in infos.items():
        with zf.open(info) as fp:
            arrays[key] = np.lib.format.read_array(fp, allow_pickle=False)
    if map_location is not None:
        arrays = {k: backend.on_device(a, map_location) for k, a in arrays.items()}
    return _decode(meta["root"], arrays, bad)


def _member_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, bad) -> tuple[tuple, np.dtype]:
    """The shape and dtype an npy member declares; refuses what a checkpoint never holds."""
    with zf.open(info) as fp:
        version = np.lib.format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise bad(f"member {key!r} has npy format version {version}; expected 1.0 or 2.0")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(fp)
    if dtype.kind not in _KINDS:
        raise bad(f"member {key!r} has dtype {dtype}; expected a bool, int or float array")
    if any(n < 0 for n in shape):
        raise bad(f"member {key!r} has a negative dimension in its shape {shape}")
    return shape, dtype


def _read_meta(zf: zipfile.ZipFile, info: zipfile.ZipInfo, bad) -> dict:
    """The JSON tree, checked for the format and version this code writes."""
    with zf.open(info) as fp:
        raw = np.lib.format.read_array(fp, allow_pickle=False)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise bad(f"metadata member has dtype {raw.dtype} and shape {raw.shape}; expected 1-d uint8 (JSON text)")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise bad(f"metadata is not valid JSON ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(meta, dict) or "root" not in meta:
        raise bad("metadata is not a JSON object with a 'root'")
    if meta.get("format") != FORMAT:
        raise bad(f"format {str(meta.get('format'))[:80]!r}; expected {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise bad(f"checkpoint version {str(meta.get('version'))[:80]}; this graphgrad reads version {VERSION}")
    return meta
