"""User-defined ops with hand-written derivatives: `autograd.Function`.

A Function is recorded exactly like a built-in primitive: each subclass gets a private
`Op` subclass (named after the class, not registered) whose backward calls the user's; the
engine records a `Node` for it, undoes broadcasting, casts dtypes, frees, runs hooks and
anomaly checks as for any op. The node's `out` slot holds the context, so it is dropped
after backward unless `retain_graph=True`.

The context's saved tensors are version-checked like an op's saved arrays: changing one in
place between forward and backward makes backward raise.

What the user's code sees:
  forward(ctx, *args, **kwargs)  runs under no_grad; Tensor arguments arrive as the very
      Tensors passed to `apply` (read `.data` for numpy work); it returns a Tensor, an
      array or a number (or a tuple of them for several outputs).
  backward(ctx, *grad_outputs)   gets one Tensor per output and returns one gradient per
      argument of forward (None for non-Tensors or when not needed). In first-order
      backward it runs with grad mode off on constant Tensors (cheap); under
      `create_graph=True` the gradients and `ctx.saved_tensors` are graph Tensors and grad
      mode is on, so a backward written with Tensor ops is differentiable again.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import anomaly, backend
from .mode import no_grad, state, threads
from .node import Node, VersionError, _array, raw
from .ops.registry import Op
from .tensor import Tensor, counter, make


class FunctionCtx:
    """The context handed to forward and backward; holds saved tensors and any attribute.

    `needs_input_grad` is a tuple of bools, one per argument of forward.
    """

    def __init__(self, needs: tuple):
        self.needs_input_grad = needs
        self._saved = None  # the saved Tensors, as given
        self._versions = None  # their versions when forward returned
        self._outs = None  # forward's outputs (constants sharing the returned arrays)
        self._nodes = None  # weak references to the recorded nodes, one per output

    def save_for_backward(self, *tensors) -> None:
        """Keep inputs or outputs of forward (Tensors or None) for backward."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward: argument {i} is {type(t).__name__}; only Tensors or None "
                    "can be saved (store other values as attributes of ctx)"
                )
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The saved Tensors. Outputs of forward come back as graph Tensors under
        create_graph (so second derivatives see them), as constants otherwise."""
        if self._saved is None:
            return ()
        if self._outs is None:  # still inside forward
            return tuple(self._saved)
        self._check_versions()
        result = []
        for t in self._saved:
            k = _index_of(t, self._outs)
            node = self._nodes[k]() if k is not None and self._nodes is not None else None
            if node is not None and state.enabled:  # create_graph: the output in the graph
                result.append(make(t.data, node, counter(t)))
            else:
                result.append(t)
        return tuple(result)

    def _check_versions(self) -> None:
        for i, (t, v) in enumerate(zip(self._saved, self._versions or ())):
            if t is not None and counter(t)[0] != v:
                raise VersionError(
                    f"backward: one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: saved tensor {i} of {self._op_name} (shape {list(t.shape)}, "
                    f"dtype {t.dtype}{', ' + repr(t.name) if t.name else ''}) is at version {counter(t)[0]}; "
                    f"expected version {v} instead"
                )

    def __repr__(self) -> str:
        return "ctx"


def _index_of(t, outs):
    for k, o in enumerate(outs):
        if o is t:
            return k
    return None


class Function:
    """Base class of user-defined ops: write `forward` and `backward` as staticmethods,
    call `apply`.

    >>> import autograd, numpy as np
    >>> class Cube(autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x.data ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (x,) = ctx.saved_tensors
    ...         return g * 3 * x * x
    >>> x = autograd.tensor(2.0, requires_grad=True, dtype="float64")
    >>> y = Cube.apply(x)
    >>> y.backward()
    >>> float(x.grad), y.grad_fn.name
    (12.0, 'Cube')
    """

    _op: type = None  # the private Op adapter of each subclass

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._op = _make_op(cls)

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any):
        raise NotImplementedError("Function subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs):
        raise NotImplementedError("Function subclasses must define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any):
        """Run forward and record the op when any Tensor argument requires grad."""
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = state.enabled and any(needs)
        ctx = FunctionCtx(needs)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        many = isinstance(result, tuple)
        outs = tuple(_as_output(cls, r, i) for i, r in enumerate(result if many else (result,)))
        ctx._outs = outs
        ctx._op_name = cls.__name__
        if ctx._saved is not None:
            ctx._versions = tuple(None if t is None else counter(t)[0] for t in ctx._saved)
        if not record:
            return outs if many else outs[0]
        op = cls._op
        edges = tuple((a._node or a) if need else None for a, need in zip(args, needs))
        stand_ins = tuple(edge if edge is not None else (a if not isinstance(a, Tensor) else None)
                          for a, edge in zip(args, edges))
        recorded = []
        nodes = []
        for i, o in enumerate(outs):
            # node.out holds the context; it keeps the outputs as constants, never these Tensors
            node = Node(op, edges, stand_ins, {"index": i} if many else None, needs, ctx, (),
                        o.shape, o.dtype)
            if threads.anomaly and state.anomaly:
                anomaly.forward_check(node, o.data, i)
            recorded.append(make(o.data, node, counter(o)))
            nodes.append(weakref.ref(node))
        ctx._nodes = nodes
        return tuple(recorded) if many else recorded[0]


def _as_output(cls, r, i):
    if isinstance(r, Tensor):
        return r if r._node is None else make(r.data, None, counter(r))
    if r is None:
        raise TypeError(f"{cls.__name__}.forward returned None as output {i}; expected a Tensor or array")
    arr = r if backend.is_array(r) else np.asarray(r)
    if arr.dtype == object:
        raise TypeError(f"{cls.__name__}.forward output {i} is {type(r).__name__}; expected a Tensor or array")
    return make(arr)


def _make_op(fn_cls):
    """The Op adapter of a Function subclass: same protocol as every registered primitive."""

    def forward(*arrays, **attrs):
        # Used only when something calls the op on plain arrays (engine.call): run the
        # user's forward once on constant Tensors.
        args = [make(a) if backend.is_array(a) else a for a in arrays]
        with no_grad():
            r = fn_cls.forward(FunctionCtx(tuple(False for _ in args)), *args)
        r = r[attrs.get("index", 0)] if isinstance(r, tuple) else r
        return r.data if isinstance(r, Tensor) else _array(r)

    def backward(g, ctx, needs, *inputs, index=None):
        tensor_mode = isinstance(g, Tensor)  # create_graph: keep everything in the graph
        outs = ctx._outs
        if index is None:
            gos = (g if tensor_mode else make(g),)
        else:  # several outputs: this node carries output `index`; the others get zeros
            gos = []
            for k, o in enumerate(outs):
                if k == index:
                    gos.append(g if tensor_mode else make(g))
                else:
                    gos.append(make(backend.zeros_like_on(o.data, o.shape)))
            gos = tuple(gos)
        result = fn_cls.backward(ctx, *gos)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != len(inputs):
            raise RuntimeError(
                f"{fn_cls.__name__}.backward returned {len(result)} gradients; expected {len(inputs)} "
                f"(one per argument of forward, None for non-Tensors)"
            )
        grads = []
        for i, (r, inp, need) in enumerate(zip(result, inputs, needs)):
            if r is None or not need:
                grads.append(None)
                continue
            shape = inp.shape
            rshape = tuple(raw(r).shape) if backend.is_array(raw(r)) else np.shape(raw(r))
            if rshape != shape and not _reducible(rshape, shape):
                raise ValueError(
                    f"{fn_cls.__name__}.backward: gradient {i} has shape {rshape}; expected the "
                    f"input's shape {shape} (or one that broadcasts to it)"
                )
            if tensor_mode:
                grads.append(r if isinstance(r, Tensor) else make(_array(r)))
            else:
                grads.append(r.data if isinstance(r, Tensor) else _array(r))
        return tuple(grads)

    attrs = {
        "name": fn_cls.__name__,
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "__doc__": f"Op adapter of the user-defined Function {fn_cls.__qualname__}",
        "__module__": fn_cls.__module__,
    }
    # register=False: user ops stay out of the registry (and its registry-driven tests)
    return type(f"{fn_cls.__name__}Op", (Op,), attrs, register=False)


def _reducible(src: tuple, dst: tuple) -> bool:
    """Whether a gradient of shape `src` sums down to `dst` (dst broadcasts to src)."""
    try:
        return np.broadcast_shapes(src, dst) == tuple(src)
    except ValueError:
        return False
