"""`autograd.grad`: gradients of outputs with respect to chosen inputs, returned rather
than accumulated, optionally differentiable again (`create_graph=True`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import backend, engine
from .tensor import Tensor, make


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False):
    """d(outputs)/d(inputs) as a tuple of Tensors (one per input), as torch.autograd.grad.

    `outputs` and `inputs` are Tensors or sequences of them; `grad_outputs` gives the vector
    of the vector-Jacobian product (needed for outputs with more than one element). With
    `create_graph=True` the results are recorded too, so they can be differentiated again
    (Hessian-vector products). Leaves' `.grad` is left untouched.

    >>> import autograd
    >>> x = autograd.tensor(3.0, requires_grad=True, dtype="float64")
    >>> (g,) = autograd.grad(x ** 3, x, create_graph=True)
    >>> g.item(), autograd.grad(g, x)[0].item()
    (27.0, 18.0)
    """
    outs = _as_list(outputs, "outputs")
    ins = _as_list(inputs, "inputs")
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad")
    if grad_outputs is None:
        gos = [None] * len(outs)
    else:
        gos = _as_list(grad_outputs, "grad_outputs", allow_none=True)
        if len(gos) != len(outs):
            raise ValueError(f"grad: {len(gos)} grad_outputs for {len(outs)} outputs")
    seeds = [_seed(i, o, go, create_graph) for i, (o, go) in enumerate(zip(outs, gos))]
    found = engine.run_backward(outs, seeds, retain_graph=retain_graph,
                                create_graph=create_graph, inputs=ins)
    result = []
    for i, (t, g) in enumerate(zip(ins, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {t.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            result.append(None)
        elif isinstance(g, Tensor):
            result.append(g)
        elif type(g) is np.ndarray:
            if g.base is not None or not g.flags.writeable:
                g = g.copy()
            result.append(make(g))
        else:
            result.append(make(backend.namespace(g).asarray(g, copy=True)))  # (views are not tracked there)
    return tuple(result)


def _seed(i, o, go, create_graph):
    """The initial gradient of output i: grad_outputs[i], or ones for a one-element output."""
    if not o.requires_grad:
        raise RuntimeError(f"grad: output {i} (shape {o.shape}) does not require grad")
    if go is None:
        if o.size != 1:
            raise RuntimeError(
                f"grad: output {i} has shape {o.shape}; grad_outputs is needed for outputs "
                "with more than one element"
            )
        go = engine.seed_array(o, None, "grad")
    elif isinstance(go, Tensor) and create_graph:
        if go.shape != o.shape:
            raise ValueError(f"grad: grad_outputs[{i}] has shape {go.shape}; output {i} has {o.shape}")
    else:
        try:
            go = engine.seed_array(o, go, "grad")
        except ValueError:
            raise ValueError(f"grad: grad_outputs[{i}] has shape {tuple(go.shape) if hasattr(go, 'shape') else np.shape(go)}; output {i} has {o.shape}") from None
    return make(go) if create_graph and not isinstance(go, Tensor) else go


def _as_list(x, what, allow_none=False) -> list:
    if isinstance(x, Tensor) or (allow_none and x is None):
        return [x]
    if isinstance(x, Sequence):
        items = list(x)
        for i, t in enumerate(items):
            if not isinstance(t, Tensor) and not (allow_none and t is None) and what != "grad_outputs":
                raise TypeError(f"grad: {what}[{i}] is {type(t).__name__}; expected a Tensor")
        return items
    if what == "grad_outputs":
        return [x]
    raise TypeError(f"grad: {what} must be a Tensor or a sequence of Tensors; got {type(x).__name__}")
