"""Function transforms: `grad` and `value_and_grad` (composable), and PyTorch's
`torch.autograd.functional` set: `vjp`, `jvp`, `jacobian`, `hessian`, `hvp`, `vhp`.

Functions take Tensors (numpy arrays and Python numbers are converted) and return Tensors.
Results follow torch.autograd.functional: a Tensor when `inputs` is one Tensor, a tuple
when it is a tuple; `vjp`/`jvp`/`hvp`/`vhp` return `(func_output, result)`. Without
`create_graph` results are constants; with it they are differentiable with respect to
inputs that require grad.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import backend, engine
from .grad import grad as _grad
from .mode import enable_grad, state
from .operations import stack
from .tensor import Tensor, make, tensor


# --------------------------------------------------------------------------- helpers
def _as_input(x, what: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    t = tensor(x)
    if not backend.is_floating(t.dtype):
        raise TypeError(f"{what}: inputs must be floating point; got dtype {t.dtype}")
    return t


def _tuple(x, what: str) -> tuple[bool, tuple]:
    """(was it a tuple/list, the items as a tuple of Tensors)."""
    if isinstance(x, (tuple, list)):
        return True, tuple(_as_input(t, what) for t in x)
    return False, (_as_input(x, what),)


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh leaves that require grad; under create_graph an input that already requires
    grad is used as is, so results stay differentiable with respect to it."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad and state.enabled:
            out.append(t)
        else:
            leaf = make(t.data)
            leaf.requires_grad = True
            out.append(leaf)
    return tuple(out)


def _outputs(res, what: str) -> tuple[bool, tuple]:
    if isinstance(res, (tuple, list)):
        items = tuple(res)
    else:
        items = (res,)
    for i, o in enumerate(items):
        if not isinstance(o, Tensor):
            raise TypeError(f"{what}: the function's output {i} is {type(o).__name__}; expected a Tensor")
    return isinstance(res, (tuple, list)), items


def _vectors(v, like: tuple, what: str, name: str) -> tuple:
    """`v` as a tuple matching `like` in shape (None allowed only for one-element tensors)."""
    if v is None:
        for i, t in enumerate(like):
            if t.size != 1:
                raise RuntimeError(
                    f"{what}: {name} can be left out only when every tensor it pairs with has one "
                    f"element; tensor {i} has shape {t.shape}"
                )
        return tuple(backend.zeros_like_on(t.data, t.shape, fill=1) for t in like)
    vs = tuple(v) if isinstance(v, (tuple, list)) else (v,)
    if len(vs) != len(like):
        raise ValueError(f"{what}: {name} has {len(vs)} tensors; expected {len(like)}")
    out = []
    for i, (a, t) in enumerate(zip(vs, like)):
        a = a if isinstance(a, Tensor) else engine.seed_array(t, a, what, check_shape=False)
        if tuple(a.shape) != t.shape:
            raise ValueError(f"{what}: {name}[{i}] has shape {tuple(a.shape)}; expected {t.shape}")
        out.append(a)
    return tuple(out)


def _where(t):
    """Where `t`'s data lives, as `backend.on_device` takes it."""
    d = t.data
    return "cpu" if type(d) is np.ndarray else backend.namespace(d)


def _grads(outs, ins, gos, create_graph: bool, strict: bool, what: str) -> tuple:
    """Gradients of `outs` (seeded with `gos`) for `ins`; zeros where unused (unless strict)."""
    needed = [o for o in outs if o.requires_grad]
    seeds = [g for o, g in zip(outs, gos) if o.requires_grad]
    if needed:
        found = _grad(needed, list(ins), seeds, retain_graph=True, create_graph=create_graph,
                      allow_unused=True)
    else:
        found = (None,) * len(ins)
    return _fill(found, ins, create_graph, strict, lambda i, t: (
        f"{what}: the output is independent of input {i} (shape {t.shape}) and strict=True"))


def _fill(found, like: tuple, create_graph: bool, strict: bool, why: Callable) -> tuple:
    """`found` with zeros shaped like `like[i]` where a gradient is None (strict: raise
    RuntimeError(why(i, like[i])) instead), cut from the graph unless `create_graph`."""
    result = []
    for i, (g, t) in enumerate(zip(found, like)):
        if g is None:
            if strict:
                raise RuntimeError(why(i, t))
            g = make(backend.zeros_like_on(t.data, t.shape))
        elif not create_graph:
            g = make(g.data)
        result.append(g)
    return tuple(result)


def _detach(ts: tuple, create_graph: bool) -> tuple:
    return ts if create_graph else tuple(make(t.data) for t in ts)


def _pack(is_tuple: bool, items: tuple):
    return items if is_tuple else items[0]


