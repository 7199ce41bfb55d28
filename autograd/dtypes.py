"""The default floating dtype and conversion of user data to arrays (numpy, or the array
library the data already lives in: CuPy, array-api-strict, ...)."""

from __future__ import annotations

import numpy as np

from . import backend

_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_default = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python floats become (float32 out of the box).

    >>> import autograd, numpy as np
    >>> autograd.set_default_dtype(np.float64); autograd.tensor(1.0).dtype
    dtype('float64')
    >>> autograd.set_default_dtype(np.float32)
    """
    global _default
    dt = np.dtype(dtype)
    if dt not in _FLOATS:
        raise TypeError(
            f"set_default_dtype: expected a floating dtype (float16, float32, float64); got {dt}"
        )
    _default = dt


def get_default_dtype() -> np.dtype:
    """The dtype that Python floats become."""
    return _default


def is_float(dtype) -> bool:
    return backend.is_floating(dtype)


def as_array(data, dtype=None, copy: bool = False) -> np.ndarray:
    """Convert user data to an ndarray: arrays keep their dtype; Python floats take the default
    float dtype, Python ints int64, bools bool (as PyTorch infers them). Anything else (strings,
    objects) is refused."""
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biufc":
            raise TypeError(f"tensor: cannot make a tensor from an array of dtype {data.dtype}")
        if dtype is not None:
            return data.astype(dtype, copy=copy)
        return data.copy() if copy else data
    if not isinstance(data, np.generic) and backend.is_array(data):  # another array library: stays there
        xp = backend.namespace(data)
        if backend.kind(data.dtype) not in "biufc":
            raise TypeError(f"tensor: cannot make a tensor from an array of dtype {data.dtype}")
        if dtype is not None:
            return xp.astype(data, backend.dtype_in(xp, dtype), copy=copy)
        return xp.asarray(data, copy=True) if copy else data
    if isinstance(data, np.generic):
        arr = np.array(data, dtype=dtype)
    else:
        try:
            arr = np.array(data)
        except (ValueError, TypeError) as e:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: {e}") from None
        if arr.dtype.kind == "f" and dtype is None:
            arr = arr.astype(_default, copy=False)
        elif arr.dtype.kind in "iu" and dtype is None:
            arr = arr.astype(np.int64, copy=False)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} {data!r:.80} (dtype {arr.dtype})")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr
