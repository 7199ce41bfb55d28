"""`autograd.compile(fn)`: capture a function once, replay it at hand-written-numpy speed.

The first call for a given signature (the arguments' shapes, dtypes and `requires_grad`,
grad mode and the default dtype) runs `fn` eagerly and records every numpy kernel it runs:
the forward ops, the backward formulas in the order the engine ran them, the optimizer's
update (see `autograd.compile.trace`). Later calls with that signature replay the kernels as
one generated Python function: no Tensor or Node per op, no graph, temporaries written into
buffers allocated once, parameters and optimizer state updated in place, and the same
numbers as eager execution, bit for bit.

>>> import autograd, nn, numpy as np
>>> _ = autograd.manual_seed(0)
>>> model = nn.Linear(3, 1, dtype=np.float64)
>>> opt = nn.optim.SGD(model.parameters(), lr=0.1)
>>> @autograd.compile
... def step(x, y):
...     opt.zero_grad()
...     loss = nn.functional.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
...     return loss
>>> x, y = autograd.tensor(np.ones((4, 3))), autograd.tensor(np.zeros((4, 1)))
>>> losses = [step(x, y).item() for _ in range(3)]   # captures twice, then replays
>>> step.stats["replays"] >= 1
True

`fn` may be a forward function, a loss function whose outputs are differentiated later (each
output comes back with one node whose backward replays the recorded backward, see
`autograd.compile.vjp`), or a whole training step (zero_grad, forward, loss, backward,
optimizer step; its outputs come back without a graph). `step.source()` shows a plan's
Python, `step.draw()` its kernels, `step.stats` counts captures, replays and misses.

Guards and fallbacks, stated plainly:
  * a new signature is captured anew; plans are kept per signature. A training step's first
    capture makes the optimizer's state, so the second call captures again, then replays;
  * parameters, buffers and optimizer state (the learning rate included) are read again at
    every call, so `p.data = new`, in-place changes made outside and a scheduler's new
    learning rate are seen; shapes, dtypes and the identities the step relied on (a module's
    parameters, `.grad` present or not, `training`) are checked, and a mismatch captures anew;
  * `.item()` and `.tolist()` give traced numbers (a returned `loss.item()` is recomputed);
    what turns tensor values into plain Python values (`bool`, `float`, `int`, comparing a
    traced number, a branch on a tensor) is a guard: the replay recomputes it before it changes
    any state, and when it differs the call is captured again (a plan per branch, up to
    `max_captures` per signature; then CompileError, or eager calls with `fallback="eager"`).
    A guard that can only be checked after the state changed is refused at capture;
  * printing inside `fn`, gradient hooks, anomaly mode, or Python state compile can't follow
    (a learning-rate scheduler stepped inside `fn`, a counter attribute) raise `CompileError`
    at capture, saying what to move out of the function. Under `detect_anomaly()` compiled
    functions run eagerly, as they do inside another capture or while another thread replays;
  * numpy arrays made inside `fn` from Python values are constants of the plan (as in
    jax.jit); random draws must come from graphgrad's generator (`autograd.manual_seed`),
    which the replay draws from again. Values read by C code straight from a traced number
    (`from math import sqrt` imported before; `math.sqrt` itself is followed) escape the
    guards: keep such code outside.
"""

from __future__ import annotations

import functools
import threading
import warnings

import numpy as np

from ..dtypes import get_default_dtype
from ..mode import state, threads  # (the recording state, not .scope)
from ..tensor import Tensor, make
from . import plan as _plan
from . import scope as _state
from . import trace as _trace
from . import vjp as _vjp
from .trace import CompileError, Miss, Ref

__all__ = ["compile", "Compiled", "CompileError"]


def compile(fn=None, *, fallback: str = "error", max_captures: int = 8):  # noqa: A001 - torch's name
    """Compile `fn` (see the module doc); usable as `@autograd.compile` or
    `autograd.compile(fn, fallback="eager")`.

    fallback: what a signature does after `max_captures` captures that replays could not
    use (values a branch depends on keep changing): "error" raises CompileError naming the
    guards; "eager" warns once and calls `fn` eagerly from then on.
    """
    if fallback not in ("error", "eager"):
        raise ValueError(f"compile: fallback must be 'error' or 'eager'; got {fallback!r}")
    if fn is None:
        return functools.partial(compile, fallback=fallback, max_captures=max_captures)
    if not callable(fn):
        raise TypeError(f"compile: expected a function; got {type(fn).__name__}")
    return Compiled(fn, fallback, max_captures)


