"""Tensor factories with PyTorch's names, signatures and dtype rules: `zeros(2, 3)`, `randn(4, dtype=...)`,
`arange(5)`, `cat([a, b], dim=1)`, `from_numpy(arr)`.

Shapes come as separate ints or one tuple/list (or `size=`). Floating results take
`autograd.get_default_dtype()` unless `dtype=` says otherwise; integer results are int64 as in PyTorch.
Random factories draw from the generator that `autograd.manual_seed` reseeds.

>>> import autograd
>>> from autograd.factories import zeros, arange, randn
>>> zeros(2, 3).shape, zeros((2, 3)).dtype
((2, 3), dtype('float32'))
>>> arange(4).dtype, arange(0, 1, 0.5).tolist()
(dtype('int64'), [0.0, 0.5])
>>> _ = autograd.manual_seed(0); a = randn(3)
>>> _ = autograd.manual_seed(0); bool((a.data == randn(3).data).all())
True
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from . import backend
from . import random as _random
from .dtypes import get_default_dtype
from .operations import concatenate
from .tensor import Tensor, make
from .tensor import device as _device

__all__ = [
    "zeros", "ones", "full", "empty", "zeros_like", "ones_like", "full_like", "rand", "randn", "randint",
    "arange", "linspace", "eye", "cat", "from_numpy",
]

_KINDS = "biufc"  # bool, signed and unsigned ints, floats, complex: what a Tensor may hold


# --------------------------------------------------------------------------- argument checks
def _dtype(fn: str, dtype, default) -> np.dtype:
    """dtype= as a numpy dtype (None gives `default`)."""
    if dtype is None:
        return np.dtype(default)
    try:
        dt = np.dtype(dtype) if isinstance(dtype, (str, type, np.dtype)) else backend.numpy_dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{fn}: dtype={dtype!r} is not a dtype; expected a numpy dtype, its name ('float32') "
            f"or autograd.float32"
        ) from None
    if dt.kind not in _KINDS:
        raise TypeError(f"{fn}: dtype {dt} cannot be held by a Tensor; expected a bool, integer, float or complex one")
    return dt


def _float_dtype(fn: str, dtype) -> np.dtype:
    """dtype= for the random floating factories (None gives the default float dtype)."""
    dt = _dtype(fn, dtype, get_default_dtype())
    if dt.kind != "f":
        raise TypeError(f"{fn}: expected a floating dtype (float16, float32, float64); got {dt}")
    return dt


def _int(fn: str, what: str, value) -> int:
    """A Python int from an int or numpy integer; bools and floats are refused as PyTorch refuses them."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        raise TypeError(f"{fn}: {what} must be an int; got {value!r} (bool)")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{fn}: {what} must be an int; got {value!r} ({type(value).__name__})") from None


def _shape(fn: str, args: tuple, size=None) -> tuple[int, ...]:
    """The shape from `f(2, 3)`, `f((2, 3))`, `f([2, 3])` or `f(size=(2, 3))`."""
    if size is not None:
        if args:
            raise TypeError(f"{fn}: give the shape either positionally or as size=, not both; got {args} and {size!r}")
        args = (size,)
    if not args:
        raise TypeError(f"{fn}: missing the shape; e.g. {fn}(2, 3) or {fn}((2, 3))")
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    for d in args:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"{fn}: size must be ints; got {d!r} ({type(d).__name__}) in size {args}")
    dims = tuple(int(d) for d in args)
    if any(d < 0 for d in dims):
        raise ValueError(f"{fn}: negative dimension in size {dims}; every dimension must be >= 0")
    return dims


def _sequence_shape(fn: str, size) -> tuple[int, ...]:
    """A shape given as one argument (full, randint): a tuple or list of ints, or one int."""
    if isinstance(size, (tuple, list)):
        return _shape(fn, (size,))
    if isinstance(size, (numbers.Integral, np.integer)) and not isinstance(size, (bool, np.bool_)):
        return _shape(fn, (size,))
    raise TypeError(f"{fn}: size must be a tuple of ints such as (2, 3); got {size!r} ({type(size).__name__})")


