"""Labels, colours and DOT text for the picture's graph.

The DOT lines are written here directly (graphviz's `node()`/`edge()` quote every argument
with regular expressions, too slow for 100,000 nodes) and handed to `graphviz.Digraph` as
its body, so the result is still an ordinary Digraph.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np

from .. import backend
from ..node import Meta, Node
from ..ops.registry import attr_text
from ..tensor import Tensor
from . import record
from .graph import TENSORS, Graph, Vertex, key_path, parent_path, shape_text, slot_kinds

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


class Labeller:
    """Label text and style for each vertex; tracks which legend categories appear."""

    def __init__(self, names: dict, show_values: bool, show_grads: bool, roots: set, modules: dict):
        self.names = names
        self.show_values = show_values
        self.show_grads = show_grads
        self.roots = roots
        self.modules = modules
        self.used: dict[str, None] = {}
        self.missing_grads = False  # an intermediate whose gradient was not kept
        self.unknown_inputs = False  # an op input that backward freed (drawn as ?)
        self.layout = None  # (rankdir, rows) as emit chose them

    def _style(self, category: str, bad: bool) -> str:
        self.used[category] = None
        if bad:
            self.used["NaN / inf"] = None
            return f'fillcolor="{COLOURS["NaN / inf"]}" color="#c00000" penwidth=2'
        return f'fillcolor="{COLOURS[category]}"'

    def tensor(self, v: Vertex, is_root: bool) -> tuple[str, str]:
        """A tensor box: name, dtype and shape, values (or that they were not kept), gradient."""
        kind, obj = v.kind, v.obj
        lines = []
        t = obj if kind == "leaf" else v.out  # the Tensor, when there is one
        name = (self.names.get(id(t)) or t.name) if t is not None else None
        name = name or v.name
        if name:
            lines.append(_cut(str(name)))
        if obj is None:  # an input of which nothing was kept
            lines.append("input not kept")
        else:
            lines.append(type_text(obj))
        bad = False
        if self.show_values and obj is not None:
            value = obj.data if kind == "leaf" else (v.value if kind == "value" else obj)
            if backend.is_array(value):
                text, bad = data_line(value)
            elif isinstance(value, record.Kept):
                text, bad = value.text, value.bad
            else:
                text = "value not kept"
            lines.append(_cut(text))
        if self.show_grads and kind != "input" and (kind == "value" or obj.requires_grad):
            summary = grad_summary(obj)
            if summary is not None:
                text, gbad = grad_line(summary)
                lines.append(_cut(text))
                bad = bad or gbad
            elif kind == "value":
                self.missing_grads = True
        if is_root:
            cat = "output"
        elif kind == "value":
            cat = "intermediate"
        else:
            cat = "parameter" if kind == "leaf" and obj.requires_grad else "constant"
        return "\n".join(lines), 'fontname="Courier" ' + self._style(cat, bad)

    def op(self, v: Vertex) -> str:
        """The op's name and attributes; numbers it took, in input order, when there are any."""
        title = op_title(v.obj)
        kinds = slot_kinds(v.obj, v.value)
        if "const" in kinds or "unknown" in kinds:
            slots = []
            for k, a in zip(kinds, v.value or kinds):
                if k == "const":
                    slots.append(const_text(a))
                elif k == "unknown":
                    slots.append("?")
                    self.unknown_inputs = True
                else:
                    slots.append("·")
            title += "\n(" + _cut(", ".join(slots)) + ")"
        return title

    def label(self, v: Vertex, is_root: bool) -> tuple[str, str]:
        """Text and DOT attributes of a vertex. Boxes are set in Courier, whose width every
        common monospace font shares, so that no font overflows them; op names (short, in
        roomy ellipses) in Helvetica."""
        kind = v.kind
        if kind in TENSORS:
            return self.tensor(v, is_root)
        if kind == "op":
            return self.op(v), "shape=ellipse " + self._style("op", False)
        text, style = self._label(v)
        return text, 'fontname="Courier" ' + style

    def _label(self, v: Vertex) -> tuple[str, str]:
        kind = v.kind
        if kind == "grad_fn":
            lines = [backward_name(v.obj)]
            bad = False
            if self.show_grads:
                summary = grad_summary(v.obj)
                if summary is not None:
                    text, bad = grad_line(summary)
                    lines.append(_cut(text))
                else:
                    self.missing_grads = True
            return "\n".join(lines), self._style("grad_fn", bad)
        if kind == "accumulate":
            return "AccumulateGrad", self._style("grad_fn", False)
        if kind == "box":
            return self.box(v)
        if kind == "fold":
            return self.fold(v), self._style("fold", False)
        return f"… {v.obj:,} more nodes not drawn", 'style="dashed" ' + self._style("more", False)

    def info(self, v: Vertex, is_root: bool) -> dict:
        """What the interactive page shows of a vertex when it is clicked: its label, what it
        is, shape and dtype, value and gradient (text and histogram), and when it got its
        gradient in backward (`steps`: places in the engine's order, from record_grads)."""
        kind, obj = v.kind, v.obj
        text, _ = self.label(v, is_root)
        d = {"label": text, "kind": KIND_TEXT[kind] if not is_root else "output"}
        value = grad_of = None
        if kind in TENSORS:
            value = obj.data if kind == "leaf" else (v.value if kind == "value" else obj)
            grad_of = obj if kind != "input" else None
        elif kind in ("op", "grad_fn"):
            d["op"] = op_title(obj) if kind == "op" else backward_name(obj)
            grad_of = obj
        elif kind == "accumulate":
            grad_of = obj
        if isinstance(obj, (Meta, Tensor)) or backend.is_array(obj) or kind in ("value", "op", "grad_fn"):
            d["type"] = type_text(obj)
        if backend.is_array(value):
            d["value"], d["vh"] = data_line(value)[0], record.histogram(value)
        elif isinstance(value, record.Kept):
            d["value"], d["vh"] = value.text, value.hist
        elif kind in TENSORS:
            d["value"] = "value not kept"
        if grad_of is not None:
            summary = grad_summary(grad_of)
            if summary is not None:
                d["grad"] = grad_line(summary)[0]
                d["gh"] = _grad_hist(grad_of)
        steps = backward_steps(v)
        if steps:
            d["steps"] = sorted(steps)
            d["ran"] = [steps[s] for s in d["steps"]]
        if kind in ("fold", "box") and v.members:
            d["expand"] = True
        return d

    def box(self, v: Vertex) -> tuple[str, str]:
        lines = [module_title(v.obj, self.modules.get(v.obj))]
        path = key_path(v.obj)
        n_ops = sum(1 for m in v.members if m.kind in ("op", "grad_fn"))
        n_ops += sum(len(m.obj) for m in v.members if m.kind == "fold")
        lines.append(f"{n_ops} op{'s' if n_ops != 1 else ''}")
        params = [m.obj for m in v.members if m.kind == "leaf"]
        bad = False
        for p in params[:6]:
            name = self.names.get(id(p)) or p.name or "param"
            if path and name.startswith(path + "."):
                name = name[len(path) + 1:]
            text = f"{name} {type_text(p)}"
            if self.show_grads:
                summary = grad_summary(p)
                if summary is not None:
                    gtext, gbad = grad_line(summary)
                    text += " " + gtext
                    bad = bad or gbad
            lines.append(_cut(text))
        if len(params) > 6:
            lines.append(f"… {len(params) - 6} more parameters")
        return "\n".join(lines), self._style("module", bad)

    def fold(self, v: Vertex) -> str:
        nodes = v.obj
        fwd = not any(m.kind == "grad_fn" for m in v.members)
        params = sum(1 for m in v.members if m.kind == "leaf")
        tail = f"({len(nodes):,} ops" + (f", {params:,} parameters" if params else "") + " folded)"
        if v.value is not None:  # a repeated sequence: what one repetition does
            count, period = v.value
            return f"× {count:,}: {_cut(' → '.join(self._steps(period, fwd)))}\n{tail}"
        names: dict[str, int] = {}
        for node in nodes:
            names[node.op.name] = names.get(node.op.name, 0) + 1
        if len(names) == 1:
            title = op_title(nodes[0]) if fwd else backward_name(nodes[0])
            return f"{title} ×{len(nodes):,}\n(run folded)"
        parts = ", ".join(f"{k} ×{c:,}" for k, c in list(names.items())[:4])
        if len(names) > 4:
            parts += ", …"
        return f"{len(nodes):,} ops folded\n{_cut(parts)}"

    @staticmethod
    def _steps(period: list, fwd: bool) -> list[str]:
        """One repetition as its modules (`Linear(8→8) → ReLU`) when every op ran inside one,
        else as its ops (`mul → add → tanh`)."""
        if all(u.obj.scope is not None for u in period):
            steps, last = [], None
            for u in period:
                if u.obj.scope is not last:
                    last = u.obj.scope
                    steps.append(module_summary(last))
            return steps
        return [u.obj.op.name if fwd else backward_name(u.obj) for u in period]