class Compiled:
    """A compiled function: call it like `fn`. `stats` counts captures, replays and misses;
    `plans()` lists the plans, `source()` shows the latest one's Python."""

    def __init__(self, fn, fallback: str, max_captures: int):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.fallback = fallback
        self.max_captures = max_captures
        self._plans: dict = {}  # signature -> list of Plans
        self._captures: dict = {}  # signature -> captures so far
        self._eager: set = set()  # signatures given up on (fallback="eager")
        self._misses: dict = {}  # signature -> why the last replays missed
        self._lock = threading.Lock()
        self._late: list = []  # modules the function reached that discovery missed
        self.stats = {"captures": 0, "replays": 0, "misses": 0, "eager": 0}
        self.last_plan = None

    def __get__(self, obj, objtype=None):  # decorating a method: bind like a function
        if obj is None:
            return self
        bound = getattr(obj, "_compiled_" + self.__name__, None)
        if bound is None:
            bound = Compiled(self.fn.__get__(obj, objtype), self.fallback, self.max_captures)
            try:
                setattr(obj, "_compiled_" + self.__name__, bound)
            except AttributeError:
                pass
        return bound

    def __call__(self, *args, **kwargs):
        if _trace.recorder() is not None or (threads.anomaly and state.anomaly):
            return self.fn(*args, **kwargs)  # inside another capture, or debugging: eagerly
        key = _signature(args, kwargs)
        plans = self._plans.get(key)
        if plans:
            if not self._lock.acquire(blocking=False):  # another thread replays (shared buffers)
                self.stats["eager"] += 1
                return self.fn(*args, **kwargs)
            try:
                for i, p in enumerate(plans):
                    try:
                        out = p.run(args, kwargs)
                    except Miss as m:
                        misses = self._misses.setdefault(key, [])
                        misses.append(str(m))
                        del misses[: -2 * self.max_captures]
                        self.stats["misses"] += 1
                        continue
                    if i:  # the plan that fits goes first next time
                        plans.insert(0, plans.pop(i))
                    self.stats["replays"] += 1
                    return out
            finally:
                self._lock.release()
        if key in self._eager:
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        n = self._captures.get(key, 0)
        if n >= self.max_captures:
            why = "; ".join(dict.fromkeys(self._misses.get(key, [])[-self.max_captures:]))
            msg = (f"compile: {self.__name__} was captured {n} times for one signature and no plan fits "
                   f"this call: its Python code depends on values that keep changing ({why}). Move "
                   "that code out of the compiled function, or pass fallback='eager'.")
            if self.fallback == "error":
                raise CompileError(msg)
            warnings.warn(msg + " Running it eagerly from now on.", RuntimeWarning, stacklevel=2)
            self._eager.add(key)
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        self._captures[key] = n + 1
        return self._capture(key, args, kwargs)

    # ------------------------------------------------------------------ capture
    def _capture(self, key, args, kwargs):
        self.stats["captures"] += 1
        rec = _trace.Recorder()
        found = _state.discover(self.fn)
        for x in (*args, *kwargs.values(), *self._late):  # modules and optimizers passed in, or met late
            if not isinstance(x, (Tensor, np.ndarray, float)):
                found.add(x, None)
        scope = _state.Scope(found, rec)
        hooks = _Hooks(rec, found)
        with _trace.capturing(rec):
            targs, tkwargs = _swap_args(scope, args, kwargs)
            scope.swap_in()
            hooks.install()
            try:
                result = self.fn(*targs, **tkwargs)
                graphs = [] if hooks.backward_ran or not state.enabled else _vjp.graph_outputs(result)
                if graphs:  # differentiated later: record a backward per output too
                    forward_end = len(rec.steps)
                    cands = _vjp.candidates(args, kwargs, found)
                    _vjp.check_inside(graphs, cands, hooks.inner)
                    parts = _vjp.record_backwards(rec, graphs, cands)
                template = _output(rec, result, found, graphs)
            except BaseException:
                hooks.remove()
                scope.finish(check=False)  # (everything back in place; the function's error stands)
                raise
            hooks.remove()
            self._late.extend(hooks.late)
            scope.finish()
        if not graphs:
            result = _unwrap_output(result)
            if scope.one_shot is None and hooks.incomplete is None:
                p = _plan.build(rec, scope, template)
                self._plans.setdefault(key, []).append(p)
                self.last_plan = p
            return result
        # two plans over one recording; even this call's outputs get the compiled backward
        saved = _vjp.saved_values(rec, parts)
        backwards = [_plan.build(rec, None, ("tuple", refs), steps=rec.steps[a:b], inputs=saved)
                     for a, b, _, refs in parts]
        output = _vjp.output_maker(self.__name__, backwards, cands)
        forward = _plan.build(rec, scope, template, steps=rec.steps[:forward_end], saved=saved,
                              namespace={"_output": output})
        plain = tuple(rec._plain(k) for k in saved)
        result = _rebuild(result, graphs, output, plain, args, kwargs)
        if scope.one_shot is None and hooks.incomplete is None:
            run = forward.run
            forward.run = lambda a, k, _run=run: _run(a, k)[0]
            self._plans.setdefault(key, []).append(forward)
            self.last_plan = forward
            forward.backwards = backwards
        return result

    def plans(self) -> list:
        """Every plan made so far (all signatures)."""
        return [p for ps in self._plans.values() for p in ps]

    def source(self) -> str:
        """The Python source of the latest plan (what a replay runs)."""
        return self.last_plan.source if self.last_plan is not None else ""

    def draw(self):
        """The kernels the latest plan replays, drawn (see `Plan.draw`)."""
        if self.last_plan is None:
            raise ValueError(f"draw: {self.__name__} has no plan yet; call it (twice for a training step) first")
        return self.last_plan.draw()

    def __repr__(self):
        return f"<compiled {self.__name__}: {self.stats}>"


