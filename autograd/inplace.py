"""In-place operations with PyTorch's rules: `+= -= *= /=`, `add_ sub_ mul_ div_ zero_ fill_
copy_ clamp_ normal_ uniform_` and item assignment.

- The array changes in place and the Tensor keeps its identity (a module's Parameter stays
  the same object, so optimizers keep working), and its version goes up by one.
- On a leaf that requires grad, with grad mode on, they raise (PyTorch's message).
- On other tensors, when a gradient is needed, they are recorded: the tensor's node becomes
  the op applied to its old value, so the gradient stays right. A node that saved the old
  array then refuses to run backward (its saved version no longer matches).
- A change that must be recorded is refused on a view (`x[0] += 1` where x has a grad_fn) and
  on a tensor that has a live view: PyTorch rewrites the other tensor's graph there; graphgrad
  asks for a `clone()` instead, so neither graph can go stale.
"""

from __future__ import annotations

import operator

from . import backend
from .mode import state
from .node import Node, apply, raw
from .operations import _index
from .ops import elementwise as E
from .ops import shape as S
from .ops.registry import Op
from .random import generator
from .tensor import Tensor, counter, make, method


def _needs_graph(name, t, others) -> bool:
    """Whether the change must be recorded; raises for the cases PyTorch refuses."""
    if not state.enabled:
        return False
    if t._requires_grad and t._node is None:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place operation "
            f"(shape {t.shape}). Update parameters under `with autograd.no_grad():`, or use an "
            "out-of-place op."
        )
    record = t._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others)
    if record and _is_view(t):
        raise RuntimeError(
            f"{name}: in-place change, recorded for backward, of a view (made by reshape, indexing, "
            f"transpose, ...; shape {t.shape}): not supported, since its base's graph would go stale. "
            "Apply it to a clone(), or change the base tensor"
        )
    return record


def _is_view(t) -> bool:
    vc = t._vc
    return vc is not None and len(vc) > 1 and any(ref() is t for ref in vc[1])


class StaleView(Op, register=False):
    """Stands in for the graph of a view made before its base was changed in place: the view's
    values changed with the base, its recorded history did not. Backward through it raises."""

    name = "stale_view"

    @staticmethod
    def backward(g, change, needs):
        raise RuntimeError(
            f"backward: a view was used after its base tensor was changed in place by {change}, "
            "recorded for backward: the view's graph is that of the old values. Make the view "
            "again after the change (or clone() it before)"
        )


def _mark_stale_views(t, change: str) -> None:
    """After a recorded change of t, give its live views a graph that refuses backward."""
    vc = t._vc
    if vc is None or len(vc) == 1:
        return
    for ref in vc[1]:
        v = ref()
        if v is not None and v is not t:
            v._node = Node(StaleView, (), (), None, (), change, None, v.shape, v.dtype)
            v._requires_grad = True


def _writable(name, t):
    flags = getattr(t.data, "flags", None)  # (numpy's and CuPy's; other libraries don't say)
    if flags is not None and not getattr(flags, "writeable", True):
        raise RuntimeError(
            f"{name}: the tensor (shape {t.shape}) is a read-only view (for example of broadcast_to); "
            "clone() it before changing it in place"
        )


def _mutate(name, t, op, others=(), attrs=None, kernel=None):
    """Apply `op(t, *others)` to t in place: recorded when a gradient is needed, else run by
    `kernel(array)` (numpy writing into t.data) when given, or by op.forward then a copy."""
    record = _needs_graph(name, t, others)
    _writable(name, t)
    if record:
        _record_inplace(name, t, op, others, attrs or {})
    else:
        try:
            if kernel is not None:
                kernel(t.data)
            else:
                out = op.forward(t.data, *[raw(o) for o in others], **(attrs or {}))
                _check_fits(name, t, out)
                backend.copy_into(t.data, out)
        except (TypeError, ValueError, IndexError) as e:  # (_InplaceError is neither: it passes)
            raise type(e)(f"{name}: {e} (tensor shape {t.shape}, dtype {t.dtype})") from None
    counter(t)[0] += 1
    return t


class _InplaceError(RuntimeError):
    pass