# --------------------------------------------------------------------------- layout
# Sizes in points, as dot measures them; the estimates only choose between layouts.
SCREEN = (1400.0, 900.0)  # a drawing that fits this (a laptop screen at 100 %) is left as it is
ASPECT = 2.5  # the most a bigger drawing may stretch, either way (estimates err by ~20 %: 3:1 at worst)
SHAPE = 1.6  # the page shape wrapped drawings aim for (landscape)
RANKSEP, NODESEP, ROW_NODESEP = 36.0, 18.0, 30.0


def vertex_size(text: str, ellipse: bool) -> tuple[float, float]:
    """Estimated (width, height) of a vertex with this label: 6 pt per character (Courier
    10 pt; Helvetica is narrower), 12 pt per line, dot's margins and minimum sizes."""
    lines = text.split("\n")
    w = max(len(s) for s in lines) * 6.0 + 12.0
    h = len(lines) * 12.0 + 6.0
    if ellipse:
        w, h = w * 1.41, h * 1.41
    return max(w, 54.0), max(h, 36.0)


def topo_ranks(n: int, edges) -> tuple[list[int], list[int]]:
    """A topological order (Kahn's, by index) and each vertex's rank as dot assigns it, about:
    the longest path from a source, sources pulled next to their first consumer."""
    succ: list[list] = [[] for _ in range(n)]
    indeg = [0] * n
    for a, b, _ in edges:
        succ[a].append(b)
        indeg[b] += 1
    order = [i for i in range(n) if indeg[i] == 0]
    sources = list(order)
    rank = [0] * n
    k = 0
    while k < len(order):
        a = order[k]
        k += 1
        for b in succ[a]:
            rank[b] = max(rank[b], rank[a] + 1)
            indeg[b] -= 1
            if indeg[b] == 0:
                order.append(b)
    for a in sources:
        if succ[a]:
            rank[a] = min(rank[b] for b in succ[a]) - 1
    return order, rank