# --------------------------------------------------------------------------- signatures
def _signature(args, kwargs):
    sig = [state.enabled, get_default_dtype()]
    for a in args:
        sig.append(_arg_sig(a))
    if kwargs:
        for k in sorted(kwargs):
            sig.append((k, _arg_sig(kwargs[k])))
    return tuple(sig)


def _arg_sig(a):
    t = type(a)
    if t is np.ndarray:
        return (a.shape, a.dtype)
    if isinstance(a, Tensor):
        d = a.data
        return (t, d.shape, d.dtype, a._requires_grad, a._node is None)
    if t is float:
        return float
    if t in (int, bool, str, type(None)):
        return (t, a)
    if t is tuple or t is list:
        return (t, tuple(_arg_sig(i) for i in a))
    if t is dict:
        return (t, tuple((k, _arg_sig(v)) for k, v in sorted(a.items())))
    if isinstance(a, np.generic):
        return (t, a.item())
    return (t, id(a))


# --------------------------------------------------------------------------- arguments
def _swap_args(scope, args, kwargs):
    """Arguments with traced stand-ins: Tensors keep their identity (their data is swapped and
    put back by `scope.finish`), arrays and floats are replaced in the copies the function gets."""
    rec = scope.rec

    def swap(x, loc):
        t = type(x)
        if isinstance(x, Tensor):
            scope.tensor(x, loc)
            return x
        if t is np.ndarray or t is float:
            return rec.external(x, loc)
        if t is tuple or t is list:
            return t(swap(i, loc.child("item", j)) for j, i in enumerate(x))
        if t is dict:
            return {k: swap(v, loc.child("item", k)) for k, v in x.items()}
        return x

    targs = tuple(swap(a, _state.Loc(_state.ARGS, (("item", i),))) for i, a in enumerate(args))
    tkwargs = {k: swap(v, _state.Loc(_state.KWARGS, (("item", k),))) for k, v in kwargs.items()}
    return targs, tkwargs


# --------------------------------------------------------------------------- outputs
def _output(rec, x, found, graphs=()):
    """The function's result as a template for the plan's return statement."""
    t = type(x)
    if isinstance(x, Tensor):
        d = x.data
        if any(x is f for f in found.tensors):
            return ("const", x)
        for j, g in enumerate(graphs):
            if x is g:
                return ("graph", j, Ref(d._v))
        if _trace.is_traced(d):
            return ("tensor", Ref(d._v))
        if isinstance(d, np.ndarray):
            k = rec._value_of(d)
            return ("tensor", Ref(k))
        return ("const", x)
    if _trace.is_traced(x):
        return Ref(x._v)
    if isinstance(x, np.ndarray):
        return Ref(rec._value_of(x))
    if t is tuple:
        return ("tuple", tuple(_output(rec, i, found, graphs) for i in x))
    if t is list:
        return ("list", [_output(rec, i, found, graphs) for i in x])
    if t is dict:
        return ("dict", [(k, _output(rec, v, found, graphs)) for k, v in x.items()])
    if x is None or t in (str, int, float, bool):
        return ("const", x)
    raise CompileError(
        f"compile: the function returns a {t.__name__}; compiled functions return Tensors, arrays, "
        "numbers, or tuples, lists and dicts of them"
    )


