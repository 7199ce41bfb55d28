"""The picture's graph built from the recorded Nodes: data flow (forward) or gradient flow
(backward)."""

from __future__ import annotations

from .. import backend
from ..node import Meta, Node
from ..tensor import Tensor
from . import record
from .saved import _fresh, _output_values, _saved_name, node_args, slot_kinds
from .vertices import Graph, Vertex, topo_order, vertex


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

