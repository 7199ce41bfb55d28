"""Check an engine's gradients against central finite differences in float64.

`gradcheck` compares the Jacobian the engine computes (through `autograd.grad`, one
vector-Jacobian product per output element) with the one central differences give (two
evaluations per input element). For inputs too big for that, it compares random directions
instead: ⟨v, J u⟩ from two evaluations against ⟨VJP(v), u⟩ from one backward, whatever the
size. `gradgradcheck` does the same one order up, for the gradient built with
`create_graph=True`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..grad import grad as _grad
from ..tensor import Tensor
from ..tensor import tensor as _tensor


class GradcheckError(AssertionError):
    """A gradient disagreed with finite differences (or could not be checked)."""


def gradcheck(
    fn: Callable,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    *,
    full_limit: int = 256,
    directions: int = 3,
    seed: int = 0,
) -> bool:
    """Check `fn`'s gradients with respect to its float64 inputs that require grad.

    `fn` takes the inputs (Tensors, or other constants passed through) and returns a Tensor
    or a tuple of them. The full Jacobian is compared while inputs and outputs both have at
    most `full_limit` elements; beyond that, `directions` random directions are. The user's
    tensors and their `.grad` are never touched: `fn` runs on copies. Returns True, or
    raises `GradcheckError` naming the output, the input, the index and both values
    (returns False instead when `raise_exception=False`).

    >>> import autograd
    >>> from autograd.testing import gradcheck
    >>> x = autograd.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    >>> gradcheck(lambda t: (t.tanh() * t).sum(), [x])
    True
    """
    try:
        _check(fn, _as_inputs(inputs, "gradcheck"), eps, atol, rtol, full_limit, directions,
               np.random.default_rng(seed), "gradcheck")
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(
    fn: Callable,
    inputs,
    grad_outputs=None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    *,
    full_limit: int = 256,
    directions: int = 3,
    seed: int = 0,
) -> bool:
    """Check second derivatives: the gradient of ⟨v, ∂fn⟩ that `create_graph=True` builds,
    against finite differences of the first-order gradient.

    `v` is `grad_outputs` (arrays or Tensors shaped like fn's outputs; random when None).
    It also checks that the first-order gradient computed with `create_graph=True` equals
    the plain one, since both come from the same backward formulas run on Tensors or arrays.

    >>> import autograd
    >>> from autograd.testing import gradgradcheck
    >>> x = autograd.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    >>> gradgradcheck(lambda t: t.exp() * t.sin(), [x])
    True
    """
    items = _as_inputs(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    diff = [i for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn(*_fresh(items)), "gradgradcheck")
    if grad_outputs is None:
        vs = [rng.standard_normal(o.shape) for o in outs]
    else:
        vs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
        if len(vs) != len(outs):
            raise ValueError(f"gradgradcheck: {len(vs)} grad_outputs for {len(outs)} outputs")
        vs = [np.asarray(v.data if isinstance(v, Tensor) else v, dtype=np.float64) for v in vs]
        for k, (v, o) in enumerate(zip(vs, outs)):
            if v.shape != o.shape:
                raise ValueError(
                    f"gradgradcheck: grad_outputs[{k}] has shape {v.shape}; output {k} has {o.shape}"
                )

    def first_order(*xs, create_graph=True):
        return _vjp(fn, xs, diff, vs, create_graph)

    try:
        # The Tensor path of every backward formula must agree with the array path.
        plain = first_order(*_fresh(items), create_graph=False)
        graph = first_order(*_fresh(items), create_graph=True)
        for k, (p, g) in enumerate(zip(plain, graph)):
            if not np.allclose(p.data, g.data, rtol=1e-10, atol=1e-12):
                j = int(np.argmax(np.abs(p.data - g.data)))
                raise GradcheckError(
                    f"gradgradcheck: the gradient of input {diff[k]} differs between "
                    f"create_graph=False and create_graph=True at index "
                    f"{_index(p.shape, j)}: {float(p.data.flat[j])!r} vs {float(g.data.flat[j])!r}"
                )
        _check(first_order, items, eps, atol, rtol, full_limit, directions, rng, "gradgradcheck")
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


# --------------------------------------------------------------------------- internals
def _as_inputs(inputs, who) -> list:
    items = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    diff = 0
    for i, t in enumerate(items):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise TypeError(
                    f"{who}: input {i} has dtype {t.dtype}; finite differences need float64 "
                    "inputs (make them with dtype='float64')"
                )
            diff += 1
    if not diff:
        raise ValueError(f"{who}: no input requires grad, so there is nothing to check")
    return items


def _fresh(items, replace=None) -> list:
    """New leaf copies of the inputs (data copied) so fn never sees the user's tensors."""
    out = []
    for i, t in enumerate(items):
        if isinstance(t, Tensor):
            data = t.data if replace is None or i not in replace else replace[i]
            out.append(_tensor(data.copy(), requires_grad=t.requires_grad, dtype=t.dtype))
        else:
            out.append(t)
    return out


def _outputs(result, who) -> list:
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{who}: output {k} is {type(o).__name__}; fn must return Tensors")
        if o.dtype != np.float64:
            raise TypeError(
                f"{who}: output {k} has dtype {o.dtype}; finite differences need float64 outputs"
            )
    return outs


def _vjp(fn, xs, diff, vs, create_graph):
    """Σ_k ⟨v_k, ∂out_k/∂x⟩ for each differentiable input, zeros where it is unused."""
    outs = _outputs(fn(*xs), "gradgradcheck")
    live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    zeros = [_tensor(np.zeros(xs[i].shape)) for i in diff]
    if not live:
        return zeros
    got = _grad([o for o, _ in live], [xs[i] for i in diff], [v for _, v in live],
                create_graph=create_graph, allow_unused=True)
    return [z if g is None else g for g, z in zip(got, zeros)]


def _index(shape, flat):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _check(fn, items, eps, atol, rtol, full_limit, directions, rng, who):
    diff = [i for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
    base = {i: items[i].data.astype(np.float64) for i in diff}

    def evaluate(replace):
        return [o.data for o in _outputs(fn(*_fresh(items, replace)), who)]

    xs = _fresh(items)
    outs = _outputs(fn(*xs), who)
    n_in = sum(base[i].size for i in diff)
    n_out = sum(o.size for o in outs)
    live = [k for k, o in enumerate(outs) if o.requires_grad]

    def vjp(vs):
        """Analytical gradients for output cotangents `vs` (zeros for unused inputs)."""
        res = {i: np.zeros(base[i].shape) for i in diff}
        if not live:
            return res
        got = _grad([outs[k] for k in live], [xs[i] for i in diff], [vs[k] for k in live],
                    retain_graph=True, allow_unused=True)
        for i, g in zip(diff, got):
            if g is None:
                continue
            if g.shape != base[i].shape or g.dtype != np.float64:
                raise GradcheckError(
                    f"{who}: the gradient of input {i} has shape {g.shape} and dtype {g.dtype}; "
                    f"expected the input's shape {base[i].shape} and float64"
                )
            res[i] = g.data
        return res

    if n_in <= full_limit and n_out <= full_limit:
        _full(evaluate, vjp, outs, base, eps, atol, rtol, who)
    else:
        _directions(evaluate, vjp, outs, base, eps, atol, rtol, directions, rng, who)


def _full(evaluate, vjp, outs, base, eps, atol, rtol, who):
    # Numerical Jacobian columns: one central difference per input element.
    numeric = {}
    for i, x in base.items():
        cols = [np.empty((o.size, x.size)) for o in outs]
        for j in range(x.size):
            xp = x.copy()
            xp.flat[j] += eps
            xm = x.copy()
            xm.flat[j] -= eps
            plus, minus = evaluate({i: xp}), evaluate({i: xm})
            for k in range(len(outs)):
                cols[k][:, j] = ((plus[k] - minus[k]) / (2 * eps)).ravel()
        numeric[i] = cols
    # Analytical Jacobian rows: one vector-Jacobian product per output element.
    for k, o in enumerate(outs):
        for r in range(o.size):
            vs = [np.zeros(q.shape) for q in outs]
            vs[k].flat[r] = 1.0
            rows = vjp(vs)
            for i, x in base.items():
                a = rows[i].ravel()
                n = numeric[i][k][r]
                _compare(a, n, atol, rtol, who, lambda j, k=k, r=r, i=i, x=x, o=o: (
                    f"output {k} index {_index(o.shape, r)}, input {i} index {_index(x.shape, j)}"
                ))


def _directions(evaluate, vjp, outs, base, eps, atol, rtol, directions, rng, who):
    for d in range(directions):
        us = {i: rng.standard_normal(x.shape) for i, x in base.items()}
        vs = [rng.standard_normal(o.shape) for o in outs]
        plus = evaluate({i: x + eps * us[i] for i, x in base.items()})
        minus = evaluate({i: x - eps * us[i] for i, x in base.items()})
        numeric = sum(float(np.sum(v * (p - m))) for v, p, m in zip(vs, plus, minus)) / (2 * eps)
        grads = vjp(vs)
        analytic = sum(float(np.sum(grads[i] * us[i])) for i in base)
        _compare(np.array([analytic]), np.array([numeric]), atol, rtol, who,
                 lambda j, d=d: f"random direction {d} (⟨v, J u⟩ over all outputs and inputs)")


def _compare(analytic, numeric, atol, rtol, who, where):
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    if bad.any():
        err = np.where(bad, np.abs(analytic - numeric), -1.0)
        j = int(np.argmax(err))
        raise GradcheckError(
            f"{who}: gradient mismatch at {where(j)}: numerical {float(numeric[j])!r}, "
            f"analytical {float(analytic[j])!r} (atol={atol}, rtol={rtol}; "
            f"{int(bad.sum())} of {bad.size} entries differ)"
        )
