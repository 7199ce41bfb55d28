"""Folding runs of ops: repeated sequences (a loop body, a stack of identical layers) and
long chains, so that a big graph fits in fewer vertices."""

from __future__ import annotations

from .contract import contract
from .modules import common_cluster
from .vertices import Graph, Vertex

MIN_RUN = 3  # fold chains of at least this many ops (besides their ends) when summarising
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
    s = _Structure(graph)
    link_next, link_via, has_prev = _links(s)
    chains = _chains(s, link_next, has_prev)
    group, info, size = _grouping(s, chains, link_via, periodic=True)
    if size > max_nodes:
        group2, info2, size2 = _grouping(s, chains, link_via, periodic=False)
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
    new.folded = graph.folded + sum(1 for i in range(s.n) if group[i] is not None and s.keys[i])
    return new


class _Structure:
    """What folding reads of a graph: per vertex its predecessors and successors, whether it
    is a leaf or an input, and its op key (`_op_keys`)."""

    def __init__(self, graph: Graph):
        vs = self.vertices = graph.vertices
        n = self.n = len(vs)
        self.forward = graph.kind == "forward"
        self.leafish = [v.kind in ("leaf", "input") for v in vs]
        self.preds: list[list] = [[] for _ in range(n)]
        self.succs: list[list] = [[] for _ in range(n)]
        for a, b, _ in graph.edges:
            self.preds[b].append(a)
            self.succs[a].append(b)
        self.keys = _op_keys(graph, self.preds)
        self.roots = set(graph.roots)


def _links(s: _Structure):
    """`(link_next, link_via, has_prev)`: per op, the next op of its chain (-1: none), the
    tensor between the two (-1: none, in a backward graph), and whether an op links to it.
    An op links to the next when that one reads only it (besides leaves and inputs) and, in
    a forward graph, through an output nothing else reads."""
    n, vs, keys, preds, succs, roots = s.n, s.vertices, s.keys, s.preds, s.succs, s.roots
    link_next = [-1] * n  # op index -> next op index in its chain
    link_via = [-1] * n  # op index -> the tensor between it and the next op
    has_prev = [False] * n
    for b in range(n):
        if keys[b] is None:
            continue
        inner = [p for p in preds[b] if not s.leafish[p]]
        if len(inner) != 1:
            continue
        if s.forward:
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
    return link_next, link_via, has_prev


def _chains(s: _Structure, link_next: list, has_prev: list) -> list[list]:
    """The chains of linked ops, each from its head, in the order of their heads."""
    chains = []
    for head in range(s.n):
        if s.keys[head] is not None and not has_prev[head] and link_next[head] != -1:
            chain = [head]
            while link_next[chain[-1]] != -1:
                chain.append(link_next[chain[-1]])
            chains.append(chain)
    return chains


def _grouping(s: _Structure, chains: list, link_via: list, periodic: bool):
    """`(group, info, size)`: the fold each vertex goes into (None: none), per fold its
    `(count, one repetition's op vertices)` (None for a plain run), and how many vertices
    would remain. `periodic`: fold repeated sequences, else the middle of every long chain."""
    group: list = [None] * s.n
    info: list = []  # per fold: (count, one repetition's op vertices) or None
    for chain in chains:
        if periodic:
            runs = [(chain[st + p: st + p * (k - 1)], (k - 2, [s.vertices[i] for i in chain[st: st + p]]))
                    for st, p, k in repeats([s.keys[i] for i in chain])]
        else:
            runs = [(chain[1:-1], None)] if len(chain) >= MIN_RUN + 2 else []
        for run, what in runs:
            g = len(info)
            info.append(what)
            for k, i in enumerate(run):
                group[i] = g
                if k + 1 < len(run) and link_via[i] != -1:
                    group[link_via[i]] = g
    _join_inputs(s, group)
    merged = sum(1 for x in group if x is not None)
    return group, info, s.n - merged + len(info)


def _join_inputs(s: _Structure, group: list) -> None:
    """Parameters and constants read only inside one fold join it."""
    for i in range(s.n):
        if s.leafish[i] and i not in s.roots and s.succs[i]:
            g = group[s.succs[i][0]]
            if g is not None and all(group[j] == g for j in s.succs[i]):
                group[i] = g
