"""The text of the picture's labels: colours and legend words, numbers, types, constants, op
and module titles, gradients, and the backward steps a vertex took part in."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..node import Node
from ..ops.registry import attr_text
from ..tensor import Tensor
from . import record
from .modules import key_path
from .vertices import Vertex, shape_text

# Fill colours; every category present gets a line in the legend.
COLOURS = {
    "output": "#b7e4b0",
    "parameter": "#c6dbf7",
    "constant": "#e6e6e6",
    "intermediate": "#ffffff",
    "op": "#fff1c1",
    "grad_fn": "#fde0c5",
    "module": "#e4d7f5",
    "fold": "#f7d9e8",
    "more": "#ffffff",
    "NaN / inf": "#ff8a8a",
}
LEGEND_TEXT = {
    "output": "output",
    "parameter": "leaf, requires grad",
    "constant": "constant",
    "intermediate": "intermediate",
    "op": "op",
    "grad_fn": "backward of an op",
    "module": "module (collapsed)",
    "fold": "folded run of ops",
    "more": "not drawn",
    "NaN / inf": "holds NaN or inf",
}
MAX_LINE = 48  # characters per label line; longer text is cut with an ellipsis


def quote(text: str) -> str:
    """A DOT double-quoted string; newlines become centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _cut(s: str) -> str:
    return s if len(s) <= MAX_LINE else s[: MAX_LINE - 1] + "…"


def num(v: float) -> str:
    return f"{v:.4g}"


_values_text = record.values_text
_bad_text = record.bad_text
data_line = record.value_summary  # `(text, non_finite)` of an array's values


def grad_line(summary) -> tuple[str, bool]:
    vals, norm, n_nan, n_inf = summary
    bad = bool(n_nan or n_inf)
    if vals is not None:
        return "grad " + _values_text(vals), bad
    if bad:
        return "grad " + _bad_text(n_nan, n_inf), True
    return f"grad norm {num(norm)}", False


def grad_summary(x):
    """The gradient to show for `x` (a leaf Tensor, or a Node for its output): the `.grad`
    of the tensor (a node's, when kept with retain_grad()), else what `record_grads` kept."""
    t = x
    if isinstance(x, Node):
        t = x.retain() if x.retain is not None else None
    if t is not None and t.grad is not None:
        return record.summarise(t.grad)
    return record.recorded(x)


_dtype_names: dict = {}  # str(dtype) is slow enough to matter at 100,000 tensors


def type_text(t) -> str:
    """`float32[2, 3]` of anything with a shape and a dtype (Tensor, array, Node, Meta)."""
    dtype = t.dtype
    key = (type(dtype), dtype)  # (dtypes of two libraries may not be compared)
    name = _dtype_names.get(key)
    if name is None:
        name = _dtype_names[key] = backend.dtype_name(dtype)  # "float32", of any library
    shape = t.shape
    return name if len(shape) == 0 else name + shape_text(shape)


def const_text(c) -> str:
    if isinstance(c, bool) or c is None:
        return repr(c)
    if isinstance(c, (int, float, np.number)):
        return num(c) if isinstance(c, (float, np.floating)) else str(c)
    if backend.is_array(c):
        if c.size <= record.SMALL:
            c = backend.to_numpy(c)
            return _values_text(tuple(float(v) for v in c.ravel())) if c.dtype.kind in "fiub" else repr(c)
        return f"{backend.dtype_name(c.dtype)}{shape_text(c.shape)}"
    return _cut(repr(c))


def op_title(node) -> str:
    attrs = node.attrs
    if attrs:
        attrs = {k: v for k, v in attrs.items() if v is not False}  # keepdims=False is noise
    extra = attr_text(attrs)
    return _cut(f"{node.op.name} {extra}" if extra else node.op.name)


def backward_name(node) -> str:
    name = node.op.name
    parts = name.replace("-", "_").split("_")
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + "Backward"


def module_summary(m) -> str:
    """`Linear(784→512)` from in/out_features, else `Class(extra_repr)` when short, else `Class`."""
    cls = type(m).__name__
    fin, fout = getattr(m, "in_features", None), getattr(m, "out_features", None)
    if isinstance(fin, int) and isinstance(fout, int):
        return f"{cls}({fin}→{fout})"
    extra = getattr(m, "extra_repr", None)
    if callable(extra):
        try:
            text = str(extra())
        except Exception:  # a user's extra_repr must never break a drawing
            text = ""
        if text and "\n" not in text and len(text) <= 32:
            return f"{cls}({text})"
    return cls


def module_title(key: str, m) -> str:
    path = key_path(key)  # a second model's "0#2" is titled "0: ..." like the first's
    if m is None:
        return path
    summary = module_summary(m)
    return f"{path}: {summary}" if path else summary


KIND_TEXT = {
    "leaf": "leaf tensor", "value": "output of an op", "input": "input that needs no gradient",
    "op": "op", "grad_fn": "backward of an op", "accumulate": "AccumulateGrad (sums into .grad)",
    "box": "module (collapsed)", "fold": "folded ops", "more": "not drawn",
}


def engine_objects(v: Vertex) -> list:
    """The engine's vertices (Nodes, leaf Tensors) a drawn vertex stands for."""
    out = []
    stack = [v]
    while stack:
        u = stack.pop()
        kind = u.kind
        if kind in ("leaf", "accumulate", "value", "op", "grad_fn"):
            out.append(u.obj)
        elif kind == "fold" and not any(m.kind == "fold" or m.kind == "box" for m in u.members):
            out.extend(u.obj)  # its nodes
            out.extend(m.obj for m in u.members if m.kind == "leaf")
        elif kind in ("fold", "box"):
            stack.extend(u.members)
    return out


def backward_steps(v: Vertex) -> dict:
    """{place in the engine's order: what ran then (MulBackward, AccumulateGrad x)} for the
    first and last gradient the vertex's engine vertices got in the last recorded backward."""
    first = last = None
    for o in engine_objects(v):
        s = record.step(o)
        if s is not None:
            if first is None or s[0] < first[0]:
                first = (s[0], o)
            if last is None or s[0] > last[0]:
                last = (s[0], o)
    out = {}
    for s, o in (first, last) if first is not None else ():
        out[s] = backward_name(o) if isinstance(o, Node) else "AccumulateGrad" + (f" {o.name}" if o.name else "")
    return out


def _grad_hist(x):
    """Histogram of the gradient `grad_summary(x)` describes."""
    t = x.retain() if isinstance(x, Node) and x.retain is not None else (x if isinstance(x, Tensor) else None)
    if t is not None and t.grad is not None:
        return record.histogram(t.grad)
    s = record.step(x)
    return s[1] if s is not None else None
