"""The Tensor: a numpy array, its gradient, and the node that made it. Thin by design:
operators and methods call the public functions in `autograd.operations`."""

from __future__ import annotations

import numpy as np

from . import engine
from . import operations as F
from .dtypes import as_array, get_default_dtype
from .engine import apply2
from .ops import elementwise as E


class Tensor:
    """An n-dimensional array (0-d for scalars) that records operations for reverse mode.

    >>> import autograd
    >>> x = autograd.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "name", "_hooks", "_retain", "__weakref__")
    __array_ufunc__ = None  # numpy defers to our operators: ndarray * Tensor -> Tensor

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        arr = as_array(data, dtype, copy=True)
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(
                f"tensor: only floating-point tensors can require gradients; got dtype {arr.dtype}"
            )
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self.name = name
        self._hooks = None
        self._retain = False

    # ---------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded op."""
        return self._node is None

    @property
    def grad_fn(self):
        """The graph node that produced this tensor (None for leaves)."""
        return self._node

    @property
    def T(self) -> Tensor:
        return F.transpose(self)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extra = []
        if self.data.dtype != get_default_dtype() and self.data.dtype.kind != "b":
            extra.append(f"dtype={self.data.dtype}")
        if self._node is not None:
            extra.append(f"grad_fn=<{self._node.op.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.append(f"name={self.name!r}")
        return "tensor(" + ", ".join([body] + extra) + ")"

    # ---------------------------------------------------------------- conversions
    def item(self):
        """The single value as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted; shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (shares memory)."""
        return self.data

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this data, cut from the graph."""
        return _make(self.data, None)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad in place on a leaf; returns self."""
        if self._node is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: cannot turn off gradient on a non-leaf tensor; use detach()"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad_: only floating-point tensors can require gradients; got dtype {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype) -> Tensor:
        return F.astype(self, dtype)

    def zero_(self) -> Tensor:
        """Fill with zeros in place (no graph): for buffers and parameters."""
        self.data[...] = 0
        return self

    # ---------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` that requires grad.

        `gradient` (same shape as self) is needed unless self has one element. The graph's
        saved buffers are freed afterwards unless `retain_graph=True`.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no grad_fn: no input of the "
                "computation requires grad, or it ran under no_grad()"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: gradient can be implied only for a tensor with one element; this one "
                    f"has shape {self.shape}: pass gradient= of that shape"
                )
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = engine.raw(gradient)
            seed = np.asarray(seed, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward: gradient has shape {seed.shape}; expected the output's shape {self.shape}"
                )
        engine.run_backward([self], [seed], retain_graph=retain_graph)

    def register_hook(self, fn):
        """Call fn(grad) when this tensor's gradient is computed; a non-None return replaces it.

        Returns a handle whose `remove()` unregisters the hook.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require grad")
        if self._hooks is None:
            self._hooks = {}
        handle = _HookHandle(self)
        self._hooks[handle.id] = fn
        return handle

    def retain_grad(self) -> None:
        """Keep `.grad` on a non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        self._retain = True

    def draw(self, **kwargs):
        """Draw the graph that computed this tensor: `autograd.viz.draw(self, **kwargs)`."""
        from . import viz

        return viz.draw(self, **kwargs)

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return apply2(E.Add, self, other)

    def __radd__(self, other):
        return apply2(E.Add, other, self)

    def __sub__(self, other):
        return apply2(E.Sub, self, other)

    def __rsub__(self, other):
        return apply2(E.Sub, other, self)

    def __mul__(self, other):
        return apply2(E.Mul, self, other)

    def __rmul__(self, other):
        return apply2(E.Mul, other, self)

    def __truediv__(self, other):
        return apply2(E.Div, self, other)

    def __rtruediv__(self, other):
        return apply2(E.Div, other, self)

    def __pow__(self, other):
        return apply2(E.Pow, self, other)

    def __rpow__(self, other):
        return apply2(E.Pow, other, self)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def __neg__(self):
        return engine.apply1(E.Neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return F.abs(self)

    def __getitem__(self, index):
        return F.getitem(self, index)

    __eq__ = F.equal
    __ne__ = F.not_equal
    __lt__ = F.less
    __le__ = F.less_equal
    __gt__ = F.greater
    __ge__ = F.greater_equal

    # ---------------------------------------------------------------- methods
    def reshape(self, *shape):
        return F.reshape(self, *shape)

    def view(self, *shape):
        return F.reshape(self, *shape)

    def transpose(self, *axes):
        return F.transpose(self, *axes)

    def any(self):
        return bool(self.data.any())

    def all(self):
        return bool(self.data.all())

    # Methods that are the public functions themselves (the tensor is the first argument).
    exp = F.exp
    log = F.log
    sqrt = F.sqrt
    abs = F.abs
    sin = F.sin
    cos = F.cos
    tanh = F.tanh
    sigmoid = F.sigmoid
    relu = F.relu
    erf = F.erf
    leaky_relu = F.leaky_relu
    gelu = F.gelu
    softplus = F.softplus
    clip = F.clip
    clamp = F.clip
    maximum = F.maximum
    minimum = F.minimum
    sum = F.sum
    mean = F.mean
    max = F.max
    min = F.min
    var = F.var
    std = F.std
    logsumexp = F.logsumexp
    softmax = F.softmax
    log_softmax = F.log_softmax
    argmax = F.argmax
    argmin = F.argmin
    swapaxes = F.swapaxes
    broadcast_to = F.broadcast_to
    expand_dims = F.expand_dims
    unsqueeze = F.expand_dims
    squeeze = F.squeeze
    flatten = F.flatten
    matmul = F.matmul


class _HookHandle:
    _next = 0

    def __init__(self, tensor):
        import weakref

        _HookHandle._next += 1
        self.id = _HookHandle._next
        self._ref = weakref.ref(tensor)

    def remove(self) -> None:
        t = self._ref()
        if t is not None and t._hooks is not None:
            t._hooks.pop(self.id, None)
            if not t._hooks:
                t._hooks = None


def _make(data: np.ndarray, node) -> Tensor:
    """A Tensor around an op's output (no copy); `node` is None for constants."""
    t = object.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = node is not None
    t._node = node
    t.name = None
    t._hooks = None
    t._retain = False
    return t


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """Make a leaf Tensor from numbers, lists, numpy arrays or another Tensor (data is copied).

    Python numbers and lists take the default float dtype (float32); numpy arrays keep theirs.

    >>> import autograd
    >>> autograd.tensor([1, 2]).dtype
    dtype('float32')
    """
    if isinstance(data, Tensor):
        data = data.data
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


engine.Tensor = Tensor
engine._make = _make
