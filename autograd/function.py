"""User-defined ops with hand-written derivatives: `autograd.Function`.

A Function is recorded exactly like a built-in primitive: each subclass gets a private
`Op` subclass (named after the class, not registered) whose backward calls the user's; the
engine records a `Node` for it, undoes broadcasting, casts dtypes, frees, runs hooks and
anomaly checks as for any op. The node's `saved` slot holds the context, so it is dropped
after backward unless `retain_graph=True`.

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

from typing import Any

import numpy as np

from . import engine
from .engine import Node, _mode, no_grad
from .ops.registry import Op


class FunctionCtx:
    """The context handed to forward and backward; holds saved tensors and any attribute.

    `needs_input_grad` is a tuple of bools, one per argument of forward.
    """

    def __init__(self, needs: tuple):
        self.needs_input_grad = needs
        self._saved = None  # entries: ("in", Tensor) | ("out", index) | ("const", Tensor)
        self._inputs = None  # set when recorded: what a twin output node needs
        self._outs = None
        self._op = None

    def save_for_backward(self, *tensors) -> None:
        """Keep inputs or outputs of forward (Tensors or None) for backward."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, engine.Tensor):
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
        result = []
        for t in self._saved:
            k = _index_of(t, self._outs)
            if k is None:
                result.append(t)
            elif _mode.enabled and self._op is not None:
                # create_graph: the output as a Tensor of a twin node (same op and inputs)
                node = Node(self._op, self._inputs, self, {"index": k} if len(self._outs) > 1 else None,
                            self.needs_input_grad)
                result.append(engine._make(self._outs[k].data, node))
            else:
                result.append(self._outs[k])
        return tuple(result)

    def mark_non_differentiable(self, *tensors) -> None:
        """Accepted for PyTorch compatibility: outputs are differentiable only through backward."""

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
        T = engine.Tensor
        needs = tuple(isinstance(a, T) and a.requires_grad for a in args)
        record = _mode.enabled and any(needs)
        ctx = FunctionCtx(needs)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        many = isinstance(result, tuple)
        outs = tuple(_as_output(cls, r, i) for i, r in enumerate(result if many else (result,)))
        if not record:
            return outs if many else outs[0]
        op = cls._op
        recorded = []
        for i, o in enumerate(outs):
            node = Node(op, args, ctx, {"index": i} if many else None, needs)
            t = engine._make(o.data, node)
            if _mode.anomaly:
                engine._anomaly_hook(node, o.data, i)
            recorded.append(t)
        # ctx keeps the outputs' arrays (as constants), never the recorded Tensors: no cycle
        ctx._outs = outs
        ctx._inputs = args
        ctx._op = op
        ctx._many = many
        return tuple(recorded) if many else recorded[0]


def _as_output(cls, r, i):
    T = engine.Tensor
    if isinstance(r, T):
        return r if r._node is None else engine._make(r.data, None)
    if r is None:
        raise TypeError(f"{cls.__name__}.forward returned None as output {i}; expected a Tensor or array")
    arr = np.asarray(r)
    if arr.dtype == object:
        raise TypeError(f"{cls.__name__}.forward output {i} is {type(r).__name__}; expected a Tensor or array")
    return engine._make(arr, None)


def _make_op(fn_cls):
    """The Op adapter of a Function subclass: same protocol as every registered primitive."""

    def forward(*arrays, **attrs):
        # Used only when something calls the op on plain arrays (engine.call): run the
        # user's forward once on constant Tensors.
        T = engine.Tensor
        args = [engine._make(a, None) if isinstance(a, np.ndarray) else a for a in arrays]
        with no_grad():
            r = fn_cls.forward(FunctionCtx(tuple(False for _ in args)), *args)
        r = r[attrs.get("index", 0)] if isinstance(r, tuple) else r
        return r.data if isinstance(r, T) else np.asarray(r)

    def backward(g, ctx, needs, *inputs, index=None):
        T = engine.Tensor
        tensor_mode = isinstance(g, T)  # create_graph: keep everything in the graph
        outs = ctx._outs
        if index is None:
            gos = (g if tensor_mode else engine._make(g, None),)
        else:  # several outputs: this node carries output `index`; the others get zeros
            gos = []
            for k, o in enumerate(outs):
                if k == index:
                    gos.append(g if tensor_mode else engine._make(g, None))
                else:
                    gos.append(engine._make(np.zeros_like(o.data), None))
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
            rshape = np.shape(engine.raw(r))
            if rshape != shape and not _reducible(rshape, shape):
                raise ValueError(
                    f"{fn_cls.__name__}.backward: gradient {i} has shape {rshape}; expected the "
                    f"input's shape {shape} (or one that broadcasts to it)"
                )
            if tensor_mode:
                grads.append(r if isinstance(r, T) else engine._make(np.asarray(r), None))
            else:
                grads.append(r.data if isinstance(r, T) else np.asarray(r))
        return tuple(grads)

    attrs = {
        "name": fn_cls.__name__,
        "save_out": False,
        "needs_inputs": True,  # the context is freed after backward, like saved inputs
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
