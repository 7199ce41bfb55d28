"""The picture's graph, before any DOT: vertices and edges built from the recorded Nodes,
grouped by nn modules, and summarised when there are too many.

The recorded graph's vertices are Nodes and leaf Tensors (a node's `edges`); intermediate
Tensors are not kept, so each node's output box is drawn from the node's metadata (shape,
dtype) and shows the value only where some array still holds it (see `build_forward`).

Everything here is iterative (explicit stacks and queues): graphs of 100,000 ops and more
are common, and Python's recursion limit is about 1,000.
"""

from __future__ import annotations

from collections import deque

from .. import backend
from ..node import Meta, Node
from ..tensor import Tensor
from . import record

MIN_RUN = 3  # fold chains of at least this many ops (besides their ends) when summarising
TENSORS = ("leaf", "value", "input")  # the kinds drawn as tensor boxes


class Vertex:
    """One box or ellipse of the picture.

    kind: "leaf" (obj: a leaf Tensor), "value" (obj: the Node whose output it is; out: the
    Tensor when the user passed it or kept it with retain_grad()), "input" (obj: what a node
    holds of an input that needs no gradient: the array, a Meta, a record.Kept, or None when
    nothing is known), "op" (obj: Node), "grad_fn" (obj: Node), "accumulate" (obj: leaf
    Tensor), "box" (a collapsed module; obj: path), "fold" (a run of ops; obj: list of their
    Nodes), "more" (vertices left out; obj: their count).
    `value`: for "value", the array or Kept that shows the output's values (None: not kept);
    for "op", the node's arguments as drawn (live `args` or the record_grads snapshot's).
    """

    __slots__ = ("kind", "obj", "out", "scope", "members", "cluster", "value", "name", "inner")

    def __init__(self, kind, obj, out=None, scope=None):
        self.kind = kind
        self.obj = obj
        self.out = out
        self.scope = scope  # the nn.Module whose forward made it (None outside modules)
        self.members = None  # vertices folded into a box/fold vertex
        self.cluster = None  # key of the module cluster it is drawn in (set by module_info)
        self.value = None
        self.name = None  # a name known from the graph itself (a saved input's tensor name)
        self.inner: list = []  # for a merged vertex: the edges between its members (by position)

    def shape(self):
        """The shape of a tensor box, or None when not known."""
        return getattr(self.obj, "shape", None)


class Graph:
    """Vertices (a list; index = position) and edges `(src, dst, label)`; `roots` are the
    indices of the outputs' vertices, drawn however big the graph is."""

    def __init__(self, kind: str):
        self.kind = kind
        self.vertices: list[Vertex] = []
        self.edges: list[tuple] = []
        self.roots: list[int] = []
        self.folded = 0  # ops folded into runs
        self.cut = 0  # vertices left out entirely

    def add(self, v: Vertex) -> int:
        self.vertices.append(v)
        return len(self.vertices) - 1


def vertex(t: Tensor):
    """Where a tensor sits in the recorded graph: its node, or the tensor itself (a leaf)."""
    return t._node if t._node is not None else t


def topo_order(roots, inputs: bool = False) -> list:
    """Every vertex (Node or leaf Tensor) reachable from `roots`, inputs before consumers.

    Iterative post-order depth-first search; the order depends only on the graph's structure
    and the order of each node's edges, so node ids in the DOT text are reproducible. With
    `inputs`, a `(node, i)` pair also stands for each input that needs no gradient, at its
    place among the node's inputs.
    """
    order: list = []
    seen: set[int] = set()
    for r in roots:
        u = vertex(r)
        if id(u) in seen:
            continue
        seen.add(id(u))
        if not isinstance(u, Node):
            order.append(u)
            continue
        stack, pos = [u], [0]  # the path being walked, and how far into each one's edges
        while stack:
            u = stack[-1]
            edges = u.edges
            i, n = pos[-1], len(edges)
            while i < n:
                e = edges[i]
                i += 1
                if e is None:
                    if inputs:
                        order.append((u, i - 1))
                elif id(e) not in seen:
                    seen.add(id(e))
                    if isinstance(e, Node):
                        pos[-1] = i
                        stack.append(e)
                        pos.append(0)
                        break
                    order.append(e)  # a leaf: done at once
            else:
                stack.pop()
                pos.pop()
                order.append(u)
    return order


