"""The default floating dtype and conversion of user data to numpy arrays."""

from __future__ import annotations

import numpy as np

_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
_default = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python numbers and lists become (float32 out of the box).

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
    """The dtype that Python numbers and lists become."""
    return _default


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def as_array(data, dtype=None, copy: bool = False) -> np.ndarray:
    """Convert user data to an ndarray: arrays keep their dtype, Python numbers and lists
    of numbers take the default float dtype, bools stay bool."""
    if isinstance(data, np.ndarray):
        if dtype is not None:
            return data.astype(dtype, copy=copy)
        return data.copy() if copy else data
    if isinstance(data, np.generic):
        return np.array(data, dtype=dtype)
    arr = np.array(data)
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype == object:
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: {data!r:.80}")
    if arr.dtype.kind in "iuf":
        return arr.astype(_default, copy=False)
    return arr
