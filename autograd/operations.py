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

from . import backend
from .dtypes import as_array
from .node import _array, apply, binary, constant, raw, unary
from .ops import device as D
from .ops import elementwise as E
from .ops import linalg as L
from .ops import reductions as R
from .ops import shape as S
from .tensor import Tensor, make, method
from .tensor import device as _TDevice


def as_tensor(x) -> Tensor:
    """x itself if it is a Tensor, else a constant Tensor made from it."""
    return x if isinstance(x, Tensor) else make(as_array(x))


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
        # (a 0-d tensor takes axis 0 or -1, as PyTorch's dim does)
        if not isinstance(a, (int, np.integer)) or not -(ndim or 1) <= a < (ndim or 1):
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
    axes, _ = _axes(op, x, axis, False)
    return axes[0] if axes else 0


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


# --------------------------------------------------------------------------- elementwise
def _binary_function(op, name, doc, python_name):
    """The public function and operators of a binary op: `add(x, y)`, `x.add(y)`, `x + y`, `1 + x`."""

    def fn(x, y):
        return binary(op, x, y)

    def reflected(x, y):
        return binary(op, y, x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    reflected.__name__ = reflected.__qualname__ = f"__r{python_name}__"
    method(f"__r{python_name}__")(reflected)
    return method(op.name, f"__{python_name}__")(fn)


add = _binary_function(E.Add, "add", "x + y with broadcasting.", "add")
sub = _binary_function(E.Sub, "sub", "x - y with broadcasting.", "sub")
mul = _binary_function(E.Mul, "mul", "x * y with broadcasting.", "mul")
div = _binary_function(E.Div, "div", "x / y with broadcasting.", "truediv")
power = _binary_function(E.Pow, "pow", "x ** y with broadcasting (`autograd.pow`, `x.pow(y)`).", "pow")


@method("neg", "__neg__")
def neg(x):
    """-x."""
    return unary(E.Neg, as_tensor(x))


@method("__pos__")
def _pos(x):
    return x


def _unary(op, doc, name=None):
    def fn(x):
        return unary(op, x if isinstance(x, Tensor) else as_tensor(x))

    fn.__name__ = fn.__qualname__ = name or op.name
    fn.__doc__ = doc
    return method(op.name)(fn)


exp = _unary(E.Exp, "Elementwise e**x.\n\n>>> import autograd\n>>> autograd.exp(autograd.tensor(0.0)).item()\n1.0")
log = _unary(E.Log, "Elementwise natural logarithm.")
sqrt = _unary(E.Sqrt, "Elementwise square root (gradient inf at 0, as PyTorch).")
absolute = _unary(E.Abs, "Elementwise |x| (gradient 0 at 0, as PyTorch): `autograd.abs`.", "abs")
method("__abs__")(absolute)
sin = _unary(E.Sin, "Elementwise sine.")
cos = _unary(E.Cos, "Elementwise cosine.")
tanh = _unary(E.Tanh, "Elementwise hyperbolic tangent.")
sigmoid = _unary(E.Sigmoid, "Elementwise logistic function 1/(1+exp(-x)), overflow-free.")
relu = _unary(E.Relu, "Elementwise max(x, 0).")
erf = _unary(E.Erf, "Elementwise error function.")
clone = _unary(E.Clone, "A copy with its own memory that stays in the graph (gradient passes through).")


@method("leaky_relu")
def leaky_relu(x, negative_slope: float = 0.01):
    """x where x > 0, else negative_slope * x."""
    return apply(E.LeakyRelu, as_tensor(x), negative_slope=float(negative_slope))


@method("gelu")
def gelu(x, approximate: str = "none"):
    """Gaussian error linear unit x·Φ(x); approximate="tanh" uses the tanh formula (as torch)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh'; got {approximate!r}")
    return apply(E.Gelu, as_tensor(x), approximate=approximate)


@method("softplus")
def softplus(x, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold (as torch)."""
    return apply(E.Softplus, as_tensor(x), beta=float(beta), threshold=float(threshold))


@method("clip", "clamp")
def clip(x, min=None, max=None):  # noqa: A002 - PyTorch's clamp names
    """Limit values to [min, max]; either bound may be None, a number, or a Tensor (broadcast).

    The gradient passes to x inside the bounds, bounds included (as torch.clamp); a Tensor
    bound gets it where it is the result.

    >>> import autograd
    >>> autograd.tensor([-2.0, 0.5, 3.0]).clip(-1, 1).tolist()
    [-1.0, 0.5, 1.0]
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        x = as_tensor(x)
        if min is not None:
            x = where(raw(x) < raw(min), min, x)
        if max is not None:
            x = where(raw(x) > raw(max), max, x)
        return x
    if isinstance(min, np.ndarray) or isinstance(max, np.ndarray) or isinstance(min, list) or isinstance(max, list):
        return clip(x, None if min is None else as_tensor(min), None if max is None else as_tensor(max))
    return apply(E.Clip, as_tensor(x), min=min, max=max)


@method("maximum")
def maximum(x, y):
    """Elementwise maximum with broadcasting (a tie splits the gradient evenly)."""
    return binary(E.Maximum, x, y)


@method("minimum")
def minimum(x, y):
    """Elementwise minimum with broadcasting (a tie splits the gradient evenly)."""
    return binary(E.Minimum, x, y)


def where(condition, x, y):
    """x where condition holds, else y (broadcast together). No gradient flows to condition."""
    cond = raw(condition)
    if not backend.is_array(cond):  # a Python bool or list: made where the operands are
        cond = np.asarray(cond)
        like = next((raw(v) for v in (x, y) if backend.is_array(raw(v))), None)
        if like is not None and type(like) is not np.ndarray:
            cond = backend.on_device(cond, backend.namespace(like))
    if backend.kind(cond.dtype) != "b":
        raise TypeError(f"where: condition must be boolean; got dtype {cond.dtype}")
    return apply(E.Where, cond, _operand(x), _operand(y))


def _operand(x):
    """Tensors as they are, other data as `engine.constant` makes it."""
    return x if isinstance(x, Tensor) else constant(x)


# --------------------------------------------------------------------------- reductions
@method("sum")
def reduce_sum(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over `axis` (int, tuple or None for all); numpy keywords, `dim=`/`keepdim=` accepted.

    >>> import autograd
    >>> autograd.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(axis=0).tolist()
    [4.0, 6.0]
    """
    x = as_tensor(x)
    axis, keepdims = _axes("sum", x, axis, keepdims, dim, keepdim)
    return apply(R.Sum, x, axis=axis, keepdims=keepdims)


@method("mean")
def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Mean over `axis`."""
    x = as_tensor(x)
    axis, keepdims = _axes("mean", x, axis, keepdims, dim, keepdim)
    return apply(R.Mean, x, axis=axis, keepdims=keepdims)


@method("max")
def reduce_max(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Max over `axis` (`autograd.max`); tied maxima share the gradient evenly."""
    return _extreme(R.Max, x, axis, keepdims, dim, keepdim)


@method("min")
def reduce_min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Min over `axis` (`autograd.min`); tied minima share the gradient evenly."""
    return _extreme(R.Min, x, axis, keepdims, dim, keepdim)


def _extreme(op, x, axis, keepdims, dim, keepdim):
    x = as_tensor(x)
    axis, keepdims = _axes(op.name, x, axis, keepdims, dim, keepdim)
    if any(x.shape[a] == 0 for a in (range(x.ndim) if axis is None else axis)) or x.size == 0 and axis is None:
        raise ValueError(f"{op.name}: cannot reduce over an axis of length 0 (tensor shape {x.shape}, axis {axis})")
    return apply(op, x, axis=axis, keepdims=keepdims)


@method("var")
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


@method("std")
def std(x, axis=None, ddof: int = 0, keepdims=False, *, dim=None, keepdim=None, correction=None):
    """Standard deviation over `axis` with numpy's `ddof` (default 0; `correction=` is PyTorch's
    name). Its gradient is 0 where it is 0 (a constant), as PyTorch's. Integer input gives
    float64, as numpy's (and as `mean` and `var` here)."""
    x = _floating(as_tensor(x))
    if correction is not None:
        ddof = correction
    axis, keepdims = _axes("std", x, axis, keepdims, dim, keepdim)
    return apply(R.Std, x, axis=axis, keepdims=keepdims, ddof=int(ddof))


