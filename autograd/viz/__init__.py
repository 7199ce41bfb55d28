"""Drawing the graph: values, gradients, names and modules, readable at any size.

`draw` returns a `graphviz.Digraph` (Jupyter shows it inline, `.source` is the DOT text);
`render` writes a picture file. Rendering uses a system `dot` when there is one and the
`graphviz-pure` program from pip otherwise.

>>> import autograd
>>> from autograd import viz
>>> w = autograd.tensor(0.5, requires_grad=True, name="w")
>>> loss = (w * 3.0).tanh()
>>> loss.backward()
>>> g = viz.draw(loss)
>>> "grad" in g.source and "tanh" in g.source
True
"""

from __future__ import annotations

import os
from pathlib import Path

from ..files import atomic_write
from ..tensor import Tensor, method
from . import dot as _dot
from . import graph as _graph
from . import record
from .record import record_grads
from .render import RendererNotFound, find_renderer, pipe

__all__ = ["draw", "render", "record_grads", "record", "find_renderer", "RendererNotFound", "pipe"]

_drawing_class = None


def _Drawing():
    """`graphviz.Digraph` whose `pipe` (used by Jupyter) runs our renderer with a timeout,
    so pictures show even where only graphviz-pure is installed. Made on first use: graphviz
    is imported only when something is drawn."""
    global _drawing_class
    if _drawing_class is None:
        try:
            import graphviz
        except ImportError:
            raise ImportError(
                "autograd.viz needs the graphviz Python package: pip install graphviz graphviz-pure"
            ) from None

        class Drawing(graphviz.Digraph):
            """A Digraph of an autograd graph; `save(path)` writes it through `autograd.viz.render`."""

            timeout = 60.0

            def pipe(self, format=None, renderer=None, formatter=None, neato_no_op=None,
                     quiet=False, *, engine=None, encoding=None):
                if renderer or formatter or neato_no_op or engine not in (None, "dot"):
                    return super().pipe(format, renderer, formatter, neato_no_op, quiet,
                                        engine=engine, encoding=encoding)
                data = pipe(self.source, format or self.format or "svg", timeout=self.timeout)
                return data.decode(encoding) if encoding else data

            def save(self, path, format: str | None = None) -> Path:
                return render(self, path, format=format, timeout=self.timeout)

            def __repr__(self) -> str:
                # a notebook's text fallback: what is drawn, what was left out, how to see it
                s = getattr(self, "stats", None)
                if s is None:
                    return super().__repr__()
                text = f"<autograd.viz drawing ({s['kind']}): {s['nodes']:,} nodes, {s['edges']:,} edges"
                if s["folded"]:
                    text += f"; {s['folded']:,} ops folded into {s['folds']:,} group{'s' if s['folds'] != 1 else ''}"
                if s["cut"]:
                    text += f"; {s['cut']:,} nodes not drawn"
                return text + "; .source: DOT text, .save(path): a picture file>"

        _drawing_class = Drawing
    return _drawing_class


