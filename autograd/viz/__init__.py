"""Drawing the graph: values, gradients, names and modules, readable at any size.

`draw` returns a `graphviz.Digraph` (Jupyter shows it inline, `.source` is the DOT text);
`render` writes a picture file, or with an .html name the page `interactive` makes: pan,
zoom, click a node for its values and gradient, expand folded groups, replay backward step by
step. Rendering uses a system `dot` when there is one and the `graphviz-pure` program from
pip otherwise.

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

import html
import os
from pathlib import Path

from ..files import atomic_write
from ..tensor import Tensor, method
from . import dot as _dot
from . import graph as _graph
from . import record
from . import render as _render
from .record import record_grads
from .render import RendererNotFound, find_renderer, pipe

__all__ = ["draw", "render", "interactive", "Page", "record_grads", "record", "find_renderer", "RendererNotFound",
           "pipe"]

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
    flat = _check_roots(roots, {"kind": kind, "rankdir": rankdir, "max_nodes": max_nodes})
    Drawing = _Drawing()
    pic = _Picture(flat, params, show_values, show_grads, kind, rankdir, collapse, max_nodes, legend)
    d = Drawing(body=pic.body, format="svg")
    g = pic.graph
    d.stats = {
        "kind": kind, "nodes": len(g.vertices), "edges": len(g.edges), "folded": g.folded, "cut": g.cut,
        "folds": sum(1 for v in g.vertices if v.kind == "fold"),
    }
    return d


def _check_roots(roots, opts: dict) -> list:
    """The roots as a flat list of Tensors, and draw's options checked."""
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
    kind, rankdir, max_nodes = opts.get("kind", "forward"), opts.get("rankdir"), opts.get("max_nodes", 100)
    if kind not in ("forward", "backward"):
        raise ValueError(f"draw: kind must be 'forward' or 'backward'; got {kind!r}")
    if rankdir not in (None, "LR", "RL", "TB", "BT"):
        raise ValueError(f"draw: rankdir must be None (chosen from the graph's shape) or one of LR, RL, TB, "
                         f"BT; got {rankdir!r}")
    if max_nodes is not None and max_nodes < 2:
        raise ValueError(f"draw: max_nodes must be at least 2 or None; got {max_nodes}")
    if kind == "backward" and not any(r.requires_grad for r in flat):
        raise ValueError("draw: kind='backward' needs an output that requires grad; none of the roots does")
    return flat


class _Picture:
    """A drawing before it is DOT text only: the picture's graph, its labeller, the DOT body,
    and what is needed to draw what a folded vertex hides (for the interactive page)."""

    def __init__(self, flat, params, show_values, show_grads, kind, rankdir, collapse, max_nodes, legend):
        if kind == "forward":
            seq = _graph.topo_order(flat, inputs=True)  # with the inputs that need no gradient
            order = [u for u in seq if type(u) is not tuple]
            g = _graph.build_forward(flat, order, seq)
        else:
            order = _graph.topo_order(flat)
            g = _graph.build_backward(flat, order)
        modules, explicit, derived = _graph.module_info(g, params)
        names = dict(derived)
        names.update({id(t): t.name for t in order if isinstance(t, Tensor) and t.name})
        names.update(explicit)
        if collapse is not None:
            g = _graph.collapse_modules(g, collapse)
        total = len(g.vertices)
        if max_nodes is not None:
            g = _graph.summarise(g, max_nodes)
        self.names, self.modules, self.max_nodes = names, modules, max_nodes
        self.show = (show_values, show_grads)
        self.graph = g
        self.lab = _dot.Labeller(names, show_values, show_grads, set(g.roots), modules)
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
        self.body = _dot.emit(g, self.lab, rankdir, legend, notes, grads_known)

    def inside(self, v) -> _Picture:
        """The picture of what the fold or module box `v` hides (summarised the same way)."""
        sub = object.__new__(_Picture)
        sub.names, sub.modules, sub.max_nodes, sub.show = self.names, self.modules, self.max_nodes, self.show
        g = _graph.expand(v, self.graph.kind, self.max_nodes)
        if self.max_nodes is not None:
            g = _graph.summarise(g, self.max_nodes)
        sub.graph = g
        sub.lab = _dot.Labeller(self.names, *self.show, set(g.roots), self.modules)
        sub.body = _dot.emit(g, sub.lab, None, False, [])
        return sub


