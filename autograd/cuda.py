"""`autograd.cuda`: whether graphgrad can put tensors on an NVIDIA GPU (CuPy and a device)."""

from __future__ import annotations

from . import backend


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device.

    >>> import autograd
    >>> isinstance(autograd.cuda.is_available(), bool)
    True
    """
    return backend.cupy_or_none() is not None


def device_count() -> int:
    """How many CUDA devices CuPy sees (0 without CuPy)."""
    cp = backend.cupy_or_none()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


def synchronize() -> None:
    """Wait for the GPU's queued work to finish (for timing; a no-op without CUDA)."""
    cp = backend.cupy_or_none()
    if cp is not None:
        cp.cuda.Device().synchronize()
