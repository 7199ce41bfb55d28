"""Label text and DOT style of each vertex of the picture, and what the interactive page shows
when one is clicked."""

from __future__ import annotations

from .. import backend
from ..node import Meta
from ..tensor import Tensor
from . import record
from .modules import key_path
from .saved import slot_kinds
from .text import (
    COLOURS,
    KIND_TEXT,
    _cut,
    _grad_hist,
    backward_name,
    backward_steps,
    const_text,
    data_line,
    grad_line,
    grad_summary,
    module_summary,
    module_title,
    op_title,
    type_text,
)
from .vertices import TENSORS, Vertex


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