def _scalar(fn: str, what: str, value):
    """A Python number from a number, numpy scalar or one-element 0-d Tensor/array."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (np.ndarray, np.generic)):
        if value.ndim != 0 or value.dtype.kind not in _KINDS:
            raise TypeError(f"{fn}: {what} must be a number; got an array of shape {value.shape}, dtype {value.dtype}")
        return value.item()
    if isinstance(value, numbers.Number):
        return value
    raise TypeError(f"{fn}: {what} must be a number; got {value!r} ({type(value).__name__})")


def _check_device(fn: str, device):
    """`device` as a `device` ("cpu", "cuda:0", ...) or an array-API namespace, or None."""
    if device is None or (not isinstance(device, str) and hasattr(device, "asarray")):
        return device
    try:
        return _device(device)
    except RuntimeError as e:
        raise ValueError(f"{fn}: {e}") from None


def _leaf(fn: str, arr: np.ndarray, requires_grad: bool, device=None) -> Tensor:
    """A leaf Tensor around `arr` (no copy), on `device` (made on the host, then moved)."""
    if requires_grad and arr.dtype.kind != "f":
        raise RuntimeError(f"{fn}: only Tensors of floating point dtype can require gradients; got dtype {arr.dtype}")
    if device is not None and device != "cpu":
        arr = backend.on_device(arr, device, fn)
    t = make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def _like_shape_dtype(fn: str, input) -> tuple[tuple[int, ...], np.dtype]:
    if isinstance(input, Tensor) or backend.is_array(input):
        return input.shape, backend.numpy_dtype(input.dtype)
    raise TypeError(f"{fn}: input must be a Tensor or numpy array; got {type(input).__name__}")


def _placement(input):
    """Where a `*_like` result goes by default: `input`'s device (or array library)."""
    data = input.data if isinstance(input, Tensor) else input
    if type(data) is np.ndarray or not backend.is_array(data):
        return None
    return _device(backend.device_name(data)) if backend.library(data) == "cupy" else backend.namespace(data)


def _number_dtype(value) -> np.dtype:
    """PyTorch's dtype for a Python number: bool, int64, the default float, or the matching complex."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, numbers.Integral):
        return np.dtype(np.int64)
    if isinstance(value, numbers.Real):
        return get_default_dtype()
    return np.dtype(np.complex64 if get_default_dtype() != np.float64 else np.complex128)


# --------------------------------------------------------------------------- filled
def zeros(*shape, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of zeros: `zeros(2, 3)` or `zeros((2, 3))`.

    >>> from autograd.factories import zeros
    >>> zeros(2).tolist()
    [0.0, 0.0]
    """
    device = _check_device("zeros", device)
    dt = _dtype("zeros", dtype, get_default_dtype())
    return _leaf("zeros", np.zeros(_shape("zeros", shape, size), dt), requires_grad, device)


def ones(*shape, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor of ones: `ones(2, 3)` or `ones((2, 3))`.

    >>> from autograd.factories import ones
    >>> ones(2, dtype="int64").tolist()
    [1, 1]
    """
    device = _check_device("ones", device)
    dt = _dtype("ones", dtype, get_default_dtype())
    return _leaf("ones", np.ones(_shape("ones", shape, size), dt), requires_grad, device)


def empty(*shape, size=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """An uninitialised tensor (its values are whatever the memory held)."""
    device = _check_device("empty", device)
    dt = _dtype("empty", dtype, get_default_dtype())
    return _leaf("empty", np.empty(_shape("empty", shape, size), dt), requires_grad, device)


def full(size, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A tensor filled with one value; its dtype follows the value (bool, int64 or the default float).

    >>> from autograd.factories import full
    >>> full((2,), 7).tolist(), full((2,), 7).dtype, full((2,), 0.5).dtype
    ([7, 7], dtype('int64'), dtype('float32'))
    """
    device = _check_device("full", device)
    shape = _sequence_shape("full", size)
    value = _scalar("full", "fill_value", fill_value)
    dt = _dtype("full", dtype, _number_dtype(value))
    return _leaf("full", np.full(shape, value, dt), requires_grad, device)


def zeros_like(input, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Zeros with the shape and (unless dtype= is given) the dtype of `input`."""
    device = _check_device("zeros_like", device) or _placement(input)
    shape, dt = _like_shape_dtype("zeros_like", input)
    return _leaf("zeros_like", np.zeros(shape, _dtype("zeros_like", dtype, dt)), requires_grad, device)


def ones_like(input, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Ones with the shape and (unless dtype= is given) the dtype of `input`."""
    device = _check_device("ones_like", device) or _placement(input)
    shape, dt = _like_shape_dtype("ones_like", input)
    return _leaf("ones_like", np.ones(shape, _dtype("ones_like", dtype, dt)), requires_grad, device)


def full_like(input, fill_value, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """`fill_value` with the shape and dtype of `input` (the value is cast: 2.7 in an int64 tensor is 2).

    >>> import numpy as np
    >>> from autograd.factories import full_like
    >>> full_like(np.zeros(2, np.int64), 2.7).tolist()
    [2, 2]
    """
    device = _check_device("full_like", device) or _placement(input)
    shape, dt = _like_shape_dtype("full_like", input)
    value = _scalar("full_like", "fill_value", fill_value)
    return _leaf("full_like", np.full(shape, value, _dtype("full_like", dtype, dt)), requires_grad, device)


def eye(n, m=None, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """An n×m matrix (m defaults to n) with ones on the diagonal.

    >>> from autograd.factories import eye
    >>> eye(2, 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    device = _check_device("eye", device)
    n = _int("eye", "n", n)
    m = n if m is None else _int("eye", "m", m)
    if n < 0 or m < 0:
        raise ValueError(f"eye: n and m must be >= 0; got n={n}, m={m}")
    return _leaf("eye", np.eye(n, m, dtype=_dtype("eye", dtype, get_default_dtype())), requires_grad, device)


# --------------------------------------------------------------------------- ranges
def arange(start=None, end=None, step=1, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Values from start (default 0) up to end, exclusive: int64 for integer arguments, else the default float.

    >>> from autograd.factories import arange
    >>> arange(3).tolist(), arange(1, 2, 0.25).tolist(), arange(3, 0, -1).tolist()
    ([0, 1, 2], [1.0, 1.25, 1.5, 1.75], [3, 2, 1])
    """
    device = _check_device("arange", device)
    if end is None:
        if start is None:
            raise TypeError("arange: missing end; expected arange(end), arange(start, end) or arange(start, end, step)")
        start, end = 0, start
    elif start is None:
        start = 0
    start, end, step = (_scalar("arange", w, v) for w, v in (("start", start), ("end", end), ("step", step)))
    args = (start, end, step)
    if any(isinstance(v, complex) for v in args):
        raise TypeError(f"arange: start, end and step must be real numbers; got {args}")
    integral = all(isinstance(v, numbers.Integral) for v in args)
    dt = _dtype("arange", dtype, np.int64 if integral else get_default_dtype())
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(
            f"arange: start={start}, end={end} and step={step} are inconsistent: "
            f"step must point from start towards end"
        )
    if integral:
        arr = np.arange(start, end, step, dtype=np.int64)
    else:
        # PyTorch's length and values: ceil((end - start) / step) points start + i*step, computed in float64
        n = math.ceil((end - start) / step)
        arr = start + step * np.arange(n, dtype=np.float64)
    return _leaf("arange", arr.astype(dt, copy=False), requires_grad, device)


def linspace(start, end, steps, *, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """`steps` evenly spaced values from start to end, both included, in the default float dtype.

    >>> from autograd.factories import linspace
    >>> linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    device = _check_device("linspace", device)
    start = _scalar("linspace", "start", start)
    end = _scalar("linspace", "end", end)
    steps = _int("linspace", "steps", steps)
    if steps < 0:
        raise ValueError(f"linspace: steps must be >= 0; got steps={steps}")
    dt = _dtype("linspace", dtype, get_default_dtype())
    work = np.complex128 if dt.kind == "c" else np.float64  # computed in double, rounded once to dt
    return _leaf("linspace", np.linspace(start, end, steps, dtype=work).astype(dt, copy=False), requires_grad, device)


# --------------------------------------------------------------------------- random
def _generator(fn: str, generator) -> np.random.Generator:
    if generator is None:
        return _random.generator()  # read at each call: manual_seed replaces it
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fn}: generator must be a numpy.random.Generator; got {type(generator).__name__}")
    return generator


def rand(*shape, size=None, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Uniform samples in [0, 1) from the generator seeded by `autograd.manual_seed`.

    >>> import autograd
    >>> from autograd.factories import rand
    >>> _ = autograd.manual_seed(0); x = rand(2, 3)
    >>> x.shape, bool(((0 <= x.data) & (x.data < 1)).all())
    ((2, 3), True)
    """
    device = _check_device("rand", device)
    shape = _shape("rand", shape, size)
    dt = _float_dtype("rand", dtype)
    draw = _generator("rand", generator).random(shape, dtype=np.float64 if dt == np.float64 else np.float32)
    return _leaf("rand", draw.astype(dt, copy=False), requires_grad, device)


def randn(*shape, size=None, generator=None, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """Standard normal samples from the generator seeded by `autograd.manual_seed`.

    >>> import autograd
    >>> from autograd.factories import randn
    >>> _ = autograd.manual_seed(0); randn(2, 3, requires_grad=True).requires_grad
    True
    """
    device = _check_device("randn", device)
    shape = _shape("randn", shape, size)
    dt = _float_dtype("randn", dtype)
    gen = _generator("randn", generator)
    draw = gen.standard_normal(shape, dtype=np.float64 if dt == np.float64 else np.float32)
    return _leaf("randn", draw.astype(dt, copy=False), requires_grad, device)


def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, requires_grad: bool = False,
            device=None) -> Tensor:
    """Integers drawn uniformly from [low, high): `randint(high, size)` or `randint(low, high, size)`, int64.

    >>> import autograd
    >>> from autograd.factories import randint
    >>> _ = autograd.manual_seed(0); x = randint(3, 7, (2, 4))
    >>> x.dtype, x.shape, bool(((3 <= x.data) & (x.data < 7)).all())
    (dtype('int64'), (2, 4), True)
    """
    device = _check_device("randint", device)
    pos = list(args)
    if size is None:
        if len(pos) < 2:
            raise TypeError(f"randint: expected randint(high, size) or randint(low, high, size); got {args}")
        size = pos.pop()
    if high is None:
        if not pos:
            raise TypeError(f"randint: missing high; expected randint(high, size) or randint(low, high, size); "
                            f"got {args}")
        high = pos.pop()
    if low is None:
        low = pos.pop() if pos else 0
    if pos:
        raise TypeError(f"randint: too many arguments {args}; expected randint(low, high, size)")
    low, high = _int("randint", "low", low), _int("randint", "high", high)
    shape = _sequence_shape("randint", size)
    if high <= low:
        raise ValueError(f"randint: high must be greater than low; got low={low}, high={high}")
    dt = _dtype("randint", dtype, np.int64)
    draw = _generator("randint", generator).integers(low, high, size=shape, dtype=np.int64)
    return _leaf("randint", draw.astype(dt, copy=False), requires_grad, device)


# --------------------------------------------------------------------------- joining and wrapping
def cat(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dimension (PyTorch's name for `concatenate`); gradients flow to each input.

    >>> from autograd.factories import cat, ones, zeros
    >>> cat([zeros(1, 2), ones(1, 2)], dim=1).tolist()
    [[0.0, 0.0, 1.0, 1.0]]
    """
    if dim is not None and axis is not None and dim != axis:
        raise TypeError(f"cat: give dim= or axis=, not both; got dim={dim}, axis={axis}")
    d = dim if dim is not None else (axis if axis is not None else 0)
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"cat: expected a list or tuple of Tensors; got {type(tensors).__name__}")
    ts = list(tensors)
    if not ts:
        raise ValueError("cat: expected a non-empty list of Tensors; got an empty one")
    return concatenate(ts, axis=_int("cat", "dim", d))


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A Tensor that shares memory with `ndarray`: writes to either are seen by the other.

    >>> import numpy as np
    >>> from autograd.factories import from_numpy
    >>> a = np.zeros(2); t = from_numpy(a); a[0] = 5
    >>> t.tolist(), t.dtype
    ([5.0, 0.0], dtype('float64'))
    """
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray; got {type(ndarray).__name__}")
    if ndarray.dtype.kind not in _KINDS:
        raise TypeError(
            f"from_numpy: cannot wrap an array of dtype {ndarray.dtype}; expected bool, integer, float or complex"
        )
    return make(ndarray)