# --------------------------------------------------------------------------- what a node kept
def node_args(node: Node):
    """The node's arguments as a drawing can read them: `args` while backward has not freed
    them, else what `record_grads` kept of them, else None."""
    if node.args is not None:
        return node.args
    snap = record.snapshot(node)
    return snap.args if snap is not None else None


def _fresh(node: Node, i: int) -> bool:
    """False when the array saved for input i (-1: the output) was changed in place since."""
    for rec in node.vers or ():
        if rec[0] == i:
            return rec[1][0] == rec[2]
    return True


def _saved_name(node: Node, i: int):
    """The name the saved input's Tensor had, where the node's version records keep it."""
    for rec in node.vers or ():
        if rec[0] == i:
            return rec[3] if len(rec) > 3 else None
    return None


def _is_array(a) -> bool:
    return (isinstance(a, Meta) and not isinstance(a, Node)) or backend.is_array(a)


def slot_kinds(node: Node, args) -> tuple:
    """Per input of `node`: "edge" (it needs a gradient: an arrow from its producer),
    "tensor" (an input that needs none, drawn as a grey box), "const" (a number, drawn in the
    op's label), or "unknown" (freed by backward: nothing tells which of the two it was)."""
    saved = {rec[0] for rec in node.vers or ()} if args is None else ()
    kinds = []
    for i, e in enumerate(node.edges):
        if e is not None:
            kinds.append("edge")
        elif args is None:
            kinds.append("tensor" if i in saved else "unknown")
        else:
            a = args[i]
            kinds.append("tensor" if a is None or _is_array(a) else "const")
    return tuple(kinds)


def _output_values(order) -> tuple[dict, dict]:
    """For each node's output, an array (or record.Kept) holding its values, and a name,
    where some node still has them: the node's saved output, or a consumer's saved input."""
    values: dict[int, object] = {}
    names: dict[int, str] = {}
    for u in order:
        if not isinstance(u, Node):
            continue
        out = u.out if backend.is_array(u.out) and _fresh(u, -1) else None
        if out is None:
            snap = record.snapshot(u)
            out = snap.out if snap is not None else None
        if out is not None:
            values.setdefault(id(u), out)
        args = node_args(u)
        if args is None:
            continue
        plan = u.op.plan(u.needs) if u.vers is not None else None
        named = u.vers is not None and len(u.vers) and len(u.vers[0]) > 3  # records with names
        for i, e in enumerate(u.edges):
            if not isinstance(e, Node):
                continue
            if named:
                name = _saved_name(u, i)
                if name:
                    names.setdefault(id(e), name)
            if plan is not None and not plan[i]:
                continue
            a = args[i]
            if (backend.is_array(a) and _fresh(u, i)) or isinstance(a, record.Kept):
                values.setdefault(id(e), a)
    return values, names


# --------------------------------------------------------------------------- building
def build_forward(roots, order, seq=None) -> Graph:
    """Tensor boxes and op vertices, edges in the direction data flows.

    A leaf is one box; a node is an op vertex and a box for its output, which shows the
    output's shape and dtype always, and its values when still available: the Tensor the
    user passed as a root or kept with retain_grad(), the node's saved output, a consumer's
    saved input, or what `record_grads` kept of either. Inputs that need no gradient get a
    grey box each (one per array: a batch read by two ops is one box); numbers go in the
    op's label.
    """
    g = Graph("forward")
    where: dict[int, int] = {}
    root_of: dict[int, Tensor] = {}
    for r in roots:
        root_of.setdefault(id(vertex(r)), r)
    values, names = _output_values(order)
    inputs: dict[int, int] = {}  # id(array or Kept) -> its grey box
    slots: dict[int, tuple] = {}  # id(node) -> (its args as drawn, slot_kinds)
    boxes: dict[tuple, int] = {}  # (id(node), i) -> the grey box of that input
    for u in seq if seq is not None else topo_order(roots, inputs=True):
        if isinstance(u, tuple):  # an input that needs no gradient, in its place (ids follow data flow)
            u, i = u
            k = id(u)
            if k not in slots:
                args = node_args(u)
                slots[k] = (args, slot_kinds(u, args))
            args, kinds = slots[k]
            if kinds[i] != "tensor":
                continue
            a = args[i] if args is not None else None
            if isinstance(a, record.Kept) or backend.is_array(a):
                b = inputs.get(id(a))
                if b is None:
                    b = inputs[id(a)] = g.add(Vertex("input", a))
            else:
                b = g.add(Vertex("input", a))
            if backend.is_array(a) and not _fresh(u, i):
                g.vertices[b].obj = Meta(a.shape, a.dtype)  # changed since: the values are not its
            g.vertices[b].name = g.vertices[b].name or _saved_name(u, i)
            boxes[(k, i)] = b
            continue
        if not isinstance(u, Node):
            where[id(u)] = g.add(Vertex("leaf", u))
            continue
        o = g.add(Vertex("op", u, None, u.scope))
        g.vertices[o].value = slots[id(u)][0] if id(u) in slots else node_args(u)
        for i, e in enumerate(u.edges):
            b = where[id(e)] if e is not None else boxes.get((id(u), i))
            if b is not None:
                g.edges.append((b, o, None))
        t = root_of.get(id(u))
        if t is None and u.retain is not None:
            t = u.retain()
        v = Vertex("value", u, t, u.scope)
        v.value = t.data if t is not None else values.get(id(u))
        v.name = names.get(id(u))
        where[id(u)] = g.add(v)
        g.edges.append((o, where[id(u)], None))
    g.roots = list(dict.fromkeys(where[id(vertex(r))] for r in roots))
    return g