# --------------------------------------------------------------------------- transforms
def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable:
    """A function returning `(f(*args), df/dargs[argnums])` for scalar-valued `f`.

    With `has_aux=True`, `f` returns `(value, aux)` and the result is `((value, aux), grad)`.
    Composable: when an argument already requires grad (an outer transform is tracing it)
    the gradient is built with create_graph, so `grad(grad(f))` gives second derivatives.

    >>> import autograd, numpy as np
    >>> from autograd.functional import value_and_grad
    >>> v, g = value_and_grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
    >>> v.item(), g.tolist()
    (5.0, [2.0, 4.0])
    """
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        raise ValueError("value_and_grad: argnums must name at least one argument")

    def wrapped(*args, **kwargs):
        args = list(args)
        for i in nums:
            if not -len(args) <= i < len(args):
                raise IndexError(f"value_and_grad: argnums {i} is out of range for {len(args)} arguments")
        traced = False
        ins = []
        for i in nums:
            a = _as_input(args[i], "value_and_grad")
            if a.requires_grad and state.enabled:
                traced = True  # an outer transform differentiates through us
            ins.append(a)
        leaves = _prepare(tuple(ins), create_graph=True)
        for i, t in zip(nums, leaves):
            args[i] = t
        with enable_grad():
            res = f(*args, **kwargs)
        if has_aux:
            if not isinstance(res, tuple) or len(res) != 2:
                raise TypeError("value_and_grad: with has_aux=True f must return (value, aux)")
            value, aux = res
        else:
            value, aux = res, None
        if not isinstance(value, Tensor):
            raise TypeError(f"value_and_grad: f must return a Tensor; got {type(value).__name__}")
        if value.size != 1:
            raise TypeError(
                f"value_and_grad: f must return a tensor with one element; got shape {value.shape}"
            )
        gos = (backend.zeros_like_on(value.data, value.shape, fill=1),)
        gs = _grads((value,), leaves, gos, create_graph=traced, strict=False, what="value_and_grad")
        if not traced:
            value = make(value.data)
        g = gs[0] if isinstance(argnums, int) else gs
        return ((value, aux), g) if has_aux else (value, g)

    wrapped.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The gradient of scalar-valued `f` with respect to argument(s) `argnums`, as a function.

    >>> import numpy as np
    >>> from autograd.functional import grad
    >>> d2 = grad(grad(lambda x: x ** 3))
    >>> d2(np.float64(2.0)).item()
    12.0
    """
    vg = value_and_grad(f, argnums)

    def wrapped(*args, **kwargs):
        return vg(*args, **kwargs)[1]

    wrapped.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return wrapped


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """`(func(*inputs), vᵀ J)`: the vector-Jacobian product, as torch.autograd.functional.vjp.

    >>> import numpy as np
    >>> from autograd.functional import vjp
    >>> out, g = vjp(lambda x: x * x, np.array([1.0, 3.0]), np.array([1.0, 1.0]))
    >>> g.tolist()
    [2.0, 6.0]
    """
    is_t, ins = _tuple(inputs, "vjp")
    leaves = _prepare(ins, create_graph)
    with enable_grad():
        out_t, outs = _outputs(func(*leaves), "vjp")
    vs = _vectors(v, outs, "vjp", "v")
    gs = _grads(outs, leaves, vs, create_graph, strict, "vjp")
    return _pack(out_t, _detach(outs, create_graph)), _pack(is_t, gs)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """`(func(*inputs), J v)`: the Jacobian-vector product, as torch.autograd.functional.jvp.

    Computed by reverse mode twice (the VJP is linear in its vector u, so J v = d(uᵀJ v)/du).

    >>> import numpy as np
    >>> from autograd.functional import jvp
    >>> out, t = jvp(lambda x: x * x, np.array([1.0, 3.0]), np.array([1.0, 0.0]))
    >>> t.tolist()
    [2.0, 0.0]
    """
    is_t, ins = _tuple(inputs, "jvp")
    leaves = _prepare(ins, create_graph)
    vs = _vectors(v, leaves, "jvp", "v")
    with enable_grad():
        out_t, outs = _outputs(func(*leaves), "jvp")
        # u: dummy cotangents; uᵀJ is built as a graph in u, then differentiated along v.
        us = []
        for o in outs:
            u = make(backend.zeros_like_on(o.data, o.shape))
            u.requires_grad = True
            us.append(u)
        gs = _grads(outs, leaves, us, True, strict, "jvp")
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g.requires_grad]
    if pairs:
        found = _grad([g for g, _ in pairs], us, [vv for _, vv in pairs], retain_graph=True,
                      create_graph=create_graph, allow_unused=True)
    else:
        found = (None,) * len(us)
    result = _fill(found, outs, create_graph, strict, lambda i, o: (
        f"jvp: output {i} (shape {o.shape}) is independent of the inputs and strict=True"))
    return _pack(out_t, _detach(outs, create_graph)), _pack(out_t, result)


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of `func` at `inputs`, as torch.autograd.functional.jacobian.

    Shape `out.shape + in.shape`; a tuple over inputs when `inputs` is a tuple, a tuple
    over outputs (each such a result) when `func` returns a tuple. One reverse pass per
    output element on a graph recorded once. `vectorize` is accepted and ignored;
    only `strategy="reverse-mode"` is implemented.

    >>> import numpy as np
    >>> from autograd.functional import jacobian
    >>> jacobian(lambda x: x * x, np.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: strategy {strategy!r} is not supported; use 'reverse-mode'")
    is_t, ins = _tuple(inputs, "jacobian")
    leaves = _prepare(ins, create_graph)
    with enable_grad():
        out_t, outs = _outputs(func(*leaves), "jacobian")
    return _jacobian_of(outs, leaves, out_t, is_t, create_graph, strict, "jacobian")


def _jacobian_of(outs, leaves, out_t, is_t, create_graph, strict, what):
    per_out = []
    for o in outs:
        rows = [[] for _ in leaves]
        for k in range(o.size):
            seed = np.zeros(o.size, dtype=backend.numpy_dtype(o.dtype))
            seed[k] = 1
            seed = backend.on_device(seed.reshape(o.shape), _where(o))
            gs = _grads((o,), leaves, (seed,), create_graph, strict, what)
            for j, g in enumerate(gs):
                rows[j].append(g)
        blocks = []
        for j, t in enumerate(leaves):
            if create_graph:
                jac = stack(rows[j], axis=0).reshape(o.shape + t.shape) if rows[j] else \
                    make(backend.zeros_like_on(t.data, o.shape + t.shape))
            else:
                xp = backend.namespace(t.data)
                data = xp.stack([g.data for g in rows[j]]) if rows[j] else backend.zeros_like_on(t.data, (0,) + t.shape)
                jac = make(xp.reshape(data, o.shape + t.shape))
            blocks.append(jac)
        per_out.append(_pack(is_t, tuple(blocks)))
    return _pack(out_t, tuple(per_out))


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of scalar-valued `func`, as torch.autograd.functional.hessian.

    One input: shape `in.shape + in.shape`. A tuple of inputs: a tuple of tuples, entry
    [i][j] of shape `in_i.shape + in_j.shape`.

    >>> import numpy as np
    >>> from autograd.functional import hessian
    >>> A = np.array([[1.0, 2.0], [0.0, 3.0]])
    >>> hessian(lambda x: x @ A @ x, np.array([0.5, -1.0])).tolist()
    [[2.0, 2.0], [2.0, 6.0]]
    """
    if outer_jacobian_strategy != "reverse-mode":
        raise ValueError(f"hessian: strategy {outer_jacobian_strategy!r} is not supported; use 'reverse-mode'")
    is_t, ins = _tuple(inputs, "hessian")
    leaves = _prepare(ins, create_graph)
    with enable_grad():
        out = func(*leaves)
        _check_scalar(out, "hessian")
        gs = _grads((out,), leaves, (backend.zeros_like_on(out.data, out.shape, fill=1),), True, strict, "hessian")
    rows = []
    for g in gs:
        if not g.requires_grad:  # func is linear in everything: the Hessian is zero
            rows.append(tuple(make(backend.zeros_like_on(t.data, g.shape + t.shape)) for t in leaves))
            continue
        rows.append(_jacobian_of((g,), leaves, False, True, create_graph, strict, "hessian"))
    return _pack(is_t, tuple(_pack(is_t, r) for r in rows))


