"""What a recorded node still holds: its arguments, the arrays it saved (and whether they
changed since), the names of its inputs, and the values of outputs that some node kept."""

from __future__ import annotations

from .. import backend
from ..node import Meta, Node
from . import record


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