def _floating(x):
    """x, or x as float64 when it holds integers or booleans (for statistics of counts)."""
    return x if backend.kind(x.dtype) in "fc" else astype(x, np.float64)


@method("norm")
def norm(x, p=2, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Vector p-norm over `axis` (all elements by default): p = 2, 1, inf or any p > 0.
    The 2-norm's gradient at 0 is 0, as PyTorch's. Integer input gives float64, as numpy's.

    >>> import autograd
    >>> autograd.tensor([3.0, 4.0]).norm().item()
    5.0
    """
    x = _floating(as_tensor(x))
    axis, keepdims = _axes("norm", x, axis, keepdims, dim, keepdim)
    if p == 2 or p == "fro":
        return apply(R.Norm, x, axis=axis, keepdims=keepdims)
    a = unary(E.Abs, x)
    if p == np.inf:
        return apply(R.Max, a, axis=axis, keepdims=keepdims)
    if p == 1:
        return apply(R.Sum, a, axis=axis, keepdims=keepdims)
    if isinstance(p, (int, float)) and p > 0:
        return apply(R.Sum, a**p, axis=axis, keepdims=keepdims) ** (1.0 / p)
    raise ValueError(f"norm: p must be a positive number, inf or 'fro'; got {p!r}")


@method("logsumexp")
def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """log(sum(exp(x))) over `axis`, shifted by the max: finite for logits of ±1e4."""
    x = as_tensor(x)
    axis, keepdims = _axes("logsumexp", x, axis, keepdims, dim, keepdim)
    return apply(R.LogSumExp, x, axis=axis, keepdims=keepdims)


@method("softmax")
def softmax(x, axis: int = -1, *, dim=None):
    """exp(x) / sum(exp(x)) along one axis (default the last), computed stably."""
    x = as_tensor(x)
    return apply(R.Softmax, x, axis=_one_axis("softmax", x, axis, dim))


@method("log_softmax")
def log_softmax(x, axis: int = -1, *, dim=None):
    """x - logsumexp(x) along one axis (default the last): finite for logits of ±1e4."""
    x = as_tensor(x)
    return apply(R.LogSoftmax, x, axis=_one_axis("log_softmax", x, axis, dim))


@method("any")
def any_(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Whether any element (along `axis`) is true: a boolean Tensor, no gradient (`autograd.any`)."""
    x = as_tensor(x)
    axis, keepdims = _axes("any", x, axis, keepdims, dim, keepdim)
    return make(_array(backend.namespace(x.data).any(x.data, axis=axis, keepdims=keepdims)))


@method("all")
def all_(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Whether every element (along `axis`) is true: a boolean Tensor, no gradient (`autograd.all`)."""
    x = as_tensor(x)
    axis, keepdims = _axes("all", x, axis, keepdims, dim, keepdim)
    return make(_array(backend.namespace(x.data).all(x.data, axis=axis, keepdims=keepdims)))


@method("argmax")
def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Indices of the maxima (an integer Tensor, no gradient)."""
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    return make(_array(backend.namespace(x.data).argmax(x.data, axis=axis, keepdims=bool(keepdim or keepdims))))


@method("argmin")
def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Indices of the minima (an integer Tensor, no gradient)."""
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    return make(_array(backend.namespace(x.data).argmin(x.data, axis=axis, keepdims=bool(keepdim or keepdims))))


# --------------------------------------------------------------------------- shapes
@method("reshape", "view")
def reshape(x, *shape):
    """Reshape to `shape` (a tuple or separate ints; one -1 allowed)."""
    x = as_tensor(x)
    shape = _shape_arg(shape)
    if shape == x.shape:  # still a new tensor, a view of x (as PyTorch): its hooks are its own
        return apply(S.Reshape, x, shape=shape)
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


@method("transpose", "permute")
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
    return apply(S.Transpose, x, axes=axes)


@method("swapaxes")
def swapaxes(x, axis1: int, axis2: int):
    """Exchange two axes."""
    x = as_tensor(x)
    if x.ndim == 0:
        _axes("swapaxes", x, axis1, False)  # (checks them)
        _axes("swapaxes", x, axis2, False)
        return apply(S.Reshape, x, shape=())
    (a,), _ = _axes("swapaxes", x, axis1, False)
    (b,), _ = _axes("swapaxes", x, axis2, False)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, tuple(perm))


@method("broadcast_to")
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
    return apply(S.BroadcastTo, x, shape=shape)


@method("expand_dims", "unsqueeze")
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


@method("squeeze")
def squeeze(x, axis=None, *, dim=None):
    """Remove axes of length 1 (all of them, or those in `axis`)."""
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    if axis is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        axes, _ = _axes("squeeze", x, axis, False)
        if axes is None:  # a 0-d tensor: nothing to squeeze, still a new view
            return apply(S.Reshape, x, shape=())
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {x.shape} has length {x.shape[a]}, not 1")
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
    return reshape(x, shape)


@method("flatten")
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
@method("matmul", "__matmul__", "mm")
def matmul(a, b):
    """Matrix product with numpy's rules: 1-d operands, 2-d, batched with broadcasting.

    >>> import autograd
    >>> (autograd.tensor([[1.0, 2.0]]) @ autograd.tensor([[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    a, b = as_tensor(a), as_tensor(b)
    if a.dtype != b.dtype and backend.is_floating(a.dtype) and backend.is_floating(b.dtype) and \
            backend.dtype_name(a.dtype) != backend.dtype_name(b.dtype):  # (one dtype, two libraries: the device check says it)
        raise TypeError(
            f"matmul: both operands must have the same dtype, but got {a.dtype} and {b.dtype}; cast "
            "one of them (x.float() / x.double(), or model.float() / model.double())"
        )
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
    return binary(L.Matmul, a, b)


@method("astype")
def astype(x, dtype):
    """Cast to `dtype`; the gradient is cast back to the input's dtype."""
    x = as_tensor(x)
    dtype = backend.dtype_in(backend.namespace(x.data), dtype)
    if dtype == x.dtype:
        return x
    return apply(E.Cast, x, dtype=dtype)


@method("__getitem__")
def getitem(x, index):
    """x[index]: slices, ints, None, Ellipsis, integer arrays (repeats accumulate), boolean masks."""
    return apply(S.GetItem, as_tensor(x), index=_index(index))  # (errors name op, shape, index)


def _index(index):
    if isinstance(index, tuple):
        return tuple(_index_item(i) for i in index)
    return _index_item(index)


def _index_item(i):
    if isinstance(i, Tensor):
        i = i.data
    elif isinstance(i, list):
        i = np.asarray(i)
    if backend.is_array(i) and backend.kind(i.dtype) not in "biu":
        raise IndexError(f"getitem: index arrays must be integer or boolean; got dtype {i.dtype}")
    return i


# Comparisons carry no gradient: they return boolean Tensors.
def _compare(fn):
    def compare(x, y):
        return make(_array(fn(raw(x), raw(y))))

    return compare


equal = method("__eq__", "eq")(_compare(operator.eq))
not_equal = method("__ne__", "ne")(_compare(operator.ne))
less = method("__lt__", "lt")(_compare(operator.lt))
less_equal = method("__le__", "le")(_compare(operator.le))
greater = method("__gt__", "gt")(_compare(operator.gt))
greater_equal = method("__ge__", "ge")(_compare(operator.ge))


@method("__rmatmul__")
def _rmatmul(x, y):
    return matmul(y, x)


@method("t")
def t(x):
    """The transpose of a tensor of at most 2 dimensions (PyTorch's `x.t()`)."""
    x = as_tensor(x)
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dimensions; got shape {x.shape} (use transpose)")
    return transpose(x)


# numpy's ufuncs on Tensors: the arithmetic ones are our ops (so `ndarray * Tensor` is recorded
# like `Tensor * ndarray`); the rest (np.isfinite, np.sign, ...) compute on the arrays and return
# arrays: no gradient, and visibly so.
_UFUNC_OPS = {np.add: add, np.subtract: sub, np.multiply: mul, np.true_divide: div, np.power: power,
              np.matmul: matmul, np.negative: neg, np.maximum: maximum, np.minimum: minimum}


@method()
def __array_ufunc__(self, ufunc, how, *inputs, **kwargs):
    if how == "__call__" and not kwargs and ufunc in _UFUNC_OPS:
        return _UFUNC_OPS[ufunc](*inputs)
    inputs = tuple(raw(a) for a in inputs)
    if "out" in kwargs:
        kwargs["out"] = tuple(raw(o) for o in kwargs["out"])
        if any(isinstance(o, Tensor) for o in kwargs["out"]):
            return NotImplemented
    return getattr(ufunc, how)(*inputs, **kwargs)


Tensor.T = property(transpose, doc="The tensor with its axes reversed (numpy's `.T`).")


@method("to")
def to(x, *args, dtype=None, device=None):
    """Move to a device and/or cast to a dtype, as PyTorch's `x.to(...)`: `x.to("cuda")`,
    `x.to("cpu")`, `x.to(autograd.float64)`, `x.to("cuda", autograd.float32)`, or another
    tensor's device and dtype with `x.to(other)`. An array-API namespace moves the data into
    that library (`x.to(array_api_strict)`). Returns x itself when nothing changes; a move is
    recorded (the gradient moves back), as a cast is.

    >>> import autograd
    >>> autograd.tensor([1.0]).to("cpu", autograd.float64).dtype
    dtype('float64')
    """
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str) and (a.split(":")[0] in ("cpu", "cuda") or ":" in a) or \
                (a is not None and not isinstance(a, (str, type)) and hasattr(a, "asarray")):
            device = a  # (another string is a dtype's name: x.to("float64"))
        elif a is not None:
            dtype = a
    x = as_tensor(x)
    if isinstance(dtype, str):
        try:
            np.dtype(dtype)
        except TypeError:
            raise TypeError(f"to: {dtype!r} is neither a device ('cpu', 'cuda', 'cuda:<n>') nor a dtype") from None
    if device is not None and not _here(x.data, device):
        source = x.device if type(x.data) is np.ndarray or x.device.type == "cuda" else backend.namespace(x.data)
        x = apply(D.ToDevice, x, device=device if not isinstance(device, str) else _TDevice(device), source=source)
    return x if dtype is None else astype(x, dtype)


def _here(data, device) -> bool:
    if not isinstance(device, str):  # a namespace
        return backend.is_array(data) and backend.namespace(data) is device
    here = backend.device_name(data) if backend.is_array(data) else "cpu"
    dev = _TDevice(device)
    return here == dev


@method("cpu")
def cpu(x):
    """The tensor on the CPU, as a numpy array (x itself when it is there)."""
    return to(x, "cpu")


@method("cuda")
def cuda(x, device=None):
    """The tensor on the GPU (`cuda:0`, or `cuda:<device>`); needs CuPy and an NVIDIA GPU."""
    return to(x, "cuda" if device is None else f"cuda:{device}")


@method("float")
def to_float32(x):
    """Cast to float32 (PyTorch's `x.float()`)."""
    return astype(x, np.float32)


@method("double")
def to_float64(x):
    """Cast to float64 (PyTorch's `x.double()`)."""
    return astype(x, np.float64)