def extent(sizes: list, rank: list, flow_horizontal: bool) -> tuple[float, float]:
    """Estimated (width, height) of dot's layout with ranks along x (LR) or y (TB)."""
    along: dict[int, float] = {}
    across: dict[int, float] = {}
    count: dict[int, int] = {}
    for (w, h), r in zip(sizes, rank):
        a, c = (w, h) if flow_horizontal else (h, w)
        along[r] = max(along.get(r, 0.0), a)
        across[r] = across.get(r, 0.0) + c
        count[r] = count.get(r, 0) + 1
    length = sum(along.values()) + RANKSEP * (len(along) - 1)
    breadth = max((across[r] + NODESEP * (count[r] - 1) for r in across), default=0.0)
    return (length, breadth) if flow_horizontal else (breadth, length)


def _fits(w: float, h: float) -> bool:
    return w <= SCREEN[0] and h <= SCREEN[1]


def _stretch(w: float, h: float) -> float:
    return max(w / h, h / w) if w and h else 1.0


def plan_layout(graph: Graph, sizes: list, where: list, rankdir: str | None, extra=(0.0, 0.0)):
    """`(rankdir, rows)`: the direction to draw in, and the rows to wrap into (None: don't).

    A drawing that fits a screen keeps the usual left-to-right flow (top-down if only that
    fits). A bigger one takes the direction whose shape is nearest a screen's; if both are
    longer than ASPECT:1, the ops are wrapped into rows read left to right, top to bottom,
    like text (their inputs just above them), as many rows as make the page about SHAPE:1.
    Rows break between modules where they can, so that small clusters are not split. A
    `rankdir` given by the user is kept as it is. `extra`: the legend's and the notes' (width,
    height), which every layout has too.
    """
    if rankdir is not None:
        return rankdir, None
    n = len(graph.vertices)
    order, rank = topo_ranks(n, graph.edges)
    clustered = any(w is not None for w in where)

    def page(horizontal):
        w, h = extent(sizes, rank, horizontal)
        if clustered:  # cluster margins and titles
            w, h = (w * 1.1, h * 1.25 + 30) if horizontal else (w * 1.25 + 30, h * 1.1)
        return max(w, extra[0]), h + extra[1]

    lr = page(True)
    if _fits(*lr):
        return "LR", None
    tb = page(False)
    if _fits(*tb):
        return "TB", None
    best, (w, h) = min((("LR", lr), ("TB", tb)), key=lambda d: abs(math.log(d[1][0] / d[1][1] / SHAPE)))
    if _stretch(w, h) <= ASPECT:
        return best, None
    side = ("leaf", "input", "accumulate")  # drawn beside the rows, next to their op
    spine = [i for i in order if graph.vertices[i].kind not in side]
    if len(spine) < 4:
        return best, None
    total = sum(sizes[i][0] + ROW_NODESEP for i in spine)
    row_h = max(sizes[i][1] for i in spine) + RANKSEP
    beside = [sizes[i][1] for i in range(n) if graph.vertices[i].kind in side]
    if beside:
        row_h += max(beside) + RANKSEP
    m = max(2, round(math.sqrt(total / (SHAPE * row_h))))
    units: list[list[int]] = []  # runs of the spine in one cluster, kept in one row when they fit
    for i in spine:
        if units and where[units[-1][-1]] == where[i] and where[i] is not None:
            units[-1].append(i)
        else:
            units.append([i])
    split = []
    for u in units:
        uw = sum(sizes[i][0] + ROW_NODESEP for i in u)
        split.extend([[i] for i in u] if uw > total / m / 2 else [u])  # a big cluster spans rows
    rows: list[list[int]] = [[] for _ in range(m)]
    done = 0.0
    for u in split:  # a unit goes to the row where its middle falls
        uw = sum(sizes[i][0] + ROW_NODESEP for i in u)
        rows[min(m - 1, int((done + uw / 2) * m / total))].extend(u)
        done += uw
    rows = [r for r in rows if r]
    return ("TB", rows) if len(rows) > 1 else (best, None)