def build_backward(roots, order) -> Graph:
    """Gradient flow: each output's box feeds its grad_fn, grad_fns feed the grad_fns of the
    inputs that need a gradient, leaves get an AccumulateGrad and their own box."""
    g = Graph("backward")
    where: dict[int, int] = {}
    for u in order:
        if isinstance(u, Node):
            v = g.add(Vertex("grad_fn", u, None, u.scope))
            for e in u.edges:
                if e is not None:
                    g.edges.append((v, where[id(e)], None))
            where[id(u)] = v
        elif u.requires_grad:
            box = g.add(Vertex("leaf", u))
            acc = g.add(Vertex("accumulate", u))
            g.edges.append((acc, box, None))
            where[id(u)] = acc
    for r in roots:
        u = vertex(r)
        if isinstance(u, Node):
            box = Vertex("value", u, r, u.scope)
            box.value = r.data
        else:
            box = Vertex("leaf", r)
        b = g.add(box)
        if id(u) in where:
            g.edges.append((b, where[id(u)], None))
        g.roots.append(b)
    return g


# --------------------------------------------------------------------------- modules
# A cluster's key is its module's dotted path; a second, different module with the same path
# (two separate models in one graph, as in D(G(z)): both have a "0") gets "#2", "#3", ... so
# the two are never drawn as one.
DUP = "#"


def module_path(m) -> str:
    path = getattr(m, "_path", None)
    return path if isinstance(path, str) else type(m).__name__


def key_path(key: str) -> str:
    """The dotted path a cluster key stands for ("0#2" -> "0")."""
    return key.partition(DUP)[0]


def path_depth(key: str) -> int:
    path = key_path(key)
    return 0 if path == "" else path.count(".") + 1


def parent_path(key: str):
    """"a.b" -> "a", "a" -> "" (the root module), "" -> None. A duplicate's parent is not
    known (modules do not point to their parents), so it is drawn at the top level."""
    if key == "" or DUP in key:
        return None
    return key.rpartition(".")[0]


def common_cluster(keys):
    """The innermost module cluster holding all of `keys` ("0.a", "0.b" -> "0"), or None."""
    common, first = None, True
    for key in keys:
        if key is None:
            return None
        if first:
            common, first = key, False
            continue
        while not (key == common or common == "" or key.startswith(common + ".")):
            if DUP in key or DUP in common:
                return None  # another model's modules: no common parent is known
            common = parent_path(common)
    return common