class Page:
    """An interactive page of a graph (`interactive`): one self-contained HTML file.

    `html` is its text, `save(path)` writes it, and Jupyter shows it inline (in an iframe,
    so that its script runs in every notebook front end).
    """

    def __init__(self, html_text: str, stats: dict):
        self.html = html_text
        self.stats = stats

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if str(path) and not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return ('<iframe style="width:100%;height:640px;border:1px solid #ccc" '
                f'srcdoc="{html.escape(self.html, quote=True)}"></iframe>')

    def __repr__(self) -> str:
        s = self.stats
        return (f"<autograd.viz interactive page: {s['nodes']:,} nodes, {s['views'] - 1} expandable, "
                f"{s['steps']:,} backward steps; .save(path) writes it>")


def interactive(*roots: Tensor, timeout: float = 60.0, **draw_kwargs) -> Page:
    """The graph as an interactive page: pan and zoom, click a node for its op, shape, dtype,
    values and gradient (with histograms), expand folded groups, and replay backward step by
    step in the order the engine ran it (recorded by `record_grads`). Takes `draw`'s options.

    >>> import autograd
    >>> from autograd import viz
    >>> x = autograd.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> with viz.record_grads():
    ...     (x * x).sum().backward()
    >>> page = viz.interactive(x * 1.0)
    >>> "<script" in page.html and "https://" not in page.html
    True
    """
    flat = _check_roots(roots, draw_kwargs)
    kw = {"params": None, "show_values": True, "show_grads": True, "kind": "forward", "rankdir": None,
          "collapse": None, "max_nodes": 100, "legend": True}
    kw.update(draw_kwargs)
    pic = _Picture(flat, **kw)
    views = [_view(pic, "the whole graph", timeout)]
    for i, v in enumerate(pic.graph.vertices):  # what each fold or module box holds, one level down
        if v.kind in ("fold", "box") and v.members:
            pic.infos[f"n{i}"]["expand"] = len(views)
            title = pic.infos[f"n{i}"]["label"].split("\n")[0]
            views.append(_view(pic.inside(v), title, timeout))
    views[0]["nodes"] = pic.infos
    names = [pic.names.get(id(r)) or r.name for r in flat]
    title = "autograd graph" + (": " + ", ".join(n for n in names if n) if any(names) else "")
    stats = {"nodes": len(pic.graph.vertices), "views": len(views), "steps": len(views[0]["steps"])}
    return Page(_render.page(views, title), stats)


def _view(pic: _Picture, title: str, timeout: float) -> dict:
    """One drawing of the page: its SVG, what each node shows when clicked, and the backward
    steps (engine order) with the drawn nodes each lights up."""
    svg = pipe("digraph {\n" + "".join(pic.body) + "}\n", "svg", timeout=timeout).decode("utf-8")
    svg = svg[svg.index("<svg"):]
    roots = set(pic.graph.roots)
    infos = {}
    at: dict[int, list] = {}
    for i, v in enumerate(pic.graph.vertices):
        info = infos[f"n{i}"] = pic.lab.info(v, i in roots)
        for s, who in zip(info.get("steps", ()), info.get("ran", ())):
            at.setdefault(s, [who, info.get("grad")]).append(f"n{i}")
    steps = []
    for s in sorted(at):
        who, grad, *ids = at[s]
        steps.append([s, ids, who + (": " + grad if grad else "")])
    pic.infos = infos
    return {"svg": svg, "nodes": infos, "steps": steps, "title": title}


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
    if format.lower() in ("html", "htm"):
        if hasattr(root, "source") and not isinstance(root, Tensor):
            raise TypeError("render: an .html page is made from Tensors (it needs the graph, not a Digraph)")
        roots = root if isinstance(root, (list, tuple)) else (root,)
        return interactive(*roots, timeout=timeout, **draw_kwargs).save(path)
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