NOTE_WIDTH = 72  # characters per line of the notes above a drawing


def note_label(notes: list[str]) -> str:
    """The notes as one DOT label: wrapped lines, each left-aligned (`\\l`)."""
    lines = []
    for text in notes:
        lines.extend(textwrap.wrap(text, NOTE_WIDTH))
    return '"' + "".join(ln.replace("\\", "\\\\").replace('"', '\\"') + "\\l" for ln in lines) + '"'


def legend_label(used, vertical: bool) -> str:
    """An HTML-like table, one cell per colour used (a column when the drawing is tall).
    Cells are as wide as the text in a wide sans-serif (DejaVu Sans), so that no font
    spills it into the next cell."""
    cells = [f'<td bgcolor="{COLOURS[c]}" width="{round(len(LEGEND_TEXT[c]) * 5.8 + 8)}">{LEGEND_TEXT[c]}</td>'
             for c in COLOURS if c in used]
    rows = "".join(f"<tr>{c}</tr>" for c in cells) if vertical else "<tr>" + "".join(cells) + "</tr>"
    return ('<<table border="0" cellborder="1" cellspacing="2" cellpadding="3">' + rows + "</table>>")


def emit(graph: Graph, lab: Labeller, rankdir: str | None, legend: bool, notes: list[str],
         grads_known: bool = False) -> list[str]:
    """The DOT body lines: graph attributes, clusters (nested by module path), nodes, edges,
    laid out as `plan_layout` says; `notes` (and what the labels found missing) on top.
    `grads_known`: some leaf has a gradient, so missing ones are worth a note."""
    roots = set(graph.roots)
    where_of, top, clusters = _placement(graph, lab, roots)
    known, children = _cluster_tree(clusters, lab)
    lines_of = {}
    sizes = []
    for i, v in enumerate(graph.vertices):
        text, style = lab.label(v, i in roots)
        lines_of[i] = f"\tn{i} [label={quote(text)} {style}]\n"
        sizes.append(vertex_size(text, v.kind == "op"))
    notes = _all_notes(lab, notes, grads_known)
    n_lines = sum(len(textwrap.wrap(t, NOTE_WIDTH)) for t in notes)
    extra_w = max((min(len(t), NOTE_WIDTH) * 6.5 for t in notes), default=0.0)
    extra_h = n_lines * 15.0
    if legend and lab.used:
        extra_w = max(extra_w, 120.0)
        extra_h += 24.0
    rankdir, rows = plan_layout(graph, sizes, where_of, rankdir, (extra_w, extra_h))
    lab.layout = (rankdir, len(rows) if rows else 0)
    body = [
        f"\tgraph [rankdir={rankdir} fontname=\"Helvetica\" fontsize=12 labeljust=l pad=0.3"
        + (f" newrank=true nodesep={ROW_NODESEP / 72:.2f}]\n" if rows else "]\n"),
        "\tnode [fontname=\"Helvetica\" fontsize=10 shape=box style=\"rounded,filled\" margin=\"0.08,0.04\"]\n",
        "\tedge [fontname=\"Helvetica\" fontsize=9 arrowsize=0.6]\n",
    ]
    body.extend(lines_of[i] for i in top)
    body.extend(_cluster_lines(known, children, clusters, lines_of, lab))
    body.extend(_edge_lines(graph, rows))
    if legend and lab.used:
        vertical = rankdir in ("TB", "BT")  # a tall drawing: a narrow legend
        body.append(f"\tlegend [shape=plaintext style=\"\" fontsize=9 label={legend_label(lab.used, vertical)}]\n")
    if notes:
        body.append(f"\tlabel={note_label(notes)} labelloc=t\n")
    return body


