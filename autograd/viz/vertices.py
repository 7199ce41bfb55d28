"""The picture's graph as data: its vertices and edges, and the order of the recorded graph.

The recorded graph's vertices are Nodes and leaf Tensors (a node's `edges`); intermediate
Tensors are not kept, so each node's output box is drawn from the node's metadata (shape,
dtype) and shows the value only where some array still holds it (see `build.build_forward`).

Everything here is iterative (explicit stacks and queues): graphs of 100,000 ops and more
are common, and Python's recursion limit is about 1,000.
"""

from __future__ import annotations

from ..node import Node
from ..tensor import Tensor

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



def shape_text(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"

