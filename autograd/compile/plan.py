"""A capture turned into straight-line Python: the plan a compiled function replays.

`build` takes the recorder's steps and values and the scope's pins and write-backs, and:
  1. drops the steps nothing needs (the engine's bookkeeping copies, metadata),
  2. folds steps that read only constants into constants (seeds of ones, option arithmetic),
  3. moves each guard, with the steps it reads, before the first step that changes state
     outside the plan, so a failing guard leaves everything as it was (else: CompileError),
  4. gives each temporary array a buffer allocated once, passed to its kernel as `out=`,
  5. writes the source of one function: read the externals and check the pins, run the
     kernels, write back, return the outputs. `Plan.source` shows it.
"""

from __future__ import annotations

import keyword
import math
import operator

import numpy as np

from .. import viz
from ..tensor import Tensor, counter, make
from .scope import ARGS, KWARGS, Loc
from .trace import CompileError, Miss, Recorder, Ref, Step

_UFUNC_OUT = (np.ufunc,)


class Plan:
    """The replayable form of one capture (see module doc): `run(args, kwargs)` replays it."""

    def __init__(self, source: str, namespace: dict, steps: list, rec: Recorder, buffers: int, nbytes: int,
                 first_effect: int, info: dict):
        self.source = source
        self.namespace = namespace
        exec(compile(source, "<autograd.compile plan>", "exec"), namespace)
        self.run = namespace["replay"]
        self.steps = steps
        self.values = rec.values
        self.buffers = buffers
        self.buffer_bytes = nbytes
        self.first_effect = first_effect
        self.info = info

    def __repr__(self):
        return (f"<Plan: {len(self.steps)} kernels, {self.buffers} preallocated buffers "
                f"({self.buffer_bytes / 1e6:.2f} MB)>")

    def kernels(self) -> list[str]:
        """One line per step replayed: `v7 = tanh(v6)  # forward tanh (0.Linear)`."""
        return [_step_text(s) for s in self.steps]

    def graph(self) -> dict:
        """The plan as a graph for drawing: {'nodes': [{'id', 'label', 'kind', 'phase'}],
        'edges': [(from id, to id, label)]}. Kernels are boxes; inputs, constants and outputs
        are values; an edge runs from a kernel to each kernel that reads what it produced."""
        nodes, edges = [], []
        producer = {}
        shown_inputs, shown_outputs = {}, {}
        for i, s in enumerate(self.steps):
            sid = f"s{i}"
            phase = s.label[0] if s.label else ""
            detail = s.label[1] if s.label and s.label[1] else ""
            kind = "guard" if s.guard else ("effect" if s.effect else "kernel")
            nodes.append({"id": sid, "label": s.name + (f"\n{detail}" if detail else ""), "kind": kind,
                          "phase": phase})
            for r in s.reads:
                v = self.values[r]
                if r in producer:
                    edges.append((producer[r], sid, _value_text(v)))
                elif v.kind == "ext":
                    vid = shown_inputs.get(r)
                    if vid is None:
                        vid = shown_inputs[r] = f"x{r}"
                        nodes.append({"id": vid, "label": f"{v.loc.text()}\n{_value_text(v)}", "kind": "input",
                                      "phase": ""})
                    edges.append((vid, sid, ""))
            for w in s.writes:
                v = self.values[w]
                if v.kind == "ext":  # (drawn apart from where it is read: no cycles)
                    vid = shown_outputs.get(v.id)
                    if vid is None:
                        vid = shown_outputs[v.id] = f"w{v.id}"
                        nodes.append({"id": vid, "label": f"{v.loc.text()}\n{_value_text(v)}", "kind": "written",
                                      "phase": ""})
                    edges.append((sid, vid, "writes"))
            for o in _flat_outs(s.outs):
                producer[o] = sid
        return {"nodes": nodes, "edges": edges}

    def draw(self):
        """The kernels this plan replays, as a drawing (`autograd.viz`'s: Jupyter shows it,
        `.save(path)` writes a picture): kernels by phase (forward blue, backward orange,
        update green), guards as diamonds, the arrays read and written outside as grey boxes."""
        d = viz._Drawing()(body=self.dot_body(), format="svg")
        d.stats = {"kind": "compiled plan", "nodes": len(self.steps), "edges": 0, "folded": 0, "cut": 0,
                   "folds": 0}
        return d

    def dot(self) -> str:
        """DOT source of `graph()` (see `draw`)."""
        return "digraph plan {\n" + "\n".join(self.dot_body()) + "\n}"

    def dot_body(self) -> list[str]:
        """The lines inside `digraph { ... }` of `dot()`."""
        g = self.graph()
        colours = {"forward": "#dbe9f6", "backward": "#fde2cf", "update": "#dff0d8"}
        lines = ['  rankdir=TB; node [fontname="Courier", fontsize=10];']
        for n in g["nodes"]:
            label = n["label"].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            if n["kind"] == "input":
                attrs = 'shape=box, style="rounded,filled", fillcolor="#eeeeee"'
            elif n["kind"] == "written":
                attrs = 'shape=box, style="rounded,filled,bold", fillcolor="#d9d9d9"'
            elif n["kind"] == "guard":
                attrs = 'shape=diamond, style=filled, fillcolor="#fff3b0"'
            else:
                attrs = f'shape=box, style=filled, fillcolor="{colours.get(n["phase"], "#ffffff")}"'
            lines.append(f'  {n["id"]} [label="{label}", {attrs}];')
        for a, b, label in g["edges"]:
            lines.append(f'  {a} -> {b} [label="{label}", fontsize=8];' if label else f"  {a} -> {b};")
        return lines