def module_info(graph: Graph, params):
    """`(modules, explicit, derived)`: module objects by cluster key, and names of parameters
    by id (given in `params`, and derived from the modules). Sets each vertex's `cluster`.

    Names come from `params` first (a dict or anything with `named_parameters()`), then from
    the tensors' own `name`, then from the modules whose forward ran (their parameters, with
    the module's path in front). A parameter leaf is drawn in its owning module's cluster.
    """
    keys: dict[int, str] = {}
    modules: dict[str, object] = {}
    count: dict[str, int] = {}

    def key_of(m) -> str:
        key = keys.get(id(m))
        if key is None:
            path = module_path(m)
            n = count[path] = count.get(path, 0) + 1
            key = keys[id(m)] = path if n == 1 else f"{path}{DUP}{n}"
            modules[key] = m
        return key

    explicit: dict[int, str] = {}
    if params is not None:
        if hasattr(params, "named_modules"):
            for _, m in params.named_modules():
                key_of(m)
        items = params.named_parameters() if hasattr(params, "named_parameters") else (
            params.items() if hasattr(params, "items") else params)
        for n, t in items:
            explicit.setdefault(id(t), str(n))
    for v in graph.vertices:
        if v.scope is not None:
            v.cluster = key_of(v.scope)
    derived: dict[int, str] = {}
    owner: dict[int, str] = {}  # parameter -> the module holding it directly ("weight", not "fc1.weight")
    for key, m in modules.items():
        named = getattr(m, "named_parameters", None)
        if named is None:
            continue
        path = module_path(m)
        for n, t in named():
            derived.setdefault(id(t), f"{path}.{n}" if path else n)
            if "." not in n:
                owner[id(t)] = key
    for v in graph.vertices:
        if v.kind in ("leaf", "accumulate") and v.cluster is None:
            v.cluster = owner.get(id(v.obj))
    return modules, explicit, derived


# --------------------------------------------------------------------------- contraction
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


