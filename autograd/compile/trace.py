"""Capture: a numpy-level recording of everything a function does to arrays.

While a function is captured, the arrays it can reach (its arguments, the parameters, buffers
and optimizer state it works on, and every array it creates with numpy) are `Traced`: an
ndarray subclass whose numpy operations (ufuncs, numpy functions, methods, indexing) run on
the plain arrays and are written down, each as one `Step` of the plan. The engine, the
optimizers and the user's own numpy code run exactly as in eager mode; only the kernels they
call are kept. Python numbers read from optimizer options and state are `TracedFloat` /
`TracedInt`, so their arithmetic is kept too (a learning rate changed by a scheduler is read
again at every replay instead of being frozen).

`.item()` and `.tolist()` give traced Python numbers, followed like the arrays (returning
`loss.item()` returns the replay's value; `math` functions on them are recorded too). What
turns values into plain Python values (`bool`, `float`, `int`, a comparison of traced numbers,
a branch) becomes a guard: the replay recomputes it and compares. Printing raises
`CompileError`: it would happen once, at capture.
"""

from __future__ import annotations

import builtins
import math
import operator
import sys
import threading

import numpy as np

from .. import random as _random


class CompileError(RuntimeError):
    """Something in a compiled function can't be captured and replayed faithfully; the
    message says what and where, and what to move out of the function."""


class Miss(Exception):
    """A replay found that the plan does not fit this call (a guard failed, state changed
    shape): nothing has been changed yet, so the call can be captured again."""


class Ref:
    """A value of the plan inside a step's argument template."""

    __slots__ = ("v",)

    def __init__(self, v: int):
        self.v = v

    def __repr__(self):
        return f"v{self.v}"


class Value:
    """One array or number of the plan: read from outside (`ext`), a constant, or the output
    of a step. `root` is the value whose memory it uses (itself unless it is a view)."""

    __slots__ = ("id", "kind", "obj", "loc", "shape", "dtype", "step", "root", "fresh", "written",
                 "snapshot", "layout", "scalar")

    def __init__(self, id, kind, obj=None, loc=None, step=None):
        self.id = id
        self.kind = kind  # "ext" | "const" | "step"
        self.obj = obj  # const: the object; ext: the plain object seen at capture
        self.loc = loc  # ext: where it is read at each call
        self.step = step
        self.root = id
        self.fresh = True
        self.written = False
        self.snapshot = None  # const written in place: its content before the first write
        self.shape = self.dtype = self.layout = None
        self.scalar = None  # python type for numbers


class Step:
    """One kernel call: `fn(*args, **kwargs)` with Refs for plan values; `outs` mirrors the
    result's structure with value ids (or None); `writes` are the values it changes in place.
    A guard step also has `expect`: the Python value (or shape) its result had at capture."""

    __slots__ = ("fn", "args", "kwargs", "outs", "reads", "writes", "label", "guard", "expect",
                 "effect", "site", "name")

    def __init__(self, fn, args, kwargs, outs, reads, writes, label, name):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.outs = outs
        self.reads = reads
        self.writes = writes
        self.label = label
        self.name = name
        self.guard = None  # None | "value" | "shape"
        self.expect = None
        self.effect = False  # changes something outside the plan (external memory, the RNG)
        self.site = None


_state = threading.local()


def active():
    """The recorder capturing in this thread, when it is not inside one of its own kernels."""
    rec = getattr(_state, "rec", None)
    if rec is None or rec.depth:
        return None
    return rec


def recorder():
    return getattr(_state, "rec", None)


def _user_site() -> str:
    """file:line of the innermost frame outside numpy and this package (for messages)."""
    f = sys._getframe(2)
    here = __file__.rsplit("/", 1)[0]
    while f is not None:
        name = f.f_code.co_filename
        if not name.startswith(here) and "/numpy/" not in name:
            return f"{name}:{f.f_lineno}"
        f = f.f_back
    return "?"


# --------------------------------------------------------------------------- traced arrays
def _plain_call(fn, args, kwargs):
    return fn(*_unwrap(args), **(_unwrap(kwargs) if kwargs else {}))


