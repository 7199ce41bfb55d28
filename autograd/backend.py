"""The array library behind a Tensor: numpy on the CPU, CuPy on an NVIDIA GPU, and any library
that implements the Python array API standard (array-api-strict in the tests).

The engine and the ops never name a library. They ask an array for its namespace,
`xp = namespace(a)`, and call the standard's functions on it (`xp.exp`, `xp.sum`,
`xp.permute_dims`, `xp.astype`, ...). For numpy arrays that namespace is numpy itself (numpy 2
implements the standard in its main namespace), so the CPU path calls exactly what it called
before, at the cost of one type test. Other libraries are reached through `array_api_compat`
when it is installed (it fills CuPy's gaps), else through the array's `__array_namespace__`.

What the standard lacks is in one table, here, with one implementation per library:

  erf(x)                       numpy: a series and a continued fraction (to ~1e-15);
                               CuPy: cupyx.scipy.special.erf; others: through the host
  scatter_add(a, index, v)     a[index] += v with repeated indices summed, in place:
                               numpy: np.add.at; CuPy: cupyx.scatter_add; others: host
  errstate(xp, ...)            numpy's floating-point warning control; a no-op elsewhere
  to_numpy(a), on_device(a, d) moving arrays between host and device (explicit, never silent)
"""

from __future__ import annotations

import contextlib
import math
import sys

import numpy as np

_BY_TYPE: dict[type, object] = {np.ndarray: np}


def namespace(a):
    """The array namespace of `a` (numpy for numpy arrays, scalars and Python numbers)."""
    t = type(a)
    xp = _BY_TYPE.get(t)
    if xp is None:
        xp = _lookup(a)
    return xp


def namespace_of(*values):
    """The namespace of the first array among `values` (numpy when all are scalars): for ops
    whose first operand may be a Python number (`2.0 - x`)."""
    for v in values:
        if type(v) is np.ndarray:
            return np
        if not isinstance(v, (int, float, bool, complex)) and is_array(v):
            return namespace(v)
    return np


def _lookup(a):
    t = type(a)
    if t.__module__.split(".")[0] == "cupy":  # (by name first: whatever CuPy's version implements)
        try:
            import array_api_compat.cupy as xp
        except ImportError:
            import cupy as xp
        _BY_TYPE[t] = xp
        return xp
    if isinstance(a, (np.ndarray, np.generic, int, float, bool, complex)) or not hasattr(a, "__array_namespace__"):
        return np  # numpy subclasses (compile's traced arrays), scalars, lists
    try:
        import array_api_compat
    except ImportError:
        xp = a.__array_namespace__()
    else:
        xp = array_api_compat.array_namespace(a)
    _BY_TYPE[t] = xp
    return xp


def is_numpy(a) -> bool:
    return namespace(a) is np


def is_array(a) -> bool:
    """True for numpy arrays and other array-API arrays, CuPy's included (not for scalars or lists)."""
    if isinstance(a, np.ndarray):
        return True
    if isinstance(a, np.generic):
        return False
    return hasattr(a, "__array_namespace__") or (type(a).__module__.startswith("cupy") and hasattr(a, "shape"))


def library(a) -> str:
    """The array library's name: "numpy", "cupy", "array_api_strict", ..."""
    return "numpy" if namespace(a) is np else type(a).__module__.split(".")[0]


def device_name(a) -> str:
    """The device of an array as graphgrad names it: "cpu", "cuda:0", or the library's own
    name for other array-API devices."""
    if namespace(a) is np:
        return "cpu"
    dev = getattr(a, "device", None)
    lib = library(a)
    if lib == "cupy":
        return f"cuda:{getattr(dev, 'id', 0)}"
    text = str(dev)
    if "('" in text:  # array_api_strict.Device('CPU_DEVICE') -> CPU_DEVICE
        text = text.split("('", 1)[1].rstrip("')")
    return f"{lib}:{text}"