def _check_fits(name, t, out):
    if out.shape != t.shape:
        raise _InplaceError(
            f"{name}: the result has shape {out.shape}, which doesn't match the tensor's shape "
            f"{t.shape}: an in-place operation can't change the shape (broadcasting goes the other way)"
        )
    if not backend.can_cast(out.dtype, t.dtype):
        raise _InplaceError(f"{name}: result dtype {out.dtype} can't be cast to the tensor's dtype {t.dtype}")


def _record_inplace(name, t, op, others, attrs):
    needs = (t._requires_grad,) + tuple(isinstance(o, Tensor) and o._requires_grad for o in others)
    keep_old = op.plan(needs)[0]  # the op's backward reads t's old value: give it a copy
    old = make(backend.copy(t.data) if keep_old else t.data, t._node, None if keep_old else counter(t))
    old._requires_grad = t._requires_grad
    res = apply(op, old, *others, **attrs)
    _check_fits(name, t, res.data)
    backend.copy_into(t.data, res.data)
    node = res._node
    node.dtype = t.dtype  # gradients arriving here are t's
    t._node = node
    t._requires_grad = True
    _mark_stale_views(t, name)


def _update_kernel(update, other):
    o = raw(other)
    return lambda a: update(a, o)  # (a += o: numpy's ufunc with out=a, and any library's)


def _arith(name, op, update):
    def fn(self, other):
        return _mutate(name, self, op, (other,), kernel=_update_kernel(update, other))

    fn.__name__ = name
    fn.__doc__ = f"In place: self {op.__doc__.split(';')[0].split(' ', 1)[1]} (see autograd.inplace)."
    return fn


for _name, _op, _update in (("add", E.Add, operator.iadd), ("sub", E.Sub, operator.isub),
                            ("mul", E.Mul, operator.imul), ("div", E.Div, operator.itruediv)):
    _f = _arith(_name + "_", _op, _update)
    method(_name + "_", f"__i{'truediv' if _name == 'div' else _name}__")(_f)


@method()
def zero_(self: Tensor) -> Tensor:
    """Fill with zeros in place (recorded as a multiplication by 0 when a gradient is needed)."""
    return _mutate("zero_", self, E.Mul, (0.0,), kernel=lambda a: backend.copy_into(a, 0))


@method()
def fill_(self: Tensor, value) -> Tensor:
    """Fill with `value` in place."""
    v = raw(value)
    return _mutate("fill_", self, S.SetItem, (value,), {"index": Ellipsis}, kernel=lambda a: backend.copy_into(a, v))


@method()
def copy_(self: Tensor, src) -> Tensor:
    """Copy `src` (broadcast to self's shape, cast to its dtype) into self in place."""
    s = raw(src)
    return _mutate("copy_", self, S.SetItem, (src,), {"index": Ellipsis},
                   kernel=lambda a: backend.copy_into(a, s, casting="unsafe"))


@method()
def clamp_(self: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit values to [min, max] in place."""
    if min is None and max is None:
        raise ValueError("clamp_: at least one of min and max must be given")
    return _mutate("clamp_", self, E.Clip, (), {"min": min, "max": max},
                   kernel=lambda a: backend.copy_into(a, backend.namespace(a).clip(a, min, max)))


@method("__setitem__")
def setitem(self: Tensor, index, value) -> None:
    """`t[index] = value`: basic and advanced indexing, boolean masks; recorded like the others."""
    index = _index(index)
    v = raw(value)

    def kernel(a):
        S.assign(a, index, v)

    _mutate("setitem", self, S.SetItem, (value,), {"index": index}, kernel=kernel)


def _random_fill(name, t, draw):
    if state.enabled and t._requires_grad:
        _needs_graph(name, t, ())  # raises PyTorch's leaf error, or the one for views
    _writable(name, t)
    if not backend.is_floating(t.data.dtype):
        raise TypeError(f"{name}: expects a floating tensor; got dtype {t.dtype}")
    t.data[...] = draw(t.shape)
    if t._node is not None and state.enabled:  # the new values don't depend on the old ones
        t._node = None
        t._requires_grad = False
        _mark_stale_views(t, name)
    counter(t)[0] += 1
    return t


@method()
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std²) (the generator of `autograd.manual_seed`)."""
    return _random_fill("normal_", self, lambda shape: generator().normal(mean, std, shape))


@method()
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b) (the generator of `autograd.manual_seed`)."""
    return _random_fill("uniform_", self, lambda shape: generator().uniform(a, b, shape))
