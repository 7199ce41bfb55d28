"""Compiled functions whose outputs are differentiated later (`loss = f(x); loss.backward()`).

When the captured function returns tensors that still carry a graph (it ran no backward of
its own), the capture goes on: for each such output, a backward from it (seeded with a traced
gradient, to the arguments and parameters that need gradients) is recorded too. That gives
two plans over one recording: the forward, which also returns the values the backward reads,
and one backward per output. A replay returns each output as a Tensor with a single node,
whose backward replays the recorded one: the engine then accumulates into `.grad`, runs
hooks and continues into graphs made outside, as for any op.
"""

from __future__ import annotations

import numpy as np

from ..engine import run_backward
from ..function import FunctionCtx
from ..node import Node
from ..ops.registry import Op
from ..tensor import Tensor, make
from .scope import ARGS, KWARGS, Loc
from .trace import _ORIGINAL, CompileError, Miss, Ref, is_traced


class Candidate:
    """A tensor the backward sends a gradient to: an argument (found again in each call's
    arguments) or a tensor the function reaches (the same object every call)."""

    __slots__ = ("loc", "tensor")

    def __init__(self, loc: Loc | None, tensor: Tensor):
        self.loc = loc
        self.tensor = tensor

    def get(self, args, kwargs) -> Tensor:
        if self.loc is None:
            return self.tensor
        x = args if self.loc.root is ARGS else kwargs
        for _, key in self.loc.path:
            x = x[key]
        return x


def graph_outputs(result) -> list:
    """The tensors of a result that carry a graph, in a fixed order."""
    out = []

    def walk(x):
        if isinstance(x, Tensor):
            if x._node is not None and is_traced(x.data):
                out.append(x)
        elif isinstance(x, (tuple, list)):
            for i in x:
                walk(i)
        elif isinstance(x, dict):
            for i in x.values():
                walk(i)

    walk(result)
    return out


def candidates(args, kwargs, found) -> list[Candidate]:
    """Every tensor outside the function a gradient may reach."""
    cands, seen = [], set()

    def add(t, loc):
        if id(t) not in seen and t._requires_grad:
            seen.add(id(t))
            cands.append(Candidate(loc, t))

    def walk(x, loc):
        if isinstance(x, Tensor):
            add(x, loc)
        elif isinstance(x, (tuple, list)):
            for i, item in enumerate(x):
                walk(item, loc.child("item", i))
        elif isinstance(x, dict):
            for k, item in x.items():
                walk(item, loc.child("item", k))

    for i, a in enumerate(args):
        walk(a, Loc(ARGS, (("item", i),)))
    for k, a in kwargs.items():
        walk(a, Loc(KWARGS, (("item", k),)))
    for t in found.tensors:
        add(t, None)
    return cands


def check_inside(outputs, cands, inner: set) -> None:
    """Refuse graphs that reach nodes made before the call by other paths than the
    candidates: their saved values would be constants of the plan."""
    stop = {id(c.tensor._node if c.tensor._node is not None else c.tensor) for c in cands}
    stack = [t._node for t in outputs]
    seen = set()
    while stack:
        v = stack.pop()
        if v is None or id(v) in seen or id(v) in stop:
            continue
        seen.add(id(v))
        if isinstance(v, Tensor):
            continue  # a leaf that is not a candidate needs no gradient
        ctx = v.out
        made_here = id(v) in inner or (isinstance(ctx, FunctionCtx) and ctx._outs is not None
                                       and all(is_traced(o.data) for o in ctx._outs))
        if not made_here:
            raise CompileError(
                f"compile: an output's graph reaches the op '{v.op.name}', recorded before the call; "
                "pass the tensor it made to the compiled function as an argument"
            )
        stack.extend(e for e in v.edges if e is not None)


def record_backwards(rec, outputs, cands) -> list:
    """Record one backward per output; returns (first step, end step, seed value, grad refs)."""
    parts = []
    inputs = [c.tensor for c in cands]
    for t in outputs:
        start = len(rec.steps)
        seed = rec.external(_ORIGINAL["ones"](t.shape, dtype=t.dtype), Loc(ARGS, (("item", 0),)))
        grads = run_backward([t], [seed], retain_graph=True, inputs=inputs, accumulate=False)
        refs = tuple(("const", None) if g is None else Ref(rec._value_of(g)) for g in grads)
        parts.append((start, len(rec.steps), seed._v, refs))
    return parts


def saved_values(rec, parts) -> list[int]:
    """The values the backwards read that the forward makes (or reads from outside)."""
    saved, seeds = [], {p[2] for p in parts}
    for start, end, _, refs in parts:
        made = set()
        for s in rec.steps[start:end]:
            for k in s.reads + list(s.writes):
                v = rec.values[k]
                if k not in made and k not in seeds and v.kind != "const" and k not in saved:
                    saved.append(k)
            made.update(_outs(s.outs))
        for r in refs:
            if isinstance(r, Ref) and r.v not in made and r.v not in seeds and r.v not in saved:
                if rec.values[r.v].kind != "const":
                    saved.append(r.v)
    return saved


def _outs(outs):
    if outs is None:
        return []
    if isinstance(outs, int):
        return [outs]
    return [k for o in outs for k in _outs(o)]


def output_maker(name: str, backward_plans: list, cands: list):
    """The function a forward replay calls per output: the Tensor, with a node whose backward
    replays that output's recorded backward."""
    ops = []
    for j, plan in enumerate(backward_plans):
        ops.append(_op(f"compiled:{name}" + (f"[{j}]" if len(backward_plans) > 1 else ""), plan))
    needs = tuple(True for _ in cands)

    def output(j, data, saved, args, kwargs):
        edges = []
        for c in cands:
            t = c.get(args, kwargs)
            edges.append(t._node if t._node is not None else t)
        node = Node(ops[j], tuple(edges), saved, None, needs, None, None, data.shape, data.dtype)
        return make(data, node)

    return output


def _op(name, plan):
    def backward(g, out, needs, *saved):
        if isinstance(g, Tensor):
            raise CompileError(f"{name}: create_graph through a compiled function is not supported; "
                               "differentiate the function without compile")
        if type(g) is not np.ndarray:
            g = np.asarray(g)
        try:
            return plan.run((g,), None, saved)
        except Miss as m:
            raise CompileError(
                f"{name}: the backward of the compiled function would take another branch than when it "
                f"was captured ({m}); call it without compile"
            ) from None

    return type("CompiledOp", (Op,), {"name": name, "backward": staticmethod(backward),
                                      "__doc__": "The node of a compiled function's output"}, register=False)