def _check_scalar(out, what):
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: the function must return a Tensor; got {type(out).__name__}")
    if out.size != 1:
        raise RuntimeError(f"{what}: the function must return a tensor with one element; got shape {out.shape}")


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """`(func(*inputs), vᵀ H)` for scalar-valued `func`, as torch.autograd.functional.vhp."""
    return _second(func, inputs, v, create_graph, strict, "vhp")


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """`(func(*inputs), H v)` for scalar-valued `func`, as torch.autograd.functional.hvp.

    Double backward: H is symmetric for twice-differentiable `func`, so H v = (vᵀ H)ᵀ and
    one extra reverse pass over the gradient's graph gives it.

    >>> import numpy as np
    >>> from autograd.functional import hvp
    >>> out, hv = hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    >>> hv.tolist()
    [6.0, 12.0]
    """
    return _second(func, inputs, v, create_graph, strict, "hvp")


def _second(func, inputs, v, create_graph, strict, what):
    is_t, ins = _tuple(inputs, what)
    leaves = _prepare(ins, create_graph)
    vs = _vectors(v, leaves, what, "v")
    with enable_grad():
        out = func(*leaves)
        _check_scalar(out, what)
        gs = _grads((out,), leaves, (backend.zeros_like_on(out.data, out.shape, fill=1),), True, strict, what)
    live = [(g, vv) for g, vv in zip(gs, vs) if g.requires_grad]
    if live:
        found = _grad([g for g, _ in live], list(leaves), [vv for _, vv in live], retain_graph=create_graph,
                      create_graph=create_graph, allow_unused=True)
    else:
        found = (None,) * len(leaves)
    result = _fill(found, leaves, create_graph, strict, lambda i, t: (
        f"{what}: the gradient is independent of input {i} and strict=True"))
    value = out if create_graph else make(out.data)
    return value, _pack(is_t, result)