def _placement(graph: Graph, lab: Labeller, roots: set):
    """Which cluster each vertex is drawn in: its module's path (a box: its parent module's),
    or None (drawn at the top level). Returns (per vertex, the top-level ones, per cluster)."""
    clusters: dict[str, list[int]] = {}
    top: list[int] = []
    where_of: list = []
    for i, v in enumerate(graph.vertices):
        if v.kind == "box":
            where = parent_path(v.obj)
            if where == "" and "" not in lab.modules:
                where = None  # the root module is drawn only when known
        elif v.cluster is not None and i not in roots:
            where = v.cluster if v.cluster or "" in lab.modules else None
        else:
            where = None
        where_of.append(where)
        (top if where is None else clusters.setdefault(where, [])).append(i)
    return where_of, top, clusters


def _cluster_tree(clusters: dict, lab: Labeller):
    """Every ancestor of a cluster is a cluster too (the root "" only when its module is known):
    the clusters in order, and each one's children (None: the top level's)."""
    children: dict[str | None, list[str]] = {}
    known: dict[str, None] = {}
    for path in list(clusters):
        while path is not None and path not in known:
            known[path] = None
            parent = parent_path(path)
            if parent == "" and "" not in lab.modules and "" not in clusters:
                parent = None
            children.setdefault(parent, []).append(path)
            path = parent
    return known, children


def _all_notes(lab: Labeller, notes: list[str], grads_known: bool) -> list[str]:
    """The caller's notes, and what the labels found missing."""
    notes = list(notes)
    if lab.unknown_inputs:
        notes.append("? marks an input that backward freed: draw before backward, or run backward "
                     "inside autograd.viz.record_grads(), to see it.")
    if lab.show_grads and lab.missing_grads and grads_known:
        notes.append("Gradients of intermediate tensors are not kept: run backward inside "
                     "autograd.viz.record_grads() (or call retain_grad()) to see them.")
    return notes


def _cluster_lines(known: dict, children: dict, clusters: dict, lines_of: dict, lab: Labeller) -> list[str]:
    """The nested `subgraph cluster_…` blocks with their vertices (iteratively, depth first)."""
    body = []
    ids = {p: k for k, p in enumerate(known)}
    stack = [(p, 1) for p in reversed(children.get(None, []))]
    while stack:
        path, depth = stack.pop()
        if path is None:  # closing marker
            body.append("\t" * depth + "}\n")
            continue
        pad = "\t" * depth
        title = module_title(path, lab.modules.get(path)) if path or "" in lab.modules else "model"
        body.append(f"{pad}subgraph cluster_m{ids[path]} {{\n")
        body.append(f"{pad}\tlabel={quote(title)} style=\"rounded,dashed\" color=\"#8c7ab8\"\n")
        body.extend(pad + lines_of[i] for i in clusters.get(path, ()))
        stack.append((None, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(path, [])))
    return body


def _edge_lines(graph: Graph, rows) -> list[str]:
    """The edges, and for a layout in rows, the rows' ranks and the invisible edges that stack them."""
    body = []
    row_of = {}
    for r, row in enumerate(rows or ()):
        for i in row:
            row_of[i] = r
    for a, b, label in graph.edges:
        attrs = [f"label={quote(label)}"] if label else []
        if row_of.get(a, -1) != row_of.get(b, -1) and a in row_of and b in row_of:
            attrs.append("weight=0")  # from the end of a row to the next: no pull
        extra = f" [{' '.join(attrs)}]" if attrs else ""
        body.append(f"\tn{a} -> n{b}{extra}\n")
    if rows:
        gap = 3 if graph.kind == "backward" else 2  # room for the inputs (or AccumulateGrad) between rows
        for row in rows:
            body.append("\t{rank=same; " + "; ".join(f"n{i}" for i in row) + "}\n")
        for r0, r1 in zip(rows, rows[1:]):  # rows start under each other
            body.append(f"\tn{r0[0]} -> n{r1[0]} [style=invis weight=100 minlen={gap}]\n")
    return body
