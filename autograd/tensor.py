"""The Tensor's data model: a numpy array, its gradient, its version and the node that made it.

Thin by design, and low in the import order (it imports nothing above `dtypes`): the math
methods and operators (`x.exp()`, `x + y`, `x.add_(y)`, `x.backward()`) are defined beside
their functions in `operations.py`, `inplace.py` and `engine.py`, each marked there with
`@method`, which is how they become Tensor methods when `autograd` is imported.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import backend
from .dtypes import as_array, get_default_dtype


class device(str):  # noqa: N801 - PyTorch's name
    """A device name, as `torch.device(...)`: "cpu" (numpy), "cuda" or "cuda:<n>" (CuPy on an
    NVIDIA GPU), or "<library>:<device>" for another array-API library's arrays.

    >>> import autograd
    >>> autograd.device("cpu"), autograd.device("cuda:1").index
    ('cpu', 1)
    """

    def __new__(cls, name: str = "cpu"):
        name = str(name)
        kind = name.split(":")[0]
        if kind == "cuda" and ":" not in name:
            name = "cuda:0"
        if kind not in ("cpu", "cuda") and ":" not in name:
            raise RuntimeError(f"device: unknown device {name!r}; expected 'cpu', 'cuda' or 'cuda:<n>'")
        return super().__new__(cls, name)

    @property
    def type(self) -> str:
        return self.split(":")[0]

    @property
    def index(self) -> int | None:
        part = self.split(":")[1] if ":" in self else None
        return int(part) if part is not None and part.isdigit() else None


def method(*names: str):
    """Decorator: make the function also a Tensor method, under its own name or `names`."""

    def install(fn):
        for name in names or (fn.__name__,):
            setattr(Tensor, name, fn)
        return fn

    return install


class Size(int):
    """`x.size`: numpy's element count, and callable as PyTorch's `x.size()` / `x.size(dim)`."""

    def __new__(cls, shape: tuple):
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)) if shape else 1)
        self.shape = shape
        return self

    def __call__(self, dim: int | None = None):
        if dim is None:
            return self.shape
        if not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(f"size: dim {dim} is out of range for shape {self.shape}")
        return self.shape[dim]


class Tensor:
    """An n-dimensional array (0-d for scalars) that records operations for reverse mode.

    >>> import autograd
    >>> x = autograd.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "_grad", "_requires_grad", "_node", "name", "_hooks", "_vc", "__weakref__")

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = as_array(data, dtype, copy=True)
        self.name = name
        self._requires_grad = False
        self._grad = self._node = self._hooks = self._vc = None  # (_vc: made on first need, see counter)
        if requires_grad:
            self.requires_grad = True

    # ---------------------------------------------------------------- attributes
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> Size:
        return Size(self.data.shape)

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> device:
        d = self.data
        return _CPU if type(d) is np.ndarray else device(backend.device_name(d))

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by a recorded op."""
        return self._node is None

    @property
    def grad_fn(self):
        """The graph node that produced this tensor (None for leaves)."""
        return self._node

    @property
    def _version(self) -> int:
        """How many times the data was changed in place (backward checks it, as PyTorch)."""
        return 0 if self._vc is None else self._vc[0]

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if self._node is not None:  # (as PyTorch, even when the flag would not change)
            raise RuntimeError(
                "requires_grad: you can only change requires_grad flags of leaf variables; "
                "use detach() to get a tensor that doesn't require grad"
            )
        if flag and not backend.is_floating(self.data.dtype):
            raise RuntimeError(
                f"requires_grad: only Tensors of floating point dtype can require gradients; "
                f"this one is {self.data.dtype}"
            )
        self._requires_grad = flag

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set requires_grad on a leaf (on a non-leaf, True is accepted and changes nothing,
        as PyTorch); returns self."""
        if not (requires_grad and self._node is not None):
            self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient: a Tensor of this tensor's shape and dtype, or None."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is None:
            self._grad = None
            return
        arr = value.data if isinstance(value, Tensor) else value
        if not backend.is_array(arr):
            raise TypeError(f"grad: assigned grad must be a Tensor, an array or None; got {type(value).__name__}")
        if type(arr) is not type(self.data) and backend.device_name(arr) != backend.device_name(self.data):
            raise RuntimeError(f"grad: assigned grad is on {backend.device_name(arr)}; expected "
                               f"{backend.device_name(self.data)}, the tensor's device")
        if arr.shape != self.data.shape:
            raise RuntimeError(
                f"grad: assigned grad has data of a different size: {arr.shape}; expected {self.data.shape}"
            )
        if arr.dtype != self.data.dtype:
            raise RuntimeError(
                f"grad: assigned grad has data of a different type: {arr.dtype}; expected {self.data.dtype}"
            )
        self._grad = value if isinstance(value, Tensor) else make(arr)

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
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if backend.kind(self.data.dtype) not in "iu" or self.data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be used as an index; got {self}")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        if type(self.data) is not np.ndarray and self.device != "cpu":  # (as PyTorch: never a silent copy)
            raise TypeError(f"cannot convert a {self.device} tensor to numpy implicitly; use .numpy() or .cpu()")
        d = backend.to_numpy(self.data)
        return d if dtype is None else d.astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(", precision=4)
        extra = []
        dt = self.data.dtype
        if type(self.data) is not np.ndarray:
            extra.append(f"device={self.device!r}")
            dt = backend.numpy_dtype(dt)
        if dt != get_default_dtype() and dt.kind != "b":
            extra.append(f"dtype={dt}")
        if self._node is not None:
            extra.append(f"grad_fn=<{self._node.op.name}>")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        if self.name:
            extra.append(f"name={self.name!r}")
        return "tensor(" + ", ".join([body] + extra) + ")"

    # ---------------------------------------------------------------- conversions
    def item(self):
        """The single value as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted; shape {self.shape}")
        return backend.to_numpy(self.data).item()

    def numpy(self) -> np.ndarray:
        """The data as a numpy array: the array itself on the CPU (shared memory), a host copy
        from a GPU or another array library."""
        return backend.to_numpy(self.data)

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def detach(self) -> Tensor:
        """A new leaf sharing this data (and its version counter), cut from the graph."""
        return make(self.data, None, counter(self))


    # ---------------------------------------------------------------- hooks
    def register_hook(self, fn):
        """Call fn(grad) when this tensor's gradient is computed; a non-None return replaces it.

        Returns a handle whose `remove()` unregisters the hook.
        """
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require grad")
        owner = self if self._node is None else self._node  # a non-leaf's hooks live on its node
        if owner._hooks is None:
            owner._hooks = {}
        handle = _HookHandle(owner)
        owner._hooks[handle.id] = fn
        return handle

    def retain_grad(self) -> None:
        """Keep `.grad` on a non-leaf tensor after backward (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self._node is not None:
            self._node.retain = weakref.ref(self)


_CPU = device("cpu")


class _HookHandle:
    _next = 0

    def __init__(self, owner):
        _HookHandle._next += 1
        self.id = _HookHandle._next
        self._ref = weakref.ref(owner)

    def remove(self) -> None:
        owner = self._ref()
        if owner is not None and owner._hooks is not None:
            owner._hooks.pop(self.id, None)
            if not owner._hooks:
                owner._hooks = None


def make(data: np.ndarray, node=None, vc=None) -> Tensor:
    """A Tensor around an array (no copy): an op's output when `node` is given, else a
    constant leaf. `vc` shares a version counter (views, detach)."""
    t = object.__new__(Tensor)
    t.data = data
    t._grad = None
    t._requires_grad = node is not None
    t._node = node
    t.name = None
    t._hooks = None
    t._vc = vc
    return t


def counter(t: Tensor) -> list:
    """t's version counter: `[version]`, shared with the tensors that share t's memory (views,
    detach), and `[version, True]` once a view op made a view of that memory. Made on first
    need: most intermediates are never saved nor changed."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return vc


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None, device=None) -> Tensor:
    """Make a leaf Tensor from numbers, lists, arrays or another Tensor (data is copied).

    Python floats take the default float dtype (float32), Python ints int64 and bools bool,
    as in PyTorch; arrays keep theirs, and their library: a CuPy array makes a GPU tensor.
    `device="cuda"` puts the data on the GPU (see `Tensor.to`).

    >>> import autograd
    >>> autograd.tensor([1.0, 2]).dtype, autograd.tensor([1, 2]).dtype
    (dtype('float32'), dtype('int64'))
    """
    if isinstance(data, Tensor):
        data = data.data
    if device is not None:
        data = backend.on_device(as_array(data, dtype), device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def as_tensor(data, dtype=None) -> Tensor:
    """`data` as a Tensor without copying when it already is one (or an array of `dtype`).

    >>> import autograd, numpy as np
    >>> a = np.zeros(2); t = autograd.as_tensor(a); a[0] = 1; t.tolist()
    [1.0, 0.0]
    """
    if isinstance(data, Tensor):
        if dtype is None or data.dtype == backend.dtype_in(backend.namespace(data.data), dtype):
            return data
        xp = backend.namespace(data.data)
        return make(xp.astype(data.data, backend.dtype_in(xp, dtype)))
    return make(as_array(data, dtype))