def _unwrap(x):
    """Plain objects for a passthrough call (no recorder): Traced -> its plain array."""
    t = type(x)
    if t is Traced or type(x) in _NUMBER_TYPES:
        return x._a if x._a is not None else x.view(np.ndarray)
    if t is tuple or t is list:
        return t(_unwrap(i) for i in x)
    if t is dict:
        return {k: _unwrap(i) for k, i in x.items()}
    return x


def _call(fn, args, kwargs=None, writes=(), name=None, shape_guard=False):
    rec = active()
    if rec is None:
        return _plain_call(fn, args, kwargs)
    return rec.call(fn, args, kwargs, writes, name=name, shape_guard=shape_guard)


def _convert(x, how, name):
    rec = active()
    if rec is None:
        return how(_unwrap(x))
    return rec.guard(how, x, name)


def _printing(x, how):
    rec = active()
    if rec is not None:
        raise CompileError(
            f"compile: an array is turned into text inside the compiled function ({_user_site()}); "
            "that happens once, when the function is captured, not at each call. Print the "
            "returned values outside the function instead."
        )
    return how(_unwrap(x))


class _Guarded:
    """What traced arrays and traced numbers share: converting one to a Python value is a
    guard, `item`/`tolist` are recorded, numpy calls on it are recorded, printing refuses."""

    __slots__ = ()

    def __bool__(self):
        return _convert(self, bool, "bool()")

    def __float__(self):
        return _convert(self, float, "float()")

    def __int__(self):
        return _convert(self, int, "int()")

    def __index__(self):
        return _convert(self, operator.index, "an index")

    def item(self, *args):
        return _call(_item, (self, *args), name="item")

    def tolist(self):
        return _call(_tolist, (self,), name="tolist")

    def __repr__(self):
        return _printing(self, repr)

    def __str__(self):
        return _printing(self, str)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _function(func, args, kwargs)


class Traced(_Guarded, np.ndarray):
    """An array of a capture in progress: numpy calls on it are recorded (see module doc)."""

    def __array_finalize__(self, obj):
        # made by a numpy path the recorder did not see: usable only if nothing reads it later
        self._v = None
        self._a = None
        self._r = None
        self._fresh = False

    @property
    def base(self):
        return None if self._fresh else np.ndarray.base.__get__(self)


    # conversions to Python values: guards
    def __complex__(self):
        return _convert(self, complex, "complex()")

    def __contains__(self, v):
        return _convert(self, lambda a: v in a, "`in`")

    def __format__(self, spec):
        return _printing(self, lambda a: format(a, spec))

    def __reduce_ex__(self, protocol):
        if active() is not None:
            raise CompileError(f"compile: an array is pickled inside the compiled function ({_user_site()}); "
                               "copy it with .copy() or move that code out of the function")
        return np.ndarray.__reduce_ex__(self.view(np.ndarray), protocol)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # indexing
    def __getitem__(self, index):
        return _call(operator.getitem, (self, index), name="getitem", shape_guard=_data_index(index))

    def __setitem__(self, index, value):
        _call(operator.setitem, (self, index, value), writes=(self,), name="setitem")

    @property
    def T(self):  # noqa: N802 - numpy's name
        return _call(_T, (self,), name="T")

    @property
    def mT(self):  # noqa: N802 - numpy's name
        return _call(np.matrix_transpose, (self,), name="mT")

    @property
    def real(self):
        return _call(np.real, (self,), name="real")

    @property
    def imag(self):
        return _call(np.imag, (self,), name="imag")

    @property
    def flat(self):
        raise CompileError("compile: .flat on a traced array is not supported; use ravel()")

    def view(self, *args, **kwargs):
        if args and isinstance(args[0], type) and issubclass(args[0], np.ndarray) or "type" in kwargs:
            return self  # a plain view of the same values: keep following it
        return _call(np.ndarray.view, (self, *args), kwargs, name="view")


_T = operator.attrgetter("T")


def _item(a, *args):
    return a.item(*args) if hasattr(a, "item") else a


def _tolist(a):
    return a.tolist() if hasattr(a, "tolist") else a


def _method(name, writes=False, shape_guard=False):
    impl = getattr(np.ndarray, name)

    def m(self, *args, **kwargs):
        w = (self,) if writes else ()
        if "out" in kwargs and kwargs["out"] is not None:
            w = w + (kwargs["out"],)
        return _call(impl, (self, *args), kwargs, writes=w, name=name, shape_guard=shape_guard)

    m.__name__ = name
    return m