def _flat_outs(outs):
    if outs is None:
        return []
    if isinstance(outs, int):
        return [outs]
    r = []
    for o in outs:
        r.extend(_flat_outs(o))
    return r


def _value_text(v) -> str:
    if v.scalar is not None and v.shape is None:
        return v.scalar.__name__
    return f"{v.dtype}{list(v.shape)}" if v.shape is not None else "?"


def _step_text(s: Step) -> str:
    outs = _outs_text(s.outs)
    call = f"{s.name}({', '.join(_arg_text(a) for a in s.args)}" + (
        ", " + ", ".join(f"{k}={_arg_text(a)}" for k, a in s.kwargs.items()) if s.kwargs else "") + ")"
    where = " ".join(str(p) for p in (s.label or ()) if p)
    text = f"{outs} = {call}" if outs else call
    if s.guard:
        text = f"guard {call} == {s.expect!r}" if s.guard == "value" else f"guard {call}.shape == {s.expect}"
    return text + (f"  # {where}" if where else "")


def _outs_text(outs) -> str:
    if outs is None:
        return ""
    if isinstance(outs, int):
        return f"v{outs}"
    return "(" + ", ".join(_outs_text(o) or "_" for o in outs) + ")"


def _arg_text(a) -> str:
    if isinstance(a, Ref):
        return f"v{a.v}"
    if isinstance(a, (tuple, list)):
        inner = ", ".join(_arg_text(i) for i in a)
        return f"({inner}{',' if len(a) == 1 else ''})" if isinstance(a, tuple) else f"[{inner}]"
    if isinstance(a, np.ndarray):
        return f"<{a.dtype}{list(a.shape)}>"
    if isinstance(a, slice):
        return ":".join("" if p is None else _arg_text(p) for p in (a.start, a.stop, a.step))
    return repr(a) if not isinstance(a, type) else a.__name__


# --------------------------------------------------------------------------- building
def build(rec: Recorder, scope, out_template, steps=None, inputs=(), saved=None, namespace=None) -> Plan:
    """The plan of one capture (see module doc). `out_template` is the function's result
    with Refs for values and ('tensor', ref) for Tensors to make.

    For a function whose outputs are differentiated later, the forward and the backward are
    two plans over one recording: `steps` picks each one's steps; the forward also returns the
    `saved` values, which the backward receives as its `inputs`."""
    values = rec.values
    steps = list(rec.steps if steps is None else steps)
    R = _roots(rec)
    live = _live(scope, out_template, saved)
    _mark_effects(steps, values, R)
    steps = _drop_dead(steps, R, live)  # 1.
    written_roots = {R[w] for s in steps for w in s.writes}
    steps = _fold_constants(rec, steps, R, written_roots)  # 2.
    # 3. guards before the first effect; then each pure step computed once
    steps, first_effect = _hoist(steps, values, R)
    steps, alias = _dedupe(steps, values, R, written_roots, live)
    namespace = dict(namespace or {}, Miss=Miss, make=make, ndarray=np.ndarray)
    buffers, nbytes = _buffers(rec, steps, R, alias, live)  # 4.
    src = _Source(namespace, values, alias)
    source = _write(src, values, steps, buffers, scope, out_template, inputs, saved, live)  # 5.
    for v in values:
        if v.kind == "ext" and v.scalar is None:
            v.obj = None  # (the arrays of the capture's call need not live on)
    return Plan(source, namespace, steps, rec, len(buffers), nbytes, first_effect, {})


