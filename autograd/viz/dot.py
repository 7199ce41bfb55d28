"""Labels, colours and DOT text for the picture's graph.

The DOT lines are written here directly (graphviz's `node()`/`edge()` quote every argument
with regular expressions, too slow for 100,000 nodes) and handed to `graphviz.Digraph` as
its body, so the result is still an ordinary Digraph.
"""

from __future__ import annotations

import textwrap

from .labeller import Labeller
from .layout import ASPECT, NODESEP, RANKSEP, ROW_NODESEP, SCREEN, SHAPE, extent, plan_layout, topo_ranks, vertex_size
from .modules import parent_path
from .text import (
    COLOURS,
    KIND_TEXT,
    LEGEND_TEXT,
    MAX_LINE,
    backward_name,
    backward_steps,
    const_text,
    data_line,
    engine_objects,
    grad_line,
    grad_summary,
    module_summary,
    module_title,
    num,
    op_title,
    quote,
    type_text,
)
from .vertices import Graph

__all__ = [
    "ASPECT", "COLOURS", "KIND_TEXT", "LEGEND_TEXT", "MAX_LINE", "NODESEP", "NOTE_WIDTH", "RANKSEP", "ROW_NODESEP",
    "SCREEN", "SHAPE", "Labeller", "backward_name", "backward_steps", "const_text", "data_line", "emit",
    "engine_objects", "extent", "grad_line", "grad_summary", "legend_label", "module_summary", "module_title",
    "note_label", "num", "op_title", "plan_layout", "quote", "topo_ranks", "type_text", "vertex_size",
]

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