def astype(x, dtype):
    """`x` as `dtype`: numpy's method for numpy arrays (numpy's `np.astype` function costs a
    few microseconds more per call, a quarter of a small op), the standard's function else."""
    if type(x) is np.ndarray:
        return x.astype(dtype)
    return namespace(x).astype(x, dtype)


def copy(a):
    """A copy of array `a` in its library, on its device."""
    return a.copy() if type(a) is np.ndarray else namespace(a).asarray(a, copy=True)


def copy_into(dst, src, casting: str = "same_kind") -> None:
    """Write `src` (broadcast, cast) into `dst` in place: numpy's `copyto` for numpy arrays."""
    if type(dst) is np.ndarray:
        np.copyto(dst, src, casting=casting)
        return
    xp = namespace(dst)
    src = xp.asarray(src, device=dst.device) if not is_array(src) else src
    dst[...] = xp.astype(src, dst.dtype) if src.dtype != dst.dtype else src


def can_cast(from_, to) -> bool:
    """Whether `from_` casts to `to` within a kind (numpy's "same_kind"), in any library."""
    try:
        return bool(np.can_cast(np.dtype(from_), np.dtype(to), casting="same_kind"))
    except TypeError:
        return bool(np.can_cast(numpy_dtype(from_), numpy_dtype(to), casting="same_kind"))


def zeros_like_on(like, shape, dtype=None, fill=0):
    """An array of `fill` of `shape` in `like`'s library and on its device (`like`'s dtype
    unless given)."""
    xp = namespace(like)
    dtype = like.dtype if dtype is None else dtype
    if xp is np:
        return np.full(shape, fill, dtype=dtype) if fill else np.zeros(shape, dtype=dtype)
    return xp.full(shape, fill, dtype=dtype, device=like.device)


# ------------------------------------------------------------------ dtypes across libraries
def is_floating(dtype) -> bool:
    """A real floating dtype, of any library."""
    if isinstance(dtype, np.dtype):
        return dtype.kind == "f"
    try:
        return np.dtype(dtype).kind == "f"
    except TypeError:
        return _foreign_kind(dtype) == "f"


def kind(dtype) -> str:
    """numpy's one-letter kind ("b", "i", "u", "f", "c") of a dtype of any library."""
    if isinstance(dtype, np.dtype):
        return dtype.kind
    try:
        return np.dtype(dtype).kind
    except TypeError:
        return _foreign_kind(dtype)


def _foreign_kind(dtype) -> str:
    name = str(dtype).rsplit(".", 1)[-1]
    for prefix, k in (("bool", "b"), ("uint", "u"), ("int", "i"), ("float", "f"), ("complex", "c")):
        if name.startswith(prefix):
            return k
    return "O"


def dtype_name(dtype) -> str:
    """"float32", whichever library the dtype comes from (numpy's scalar types included)."""
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).rsplit(".", 1)[-1]


def numpy_dtype(dtype) -> np.dtype:
    """The numpy dtype of the same name (for another library's dtype)."""
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(dtype_name(dtype))


def dtype_in(xp, dtype):
    """The dtype of the same name in namespace `xp` (numpy's dtype objects for numpy)."""
    if xp is np:
        return numpy_dtype(dtype)
    return getattr(xp, dtype_name(dtype))


# ------------------------------------------------------------------ moving between devices
def to_numpy(a) -> np.ndarray:
    """A host numpy array with `a`'s values (a copy for device arrays, `a` itself for numpy)."""
    if isinstance(a, np.ndarray):
        return a
    if not is_array(a):
        return np.asarray(a)
    if library(a) == "cupy":
        return a.get()
    return np.from_dlpack(a) if hasattr(a, "__dlpack__") else np.asarray(a)


def cupy_or_none():
    """The cupy module when it is installed and sees a GPU, else None."""
    try:
        import cupy
    except ImportError:
        return None
    try:
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # noqa: BLE001 - no driver, no device: CUDA is not available
        return None


