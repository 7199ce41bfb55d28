"""What `nn` needs of arrays beyond the array API, for every library alike (numpy, CuPy,
array-api-strict): moving an array to where another one lives, naming a device, and in-place
elementwise writes.

The optimizers and DDP write their results into existing arrays (`np.multiply(a, b, out=w)`),
which allocates nothing. numpy and CuPy take `out=`; the array API has no `out=`, so for other
libraries `with_out(xp)` gives stand-ins that compute the result and copy it in (the same
numbers, one temporary more).
"""

from __future__ import annotations

import numpy as np

from autograd import backend


def check_device(device) -> None:
    """Raise the RuntimeError `backend.on_device` would, before anything moves (CUDA without a GPU)."""
    backend.on_device(np.zeros(0), device)


def like(a, ref):
    """`a` (an array of any library, or a number) in `ref`'s library and on `ref`'s device: `a`
    itself when it is there already, else a copy (through the host)."""
    xp = backend.namespace(ref)
    if xp is np:
        if isinstance(a, np.ndarray):
            return a
        return np.array(backend.to_numpy(a), copy=True) if backend.is_array(a) else np.asarray(a)
    if backend.is_array(a) and backend.namespace(a) is xp and backend.device_name(a) == backend.device_name(ref):
        return a
    return xp.asarray(backend.to_numpy(a) if backend.is_array(a) else np.asarray(a), device=ref.device)


def same_place(a, b) -> bool:
    """Whether two arrays are of one library, on one device, of one dtype."""
    return type(a) is type(b) and a.dtype == b.dtype and backend.device_name(a) == backend.device_name(b)


_OUT: dict = {}


def with_out(xp):
    """`xp` itself when its elementwise functions take `out=` (numpy, CuPy), else `CopyOut(xp)`."""
    if xp is np:
        return np
    w = _OUT.get(xp)
    if w is None:
        probe = xp.zeros(1)
        try:
            xp.multiply(probe, probe, out=probe)
            w = xp
        except TypeError:
            w = CopyOut(xp)
        _OUT[xp] = w
    return w


class CopyOut:
    """The elementwise functions `nn` calls with `out=`, for a library without `out=`: each
    computes its result and copies it into `out`."""

    def __init__(self, xp):
        self.xp = xp

    def add(self, a, b, out):
        out[...] = a + b
        return out

    def subtract(self, a, b, out):
        out[...] = a - b
        return out

    def multiply(self, a, b, out):
        out[...] = a * b
        return out

    def divide(self, a, b, out):
        out[...] = a / b
        return out

    def maximum(self, a, b, out):
        out[...] = self.xp.maximum(a, b)
        return out

    def sqrt(self, a, out):
        out[...] = self.xp.sqrt(a)
        return out

    def clip(self, a, lo, hi, out):
        out[...] = self.xp.clip(a, lo, hi)
        return out