def _live(scope, out_template, saved) -> set:
    """The values the plan hands out: its outputs, the saved values, what it writes back."""
    live = set(saved or ())
    _refs(out_template, live)
    for _, ref in scope.writebacks if scope is not None else ():
        _refs(ref, live)
    return live


def _mark_effects(steps: list[Step], values, R):
    """A step writing into an external array changes state outside the plan."""
    ext_roots = {R[v.id] for v in values if v.kind == "ext"}
    for s in steps:
        if any(R[w] in ext_roots for w in s.writes):
            s.effect = True


def _drop_dead(steps: list[Step], R, live: set) -> list[Step]:
    """The steps something needs: effects, guards, and what they or the live values read."""
    needed_values = set(live)
    needed_roots = {R[k] for k in live}
    keep = []
    for s in reversed(steps):
        outs = _flat_outs(s.outs)
        if s.effect or s.guard or any(o in needed_values for o in outs) or any(R[w] in needed_roots for w in s.writes):
            keep.append(s)
            needed_values.update(s.reads)
            needed_roots.update(R[r] for r in s.reads)
            needed_roots.update(R[w] for w in s.writes)
    return keep[::-1]


def _fold_constants(rec: Recorder, steps: list[Step], R, written_roots: set) -> list[Step]:
    """Steps reading only constants become constants (their values turned "const")."""
    values = rec.values
    folded = set()
    kept = []
    for s in steps:
        outs = _flat_outs(s.outs)
        if (not s.effect and not s.guard and not s.writes and outs
                and all((values[r].kind == "const" and values[r].snapshot is None) or r in folded for r in s.reads)
                and not any(R[o] in written_roots for o in outs)):
            for o in outs:
                v = values[o]
                v.obj = rec._plain_of_step(o)
                v.kind = "const"
                folded.add(o)
            continue
        kept.append(s)
    return kept


def _buffers(rec: Recorder, steps: list[Step], R, alias: dict, live: set) -> tuple[dict, int]:
    """One buffer per temporary array, shared by temporaries whose lives don't overlap:
    value id -> buffer, and the bytes allocated."""
    values = rec.values
    escaping_roots = {R[k] for k in live}
    last = _last_use(steps, R, alias)
    buffers, pool = {}, {}
    nbytes = 0
    for i, s in enumerate(steps):
        if not _wants_buffer(s, values, R, escaping_roots):
            continue
        v = values[s.outs]
        plain = rec._plain_of_step(s.outs)
        key = (plain.shape, plain.dtype.str, plain.strides)
        free = pool.setdefault(key, [])
        inplace = _elementwise_inputs(s, values, R, alias)  # roots it may overwrite as it reads them
        pick = next((j for j, (_, end, root) in enumerate(free) if end < i or (end == i and root in inplace)), None)
        if pick is None:
            buf = np.empty_like(plain)
            nbytes += plain.nbytes
        else:
            buf = free.pop(pick)[0]
        buffers[v.id] = buf
        free.append((buf, last.get(v.id, i), v.id))
    return buffers, nbytes


def _last_use(steps: list[Step], R, alias: dict) -> dict:
    """root -> index of the last step reading or writing it."""
    last = {}
    for i, s in enumerate(steps):
        for r in (*s.reads, *s.writes):
            last[R[alias.get(r, r)]] = i
    return last


def _wants_buffer(s: Step, values, R, escaping_roots: set) -> bool:
    """Whether the step makes a fresh temporary array a ufunc or reduction can write via `out=`."""
    if s.guard or s.effect or not isinstance(s.outs, int) or s.writes:
        return False
    v = values[s.outs]
    if v.scalar is not None or v.shape is None or not v.fresh or R[v.id] != v.id:
        return False
    if v.id in escaping_roots or v.shape == () or 0 in v.shape:
        return False
    if s.kwargs and "out" in s.kwargs:
        return False
    return isinstance(s.fn, np.ufunc) or _is_reduce(s.fn)