def on_device(a, device, who: str = "to"):
    """`a` on `device` ("cpu" or "cuda[:n]"), or in the array library `device` when it is an
    array-API namespace (`array_api_strict`): the same array when it is there already, else a
    copy there. Raises RuntimeError naming the device when it is not available."""
    if not isinstance(device, str) and hasattr(device, "asarray"):  # a namespace
        return a if is_array(a) and namespace(a) is device else device.asarray(to_numpy(a), copy=True)
    dev = str(device)
    lib = dev.split(":")[0]
    if lib not in ("cpu", "cuda"):  # another library's device name, as device_name gives it
        xp = sys.modules.get(lib)  # (a library whose arrays exist has been imported)
        if xp is None or not hasattr(xp, "asarray"):
            raise RuntimeError(f"{who}: unknown device {dev!r}; expected 'cpu', 'cuda' or 'cuda:<n>'")
        return on_device(a, xp, who)
    here = device_name(a) if is_array(a) else "cpu"
    if dev == here or (dev == "cuda" and here.startswith("cuda")):
        return a
    if dev == "cpu":
        return np.array(to_numpy(a), copy=True) if not isinstance(a, np.ndarray) else a
    if dev.split(":")[0] == "cuda":
        cp = cupy_or_none()
        if cp is None:
            raise RuntimeError(f"{who}: device {dev!r} is not available: CUDA needs CuPy and an NVIDIA GPU "
                               f"(pip install 'graphgrad[gpu]'); autograd.cuda.is_available() is False")
        index = int(dev.split(":")[1]) if ":" in dev else 0
        with cp.cuda.Device(index):
            return cp.asarray(to_numpy(a))
    raise RuntimeError(f"{who}: unknown device {dev!r}; expected 'cpu', 'cuda' or 'cuda:<n>'")


# ------------------------------------------------------------------ what the standard lacks
def errstate(xp, **kw):
    """numpy's `errstate` for numpy arrays; other libraries don't warn: a no-op there."""
    return np.errstate(**kw) if xp is np else contextlib.nullcontext()


def erf(x):
    """The error function, elementwise, in x's dtype."""
    xp = namespace(x)
    if xp is np:
        return _erf_numpy(x)
    if library(x) == "cupy":
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(x)
    return _via_host(_erf_numpy, x)


def scatter_add(a, index, values) -> None:
    """`a[index] += values` with repeated indices summed (numpy's `np.add.at`), in place."""
    xp = namespace(a)
    if xp is np:
        np.add.at(a, index, values)
    elif library(a) == "cupy":
        import cupyx

        cupyx.scatter_add(a, index, values)
    else:
        host = np.array(to_numpy(a), copy=True)
        np.add.at(host, _host_index(index), to_numpy(values))
        a[...] = xp.asarray(host, device=a.device)


def _host_index(index):
    if isinstance(index, tuple):
        return tuple(_host_index(i) for i in index)
    return to_numpy(index) if is_array(index) else index


def _via_host(fn, x):
    """fn on a host copy of x, brought back to x's library and device (for the table's gaps)."""
    xp = namespace(x)
    return xp.asarray(fn(to_numpy(x)), device=x.device)


_SQRT_PI = math.sqrt(math.pi)


def _erf_numpy(x):
    """erf to ~1e-15: a positive series below |x| 2.5, a continued fraction for erfc above."""
    x = np.asarray(x)
    a = np.abs(x.astype(np.float64))
    out = np.empty_like(a)
    small = a < 2.5
    s = a[small]
    if s.size:
        t2 = 2.0 * s * s
        term = s.copy()
        total = s.copy()
        n = 0
        while True:
            n += 1
            term *= t2 / (2 * n + 1)
            total += term
            if n % 4 == 0 and not np.any(term > 1e-17 * total):
                break
        out[small] = (2.0 / _SQRT_PI) * np.exp(-s * s) * total
    b = a[~small]
    if b.size:
        f = b.copy()
        for k in range(40, 0, -1):
            f = b + (k / 2.0) / f
        out[~small] = 1.0 - np.exp(-b * b) / (_SQRT_PI * f)
    out = np.copysign(out, x)
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out
