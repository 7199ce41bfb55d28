"""Per-thread recording state: grad mode, anomaly mode and the module scope of drawings.

The bottom of the engine: it imports nothing from autograd. Grad mode is thread-local as in
PyTorch: a thread started inside `no_grad()` has grad enabled.
"""

from __future__ import annotations

import functools
import threading


class _State(threading.local):
    enabled = True  # record operations for backward
    scope = None  # the nn.Module path whose forward is running (shown in drawings)
    anomaly = False  # autograd.detect_anomaly
    check_nan = True
    on_backward = None  # autograd.viz.record_grads: called with the roots before each backward
    tracer = None  # autograd.compile: called with (op, input arrays, attrs, output Tensor) per op


state = _State()


class _Threads:
    """How many threads have anomaly mode on, and a tracer set. Recording reads these plain
    counters first, so the thread-local state is consulted only while some thread uses them."""

    anomaly = 0
    trace = 0


threads = _Threads()


def is_grad_enabled() -> bool:
    """Whether operations are recorded for backward in this thread."""
    return state.enabled


class set_grad_enabled:
    """Context manager and decorator that turns recording on or off in this thread.

    >>> import autograd
    >>> with autograd.set_grad_enabled(False):
    ...     autograd.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._prev: list[bool] = []

    def __enter__(self):
        self._prev.append(state.enabled)
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self._prev.pop()
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(set_grad_enabled):
    """Don't record operations (inference, in-place parameter updates).

    >>> import autograd
    >>> x = autograd.tensor([1.0, 2.0], requires_grad=True)
    >>> with autograd.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record operations even inside `no_grad`."""

    def __init__(self):
        super().__init__(True)


def set_scope(scope):
    """Label the ops recorded from now on in this thread with `scope` (drawings group them by
    it; `nn.Module.__call__` passes itself). Returns the previous scope, to restore after."""
    prev = state.scope
    state.scope = scope
    return prev