def _write(src: _Source, values, steps: list[Step], buffers: dict, scope, out_template, inputs, saved,
           live: set) -> str:
    """The source of `replay`: checks, kernels, write-backs, outputs."""
    used = set(live)
    for s in steps:
        used.update(s.reads)
        used.update(s.writes)
    pro = _external_checks(src, values, used, inputs) + _pin_checks(src, scope)
    lines = ["def replay(args, kwargs, saved=None):", "    try:"]
    lines += ["        " + line for line in pro] or ["        pass"]
    lines += [f"        v{k} = saved[{i}]" for i, k in enumerate(inputs)]
    lines += ["    except (AttributeError, KeyError, IndexError, TypeError) as e:",
              "        raise Miss(repr(e)) from None"]
    for v in values:
        if v.kind == "const" and v.snapshot is not None and v.id in used:
            lines.append(f"    v{v.id} = {src.const(v.snapshot)}.copy(order='K')")
    for s in steps:
        lines += ["    " + line for line in src.step(s, buffers)]
    lines += _epilogue(src, scope, out_template, saved)
    return "\n".join(lines) + "\n"


def _external_checks(src: _Source, values, used: set, inputs) -> list[str]:
    """Read each external the plan uses and check its type (and an array's shape and dtype)."""
    pro = []
    given = set(inputs)
    for v in values:
        if v.kind != "ext" or v.id not in used or v.id in given:
            continue
        what = src.const("external " + v.loc.text())
        pro.append(f"v{v.id} = {src.loc(v.loc)}")
        if v.scalar is None:
            pro.append(f"if type(v{v.id}) is not ndarray or v{v.id}.shape != {v.shape!r} or "
                       f"v{v.id}.dtype is not {src.const(v.dtype)}: raise Miss({what})")
        else:
            pro.append(f"if type(v{v.id}) is not {src.const(_plain_type(v.scalar))}: raise Miss({what})")
    return pro


def _pin_checks(src: _Source, scope) -> list[str]:
    """Check each of the scope's pins."""
    pro = []
    for loc, kind, value in scope.pins if scope is not None else ():
        e = src.loc(loc)
        what = src.const("pin " + loc.text())
        if kind == "none":
            pro.append(f"if ({e} is None) is not {value!r}: raise Miss({what})")
        elif kind == "is":
            pro.append(f"if {e} is not {src.const(value)}: raise Miss({what})")
        elif kind == "same":
            pro.append(f"if {e} is not {src.loc(value)}: raise Miss({what})")
        else:
            pro.append(f"if {e} != {src.const(value)}: raise Miss({what})")
    return pro


def _epilogue(src: _Source, scope, out_template, saved) -> list[str]:
    """Write back, move the version counters, return the outputs (and the saved values)."""
    lines = []
    for loc, ref in scope.writebacks if scope is not None else ():
        lines.append(f"    {src.loc(loc)} = {src.ref(ref)}")
    for t, d in scope.version_moves if scope is not None else ():
        lines.append(f"    {src.const(counter(t))}[0] += {d}")
    if saved is not None:
        lines.append("    S = (" + "".join(src.arg(Ref(k)) + ", " for k in saved) + ")")
        lines.append(f"    return {src.output(out_template)}, S")
    else:
        lines.append(f"    return {src.output(out_template)}")
    return lines


def _roots(rec: Recorder) -> list[int]:
    """Each value's memory owner. External arrays sharing memory (parameters that are views of
    one flat buffer) share one, so writes through one order reads of the others."""
    values = rec.values
    by_base = {}
    for v in values:
        if v.kind == "ext" and v.scalar is None and v.shape is not None and v.obj is not None:
            a = v.obj
            while isinstance(a.base, np.ndarray):
                a = a.base
            v.root = by_base.setdefault(id(a), v.id)
    R = []
    for v in values:
        r = v.root
        while values[r].root != r:
            r = values[r].root
        R.append(r)
    return R


def _plain_type(t):
    return float if issubclass(t, float) and t.__module__ == "builtins" else (
        int if t is int else t)


