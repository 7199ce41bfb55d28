"""What a compiled function works on besides its arguments, and where each piece is read.

`discover` walks the function (its closure, the globals it names, `self` of a bound method,
`functools.partial` arguments) for modules, optimizers, tensors and arrays. A module brings
its parameters and buffers, an optimizer its parameter groups, state and work arrays.

During a capture each of their arrays is swapped, in place, for a traced stand-in (`Scope.swap`)
and swapped back afterwards (`Scope.finish`), which also notes what the function left changed:
an attribute or dict entry rebound to a new array or number becomes a write-back the replay
repeats; a version counter that moved is moved again by the replay. Python values the function
reads but compile does not follow (a module's `training`, an optimizer's `amsgrad`, whether a
parameter has a `.grad`) are pinned: the replay checks they still hold.
"""

from __future__ import annotations

import functools
import types

import numpy as np

from ..tensor import Tensor
from .trace import CompileError, Recorder, Ref, is_traced

ARGS = object()  # the root of the call's positional arguments (a tuple) in a location
KWARGS = object()  # and of its keyword arguments (a dict)


class Loc:
    """Where a value lives: `root` then a path of ('attr', name) / ('item', key) steps."""

    __slots__ = ("root", "path")

    def __init__(self, root, path=()):
        self.root = root
        self.path = tuple(path)

    def child(self, kind, key) -> Loc:
        return Loc(self.root, self.path + ((kind, key),))

    def get(self):
        x = self.root
        for kind, key in self.path:
            x = getattr(x, key) if kind == "attr" else x[key]
        return x

    def text(self) -> str:
        """For messages: `args[0].data`, `<Linear>.weight.data`, ..."""
        root = {id(ARGS): "args", id(KWARGS): "kwargs"}.get(id(self.root), f"<{type(self.root).__name__}>")
        if isinstance(self.root, Tensor) and self.root.name:
            root = self.root.name  # a parameter's dotted name in its module
        out = root
        for kind, key in self.path:
            if kind == "attr":
                out += f".{key}"
            elif isinstance(key, Tensor):
                out += f"[{key.name or 'tensor'}]"
            else:
                out += f"[{key!r}]"
        return out


def _is_module(x) -> bool:
    return hasattr(x, "_parameters") and hasattr(x, "_buffers") and hasattr(x, "_modules")


def _is_optimizer(x) -> bool:
    return isinstance(getattr(x, "param_groups", None), list) and isinstance(getattr(x, "state", None), dict)


