"""Anomaly mode: find the line of user code that made a NaN or an infinity.

While it is on (per thread), every recorded op remembers where in the user's code it was
called (the first stack frame outside autograd), and any NaN or inf in an op's forward
output or in the gradients its backward returns raises `AnomalyError` naming the op, the
output or input index and that file and line. Off by default; when off the engine pays one
flag test per recorded op and per backward node, nothing more.

>>> import autograd
>>> x = autograd.tensor([-1.0], requires_grad=True)
>>> with autograd.detect_anomaly():
...     y = autograd.sqrt(x)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
autograd.anomaly.AnomalyError: Function 'sqrt' returned nan values in its 0th output...
"""

from __future__ import annotations

import functools
import linecache
import sys
import threading
import weakref

import numpy as np

from . import backend
from .mode import state, threads
from .tensor import Tensor

_count_lock = threading.Lock()

# Frames of these packages are library code, not the user's: an op's origin is the first frame
# outside them. Libraries built on autograd add themselves (`nn` does) with `library_package`.
_LIBRARIES = {"autograd"}

# node -> Origin; weak so that recording an origin never keeps a graph alive.
_origins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def library_package(name: str) -> None:
    """Treat frames of package `name` as library code when finding the user's line."""
    _LIBRARIES.add(name.partition(".")[0])


class AnomalyError(RuntimeError):
    """A NaN or inf came out of an op's forward or backward while anomaly mode was on.

    Attributes: `op` (the op's name), `phase` ("forward" or "backward"), `index` (the output
    index in forward, the input index in backward), `kind` ("nan" or "inf"), `filename`
    and `lineno` of the user's call to the op (None when unknown).
    """

    def __init__(self, message, op, phase, index, kind, filename=None, lineno=None):
        super().__init__(message)
        self.op, self.phase, self.index, self.kind = op, phase, index, kind
        self.filename, self.lineno = filename, lineno


class Origin:
    """Where an op was called: the user's frame and the user frames above it."""

    __slots__ = ("filename", "lineno", "function", "stack")

    def __init__(self, stack):
        self.stack = stack  # [(filename, lineno, function)], innermost first
        self.filename, self.lineno, self.function = stack[0] if stack else (None, None, None)

    def text(self) -> str:
        lines = []
        for filename, lineno, function in self.stack:
            code = linecache.getline(filename, lineno).strip()
            lines.append(f'  File "{filename}", line {lineno}, in {function}' + (f"\n    {code}" if code else ""))
        return "\n".join(lines)


def _user_origin(depth: int = 6) -> Origin:
    """The innermost `depth` stack frames outside autograd (and nn), innermost first."""
    f = sys._getframe(1)
    while f is not None and str(f.f_globals.get("__name__", "")).partition(".")[0] in _LIBRARIES:
        f = f.f_back
    stack = []
    while f is not None and len(stack) < depth:
        stack.append((f.f_code.co_filename, f.f_lineno, f.f_code.co_name))
        f = f.f_back
    return Origin(stack)


def _bad(a) -> str | None:
    """'nan' or 'inf' when the array holds one, else None (integer arrays are never bad)."""
    a = a.data if isinstance(a, Tensor) else a
    if not backend.is_array(a):
        a = np.asarray(a)
    if backend.kind(a.dtype) not in "fc":
        return None
    xp = backend.namespace(a)
    if bool(xp.all(xp.isfinite(a))):
        return None
    return "nan" if bool(xp.any(xp.isnan(a))) else "inf"


def _ordinal(i: int) -> str:
    return f"{i}th"  # PyTorch's wording ("0th output") users search for


def _where(origin) -> str:
    if origin is None or origin.filename is None:
        return "(origin unknown: the op was recorded before anomaly mode was turned on)"
    return f"at {origin.filename}:{origin.lineno}, in {origin.function}:\n{origin.text()}"


def forward_check(node, out, index: int = 0) -> None:
    """Engine hook at record time: remember the user's frame, raise on a bad output."""
    origin = _user_origin()
    _origins[node] = origin
    if state.check_nan:
        kind = _bad(out)
        if kind:
            name = node.op.name
            raise AnomalyError(
                f"Function '{name}' returned {kind} values in its {_ordinal(index)} output "
                f"(shape {tuple(np.shape(out.data if isinstance(out, Tensor) else out))}). "
                f"It was called {_where(origin)}",
                name, "forward", index, kind, origin.filename, origin.lineno,
            )


def backward_check(node, gin) -> None:
    """Engine hook after a node's backward: raise when a gradient holds a NaN or inf."""
    if gin is None or not state.check_nan:
        return
    for i, gi in enumerate(gin):
        if gi is None or i >= len(node.needs) or not node.needs[i]:
            continue
        kind = _bad(gi)
        if kind:
            name = node.op.name
            origin = _origins.get(node)
            raise AnomalyError(
                f"Function '{name}Backward' returned {kind} values in its {_ordinal(i)} output "
                f"(the gradient for input {i}, shape {tuple(np.shape(gi.data if isinstance(gi, Tensor) else gi))}). "
                f"The forward op '{name}' was called {_where(origin)}",
                name, "backward", i, kind,
                origin.filename if origin else None, origin.lineno if origin else None,
            )


def origin_of(tensor_or_node) -> Origin | None:
    """Where the op that made a tensor (or a node) was called, if anomaly mode was on then."""
    node = getattr(tensor_or_node, "_node", tensor_or_node)
    return _origins.get(node) if node is not None else None


def is_anomaly_enabled() -> bool:
    """Whether anomaly mode is on in this thread."""
    return bool(state.anomaly)


def set_detect_anomaly(mode: bool, check_nan: bool = True) -> None:
    """Turn anomaly mode on or off for this thread (see `detect_anomaly`)."""
    mode = bool(mode)
    if mode != bool(state.anomaly):
        with _count_lock:
            threads.anomaly += 1 if mode else -1
    state.anomaly = mode
    state.check_nan = bool(check_nan)


class detect_anomaly:
    """Context manager and decorator: anomaly mode on inside, restored after.

    With `check_nan=False` ops only record where they were called (no NaN checks).

    >>> import autograd
    >>> with autograd.detect_anomaly():
    ...     autograd.is_anomaly_enabled()
    True
    >>> autograd.is_anomaly_enabled()
    False
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = bool(check_nan)
        self._prev: list[tuple[bool, bool]] = []

    def __enter__(self):
        self._prev.append((bool(state.anomaly), state.check_nan))
        set_detect_anomaly(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        set_detect_anomaly(*self._prev.pop())
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper
