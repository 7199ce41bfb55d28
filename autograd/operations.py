"""The public array functions (`autograd.exp`, `autograd.sum`, ...), also bound as Tensor methods.

Each checks and normalises its arguments (numpy keywords, `dim=`/`keepdim=` aliases) and
calls a registered primitive; composites (var, std, squeeze, stack, ...) are written from
primitives and get their gradients for free.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np

from . import engine
from .engine import apply, apply1, apply2
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reductions as R
from .ops import shape as S


def as_tensor(x):
    """x itself if it is a Tensor, else a constant Tensor made from it."""
    if isinstance(x, engine.Tensor):
        return x
    from .tensor import tensor

    return tensor(x)


def _shape_of(x):
    return tuple(np.shape(engine.raw(x)))


# --------------------------------------------------------------------------- argument checks
def _axes(op: str, x, axis, keepdims, dim=None, keepdim=None):
    """Normalise numpy/PyTorch reduction keywords to (tuple of axes or None, keepdims)."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: pass axis= or dim=, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if axis is None:
        return None, bool(keepdims)
    ndim = x.ndim
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < (ndim or 1):  # (`max` is ours here)
            raise ValueError(
                f"{op}: axis {a!r} is out of range for a tensor of shape {x.shape} (ndim {ndim})"
            )
        a = int(a) % ndim if ndim else 0
        if a in out:
            raise ValueError(f"{op}: axis {a} repeated in {axis!r}")
        out.append(a)
    if ndim == 0:
        return None, bool(keepdims)
    return tuple(sorted(out)), bool(keepdims)


def _one_axis(op: str, x, axis, dim=None) -> int:
    if dim is not None:
        axis = dim
    (a,), _ = _axes(op, x, axis, False) if x.ndim else ((0,), False)
    return a


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


# --------------------------------------------------------------------------- elementwise
def add(x, y):
    """x + y with broadcasting."""
    return apply2(E.Add, x, y)


def sub(x, y):
    """x - y with broadcasting."""
    return apply2(E.Sub, x, y)


def mul(x, y):
    """x * y with broadcasting."""
    return apply2(E.Mul, x, y)


def div(x, y):
    """x / y with broadcasting."""
    return apply2(E.Div, x, y)


def pow(x, y):  # noqa: A001 - numpy's and PyTorch's name
    """x ** y with broadcasting."""
    return apply2(E.Pow, x, y)


def neg(x):
    """-x."""
    return apply1(E.Neg, as_tensor(x))


def _unary(op, doc):
    def fn(x):
        return apply1(op, as_tensor(x))

    fn.__name__ = op.name
    fn.__qualname__ = op.name
    fn.__doc__ = doc
    return fn


exp = _unary(E.Exp, "Elementwise e**x.\n\n>>> import autograd\n>>> autograd.exp(autograd.tensor(0.0)).item()\n1.0")
log = _unary(E.Log, "Elementwise natural logarithm.")
sqrt = _unary(E.Sqrt, "Elementwise square root (gradient inf at 0, as PyTorch).")
abs = _unary(E.Abs, "Elementwise |x| (gradient 0 at 0, as PyTorch).")  # noqa: A001
sin = _unary(E.Sin, "Elementwise sine.")
cos = _unary(E.Cos, "Elementwise cosine.")
tanh = _unary(E.Tanh, "Elementwise hyperbolic tangent.")
sigmoid = _unary(E.Sigmoid, "Elementwise logistic function 1/(1+exp(-x)), overflow-free.")
relu = _unary(E.Relu, "Elementwise max(x, 0).")
erf = _unary(E.Erf, "Elementwise error function.")


def leaky_relu(x, negative_slope: float = 0.01):
    """x where x > 0, else negative_slope * x."""
    return apply(E.LeakyRelu, as_tensor(x), negative_slope=float(negative_slope))


def gelu(x, approximate: str = "none"):
    """Gaussian error linear unit x·Φ(x); approximate="tanh" uses the tanh formula (as torch)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")
    return apply(E.Gelu, as_tensor(x), approximate=approximate)


def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold (as torch)."""
    return apply(E.Softplus, as_tensor(x), beta=float(beta), threshold=float(threshold))


def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's clamp names
    """Limit values to [min, max]; either bound may be None. Gradient passes inside, bounds included."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    return apply(E.Clip, as_tensor(x), min=min, max=max)


def maximum(x, y):
    """Elementwise maximum with broadcasting (a tie splits the gradient evenly)."""
    return apply2(E.Maximum, x, y)


def minimum(x, y):
    """Elementwise minimum with broadcasting (a tie splits the gradient evenly)."""
    return apply2(E.Minimum, x, y)


def where(condition, x, y):
    """x where condition holds, else y (broadcast together). No gradient flows to condition."""
    cond = np.asarray(engine.raw(condition))
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be boolean; got dtype {cond.dtype}")
    return apply(E.Where, cond, _operand(x), _operand(y))


def _operand(x):
    """Tensors as they are, other data as `engine.constant` makes it."""
    return x if isinstance(x, engine.Tensor) else engine.constant(x)


# --------------------------------------------------------------------------- reductions
def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Sum over `axis` (int, tuple or None for all); numpy keywords, `dim=`/`keepdim=` accepted.

    >>> import autograd
    >>> autograd.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(axis=0).tolist()
    [4.0, 6.0]
    """
    x = as_tensor(x)
    axis, keepdims = _axes("sum", x, axis, keepdims, dim, keepdim)
    return apply(R.Sum, x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Mean over `axis`."""
    x = as_tensor(x)
    axis, keepdims = _axes("mean", x, axis, keepdims, dim, keepdim)
    return apply(R.Mean, x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Max over `axis`; tied maxima share the gradient evenly."""
    x = as_tensor(x)
    axis, keepdims = _axes("max", x, axis, keepdims, dim, keepdim)
    _nonempty("max", x, axis)
    return apply(R.Max, x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):  # noqa: A001
    """Min over `axis`; tied minima share the gradient evenly."""
    x = as_tensor(x)
    axis, keepdims = _axes("min", x, axis, keepdims, dim, keepdim)
    _nonempty("min", x, axis)
    return apply(R.Min, x, axis=axis, keepdims=keepdims)


def _nonempty(op, x, axis):
    if x.size == 0:
        raise ValueError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")


def var(x, axis=None, ddof: int = 0, keepdims=False, *, dim=None, keepdim=None, correction=None):
    """Variance over `axis` with numpy's `ddof` (default 0, the biased estimate).

    `correction=` (PyTorch's name) is accepted as an alias of `ddof`.
    """
    x = as_tensor(x)
    if correction is not None:
        ddof = correction
    axis, keepdims = _axes("var", x, axis, keepdims, dim, keepdim)
    n = x.size if axis is None else math.prod(x.shape[a] for a in axis)
    d = x - apply(R.Mean, x, axis=axis, keepdims=True)
    return apply(R.Sum, d * d, axis=axis, keepdims=keepdims) / (n - ddof)


def std(x, axis=None, ddof: int = 0, keepdims=False, *, dim=None, keepdim=None, correction=None):
    """Standard deviation over `axis` (sqrt of `var`)."""
    return sqrt(var(x, axis, ddof, keepdims, dim=dim, keepdim=keepdim, correction=correction))


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log(sum(exp(x))) over `axis`, shifted by the max: finite for logits of ±1e4."""
    x = as_tensor(x)
    axis, keepdims = _axes("logsumexp", x, axis, keepdims, dim, keepdim)
    return apply(R.LogSumExp, x, axis=axis, keepdims=keepdims)


def softmax(x, axis: int = -1, *, dim=None):
    """exp(x) / sum(exp(x)) along one axis (default the last), computed stably."""
    x = as_tensor(x)
    return apply(R.Softmax, x, axis=_one_axis("softmax", x, axis, dim))


def log_softmax(x, axis: int = -1, *, dim=None):
    """x - logsumexp(x) along one axis (default the last): finite for logits of ±1e4."""
    x = as_tensor(x)
    return apply(R.LogSoftmax, x, axis=_one_axis("log_softmax", x, axis, dim))


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Indices of the maxima (an integer Tensor, no gradient)."""
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    return engine._make(np.asarray(np.argmax(x.data, axis=axis, keepdims=bool(keepdim or keepdims))), None)


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Indices of the minima (an integer Tensor, no gradient)."""
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    return engine._make(np.asarray(np.argmin(x.data, axis=axis, keepdims=bool(keepdim or keepdims))), None)


# --------------------------------------------------------------------------- shapes
def reshape(x, *shape):
    """Reshape to `shape` (a tuple or separate ints; one -1 allowed)."""
    x = as_tensor(x)
    shape = _shape_arg(shape)
    if shape == x.shape:
        return x
    known = math.prod(s for s in shape if s != -1)  # (np.prod on a list costs ~8 µs)
    free = [s for s in shape if s == -1]
    bad = any(s < -1 for s in shape) or len(free) > 1
    if free and not bad:
        bad = known == 0 or x.size % known != 0
    elif not bad:
        bad = known != x.size
    if bad:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
            f"into shape {shape}"
        )
    return apply(S.Reshape, x, shape=shape)


def transpose(x, *axes):
    """Permute axes (reverse them when none are given), as numpy.transpose."""
    x = as_tensor(x)
    if not axes or axes == (None,):
        axes = tuple(range(x.ndim))[::-1]
    else:
        axes = _shape_arg(axes)
        if any(not -x.ndim <= a < x.ndim for a in axes) or sorted(
            a % x.ndim for a in axes
        ) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
        axes = tuple(a % x.ndim for a in axes)
    if axes == tuple(range(x.ndim)):
        return x
    return apply(S.Transpose, x, axes=axes)


def swapaxes(x, axis1: int, axis2: int):
    """Exchange two axes."""
    x = as_tensor(x)
    (a,), _ = _axes("swapaxes", x, axis1, False)
    (b,), _ = _axes("swapaxes", x, axis2, False)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, tuple(perm))


def broadcast_to(x, shape):
    """Broadcast to `shape` (numpy rules); the gradient is summed back."""
    x = as_tensor(x)
    shape = _shape_arg((shape,))
    try:
        np.broadcast_shapes(x.shape, shape)
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}") from None
    if shape == x.shape:
        return x
    return apply(S.BroadcastTo, x, shape=shape)


def expand_dims(x, axis):
    """Insert axes of length 1 at `axis` (int or tuple), as numpy.expand_dims."""
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = x.ndim + len(axes)
    pos = sorted(int(a) % ndim for a in axes if -ndim <= a < ndim)
    if len(pos) != len(axes) or len(set(pos)) != len(pos):
        raise ValueError(f"expand_dims: axis {axis!r} is invalid for a tensor of shape {x.shape}")
    shape = list(x.shape)
    for p in pos:
        shape.insert(p, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None, *, dim=None):
    """Remove axes of length 1 (all of them, or those in `axis`)."""
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes, _ = _axes("squeeze", x, axis, False)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length {x.shape[a]}, not 1")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


def flatten(x, start_dim: int = 0, end_dim: int = -1):
    """Merge axes start_dim..end_dim into one (all axes by default, as torch.flatten)."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    s = start_dim % x.ndim
    e = end_dim % x.ndim
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    merged = math.prod(x.shape[s : e + 1])
    return reshape(x, x.shape[:s] + (merged,) + x.shape[e + 1 :])


def concatenate(tensors: Sequence, axis: int = 0, *, dim=None):
    """Join tensors along an existing axis."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("concatenate: need at least one tensor")
    axis = dim if dim is not None else axis
    ref = ts[0]
    if ref.ndim == 0:
        raise ValueError("concatenate: zero-dimensional tensors cannot be concatenated")
    (a,), _ = _axes("concatenate", ref, axis, False)
    for i, t in enumerate(ts[1:], 1):
        if t.ndim != ref.ndim or any(
            s != r for j, (s, r) in enumerate(zip(t.shape, ref.shape)) if j != a
        ):
            raise ValueError(
                f"concatenate: tensor {i} has shape {t.shape}, incompatible with tensor 0's "
                f"shape {ref.shape} along axis {a} (all other axes must match)"
            )
    return apply(S.Concatenate, *ts, axis=a)


def stack(tensors: Sequence, axis: int = 0, *, dim=None):
    """Join tensors of one shape along a new axis."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("stack: need at least one tensor")
    for i, t in enumerate(ts[1:], 1):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}; tensor 0 has {ts[0].shape}")
    axis = dim if dim is not None else axis
    return concatenate([expand_dims(t, axis) for t in ts], axis=axis)


# --------------------------------------------------------------------------- linear algebra
def matmul(a, b):
    """Matrix product with numpy's rules: 1-d operands, 2-d, batched with broadcasting.

    >>> import autograd
    >>> (autograd.tensor([[1.0, 2.0]]) @ autograd.tensor([[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    a, b = as_tensor(a), as_tensor(b)
    sa, sb = a.shape, b.shape
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: operands must be at least 1-d; got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: shapes {sa} and {sb} are not aligned: {ka} != {kb}")
    if len(sa) > 2 and len(sb) > 2:
        try:
            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ValueError(
                f"matmul: batch shapes {sa[:-2]} and {sb[:-2]} of {sa} and {sb} do not broadcast"
            ) from None
    return apply2(L.Matmul, a, b)


def astype(x, dtype):
    """Cast to `dtype`; the gradient is cast back to the input's dtype."""
    x = as_tensor(x)
    dtype = np.dtype(dtype)
    if dtype == x.dtype:
        return x
    return apply(E.Cast, x, dtype=dtype)


def getitem(x, index):
    """x[index]: slices, ints, None, Ellipsis, integer arrays (repeats accumulate), boolean masks."""
    x = as_tensor(x)
    index = _index(index)
    try:
        return apply(S.GetItem, x, index=index)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {x.shape})") from None


def _index(index):
    if isinstance(index, tuple):
        return tuple(_index_item(i) for i in index)
    return _index_item(index)


def _index_item(i):
    if isinstance(i, engine.Tensor):
        i = i.data
    elif isinstance(i, list):
        i = np.asarray(i)
    if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
        raise IndexError(f"getitem: index arrays must be integer or boolean; got dtype {i.dtype}")
    return i


# Comparisons carry no gradient: they return boolean Tensors.
def _compare(fn):
    def compare(x, y):
        return engine._make(np.asarray(fn(engine.raw(x), engine.raw(y))), None)

    return compare


equal = _compare(operator.eq)
not_equal = _compare(operator.ne)
less = _compare(operator.lt)
less_equal = _compare(operator.le)
greater = _compare(operator.gt)
greater_equal = _compare(operator.ge)
