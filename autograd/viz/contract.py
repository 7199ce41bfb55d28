"""Merging groups of vertices into one (a module box, a fold, what is left out), and opening
a merged vertex again."""

from __future__ import annotations

from .modules import DUP, parent_path, path_depth
from .vertices import TENSORS, Graph, Vertex, shape_text


def contract(graph: Graph, group: list, make_vertex, label_shapes: bool = False) -> Graph:
    """A new graph where every vertex i with `group[i]` not None is merged into the vertex
    `make_vertex(key, members)` for its key; self-edges vanish, parallel edges merge.

    With `label_shapes`, an edge leaving a merged tensor is labelled with its shape.
    """
    old = graph.vertices
    new = Graph(graph.kind)
    new.folded, new.cut = graph.folded, graph.cut
    index = [0] * len(old)
    members: dict[object, list] = {}
    first: dict[object, int] = {}
    for i, key in enumerate(group):
        if key is not None:
            members.setdefault(key, []).append(old[i])
    for i, v in enumerate(old):
        key = group[i]
        if key is None:
            index[i] = new.add(v)
        elif key in first:
            index[i] = first[key]
        else:
            first[key] = index[i] = new.add(make_vertex(key, members[key]))
    seen = set()
    pos = [0] * len(old)  # old index -> its place among its group's members
    count: dict = {}
    for i, key in enumerate(group):
        if key is not None:
            pos[i] = count.get(key, 0)
            count[key] = pos[i] + 1
    for a, b, label in graph.edges:
        na, nb = index[a], index[b]
        if na == nb and group[a] is not None:  # inside a merged vertex: kept to expand it later
            new.vertices[na].inner.append((pos[a], pos[b]))
            continue
        if na == nb or (na, nb) in seen:
            continue
        seen.add((na, nb))
        if label_shapes and label is None and group[a] is not None and old[a].kind in TENSORS:
            shape = old[a].shape()
            label = shape_text(shape) if shape is not None else None
        new.edges.append((na, nb, label))
    new.roots = list(dict.fromkeys(index[r] for r in graph.roots))
    return new


def expand(v: Vertex, kind: str, keep: int | None = None) -> Graph:
    """The graph folded into a merged vertex (a fold or a module box): its members and the
    edges between them; its outputs (members nothing inside reads) are the roots.

    With `keep`, a vertex of many more members shows only about `keep` of them, the first and
    the last ones, whole repetitions for a repeated sequence, and folds the middle again: cheap
    however big the fold is (expanding it again shows more)."""
    members, inner = v.members, v.inner
    n = len(members)
    if keep is None or n <= 4 * keep:
        g = Graph(kind)
        g.vertices = list(members)
        g.edges = [(a, b, None) for a, b in inner]
    else:
        head = tail = keep // 2
        if v.value is not None:  # a repeated sequence: an op and its output per step
            rep = 2 * len(v.value[1])
            head = tail = max(1, keep // 2 // rep) * rep
            tail -= 1  # (the fold's last output is drawn outside it)
        middle = members[head:n - tail]
        fold = Vertex("fold", [m.obj for m in middle if m.kind in ("op", "grad_fn")])
        fold.members = middle
        fold.cluster = v.cluster
        if v.value is not None:
            fold.value = (v.value[0] - 2 * (head // rep), v.value[1])
        g = Graph(kind)
        g.vertices = list(members[:head]) + [fold] + list(members[n - tail:])
        where = lambda i: i if i < head else (head if i < n - tail else i - (n - tail) + head + 1)  # noqa: E731
        seen = set()
        for a, b in inner:
            e = (where(a), where(b))
            if e[0] != e[1] and e not in seen:
                seen.add(e)
                g.edges.append((e[0], e[1], None))
        g.folded = len(fold.obj)
    read = {a for a, _, _ in g.edges}
    sinks = [i for i, m in enumerate(g.vertices) if i not in read and m.kind not in ("leaf", "input")]
    g.roots = [i for i in sinks if g.vertices[i].kind in TENSORS] or sinks
    return g



def collapse_modules(graph: Graph, collapse) -> Graph:
    """Draw each module as one box: `"modules"` boxes the innermost modules that ran ops,
    an int d boxes the modules d levels below the root (0: the whole model)."""
    paths = {v.cluster for v in graph.vertices if v.cluster is not None}
    if collapse == "modules":
        inner = set(paths)
        for p in paths:
            q = parent_path(p)
            while q is not None:
                inner.discard(q)
                q = parent_path(q)

        def key_of(path):
            return path if path in inner else None
    elif isinstance(collapse, int) and not isinstance(collapse, bool) and collapse >= 0:
        def key_of(key):
            if path_depth(key) < collapse:
                return None
            path, dup, n = key.partition(DUP)
            return ".".join(path.split(".")[:collapse]) + dup + n if collapse else ""
    else:
        raise ValueError(f"draw: collapse must be None, 'modules' or a depth >= 0; got {collapse!r}")

    roots = set(graph.roots)
    group: list = [None] * len(graph.vertices)
    for i, v in enumerate(graph.vertices):
        if v.cluster is None or i in roots:
            continue
        if v.kind == "input" or (v.kind in ("leaf", "accumulate") and not v.obj.requires_grad):
            continue  # constants stay visible as inputs
        group[i] = key_of(v.cluster)

    def make(key, members):
        box = Vertex("box", key, None, None)
        box.members = members
        return box

    return contract(graph, group, make, label_shapes=graph.kind == "forward")