@method("draw")
def draw(*roots: Tensor, params=None, show_values: bool = True, show_grads: bool = True,
         kind: str = "forward", rankdir: str | None = None, collapse=None, max_nodes: int | None = 100,
         legend: bool = True):
    """The graph that computed `roots`, as a `graphviz.Digraph`.

    kind="forward": tensors (name, dtype and shape, values, gradient) and the ops between them.
    kind="backward": the gradient flow (`MulBackward`, `AccumulateGrad` for leaves).
    params: a dict name -> Tensor or an nn.Module (its `named_parameters()`) to name leaves.
    collapse: "modules" draws each innermost nn module as one box, an int d the modules d
    levels down. Gradients of intermediates show when kept (`retain_grad()`) or recorded
    (`record_grads()`).

    Readable at every size: past `max_nodes` vertices (100, about what reads well on one
    screen), repeated structure folds first, keeping its first and last repetition
    (`× 64: mul → add → tanh`, `× 18: Linear(8→8) → ReLU`), then any long chain of ops,
    and if still too many, the part farthest from the outputs is cut; the picture says so
    (`max_nodes=None`: draw everything). `rankdir=None` picks the layout from the graph's
    shape: left to right when that fits a screen, else top-down, else rows read like text,
    so the page is at most about 3:1; pass "LR", "TB", "RL" or "BT" to force one.

    >>> import autograd
    >>> x = autograd.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> src = draw((x * x).sum(), legend=False).source
    >>> [line.strip() for line in src.splitlines() if "->" in line]
    ['n0 -> n1', 'n0 -> n1', 'n1 -> n2', 'n2 -> n3', 'n3 -> n4']
    """
    if not roots:
        raise ValueError("draw: give at least one Tensor to draw")
    flat = []
    for r in roots:
        if isinstance(r, (list, tuple)):
            flat.extend(r)
        else:
            flat.append(r)
    for r in flat:
        if not isinstance(r, Tensor):
            raise TypeError(f"draw: expected Tensors to draw; got {type(r).__name__}")
    if kind not in ("forward", "backward"):
        raise ValueError(f"draw: kind must be 'forward' or 'backward'; got {kind!r}")
    if rankdir not in (None, "LR", "RL", "TB", "BT"):
        raise ValueError(f"draw: rankdir must be None (chosen from the graph's shape) or one of LR, RL, TB, "
                         f"BT; got {rankdir!r}")
    if max_nodes is not None and max_nodes < 2:
        raise ValueError(f"draw: max_nodes must be at least 2 or None; got {max_nodes}")
    if kind == "backward" and not any(r.requires_grad for r in flat):
        raise ValueError("draw: kind='backward' needs an output that requires grad; none of the roots does")
    Drawing = _Drawing()

    order = _graph.topo_order(flat)
    g = (_graph.build_forward if kind == "forward" else _graph.build_backward)(flat, order)
    modules, explicit, derived = _graph.module_info(g, params)
    names = dict(derived)
    names.update({id(t): t.name for t in order if isinstance(t, Tensor) and t.name})
    names.update(explicit)
    if collapse is not None:
        g = _graph.collapse_modules(g, collapse)
    total = len(g.vertices)
    if max_nodes is not None:
        g = _graph.summarise(g, max_nodes)

    lab = _dot.Labeller(names, show_values, show_grads, set(g.roots), modules)
    notes = []
    if g.folded or g.cut:
        parts = []
        if g.folded:
            parts.append(f"{g.folded:,} ops folded")
        if g.cut:
            parts.append(f"{g.cut:,} nodes farthest from the output not drawn")
        notes.append(f"summarised ({total:,} nodes > max_nodes={max_nodes:,}): " + "; ".join(parts)
                     + ". Pass max_nodes=None to draw everything.")
    grads_known = any(isinstance(t, Tensor) and t.grad is not None for t in order)
    body = _dot.emit(g, lab, rankdir, legend, notes, grads_known)
    d = Drawing(body=body, format="svg")
    d.stats = {
        "kind": kind, "nodes": len(g.vertices), "edges": len(g.edges), "folded": g.folded, "cut": g.cut,
        "folds": sum(1 for v in g.vertices if v.kind == "fold"),
    }
    return d


def render(root, path: str | os.PathLike, format: str | None = None, timeout: float = 60.0,
           **draw_kwargs) -> Path:
    """Draw `root` (a Tensor, a list of them, or a Digraph from `draw`) into the file `path`.

    The format comes from `format`, else the file's suffix, else svg. Missing folders are
    created; the file is written atomically; the renderer is killed after `timeout` seconds.

    >>> import autograd, tempfile, os
    >>> y = autograd.tensor(2.0, requires_grad=True, name="y").exp()
    >>> out = render(y, os.path.join(tempfile.mkdtemp(), "y.svg"))
    >>> out.read_text().count("exp") >= 1
    True
    """
    path = Path(path)
    if format is None:
        format = path.suffix[1:].lower() or "svg"
    if hasattr(root, "source") and not isinstance(root, Tensor):
        if draw_kwargs:
            raise TypeError(f"render: drawing options {sorted(draw_kwargs)} need Tensors, not a Digraph")
        source = root.source
    else:
        roots = root if isinstance(root, (list, tuple)) else (root,)
        source = draw(*roots, **draw_kwargs).source
    data = pipe(source, format, timeout=timeout)
    if str(path) and not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, data)