for _n in ("reshape", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "astype", "copy", "sum",
           "mean", "max", "min", "prod", "std", "var", "any", "all", "argmax", "argmin", "cumsum",
           "cumprod", "clip", "round", "dot", "take", "repeat", "conj", "conjugate", "diagonal", "trace",
           "argsort", "searchsorted", "choose", "ptp", "dump", "dumps", "tobytes", "byteswap"):
    if hasattr(np.ndarray, _n):
        setattr(Traced, _n, _method(_n))
for _n in ("fill", "sort", "put", "partition", "itemset"):
    if hasattr(np.ndarray, _n):
        setattr(Traced, _n, _method(_n, writes=True))
for _n in ("nonzero", "compress"):
    setattr(Traced, _n, _method(_n, shape_guard=True))
for _n in ("tobytes", "dump", "dumps"):
    setattr(Traced, _n, lambda self, *a, _n=_n, **k: _printing(self, lambda x: getattr(x, _n)(*a, **k)))


def _data_index(index) -> bool:
    """Whether indexing with `index` gives a shape that depends on array values (masks)."""
    items = index if type(index) is tuple else (index,)
    for i in items:
        if isinstance(i, np.ndarray) and i.dtype == bool and isinstance(i, Traced):
            return True
    return False


# --------------------------------------------------------------------------- traced numbers
class _TracedNumber:
    """The methods of traced Python and numpy numbers besides _Guarded's: arithmetic is
    recorded, conversions guard (both copied into each traced number class; see _number_class)."""

    def __hash__(self):
        return _convert(self, hash, "hash()")

    def __round__(self, n=None):
        return _convert(self, lambda a: round(a, n), "round()")

    def __trunc__(self):
        return _convert(self, lambda a: a.__trunc__(), "math.trunc()")

    def __floor__(self):
        return _convert(self, lambda a: a.__floor__(), "math.floor()")

    def __ceil__(self):
        return _convert(self, lambda a: a.__ceil__(), "math.ceil()")

    def __format__(self, spec):
        return _printing(self, lambda a: format(a, spec))

    def __reduce_ex__(self, protocol):
        return _convert(self, lambda a: a.__reduce_ex__(protocol), "pickling")



def _binop(op, reflected=False):
    name = op.__name__.strip("_")
    if reflected:
        def f(self, other):
            return _call(op, (other, self), name=name)
    else:
        def f(self, other):
            return _call(op, (self, other), name=name)
    return f


def _compare(op):
    def f(self, other):
        r = _call(op, (self, other), name=op.__name__)
        return r
    return f


_ARITH = (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
          ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
          ("pow", operator.pow), ("matmul", operator.matmul), ("and", operator.and_),
          ("or", operator.or_), ("xor", operator.xor), ("lshift", operator.lshift),
          ("rshift", operator.rshift))
_NUMBER_METHODS = {}
for _n, _op in _ARITH:
    _NUMBER_METHODS[f"__{_n}__"] = _binop(_op)
    _NUMBER_METHODS[f"__r{_n}__"] = _binop(_op, reflected=True)
for _n, _op in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt), ("ge", operator.ge),
                ("eq", operator.eq), ("ne", operator.ne)):
    _NUMBER_METHODS[f"__{_n}__"] = _compare(_op)
