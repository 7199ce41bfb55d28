"""`Module`, `Parameter` and the containers `Sequential` and `ModuleList`.

Parameters, buffers and sub-modules register themselves when assigned as attributes. They
also live in the instance `__dict__`, so `self.weight` inside `forward` is a plain attribute
lookup (no `__getattr__` on the hot path). Each module knows its dotted path under the
module it was registered in (`_path`; "" for a root): `__call__` puts the running module in
`autograd.mode.set_scope`, so every op recorded in its forward can be drawn inside it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator

import numpy as np

import autograd
from autograd import Tensor, backend
from autograd.mode import set_scope

from ._arrays import check_device, like


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter (requires grad by default).

    >>> import nn, numpy as np
    >>> p = nn.Parameter(np.zeros(3, dtype=np.float32))
    >>> p.requires_grad, p.shape
    (True, (3,))
    """

    __slots__ = ("_given_name",)  # the dotted name its module gave it (kept while it is its name)

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, requires_grad=requires_grad)
        self._given_name = None

    def _named(self, path: str) -> None:
        """Take `path` as name, unless the user named it otherwise."""
        if self.name is None or self.name == self._given_name:
            self.name = self._given_name = path

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: subclasses set attributes in `__init__` and define
    `forward`; calling the module runs `forward`.

    >>> import nn
    >>> m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> [name for name, _ in m.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self):
        d = self.__dict__
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["training"] = True
        d["_path"] = ""

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() runs: call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )
        params, buffers, modules = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Parameter):
            if name not in params:  # replacing keeps the registration order
                self._forget(name)
            params[name] = value
            value._named(_join(self._path, name))
        elif isinstance(value, Module):
            if name not in modules:
                self._forget(name)
            modules[name] = value
            value._set_path(_join(self._path, name))
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as parameter "
                    f"{name!r} (nn.Parameter or None expected)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} as child module "
                    f"{name!r} (nn.Module or None expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                value = Tensor(_array(value))
            buffers[name] = value
        d[name] = value

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        del self.__dict__[name]

    def _forget(self, name: str) -> None:
        d = self.__dict__
        for reg in (d["_parameters"], d["_buffers"], d["_modules"]):
            reg.pop(name, None)
        d["_non_persistent"].discard(name)

    def _set_path(self, path: str) -> None:
        """Give this module (and, iteratively, its sub-modules) its dotted path."""
        stack = [(self, path)]
        seen = set()
        while stack:
            m, p = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            m.__dict__["_path"] = p
            for n, prm in m._parameters.items():
                if prm is not None:
                    prm._named(_join(p, n))  # errors and drawings then say "encoder.fc1.weight"
            for n, c in m._modules.items():
                if c is not None:
                    stack.append((c, _join(p, n)))

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register state that is not a parameter (BatchNorm's running mean): saved in
        `state_dict` when `persistent`, moved along with the module, never trained."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: invalid buffer name {name!r}")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(_array(tensor))
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        self.__dict__[name] = tensor

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a parameter (or None) under `name`."""
        if param is None:
            self._forget(name)
            self._parameters[name] = None
            self.__dict__[name] = None
        else:
            setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under `name` (which may be a number, as in Sequential)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {type(module).__name__} is not a Module")
        if module is None:
            self._forget(name)
            self._modules[name] = None
            self.__dict__[name] = None
        else:
            setattr(self, name, module)

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        prev = set_scope(self)  # ops recorded now are drawn inside this module (its `_path`)
        try:
            return self.forward(*args, **kwargs)
        finally:
            set_scope(prev)

    # ------------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo=None) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every sub-module, each once, in order."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in memo:
                continue
            memo.add(id(m))
            yield name, m
            kids = [(_join(name, n), c) for n, c in m._modules.items() if c is not None]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for n, c in self._modules.items():
            if c is not None and id(c) not in seen:
                seen.add(id(c))
                yield n, c

    def children(self) -> Iterator[Module]:
        for _, c in self.named_children():
            yield c

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two modules appears once."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for n, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield _join(mname, n), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for n, b in m._buffers.items():
                if b is not None:
                    yield _join(mname, n), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics) on this module and below."""
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (no dropout, running statistics)."""
        return self.train(False)

    def to(self, *args, dtype=None, device=None) -> Module:
        """Move parameters and buffers to a device and/or cast the floating ones to a dtype, in
        place: `model.to("cuda")`, `model.to(autograd.float64)`, `model.to("cuda", autograd.float32)`.
        A device is "cpu", "cuda", "cuda:<n>" or an array namespace (`array_api_strict`). Each
        parameter keeps its identity (its `.data` is replaced), so an optimizer made before still
        holds them; gradients move and are cast along. Raises RuntimeError, before anything
        changes, for a device that is not available.

        >>> import autograd, nn
        >>> m = nn.Linear(2, 1); w = m.weight
        >>> m.double().weight is w, w.dtype, m.to("cpu").weight.device
        (True, dtype('float64'), 'cpu')
        """
        for a in args:
            if _is_namespace(a) or (isinstance(a, str) and not _is_dtype_name(a)):
                device = a
            elif a is not None:
                dtype = a
        if device is not None:
            check_device(device)  # raises for a device we don't have, before anything moves
        if dtype is not None:
            dtype = backend.numpy_dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}.to: expects a floating dtype; got {dtype}")
        for t in self._tensors():
            data, g = t.data, t.grad
            new = data if device is None else backend.on_device(data, device)
            if dtype is not None and backend.kind(new.dtype) == "f":
                xp = backend.namespace(new)
                target = backend.dtype_in(xp, dtype)
                if new.dtype != target:
                    new = xp.astype(new, target)
            if new is data:
                continue
            t.data = new
            if g is not None:
                g = like(g.data, new)
                t.grad = g if g.dtype == new.dtype else backend.namespace(g).astype(g, new.dtype)
            autograd.increment_version(t)
        return self

    def cuda(self, device: int | str | None = None) -> Module:
        """Move parameters and buffers to the GPU ("cuda", or "cuda:<n>" for an index) in place."""
        return self.to(f"cuda:{device}" if isinstance(device, int) else (device or "cuda"))

    def cpu(self) -> Module:
        """Move parameters and buffers to the host (numpy arrays) in place."""
        return self.to("cpu")

    def _tensors(self) -> list[Tensor]:
        """Every parameter and buffer, each once."""
        out, seen = [], set()
        for t in [*self.parameters(), *self.buffers()]:
            if id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        return out

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32 in place."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64 in place."""
        return self.to(np.float64)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero) every parameter's gradient."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def apply(self, fn) -> Module:
        """Call fn(module) on every sub-module (children first) and on self."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "") -> OrderedDict:
        """Parameters and persistent buffers by dotted name, as Tensors sharing their data."""
        out = OrderedDict()
        for mname, m in self.named_modules(prefix.rstrip(".")):
            for n, p in m._parameters.items():
                if p is not None:
                    out[_join(mname, n)] = p.detach()
            for n, b in m._buffers.items():
                if b is not None and n not in m._non_persistent:
                    out[_join(mname, n)] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from `state_dict` into parameters and buffers (in place), each onto the
        device its parameter or buffer is on (values of any array library, or from `nn.load`).

        Everything is checked first: with `strict`, every missing and unexpected key and
        every shape mismatch is reported in one error and nothing is changed. Returns
        (missing_keys, unexpected_keys).
        """
        targets = OrderedDict()
        for mname, m in self.named_modules():
            for n, p in m._parameters.items():
                if p is not None:
                    targets[_join(mname, n)] = p
            for n, b in m._buffers.items():
                if b is not None and n not in m._non_persistent:
                    targets[_join(mname, n)] = b
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        problems = []
        values = {}
        for k, t in targets.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            v = _array(v.data if isinstance(v, Tensor) else v)
            if v.shape != t.shape:
                problems.append(
                    f"size mismatch for {k}: copying a value of shape {v.shape}, "
                    f"the parameter in the model has shape {t.shape}"
                )
            elif backend.kind(v.dtype) not in "biuf":
                problems.append(f"bad dtype for {k}: {v.dtype} (numbers expected)")
            else:
                values[k] = v
        if strict:
            if missing:
                problems.insert(0, "missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                problems.insert(1 if missing else 0, "unexpected keys: " + ", ".join(repr(k) for k in unexpected))
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems)
            )
        for k, v in values.items():
            t = targets[k]
            v = like(v, t.data)
            t.data[...] = backend.namespace(v).astype(v, t.data.dtype, copy=False)
            autograd.increment_version(t)
        return missing, unexpected

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for n, c in self._modules.items():
            body = repr(c).replace("\n", "\n  ")
            lines.append(f"({n}): {body}")
        head = type(self).__name__ + "(" + self.extra_repr()
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _array(value):
    """An array as it is (numpy or another library's), anything else through numpy."""
    return value if backend.is_array(value) else np.asarray(value)