def shape_text(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


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


# --------------------------------------------------------------------------- summarising
MIN_REPEATS = 4  # a repeated op sequence folds from this many repetitions (first and last stay drawn)
MAX_PERIOD = 12  # the longest repeated sequence looked for (a block of a few layers)


def _op_keys(graph: Graph, preds: list) -> list:
    """Per vertex, what makes two ops "the same" for folding: the op, its attributes, its
    output's shape, the class of the module that ran it and the shapes of that module's
    parameters it reads (so Linear(8→8) and Linear(8→4) differ); None for non-ops."""
    keys = []
    vs = graph.vertices
    for i, v in enumerate(vs):
        if v.kind not in ("op", "grad_fn"):
            keys.append(None)
            continue
        node = v.obj
        params = tuple(vs[p].obj.shape for p in preds[i]
                       if vs[p].kind == "leaf" and vs[p].cluster is not None and vs[p].cluster == v.cluster)
        keys.append((node.op.name, repr(node.attrs) if node.attrs else "", node.shape,
                     type(node.scope).__name__ if node.scope is not None else None, params))
    return keys


def repeats(s: list) -> list[tuple[int, int, int]]:
    """`(start, period, count)` of each stretch of `s` that repeats one sequence of at most
    MAX_PERIOD items at least MIN_REPEATS times; greedy from the left, longest stretch first
    (shortest period on ties).

    >>> repeats(list("xabcabcabcabcy"))
    [(1, 3, 4)]
    """
    out = []
    n = len(s)
    i = 0
    while i < n:
        best_len, best = 0, None
        for p in range(1, MAX_PERIOD + 1):
            if i + p * MIN_REPEATS > n:
                break
            j = i + p
            while j < n and s[j] == s[j - p]:
                j += 1
            k = (j - i) // p
            if k >= MIN_REPEATS and k * p > best_len:
                best_len, best = k * p, (i, p, k)
        if best is None:
            i += 1
        else:
            out.append(best)
            i += best_len
    return out


def fold_runs(graph: Graph, max_nodes: int) -> Graph:
    """Fold chains of ops (each feeding only the next) so that fewer vertices remain.

    Repeated structure folds first: a sequence of ops repeated at least MIN_REPEATS times
    (a loop body, a stack of identical layers) keeps its first and last repetition and
    folds the rest into one vertex (`× 64: mul → add → tanh`). When that still leaves more
    than `max_nodes` vertices, every chain of at least MIN_RUN ops folds but for its ends
    (`300 ops folded: mul ×100, add ×100, tanh ×100`). Parameters and constants read only
    inside a fold go with it.
    """
    vs = graph.vertices
    n = len(vs)
    forward = graph.kind == "forward"
    leafish = [v.kind in ("leaf", "input") for v in vs]
    preds: list[list] = [[] for _ in range(n)]
    succs: list[list] = [[] for _ in range(n)]
    for a, b, _ in graph.edges:
        preds[b].append(a)
        succs[a].append(b)
    keys = _op_keys(graph, preds)
    roots = set(graph.roots)
    link_next = [-1] * n  # op index -> next op index in its chain
    link_via = [-1] * n  # op index -> the tensor between it and the next op
    has_prev = [False] * n
    for b in range(n):
        if keys[b] is None:
            continue
        inner = [p for p in preds[b] if not leafish[p]]
        if len(inner) != 1:
            continue
        if forward:
            t = inner[0]
            if vs[t].kind != "value" or t in roots or len(succs[t]) != 1 or len(preds[t]) != 1:
                continue
            a = preds[t][0]
        else:
            if len(preds[b]) != 1:
                continue
            t, a = -1, inner[0]
        if keys[a] is None or link_next[a] != -1 or a in roots:
            continue
        link_next[a], link_via[a], has_prev[b] = b, t, True

    chains = []
    for head in range(n):
        if keys[head] is not None and not has_prev[head] and link_next[head] != -1:
            chain = [head]
            while link_next[chain[-1]] != -1:
                chain.append(link_next[chain[-1]])
            chains.append(chain)

    def grouping(periodic: bool):
        group: list = [None] * n
        info: list = []  # per fold: (count, one repetition's op vertices) or None
        for chain in chains:
            if periodic:
                runs = [(chain[s + p: s + p * (k - 1)], (k - 2, [vs[i] for i in chain[s: s + p]]))
                        for s, p, k in repeats([keys[i] for i in chain])]
            else:
                runs = [(chain[1:-1], None)] if len(chain) >= MIN_RUN + 2 else []
            for run, what in runs:
                g = len(info)
                info.append(what)
                for k, i in enumerate(run):
                    group[i] = g
                    if k + 1 < len(run) and link_via[i] != -1:
                        group[link_via[i]] = g
        for i in range(n):  # parameters and constants read only inside one fold join it
            if leafish[i] and i not in roots and succs[i]:
                g = group[succs[i][0]]
                if g is not None and all(group[j] == g for j in succs[i]):
                    group[i] = g
        merged = sum(1 for x in group if x is not None)
        return group, info, n - merged + len(info)

    group, info, size = grouping(periodic=True)
    if size > max_nodes:
        group2, info2, size2 = grouping(periodic=False)
        if size2 < size:
            group, info = group2, info2
    if not info:
        return graph

    def make(key, members):
        nodes = [m.obj for m in members if m.kind in ("op", "grad_fn")]
        v = Vertex("fold", nodes)
        v.cluster = common_cluster(m.cluster for m in members)
        v.members = members
        v.value = info[key]
        return v

    new = contract(graph, group, make)
    new.folded = graph.folded + sum(1 for i in range(n) if group[i] is not None and keys[i])
    return new


def truncate(graph: Graph, max_nodes: int) -> Graph:
    """Keep the `max_nodes - 1` vertices nearest the outputs (breadth first); the rest
    become one vertex saying how many were left out."""
    n = len(graph.vertices)
    nbrs: list[list] = [[] for _ in range(n)]
    for a, b, _ in graph.edges:
        if graph.kind == "forward":
            nbrs[b].append(a)  # walk from the outputs towards the inputs
        else:
            nbrs[a].append(b)
    keep = max(1, max_nodes - 1)
    kept = [False] * n
    count = 0
    queue = deque(graph.roots)
    for r in graph.roots:
        kept[r] = True
        count += 1
    while queue and count < keep:
        v = queue.popleft()
        for w in nbrs[v]:
            if not kept[w] and count < keep:
                kept[w] = True
                count += 1
                queue.append(w)
    dropped = n - count
    if dropped == 0:
        return graph
    group = [None if kept[i] else "more" for i in range(n)]
    new = contract(graph, group, lambda key, members: Vertex("more", len(members)))
    new.cut = graph.cut + dropped
    return new


def summarise(graph: Graph, max_nodes: int) -> Graph:
    """Fold runs of ops, then cut, until at most `max_nodes` vertices remain."""
    if len(graph.vertices) <= max_nodes:
        return graph
    graph = fold_runs(graph, max_nodes)
    if len(graph.vertices) > max_nodes:
        graph = truncate(graph, max_nodes)
    return graph