def _elementwise_inputs(s: Step, values, R, alias) -> set:
    """Roots an elementwise ufunc reads whole (the array itself, not a view of it): its output
    may go into their memory, as `g *= mask` does (numpy reads each element before writing it)."""
    if not isinstance(s.fn, np.ufunc) or s.fn.signature is not None or s.kwargs:
        return set()
    shape = values[s.outs].shape
    direct, seen = set(), {}
    for a in s.args:
        if type(a) is Ref:
            k = alias.get(a.v, a.v)
            if R[k] == k and values[k].shape == shape:
                direct.add(k)
    for r in s.reads:
        k = R[alias.get(r, r)]
        seen[k] = seen.get(k, 0) + 1
    refs = [alias.get(a.v, a.v) for a in s.args if type(a) is Ref]
    return {k for k in direct if refs.count(k) == seen.get(k, 0)}  # (not also read through a view)


def _is_reduce(fn) -> bool:
    """A ufunc's reduce or accumulate (they take out= like the ufunc itself)."""
    return getattr(fn, "__name__", "") in ("reduce", "accumulate") and isinstance(
        getattr(fn, "__self__", None), np.ufunc)


def _refs(x, into: set):
    if isinstance(x, Ref):
        into.add(x.v)
    elif isinstance(x, (tuple, list)):
        for i in x:
            _refs(i, into)
    elif isinstance(x, dict):
        for i in x.values():
            _refs(i, into)


def _hoist(steps: list[Step], values, R):
    """Move each guard after the first effect, with what it reads, before that effect (see
    module doc). Returns the steps and the index of the first effect."""
    first = next((i for i, s in enumerate(steps) if s.effect), len(steps))
    late = [i for i, s in enumerate(steps) if s.guard and i > first]
    if not late:
        return steps, first
    moved: set[int] = set()
    for gi in late:
        # the guard's slice: producers (and in-place writers) of what it reads, back to `first`
        want_v = set(steps[gi].reads)
        want_r = {R[r] for r in want_v}
        slice_ = {gi}
        for j in range(gi - 1, first - 1, -1):
            s = steps[j]
            if j in moved:
                continue
            if any(o in want_v for o in _flat_outs(s.outs)) or any(R[w] in want_r for w in s.writes):
                slice_.add(j)
                want_v.update(s.reads)
                want_r.update(R[r] for r in s.reads)
        for j in sorted(slice_):
            s = steps[j]
            if s.effect:
                raise _late(steps[gi], "it depends on a value computed after the function changed state")
            touched = {R[r] for r in s.reads} | {R[w] for w in s.writes}
            for k in range(first, j):
                if k in slice_ or k in moved:
                    continue
                other = steps[k]
                if {R[w] for w in other.writes} & touched or (
                        s.writes and {R[r] for r in other.reads} & {R[w] for w in s.writes}):
                    raise _late(steps[gi], "it reads state the function changes before it")
        moved |= slice_
    order = [s for i, s in enumerate(steps) if i < first or i in moved]
    first_new = len(order)
    order += [s for i, s in enumerate(steps) if i >= first and i not in moved]
    return order, first_new


def _dedupe(steps: list[Step], values, R, written_roots: set, live: set):
    """Drop a pure step that repeats an earlier one on the same values (eager computes
    `x - y` in forward and again in backward; an optimizer checks `if weight_decay:` per
    parameter): its outputs become the earlier one's. Returns the steps and the renames."""
    alias: dict[int, int] = {}
    seen: dict = {}
    readers: dict[int, list] = {}  # root -> keys of seen entries reading it
    kept = []
    for s in steps:
        for w in s.writes:
            for key in readers.pop(R[w], ()):
                seen.pop(key, None)
        outs = _flat_outs(s.outs)
        pure = not s.effect and not s.writes and not any(R[o] in written_roots or o in live for o in outs)
        key = _key((s.fn, s.args, s.kwargs, s.guard, s.expect if s.guard else None), alias) if pure else _NO
        if key is not _NO:
            earlier = seen.get(key)
            if earlier is not None:
                if earlier.outs is not None and s.outs is not None and _same_structure(earlier.outs, s.outs):
                    for a, b in zip(_flat_outs(s.outs), _flat_outs(earlier.outs)):
                        alias[a] = b
                    continue
                if s.guard and s.outs is None or s.guard == "value":
                    continue
            else:
                seen[key] = s
                for r in s.reads:
                    readers.setdefault(R[alias.get(r, r)], []).append(key)
        kept.append(s)
    return kept, alias


def _same_structure(a, b) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return isinstance(a, int) and isinstance(b, int)
    return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))