class Found:
    """The modules, optimizers, tensors and located arrays a function can reach."""

    def __init__(self):
        self.modules: list = []
        self.optimizers: list = []
        self.tensors: list = []
        self.arrays: list[tuple[Loc, np.ndarray]] = []
        self.objects: list = []  # other objects walked: their Python attributes must not change
        self._seen: set = set()

    def _once(self, x) -> bool:
        if id(x) in self._seen:
            return False
        self._seen.add(id(x))
        return True

    def add(self, x, loc: Loc | None, depth: int = 0) -> None:
        if isinstance(x, (str, bytes, int, float, bool, type(None), types.ModuleType, type)):
            return
        if isinstance(x, Tensor):
            if self._once(x):
                self.tensors.append(x)
            return
        if isinstance(x, np.ndarray):
            if loc is not None and self._once(x):
                self.arrays.append((loc, x))
            return
        if _is_module(x):
            if self._once(x):
                for m in x.modules() if hasattr(x, "modules") else (x,):
                    if m is not x and not self._once(m):
                        continue
                    self.modules.append(m)
                    for t in list(m._parameters.values()) + list(m._buffers.values()):
                        if t is not None and self._once(t):
                            self.tensors.append(t)
            return
        if _is_optimizer(x):
            if self._once(x):
                self.optimizers.append(x)
                for g in x.param_groups:
                    for p in g["params"]:
                        if self._once(p):
                            self.tensors.append(p)
            return
        if depth > 3 or not self._once(x):
            return
        if isinstance(x, (list, tuple)):
            if len(x) <= 64:  # (a tuple's items can't be swapped: they are constants of the plan)
                for i, item in enumerate(x):
                    self.add(item, loc.child("item", i) if loc is not None and type(x) is list else None, depth + 1)
        elif isinstance(x, dict):
            if len(x) <= 64:
                for k, item in list(x.items()):
                    if isinstance(k, (str, int)):
                        self.add(item, loc.child("item", k) if loc is not None else None, depth + 1)
        elif isinstance(x, functools.partial):
            self.function(x.func, depth + 1)
            self.add(x.args, None, depth + 1)
            self.add(x.keywords, None, depth + 1)
        elif isinstance(x, types.MethodType):
            self.add(x.__self__, Loc(x.__self__) if loc is None else loc.child("attr", "__self__"), depth + 1)
            self.function(x.__func__, depth + 1)
        elif isinstance(x, types.FunctionType):
            self.function(x, depth + 1)
        elif hasattr(x, "__dict__"):
            self.objects.append(x)
            for k, item in list(vars(x).items()):
                self.add(item, Loc(x, (("attr", k),)), depth + 1)

    def function(self, fn, depth: int = 0) -> None:
        """The objects a function reaches through its closure, defaults and named globals."""
        if isinstance(fn, (types.MethodType, functools.partial)):
            self.add(fn, None, depth)
            return
        if not isinstance(fn, types.FunctionType):
            if hasattr(fn, "__dict__"):  # a callable object: its attributes and its __call__
                self.add(fn, Loc(fn), depth)
                call = type(fn).__dict__.get("__call__")
                if isinstance(call, types.FunctionType):
                    self.function(call, depth + 1)
            return
        if depth > 4 or not self._once(fn.__code__):
            return
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            self.add(value, Loc(cell, (("attr", "cell_contents"),)), depth + 1)
        for d in fn.__defaults__ or ():
            self.add(d, None, depth + 1)
        g = fn.__globals__
        for name in _names(fn.__code__):
            if name in g:
                value = g[name]
                if isinstance(value, types.FunctionType) and value.__module__ == fn.__module__:
                    self.function(value, depth + 1)
                else:
                    self.add(value, Loc(g, (("item", name),)), depth + 1)


def _names(code) -> set:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _names(c)
    return names


def discover(fn) -> Found:
    found = Found()
    found.function(fn)
    return found


# --------------------------------------------------------------------------- a capture's state
_PINNED = (bool, str, type(None))


