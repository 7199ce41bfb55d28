"""The picture's graph, before any DOT: vertices and edges built from the recorded Nodes,
grouped by nn modules, and summarised when there are too many.

The parts live in their own modules (`vertices`, `saved`, `build`, `modules`, `contract`,
`fold`); this one gathers them and summarises: fold runs of ops, then cut.
"""

from __future__ import annotations

from collections import deque

from .build import build_backward, build_forward
from .contract import collapse_modules, contract, expand
from .fold import MAX_PERIOD, MIN_REPEATS, MIN_RUN, fold_runs, repeats
from .modules import DUP, common_cluster, key_path, module_info, module_path, parent_path, path_depth
from .saved import node_args, slot_kinds
from .vertices import TENSORS, Graph, Vertex, shape_text, topo_order, vertex

__all__ = [
    "DUP", "MAX_PERIOD", "MIN_REPEATS", "MIN_RUN", "TENSORS", "Graph", "Vertex", "build_backward", "build_forward",
    "collapse_modules", "common_cluster", "contract", "expand", "fold_runs", "key_path", "module_info",
    "module_path", "node_args", "parent_path", "path_depth", "repeats", "shape_text", "slot_kinds", "summarise",
    "topo_order", "truncate", "vertex",
]


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
