"""The GPU tests (issue 14): graphgrad on CuPy arrays on a CUDA device, run by `make test-gpu`.

Every test here is marked `gpu` and skipped, with the reason, where CuPy or a CUDA device is
missing. They run the checks of tests/test_array_api.py (the registry, training, checkpoints,
device mixing) with CuPy in place of array-api-strict, plus what only a GPU has.

`GRAPHGRAD_GPU_DRY_RUN=1 make test-gpu` runs them on a machine without a GPU, with
array-api-strict standing in for CuPy: a check of the tests themselves (the GPU-only ones skip).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograd import backend

HERE = Path(__file__).parent
DRY_RUN = os.environ.get("GRAPHGRAD_GPU_DRY_RUN", "").strip().lower() in ("1", "true", "yes")


def _target():
    """(the device under test, or None; the reason when None)."""
    if DRY_RUN:
        try:
            import array_api_strict as xs
        except ImportError:
            return None, "GRAPHGRAD_GPU_DRY_RUN needs array-api-strict (pip install -e '.[dev]')"
        return SimpleNamespace(device=xs, lib="array_api_strict", array=xs.asarray, cupy=None,
                               sync=lambda: None, name="array-api-strict (dry run)"), None
    try:
        import cupy  # noqa: F401
    except ImportError:
        return None, "CuPy is not installed (pip install -e '.[gpu]')"
    except Exception as e:  # noqa: BLE001 - a broken CUDA install raises more than ImportError
        return None, f"CuPy does not import: {e}"
    cp = backend.cupy_or_none()
    if cp is None:
        return None, "CuPy sees no CUDA device (no NVIDIA GPU or driver here)"
    name = cp.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    return SimpleNamespace(device="cuda", lib="cupy", array=cp.asarray, cupy=cp,
                           sync=lambda: cp.cuda.Device().synchronize(), name=name), None


TARGET, REASON = _target()


def pytest_report_header(config):
    return f"gpu tests: {TARGET.name if TARGET else 'skipped: ' + REASON}"


@pytest.hookimpl(tryfirst=True)  # (before `-m gpu` selects by marker)
def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason=REASON) if TARGET is None else None
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gpu)
            if skip is not None:
                item.add_marker(skip)


@pytest.fixture(scope="session")  # (session: hypothesis refuses function-scoped fixtures)
def target():
    """The device under test: .device ("cuda", or array_api_strict in a dry run), .lib (the
    array library's name), .array (numpy -> that library), .cupy (None in a dry run), .sync()."""
    return TARGET


@pytest.fixture
def cupy_only(target):
    if target.cupy is None:
        pytest.skip("needs CuPy on a CUDA device (not run in a dry run)")
    return target.cupy