def _rebuild(x, graphs, output, saved, args, kwargs):
    """The capture's result, its graph outputs remade with the compiled backward."""
    if isinstance(x, Tensor):
        for j, g in enumerate(graphs):
            if x is g:
                return output(j, x.data._a, saved, args, kwargs)
        return _unwrap_output(x)
    t = type(x)
    if t is tuple or t is list:
        return t(_rebuild(i, graphs, output, saved, args, kwargs) for i in x)
    if t is dict:
        return {k: _rebuild(v, graphs, output, saved, args, kwargs) for k, v in x.items()}
    return _unwrap_output(x)


def _unwrap_output(x):
    """The capture's own result with plain arrays (the traced ones must not escape)."""
    if isinstance(x, Tensor):
        if _trace.is_traced(x.data):
            x.data = x.data._a
        if x._node is not None:  # its graph ran backward inside the function (or is dropped)
            x = make(x.data)
        return x
    if _trace.is_traced(x):
        return x._a
    t = type(x)
    if t is tuple or t is list:
        return t(_unwrap_output(i) for i in x)
    if t is dict:
        return {k: _unwrap_output(v) for k, v in x.items()}
    return x


# --------------------------------------------------------------------------- engine hooks
class _Hooks:
    """The engine's tracer and backward hooks during a capture: label steps with their op and
    phase, and refuse what a replay could not repeat (hooks, anomaly mode)."""

    def __init__(self, rec, found):
        self.rec = rec
        self.found = found
        self.error = None
        self.incomplete = None
        self.labelled = 0
        self.known_modules = {id(m) for m in found.modules}
        self.backward_ran = False
        self.inner: set[int] = set()  # nodes recorded during the call
        self.late: list = []  # modules met only while running: found by the next capture

    def _label(self, label):
        steps = self.rec.steps
        for s in steps[self.labelled:]:
            if s.label is None:
                s.label = label
        self.labelled = len(steps)

    def on_op(self, op, datas, attrs, out):
        if state.anomaly:
            raise CompileError("compile: anomaly mode is turned on inside the compiled function; "
                               "turn it on around the call instead (compiled functions then run eagerly)")
        if out._node is not None:
            self.inner.add(id(out._node))
        scope = state.scope
        where = getattr(scope, "_path", None) or (type(scope).__name__ if scope is not None else "")
        self._label(("forward", op.name, where))
        if scope is not None and id(scope) not in self.known_modules:
            self.known_modules.add(id(scope))
            for t in list(getattr(scope, "_parameters", {}).values()) + list(getattr(scope, "_buffers", {}).values()):
                if t is not None and not _trace.is_traced(t.data):
                    # its state was not swapped in: this capture can't be replayed, the next one can
                    self.incomplete = f"module {type(scope).__name__} was not found before the call"
                    self.late.append(scope)
                    break

    def on_backward(self, roots):
        self.backward_ran = True
        self._label(("forward", None, None))
        _check_hooks(roots)
        if self.prev_backward is not None:
            self.prev_backward(roots)
        self.rec.label = ("backward", None, None)

    def install(self):
        self.prev_tracer = state.tracer
        self.prev_backward = state.on_backward
        state.tracer = self.on_op
        state.on_backward = self.on_backward
        threads.trace += 1
        self.rec.label = None

    def remove(self):
        self._label(("forward", None, None) if self.rec.label is None else self.rec.label)
        state.tracer = self.prev_tracer
        state.on_backward = self.prev_backward
        threads.trace -= 1


def _check_hooks(roots):
    seen = set()
    stack = [r._node if r._node is not None else r for r in roots]
    while stack:
        v = stack.pop()
        if v is None or id(v) in seen:
            continue
        seen.add(id(v))
        if getattr(v, "_hooks", None):
            what = "a tensor" if isinstance(v, Tensor) else f"the output of {v.op.name}"
            raise CompileError(
                f"compile: {what} has a gradient hook (register_hook, or viz.record_grads) inside the "
                "compiled function; hooks would run once, at capture. Remove the hook or call the "
                "function without compile."
            )
        for e in getattr(v, "edges", ()):
            if e is not None:
                stack.append(e)


def set_label(phase: str, what: str | None = None) -> None:
    """Name the steps recorded from now on (optimizers call it: 'update', 'Adam'); nothing
    when no capture is running."""
    rec = _trace.recorder()
    if rec is not None:
        rec.label = (phase, what, None)


# reachable from the function `autograd.compile` (the package's name is taken by it there)
compile.set_label = set_label
compile.CompileError = CompileError
compile.Compiled = Compiled