def _key(x, alias):
    """A hashable stand-in for a step's call (None when some part can't be compared)."""
    t = type(x)
    if t is Ref:
        return ("ref", alias.get(x.v, x.v))
    if t is tuple or t is list:
        parts = tuple(_key(i, alias) for i in x)
        return _NO if any(p is _NO for p in parts) else (t.__name__, parts)
    if t is dict:
        parts = tuple((k, _key(i, alias)) for k, i in x.items())
        return _NO if any(p is _NO for _, p in parts) else ("dict", parts)
    if t is slice:
        return _key(("slice", x.start, x.stop, x.step), alias)
    if x is None or t in (int, float, bool, str) or isinstance(x, (np.dtype, np.generic)):
        return (t, x)
    if callable(x) or isinstance(x, type):
        return ("id", id(x))
    return _NO


_NO = object()


def _late(step: Step, why: str) -> CompileError:
    return CompileError(
        f"compile: the function's Python code depends on a tensor value ({step.name} at {step.site}), "
        f"and the check can't run before the function changes state: {why}. Move that code out of the "
        "compiled function, or compute the value before the update."
    )


class _Source:
    """Names for constants and locations while writing a plan's source."""

    def __init__(self, namespace: dict, values, alias: dict):
        self.ns = namespace
        self.values = values
        self.alias = alias
        self.names: dict[int, str] = {}
        self.fns: dict[int, str] = {}

    def const(self, obj) -> str:
        if obj is None or obj is True or obj is False or obj is Ellipsis:
            return repr(obj)
        t = type(obj)
        if t is int or t is str:
            return repr(obj)
        if t is float and math.isfinite(obj):
            return repr(obj)
        k = self.names.get(id(obj))
        if k is None:
            k = self.names[id(obj)] = f"k{len(self.names)}"
            self.ns[k] = obj
        return k

    def fn(self, f) -> str:
        k = self.fns.get(id(f))
        if k is None:
            base = getattr(f, "__name__", "f").replace(".", "_")
            base = "".join(c if c.isalnum() or c == "_" else "_" for c in base)
            k = self.fns[id(f)] = f"f_{base}_{len(self.fns)}"
            self.ns[k] = f
        return k

    def loc(self, loc: Loc) -> str:
        e = "args" if loc.root is ARGS else "kwargs" if loc.root is KWARGS else self.const(loc.root)
        for kind, key in loc.path:
            if kind == "attr":
                e += f".{key}" if key.isidentifier() and not keyword.iskeyword(key) else f"getattr({e}, {key!r})"
            else:
                e += f"[{self.const(key)}]"
        return e

    def arg(self, a) -> str:
        t = type(a)
        if t is Ref:
            k = self.alias.get(a.v, a.v)
            v = self.values[k]
            if v.kind == "const" and v.snapshot is None:
                return self.const(v.obj)
            return f"v{k}"
        if t is tuple:
            inner = ", ".join(self.arg(i) for i in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if t is list:
            return "[" + ", ".join(self.arg(i) for i in a) + "]"
        if t is dict:
            return "{" + ", ".join(f"{self.const(k)}: {self.arg(i)}" for k, i in a.items()) + "}"
        if t is slice:
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        return self.const(a)

    def ref(self, ref) -> str:
        if isinstance(ref, tuple) and ref and ref[0] == "const":
            return self.const(ref[1])
        if isinstance(ref, tuple) and ref and ref[0] == "tensor":
            return f"make({self.ref(ref[1])})"
        if isinstance(ref, tuple) and ref and ref[0] == "tuple":
            return "(" + "".join(self.ref(r) + ", " for r in ref[1]) + ")"
        return self.arg(ref)

    def _array_input(self, args) -> bool:
        """Whether the first argument is a plan value that had axes at capture."""
        first = args[0] if args else None
        if not isinstance(first, Ref):
            return False
        v = self.values[first.v]
        return v.shape is not None and len(v.shape) > 0

    def step(self, s: Step, buffers: dict) -> list[str]:
        fn, sargs, skw = _faster(s.fn, s.args, s.kwargs, self._array_input(s.args))
        f = self.fn(fn)
        args = ", ".join(self.arg(a) for a in sargs)
        positional = isinstance(fn, np.ufunc) and fn not in (np.maximum, np.minimum)  # (numpy deprecates it there)
        if positional and skw and set(skw) == {"out"} and type(skw["out"]) is tuple:
            args += ", " + ", ".join(self.arg(a) for a in skw["out"])  # (positional: no tuple made)
            skw = None
        kw = ", ".join(f"{k}={self.arg(a)}" for k, a in skw.items()) if skw else ""
        out = buffers.get(s.outs) if isinstance(s.outs, int) else None
        if out is not None:
            b = self.const(out)
            if positional and not kw:
                args += f", {b}"
            else:
                kw = (kw + ", " if kw else "") + f"out={b}"
        call = f"{f}({args}{', ' if args and kw else ''}{kw})"
        if s.guard == "value":
            what = self.const(f"guard {s.name} at {s.site}")
            return [f"if {call} != {self.const(s.expect)}: raise Miss({what})"]
        target = _target(s.outs)
        lines = [f"{target} = {call}" if target else call]
        if s.guard == "shape":
            lines.append(f"if {_shape_expr(s.outs)} != {s.expect!r}: raise Miss({self.const('shape ' + s.name)})")
        return lines

    def output(self, t) -> str:
        if isinstance(t, tuple) and len(t) == 2 and t[0] == "tensor":
            return f"make({self.arg(t[1])})"
        if isinstance(t, tuple) and len(t) == 3 and t[0] == "graph":  # an output differentiated later
            return f"_output({t[1]}, {self.arg(t[2])}, S, args, kwargs)"
        if isinstance(t, tuple) and len(t) == 2 and t[0] == "copy":
            return f"{self.arg(t[1])}.copy()"
        if isinstance(t, tuple) and len(t) == 2 and t[0] == "const":
            return self.const(t[1])
        if isinstance(t, tuple) and len(t) == 2 and t[0] == "tuple":
            return "(" + "".join(self.output(i) + ", " for i in t[1]) + ")"
        if isinstance(t, tuple) and len(t) == 2 and t[0] == "list":
            return "[" + ", ".join(self.output(i) for i in t[1]) + "]"
        if isinstance(t, tuple) and len(t) == 2 and t[0] == "dict":
            return "{" + ", ".join(f"{self.const(k)}: {self.output(i)}" for k, i in t[1]) + "}"
        if isinstance(t, Ref):
            return self.arg(t)
        return self.const(t)


_REDUCE_METHODS = {np.ndarray.sum: np.add.reduce, np.ndarray.prod: np.multiply.reduce,
                   np.ndarray.max: np.maximum.reduce, np.ndarray.min: np.minimum.reduce}
_VIEW_FUNCTIONS = {np.transpose: np.ndarray.transpose, np.swapaxes: np.ndarray.swapaxes}


def _faster(fn, args, kwargs, array_input=True):
    """The same call through a cheaper door, where numpy's function is a thin wrapper over it
    (np.transpose(a, axes) is a.transpose(axes); a.sum(axis) is np.add.reduce(a, axis)). The
    array methods only where the input is an array with axes: a 0-d result of numpy (a full
    reduction) is a numpy scalar when the plan runs, and the methods refuse scalars."""
    r = _REDUCE_METHODS.get(fn)
    if r is not None and len(args) <= 2 and (not kwargs or set(kwargs) <= {"axis", "keepdims", "out", "dtype"}):
        if fn in (np.ndarray.max, np.ndarray.min) and not (len(args) == 2 or kwargs and "axis" in kwargs):
            return fn, args, kwargs  # (a full max/min: the method checks for an empty array)
        if len(args) == 1 and not (kwargs and "axis" in kwargs):
            kwargs = dict(kwargs or {}, axis=None)
        return r, args, kwargs
    v = _VIEW_FUNCTIONS.get(fn)
    if v is not None and not kwargs and array_input:
        return v, args, kwargs
    if fn is np.reshape and len(args) == 2 and not kwargs and array_input:
        return np.ndarray.reshape, args, kwargs
    return fn, args, kwargs


def _target(outs) -> str:
    if outs is None:
        return ""
    if isinstance(outs, int):
        return f"v{outs}"
    return "(" + "".join((_target(o) or "_") + ", " for o in outs) + ")"


def _shape_expr(outs) -> str:
    if isinstance(outs, int):
        return f"v{outs}.shape"
    return "(" + "".join(_shape_expr(o) + ", " for o in outs) + ")"


# keep names used only in generated code visible to linters
_ = (operator, Tensor)