class Scope:
    """The swap of one capture: externals registered with the recorder, pins, and after the
    function ran, write-backs and version moves (see module doc)."""

    def __init__(self, found: Found, rec: Recorder):
        self.found = found
        self.rec = rec
        self.swapped: list[tuple] = []  # (container, kind, key, original, stand-in, loc)
        self.pins: list[tuple[Loc, str, object]] = []  # (loc, "is" | "eq" | "none", value)
        self.versions: list[tuple[Tensor, int]] = []
        self.grads: list[tuple[Tensor, object, Loc]] = []
        self.writebacks: list[tuple[Loc, object]] = []  # (loc, Ref, ("const", obj) or ("tuple", ...))
        self.version_moves: list[tuple[Tensor, int]] = []
        self.dicts: list[tuple[Loc, object, tuple]] = []  # containers whose entries must not change
        self.one_shot: str | None = None  # why the capture can't be replayed, when it can't
        self.tensors: set[int] = set()
        self.python: list[tuple[object, str, object]] = []  # Python attributes and their values

    # swapping in
    def swap(self, container, kind: str, key, loc: Loc) -> None:
        """Replace container.key / container[key] (an array or number) by its stand-in."""
        x = getattr(container, key) if kind == "attr" else container[key]
        if isinstance(x, np.ndarray) and not is_traced(x):
            k = self.rec.by_plain.get(id(x))
            w = self.rec.wrappers[k] if k is not None else self.rec.external(x, loc)
        elif type(x) in (float, int):
            w = self.rec.external(x, loc)
        elif isinstance(x, tuple) and x and all(type(e) in (float, int) for e in x):
            w = tuple(self.rec.external(e, loc.child("item", j)) for j, e in enumerate(x))
        else:
            return
        _put(container, kind, key, w)
        self.swapped.append((container, kind, key, x, w, loc))

    def tensor(self, t: Tensor, loc: Loc) -> None:
        if id(t) in self.tensors:
            return
        self.tensors.add(id(t))
        self.swap(t, "attr", "data", loc.child("attr", "data"))
        g = t._grad
        gl = loc.child("attr", "_grad")
        pin = (gl, "none", g is None)
        self.grads.append((t, g, gl, pin))
        self.pins.append(pin)
        if g is not None:
            self.swap(g, "attr", "data", gl.child("attr", "data"))
            self.versions.append((g, _version(g)))
        self.pins.append((loc.child("attr", "_requires_grad"), "eq", t._requires_grad))
        self.versions.append((t, _version(t)))

    def swap_in(self) -> None:
        f = self.found
        for obj in f.objects + f.modules + f.optimizers:
            for k, v in vars(obj).items():
                if isinstance(v, (bool, int, float, str, type(None))):
                    self.python.append((obj, k, v))
        for m in f.modules:
            ml = Loc(m)
            for k, v in vars(m).items():
                if isinstance(v, (bool, int, float, str, type(None))) and not k.startswith("_"):
                    self.pins.append((ml.child("attr", k), "eq", v))
            for store in ("_parameters", "_buffers", "_modules"):
                d = getattr(m, store)
                self._keys(ml.child("attr", store), d)
                for name, t in d.items():
                    self.pins.append((ml.child("attr", store).child("item", name), "is", t))
        for t in f.tensors:
            self.tensor(t, Loc(t))
        for opt in f.optimizers:
            self._optimizer(opt)
        for loc, _ in f.arrays:
            container = loc.root if len(loc.path) == 1 else Loc(loc.root, loc.path[:-1]).get()
            kind, key = loc.path[-1]
            self.swap(container, kind, key, loc)

    def _keys(self, loc: Loc, d) -> None:
        self.dicts.append((loc, d, _keys(d)))

    def _optimizer(self, opt) -> None:
        ol = Loc(opt)
        self.pins.append((ol.child("attr", "param_groups"), "is", opt.param_groups))
        self.pins.append((ol.child("attr", "state"), "is", opt.state))
        self._keys(ol.child("attr", "param_groups"), opt.param_groups)
        for i, g in enumerate(opt.param_groups):
            gl = ol.child("attr", "param_groups").child("item", i)  # (read through the optimizer)
            self._keys(gl, g)
            self._keys(gl.child("item", "params"), g["params"])
            for k, v in g.items():
                if k == "params":
                    continue
                if isinstance(v, _PINNED):
                    self.pins.append((gl.child("item", k), "eq", v))
                else:
                    self.swap(g, "item", k, gl.child("item", k))
        self._keys(ol.child("attr", "state"), opt.state)
        for p, st in opt.state.items():
            sl = ol.child("attr", "state").child("item", p)
            self._keys(sl, st)
            for k in list(st):
                self.swap(st, "item", k, sl.child("item", k))
        for name, v in list(vars(opt).items()):
            if name in ("state", "param_groups", "defaults"):
                continue
            al = ol.child("attr", name)
            if isinstance(v, np.ndarray):
                self.swap(opt, "attr", name, al)
            elif isinstance(v, dict):
                self._keys(al, v)
                for k, item in list(v.items()):
                    if isinstance(item, np.ndarray):
                        self.swap(v, "item", k, al.child("item", k))
            elif isinstance(v, Tensor):
                self.tensor(v, Loc(v))

    def alias_pins(self) -> None:
        """An array reached from two places (a parameter's .data and an optimizer's view of its
        flat buffer) must still be one object at a replay: Python code may have compared them."""
        first = {}
        for _, _, _, original, stand_in, loc in self.swapped:
            if isinstance(original, np.ndarray):
                other = first.setdefault(id(stand_in), loc)
                if other is not loc:
                    self.pins.append((loc, "same", other))

    # swapping out
    def finish(self, check: bool = True) -> None:
        """Put the plain arrays back; note write-backs, version moves and structure changes.
        What compile can't follow raises CompileError after everything is back in place
        (`check=False`: nothing raised, when the function itself failed)."""
        errors = []
        self.alias_pins()
        for container, kind, key, original, stand_in, loc in reversed(self.swapped):
            try:
                now = getattr(container, key) if kind == "attr" else container[key]
            except (AttributeError, KeyError, IndexError, TypeError):
                self.one_shot = self.one_shot or f"{loc.text()} was removed"
                continue
            if now is stand_in:
                _put(container, kind, key, original)
            elif is_traced(now) or isinstance(now, tuple) and any(is_traced(e) for e in now):
                _put(container, kind, key, _plain(now))
                self.writebacks.append((loc, _ref(now)))
            elif type(original) in (float, int) and kind == "item":
                _put(container, kind, key, now)
                errors.append(
                    f"compile: the compiled function sets {loc.text()} to a number compile can't follow "
                    "(a learning-rate scheduler's step()?); do that outside the compiled function"
                )
            elif now is not original:
                self.writebacks.append((loc, ("const", now)))
        unused = []
        for t, g, gl, pin in self.grads:
            ng = t._grad
            if ng is g and (g is None or not self._read(g)):
                unused.append(pin)  # the function did not touch this .grad: no need to pin it
            fresh = ng is not None and is_traced(ng.data)  # a new gradient (swapped ones are back by now)
            if ng is not g and fresh and (gl.root is ARGS or gl.root is KWARGS):
                self.writebacks.append((gl, ("tensor", _ref(ng.data))))  # a new Tensor per call
            elif ng is not g:
                self.writebacks.append((gl, ("const", ng)))  # a parameter's: one Tensor, new data
                if fresh:
                    self.writebacks.append((Loc(ng, (("attr", "data"),)), _ref(ng.data)))
            if fresh:
                ng.data = _plain(ng.data)
        for t, v in self.versions:
            d = _version(t) - v
            if d:
                self.version_moves.append((t, d))
        for obj, k, v in self.python:
            now = vars(obj).get(k, _GONE)
            if now is not v and (type(now) is not type(v) or now != v):
                errors.append(
                    f"compile: the compiled function changes {type(obj).__name__}.{k} ({v!r} -> {now!r}), Python "
                    "state compile can't follow (a learning-rate scheduler's step()? a counter?); do that "
                    "outside the compiled function"
                )
        for loc, d, keys in self.dicts:
            if _keys(d) != keys:
                self.one_shot = self.one_shot or f"{loc.text()} changed its entries"
        for t in self.found.tensors:
            if is_traced(t.data):  # rebound by the function to an array it computed
                self.writebacks.append((Loc(t, (("attr", "data"),)), _ref(t.data)))
                t.data = _plain(t.data)
        self.scrub()

        if unused:
            drop = {id(p) for p in unused}
            self.pins = [p for p in self.pins if id(p) not in drop]
        if errors and check:
            raise CompileError(errors[0])

    def _read(self, g) -> bool:
        """Whether a step read or wrote the (swapped) data of gradient tensor g."""
        ids = {w._v for c, kind, key, o, w, loc in self.swapped if c is g and is_traced(w)}
        return any(k in ids for s in self.rec.steps for k in (*s.reads, *s.writes))

    def scrub(self) -> None:
        """No stand-in may outlive the capture in the state it found: new optimizer state and
        work arrays made by a first step become their plain arrays."""
        for opt in self.found.optimizers:
            for st in opt.state.values():
                for k, v in list(st.items()):
                    if is_traced(v):
                        st[k] = _plain(v)
            for name, v in list(vars(opt).items()):
                if is_traced(v):
                    setattr(opt, name, _plain(v))
                elif isinstance(v, dict):
                    for k, item in list(v.items()):
                        if is_traced(item):
                            v[k] = _plain(item)
        for t in self.found.tensors:
            if is_traced(t.data):
                t.data = _plain(t.data)
            if t._grad is not None and is_traced(t._grad.data):
                t._grad.data = _plain(t._grad.data)


_GONE = object()


def _put(container, kind, key, value) -> None:
    if kind == "attr":
        setattr(container, key, value)
    else:
        container[key] = value


def _keys(d) -> tuple:
    if isinstance(d, list):
        return tuple(id(x) for x in d)
    return tuple(k if isinstance(k, (str, int)) else id(k) for k in d)


def _version(t: Tensor) -> int:
    return 0 if t._vc is None else t._vc[0]


def _plain(x):
    if isinstance(x, tuple):
        return tuple(_plain(e) for e in x)
    return x._a if is_traced(x) else x


def _ref(x):
    if isinstance(x, tuple):
        return ("tuple", tuple(_ref(e) for e in x))
    if not is_traced(x):
        return ("const", x)
    return Ref(x._v)
