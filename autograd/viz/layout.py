"""Choosing how to lay a drawing out: its direction, and rows to wrap a long one into, from
estimates of the size dot will give it."""

from __future__ import annotations

import math

from .vertices import Graph

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