def _is_dtype_name(a: str) -> bool:
    try:
        np.dtype(a)
    except TypeError:
        return False
    return True


def _is_namespace(a) -> bool:
    return isinstance(a, type(np))  # a module: array_api_strict, numpy, ...


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Sequential(Module):
    """Modules applied one after another; indexable and iterable.

    >>> import nn, autograd
    >>> net = nn.Sequential(nn.Linear(4, 2), nn.Tanh())
    >>> net(autograd.tensor([[1.0, 2.0, 3.0, 4.0]])).shape
    (1, 2)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for n, m in modules[0].items():
                self.add_module(n, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, i):
        mods = list(self._modules.items())
        if isinstance(i, slice):
            return Sequential(OrderedDict(mods[i]))
        return mods[_index(i, len(mods), "Sequential")][1]

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent sees (a plain list would hide them)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: {type(module).__name__} is not a Module")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return ModuleList(mods[i])
        return mods[_index(i, len(mods), "ModuleList")]

    def __setitem__(self, i: int, module: Module) -> None:
        self.add_module(str(_index(i, len(self), "ModuleList")), module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it in your forward()")


def _index(i, n: int, who: str) -> int:
    if not isinstance(i, (int, np.integer)) or not -n <= i < n:
        raise IndexError(f"{who}: index {i!r} is out of range for {n} modules")
    return int(i) % n