for _n, _op in (("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs), ("invert", operator.invert)):
    _NUMBER_METHODS[f"__{_n}__"] = (lambda op: lambda self: _call(op, (self,), name=op.__name__))(_op)
_NUMBER_METHODS["__divmod__"] = lambda self, o: (self // o, self % o)


def _number_class(base):
    # (the number type first: numpy's scalar code crashes on a subclass whose first base is not
    # a numpy type; so the methods go into the class itself, not a mixin)
    methods = {}
    for name in dir(base):  # every public method and property of the number: recorded
        if name.startswith("_") or name in ("item", "tolist", "dtype", "shape", "ndim", "size", "itemsize",
                                            "nbytes", "flags", "strides", "base", "data"):
            continue
        attr = getattr(base, name)
        if callable(attr):
            methods[name] = _number_method(attr, name)
        else:
            methods[name] = property(_number_property(name))
    for shared in (_Guarded, _TracedNumber):
        methods.update({k: v for k, v in vars(shared).items() if k.startswith("__") and k not in _NOT_COPIED})
    methods.update(item=_Guarded.item, tolist=_Guarded.tolist, **_NUMBER_METHODS)
    cls = type(f"Traced{base.__name__.capitalize()}", (base,), methods)
    cls.__module__ = __name__
    _NUMBER_TYPES.add(cls)
    return cls


def _number_method(impl, name):
    def m(self, *args, **kwargs):
        return _call(impl, (self, *args), kwargs, name=name)

    m.__name__ = name
    return m


def _number_property(name):
    get = operator.attrgetter(name)
    return lambda self: _call(get, (self,), name=name)


_NOT_COPIED = {"__slots__", "__module__", "__doc__", "__qualname__", "__dict__", "__weakref__"}
_NUMBER_TYPES: set = set()


def _is_number(x) -> bool:
    return type(x) in _NUMBER_TYPES


TracedFloat = _number_class(float)
TracedInt = _number_class(int)
_SCALAR_CLASSES = {float: TracedFloat, int: TracedInt}


def traced_number(value, v: int, serial: int = 0):
    """`value` (a Python or numpy number) as a traced number standing for plan value v."""
    t = type(value)
    cls = _SCALAR_CLASSES.get(t)
    if cls is None:
        if not isinstance(value, np.generic):
            raise TypeError(f"compile: can't follow a {t.__name__}")
        cls = _SCALAR_CLASSES[t] = _number_class(t)
    n = cls(value)
    n._v = v
    n._a = value
    n._r = serial
    return n


def is_traced(x) -> bool:
    return type(x) is Traced or type(x) in _NUMBER_TYPES


# --------------------------------------------------------------------------- dispatch
_METADATA = {np.shape, np.ndim, np.size, np.may_share_memory, np.shares_memory, np.result_type,
             np.iscomplexobj, np.isrealobj, np.can_cast, np.min_scalar_type}
_PRINTING = {np.array2string, np.array_repr, np.array_str, np.save, np.savez, np.savetxt,
             np.savez_compressed}
_WRITES_FIRST = {np.copyto, np.put, np.place, np.putmask, np.put_along_axis, np.fill_diagonal}
_DATA_SHAPE = {np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.extract, np.compress,
               np.trim_zeros, np.setdiff1d, np.intersect1d, np.union1d, np.setxor1d}


def _outs(kwargs):
    out = kwargs.get("out") if kwargs else None
    if out is None:
        return ()
    return tuple(o for o in (out if type(out) is tuple else (out,)) if o is not None)


def _ufunc(ufunc, method, inputs, kwargs):
    writes = _outs(kwargs)
    if method == "at":
        writes = writes + (inputs[0],)
    fn = ufunc if method == "__call__" else getattr(ufunc, method)
    name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
    return _call(fn, inputs, kwargs, writes=writes, name=name)


def _function(func, args, kwargs):
    if func in _METADATA:
        return _plain_call(func, args, kwargs)
    if func in _PRINTING:
        return _printing(args[0], lambda a: _plain_call(func, (a,) + tuple(args[1:]), kwargs))
    writes = _outs(kwargs)
    if func in _WRITES_FIRST:
        writes = writes + (args[0],)
    guard = func in _DATA_SHAPE or (func is np.where and len(args) == 1 and not kwargs)
    return _call(func, args, kwargs, writes=writes, name=func.__name__, shape_guard=guard)


# --------------------------------------------------------------------------- the recorder
_serials = iter(range(1, 1 << 62))


class Recorder:
    """The values and steps of one capture (see module doc). Lives in one thread."""

    def __init__(self):
        self.serial = next(_serials)  # stand-ins of other captures (leaked) are plain to this one
        self.thread = threading.get_ident()
        self.depth = 0
        self.values: list[Value] = []
        self.steps: list[Step] = []
        self.by_plain: dict[int, int] = {}  # id(plain array) -> value id
        self.keep: list = []  # keeps every object whose id is a key above alive
        self.label = None  # (phase, op name, module path) given to new steps
        self.wrappers: dict[int, object] = {}  # value id -> its Traced / traced number

    # values
    def _new(self, kind, obj=None, loc=None, step=None) -> Value:
        v = Value(len(self.values), kind, obj, loc, step)
        self.values.append(v)
        return v

    def _describe(self, v: Value, x):
        if isinstance(x, np.ndarray):
            v.shape, v.dtype = x.shape, x.dtype
            v.layout = (x.strides, x.flags.c_contiguous, x.flags.f_contiguous)
        else:
            v.scalar = type(x)
            if isinstance(x, np.generic):
                v.dtype = x.dtype
                v.shape = ()

    def wrap(self, plain, v: Value, fresh=None):
        """The traced stand-in of a plain array or number for value v (numpy's bools, which
        can't be subclassed, as 0-d arrays)."""
        if type(plain) is np.bool_:
            plain = np.asarray(plain)
            fresh = True
        if isinstance(plain, np.ndarray):
            t = plain.view(Traced)
            t._v = v.id
            t._a = plain
            t._r = self.serial
            t._fresh = (plain.base is None) if fresh is None else fresh
        else:
            t = traced_number(plain, v.id, self.serial)
        self._describe(v, plain)
        self.by_plain[id(plain)] = v.id
        self.keep.append(plain)
        self.wrappers[v.id] = t
        return t

    def external(self, plain, loc):
        """A value read from `loc` (a location) at each call; returns its traced stand-in."""
        if is_traced(plain):
            raise CompileError(f"compile: {loc.text()} holds an array of a capture in progress")
        v = self._new("ext", plain, loc)
        return self.wrap(plain, v)

    def const(self, obj) -> int:
        k = self.by_plain.get(id(obj))
        if k is not None:
            return k
        v = self._new("const", obj)
        self._describe(v, obj)
        v.fresh = obj.base is None
        self.by_plain[id(obj)] = v.id
        self.keep.append(obj)
        return v.id

    # templates
    def _value_of(self, x):
        """The value id standing for an array or traced number (None for other objects)."""
        t = type(x)
        if (t is Traced or type(x) in _NUMBER_TYPES) and x._r != self.serial and x._v is not None:
            x = x._a  # left over from another capture: a plain array or number here
            t = type(x)
            if not isinstance(x, np.ndarray):
                return None
        if t is Traced:
            if x._v is None:
                raise CompileError(
                    f"compile: an array of shape {x.shape} came out of a numpy operation compile does "
                    f"not follow, and is used at {_user_site()}; write it with numpy functions, "
                    "operators or indexing, or move it out of the compiled function"
                )
            return x._v
        if type(x) in _NUMBER_TYPES:
            return x._v
        if isinstance(x, np.ndarray):
            k = self.by_plain.get(id(x))
            if k is not None:
                return k
            b = x.base
            while b is not None:
                k = b._v if type(b) is Traced else self.by_plain.get(id(b))
                if k is not None:
                    w = self.values[k]
                    same = (w.shape == x.shape and w.dtype == x.dtype
                            and _address(self._plain(k)) == _address(x) and w.layout[0] == x.strides)
                    if same:
                        self.by_plain[id(x)] = k
                        self.keep.append(x)
                        return k
                    raise CompileError(
                        f"compile: an array of shape {x.shape} views a traced array through a path "
                        f"compile does not follow (at {_user_site()}); use numpy's functions on it"
                    )
                b = b.base
            return self.const(x)
        return None

    def _plain_of_step(self, k):
        return self._plain(k)

    def _plain(self, k):
        v = self.values[k]
        if v.kind == "const":
            return v.obj
        w = self.wrappers[k]
        return w._a

    def template(self, x, reads):
        t = type(x)
        if t is tuple or t is list:
            return t(self.template(i, reads) for i in x)
        if t is dict:
            return {k: self.template(i, reads) for k, i in x.items()}
        if t is slice:
            return slice(self.template(x.start, reads), self.template(x.stop, reads), self.template(x.step, reads))
        if t is Traced or (isinstance(x, np.ndarray) or type(x) in _NUMBER_TYPES):
            k = self._value_of(x)
            if k is None:
                return x._a if type(x) in _NUMBER_TYPES else x
            reads.append(k)
            return Ref(k)
        return x

    def plain(self, x):
        t = type(x)
        if t is Ref:
            return self._plain(x.v)
        if t is tuple or t is list:
            return t(self.plain(i) for i in x)
        if t is dict:
            return {k: self.plain(i) for k, i in x.items()}
        if t is slice:
            return slice(self.plain(x.start), self.plain(x.stop), self.plain(x.step))
        return x

    # recording
    def call(self, fn, args, kwargs, writes=(), name=None, shape_guard=False):
        reads = []
        targs = self.template(tuple(args), reads)
        tkw = self.template(dict(kwargs), reads) if kwargs else None
        wids = []
        for w in writes:
            k = self._value_of(w) if (isinstance(w, np.ndarray) or type(w) in _NUMBER_TYPES) else None
            if k is None:
                continue
            v = self.values[self.values[k].root]
            if v.kind == "const" and not v.written:
                v.snapshot = np.array(self._plain(v.id), copy=True)  # its content before any write
            v.written = True
            wids.append(k)
        pargs = self.plain(targs)
        pkw = self.plain(tkw) if tkw else {}
        self.depth += 1
        try:
            res = fn(*pargs, **pkw)
        finally:
            self.depth -= 1
        if type(res) is np.bool_:  # (a numpy bool can't be traced: the step makes a 0-d array)
            fn = _bool_array(fn)
            res = np.asarray(res)
        step = Step(fn, targs, tkw, None, reads, tuple(wids), self.label, name or getattr(fn, "__name__", "?"))
        step.outs, result = self._results(res, step, reads)
        if step.outs is None and not wids:
            return result  # nothing new, nothing changed (returned an input): no step needed
        if shape_guard:
            step.guard = "shape"
            step.expect = _shapes(res)
            step.site = _user_site()
        self.steps.append(step)
        return result

    def _results(self, res, step, reads):
        """(outs template, object handed back) for a kernel's result."""
        if isinstance(res, np.ndarray):
            k = self.by_plain.get(id(res))
            if k is not None:  # an input came back (out=, np.asarray of an array): the same object
                return None, self.wrappers.get(k, res)
            v = self._new("step", step=len(self.steps))
            fresh = res.base is None
            if not fresh:
                for r in reads:
                    w = self.values[r]
                    if w.shape is not None and w.scalar is None and np.may_share_memory(res, self._plain(r)):
                        v.root = w.root
                        break
            v.fresh = fresh
            return v.id, self.wrap(res, v, fresh)
        if isinstance(res, (np.generic, float, int)) and not isinstance(res, bool) or type(res) is np.bool_:
            if type(res) is bool:
                pass
            v = self._new("step", step=len(self.steps))
            return v.id, self.wrap(res, v)
        if type(res) is bool or type(res) is complex:
            # a Python value computed from arrays: the replay must recompute it and compare
            v = self._new("step", step=len(self.steps))
            self._describe(v, res)
            step.guard = "value"
            step.expect = res
            step.site = _user_site()
            return v.id, res
        if type(res) is tuple or type(res) is list:
            outs, objs = [], []
            for r in res:
                o, obj = self._results(r, step, reads)
                outs.append(o)
                objs.append(obj)
            return tuple(outs), type(res)(objs)
        return None, res

    def guard(self, how, x, name):
        """A Python value made from a traced one: recorded as a guard, returned plain."""
        reads = []
        t = self.template(x, reads)
        value = how(self.plain(t))
        step = Step(how, (t,), None, None, reads, (), self.label, name)
        step.guard = "value"
        step.expect = value
        step.site = _user_site()
        self.steps.append(step)
        return value


def _bool_array(fn):
    def f(*args, **kwargs):
        return np.asarray(fn(*args, **kwargs))

    f.__name__ = getattr(fn, "__name__", "f")
    return f


def _address(a) -> int:
    return a.__array_interface__["data"][0]


def _shapes(res):
    if isinstance(res, np.ndarray):
        return res.shape
    if type(res) is tuple or type(res) is list:
        return tuple(_shapes(r) for r in res)
    return None


# --------------------------------------------------------------------------- numpy's creators
_ORIGINAL = {name: getattr(np, name) for name in (
    "asarray", "asanyarray", "ascontiguousarray", "array", "zeros", "ones", "empty", "full",
    "arange", "eye", "identity", "linspace", "indices")}


def _contains_traced(x) -> bool:
    t = type(x)
    if t is Traced or type(x) in _NUMBER_TYPES:
        return True
    if t is tuple or t is list:
        return any(_contains_traced(i) for i in x)
    return False


def _as_array_patch(name):
    orig = _ORIGINAL[name]

    def f(a, *args, **kwargs):
        rec = active()
        if rec is None or rec.thread != threading.get_ident() or not _contains_traced(a):
            if rec is not None and name == "array" and isinstance(a, np.ndarray) and type(a) is not Traced:
                return rec.call(orig, (a, *args), kwargs, name=name)  # a copy compile must see written
            return orig(a, *args, **kwargs)
        if type(a) is Traced and name in ("asarray", "asanyarray") and not args and not kwargs:
            return a  # no conversion: the same object, as numpy returns it
        return rec.call(orig, (a, *args), kwargs, name=name)

    f.__name__ = name
    return f


def _creator_patch(name):
    orig = _ORIGINAL[name]

    def f(*args, **kwargs):
        rec = active()
        if rec is None or rec.thread != threading.get_ident():
            return orig(*args, **kwargs)
        return rec.call(orig, args, kwargs, name=name)

    f.__name__ = name
    return f


_PATCHES = {n: (_as_array_patch(n) if n.startswith("as") or n == "array" else _creator_patch(n))
            for n in _ORIGINAL}
_MATH = {n: f for n, f in vars(math).items() if callable(f) and not n.startswith("_")}


def _math_patch(name):
    orig = _MATH[name]

    def f(*args):
        if active() is None or not any(_contains_traced(a) for a in args):
            return orig(*args)
        return _call(orig, args, name=f"math.{name}")

    f.__name__ = name
    return f


_MATH_PATCHES = {n: _math_patch(n) for n in _MATH}
_original_print = builtins.print


def _print_patch(*args, **kwargs):
    rec = recorder()
    if rec is not None and rec.thread == threading.get_ident():
        raise CompileError(
            f"compile: print() inside the compiled function ({_user_site()}) would run once, when the "
            "function is captured, not at each call. Return what you want to print and print it "
            "outside, or run the function without compile."
        )
    return _original_print(*args, **kwargs)


class _Generator:
    """Stands for graphgrad's generator during a capture: each draw is a step that draws from
    the generator of the moment again at each replay (so replays continue its stream)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        method = getattr(self._real, name)
        if not callable(method):
            return method
        draw = _draws.get(name)
        if draw is None:
            draw = _draws[name] = _draw_fn(name)

        def record(*args, **kwargs):
            rec = active()
            if rec is None or rec.thread != threading.get_ident():
                return method(*args, **kwargs)
            n = len(rec.steps)
            out = rec.call(draw, args, kwargs, name=f"random.{name}")
            if len(rec.steps) > n:
                rec.steps[-1].effect = True  # the generator's state moves on
            return out

        return record


_draws: dict = {}


def _draw_fn(name):
    def draw(*args, **kwargs):
        g = _random._generator
        if isinstance(g, _Generator):
            g = g._real
        return getattr(g, name)(*args, **kwargs)

    draw.__name__ = f"random.{name}"
    return draw


class capturing:
    """Context manager: record in this thread with `rec`; numpy's array creators, print and
    graphgrad's generator are replaced meanwhile (for this thread; others pass through)."""

    _lock = threading.Lock()
    _users = 0

    def __init__(self, rec: Recorder):
        self.rec = rec

    def __enter__(self):
        _state.rec = self.rec
        with capturing._lock:
            if capturing._users == 0:
                for n, f in _PATCHES.items():
                    setattr(np, n, f)
                for n, f in _MATH_PATCHES.items():
                    setattr(math, n, f)
                builtins.print = _print_patch
            capturing._users += 1
        self.gen = _random._generator
        _random._generator = _Generator(self.gen)
        return self.rec

    def __exit__(self, *exc):
        if isinstance(_random._generator, _Generator):
            _random._generator = self.gen
        with capturing._lock:
            capturing._users -= 1
            if capturing._users == 0:
                for n, f in _ORIGINAL.items():
                    setattr(np, n, f)
                for n, f in _MATH.items():
                    setattr(math, n, f)
                builtins.print = _original_print
        _state.rec = None
        return False
