"""The optimizer base: parameter groups, gradients, and state that round-trips through
`state_dict()` / `load_state_dict()` (PyTorch's layout: state by parameter index).

`flat=True` (PyTorch's "foreach"/"fused" idea, as a memory layout): all parameters, gradients
and state of one dtype live in one contiguous array each, and every parameter's `.data`,
`.grad` and state entry is a view into it. A step is then a handful of array calls per
parameter group instead of a handful per parameter (the same numbers, bit for bit: the
formulas are elementwise), and data-parallel training has one buffer per dtype to
all-reduce. Parameters keep their identity; `state_dict()` is the same as without it. What
differs, as PyTorch's `zero_grad(set_to_none=False)`: `zero_grad()` zeroes the gradient buffer
in place, so `.grad` stays a view and backward accumulates straight into it, and a parameter
that backward did not reach since is updated with a zero gradient (weight decay and momentum
still move it). A parameter whose `.grad` is None is left as it is, as in PyTorch. `p.data = new` or a new `.grad` Tensor set
from outside is copied into the buffer at the next step; the views follow.
"""

from __future__ import annotations

import copy

import numpy as np

import autograd
from autograd import Tensor, backend

from .._arrays import like


class Optimizer:
    """Base class: holds `param_groups` (dicts with 'params' and their options) and
    `state` (per-parameter dicts of buffers). Subclasses implement `_update(group)`.

    Updates run on the parameters' arrays in place, outside the graph, on their device: state
    is made like the parameter (`xp.zeros_like(p)`), so it lives where the parameter does. After
    `model.to(device)` the state follows at the next step (moved with the parameters).
    """

    def __init__(self, params, defaults: dict, flat: bool = False):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        self._scratch: dict = {}  # one reusable work array per parameter (never saved)
        self._flat = None  # flat=True: {"param <f4": array, "grad ...", "work ...", state names}
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts; got a Tensor "
                "(pass model.parameters() or [tensor])"
            )
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)
        if flat:
            if type(self)._math is Optimizer._math:
                raise TypeError(f"{type(self).__name__}: flat=True needs the optimizer's formulas in _math()")
            self._flatten()

    def _check_options(self, group: dict) -> None:
        """Subclasses validate their options (clear errors before anything changes)."""

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (the rest from the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{type(self).__name__}: a parameter group must be a dict; got {type(param_group).__name__}"
            )
        group = dict(param_group)
        ps = group["params"]
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        for i, p in enumerate(ps):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor (parameter {i})")
            if not backend.is_floating(p.dtype):
                raise TypeError(f"{type(self).__name__}: parameter {i} has dtype {p.dtype}; floats expected")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in ps}) != len(ps) or any(id(p) in seen for p in ps):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        group["params"] = ps
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_options(group)
        self.param_groups.append(group)
        if self._flat is not None:
            self._flatten()

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero in place) the gradients of every parameter. With flat=True: zero the
        gradient buffer in place (every `.grad` a view into it), whatever `set_to_none` says."""
        if self._flat is not None:
            for p, view in self._views.items():
                d = p.data
                if d is not view and (d.shape != view.shape or _key(d) != _key(view)):  # (moved: `Module.to`)
                    self._flatten()
                    break
            for p, gv in self._grad_views.items():
                gt = p.grad
                if gt is None:
                    p.grad = self._grad_tensors[p]
                elif gt.data is not gv:
                    gt.data = gv
            for key, a in self._flat.items():
                if key.startswith("grad "):
                    a[...] = 0
            return
        for g in self.param_groups:
            for p in g["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient; `closure` (re-evaluating the
        loss, with backward) is called first when given and its loss returned."""
        loss = None
        if closure is not None:
            with autograd.enable_grad():
                loss = closure()
        autograd.compile.set_label("update", type(self).__name__)  # (names its kernels in a plan)
        with autograd.no_grad():
            if self._flat is not None:
                skipped = self._sync()
                kept = [(a, backend.copy(a)) for p in skipped for a in self._arrays_of(p)]
                self._update_flat()
                for a, before in kept:  # (as PyTorch: a parameter without a gradient is not stepped)
                    a[...] = before
            else:
                for group in self.param_groups:
                    self._update(group)
        return loss

    def _update(self, group: dict) -> None:
        """One update of each parameter of the group that has a gradient (by `_math`)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state.get(p)
            new = state is None
            if new:
                state = {}
            work = self._work(p)  # (first, as it moves the state along when p has moved)
            self._math(group, p.data, p.grad.data, state, work)
            if new and state:
                self.state[p] = state
            autograd.increment_version(p)  # (written through .data: count it for backward's check)

    def _math(self, group: dict, p, grad, state: dict, work) -> None:
        """The update formulas on arrays in place: a parameter `p` (or a flat buffer of them),
        its gradient, its state (a dict to fill on the first step) and a scratch array."""
        raise NotImplementedError

    # ------------------------------------------------------------------ flat=True
    def _flatten(self) -> None:
        """(Re)lay out every parameter, gradient and state array of one dtype in one array,
        group after group, and make each a view into it (see the module doc)."""
        chunks, sizes, self._kinds = [], {}, {}
        for gi, g in enumerate(self.param_groups):
            by_dtype: dict = {}
            for p in g["params"]:
                dt = _key(p.data)
                self._kinds[dt] = (backend.namespace(p.data), p.data.dtype, p.data.device)
                by_dtype.setdefault(dt, []).append(p)
            for dt, ps in by_dtype.items():
                start = sizes.get(dt, 0)
                sizes[dt] = start + sum(p.data.size for p in ps)
                chunks.append((gi, dt, start, sizes[dt], ps))
        flat = {}
        for dt, n in sizes.items():
            xp, dtype, device = self._kinds[dt]
            flat[f"param {dt}"] = xp.empty(n, dtype=dtype, device=device)
            flat[f"grad {dt}"] = xp.zeros(n, dtype=dtype, device=device)
            flat[f"work {dt}"] = xp.empty(n, dtype=dtype, device=device)
        self._flat, self._chunks = flat, chunks
        self._views, self._grad_views, self._grad_tensors = {}, {}, {}
        for _, dt, a, _, ps in chunks:
            for p in ps:
                view = self._view(f"param {dt}", dt, a, p)
                view[...] = p.data
                p.data = view
                self._views[p] = view
                gv = self._grad_views[p] = self._view(f"grad {dt}", dt, a, p)
                self._grad_tensors[p] = autograd.as_tensor(gv)
                if p.grad is not None:
                    gv[...] = like(p.grad.data, gv)
                    p.grad.data = gv
                for name, v in list(self.state.get(p, {}).items()):
                    if backend.is_array(v):
                        sv = self._view(f"{name} {dt}", dt, a, p, zero=True)
                        sv[...] = like(v, sv)
                        self.state[p][name] = sv
                a += p.data.size

    def _view(self, key: str, dt: str, offset: int, p, zero: bool = False):
        buf = self._flat.get(key)
        xp, dtype, device = self._kinds[dt]
        if buf is None:
            n = self._flat[f"param {dt}"].size
            make = xp.zeros if zero else xp.empty
            buf = self._flat[key] = make(n, dtype=dtype, device=device)
        return xp.reshape(buf[offset : offset + p.data.size], p.data.shape)

    def _arrays_of(self, p) -> list:
        """The flat views that belong to parameter `p`: its data and its array state."""
        return [self._views[p]] + [v for v in self.state.get(p, {}).values() if backend.is_array(v)]

    def _sync(self) -> list:
        """Copy into the buffers what was set from outside since the last step (`p.data = new`,
        a new `.grad` Tensor, none at all: zeros) and point it back to the views. Returns the
        parameters that had no gradient (`.grad` None), which the step must leave as they are."""
        for p, view in self._views.items():
            d = p.data
            if d is not view:
                if d.shape != view.shape or _key(d) != _key(view):  # (a new dtype or device: a new layout)
                    self._flatten()
                    return self._sync()
                view[...] = d
                p.data = view
        skipped = []
        for p, gv in self._grad_views.items():
            gt = p.grad
            if gt is None:
                gv[...] = 0
                p.grad = self._grad_tensors[p]
                skipped.append(p)
            elif gt.data is not gv:
                gv[...] = gt.data
                gt.data = gv
        return skipped

    def _update_flat(self) -> None:
        """One update per parameter group and dtype, on the flat buffers' slices."""
        flat = self._flat
        for gi, dt, a, b, ps in self._chunks:
            group = self.param_groups[gi]
            first = self.state.get(ps[0])
            state = {}
            for name, v in (first or {}).items():
                state[name] = flat[f"{name} {dt}"][a:b] if backend.is_array(v) else v
            arrays = {name: v for name, v in state.items() if backend.is_array(v)}
            self._math(group, flat[f"param {dt}"][a:b], flat[f"grad {dt}"][a:b], state, flat[f"work {dt}"][a:b])
            offset = a
            for p in ps:
                st = self.state.get(p)
                if st is None:
                    st = self.state[p] = {}
                for name, v in state.items():
                    if not backend.is_array(v):
                        st[name] = v
                    elif arrays.get(name) is not v:  # made by this step (its first): into the buffer
                        sv = self._view(f"{name} {dt}", dt, offset, p, zero=True)
                        sv[...] = backend.namespace(v).reshape(v[offset - a : offset - a + p.data.size], p.data.shape)
                        st[name] = sv
                offset += p.data.size
                if not st:
                    del self.state[p]
                autograd.increment_version(p)

    def _work(self, p: Tensor):
        """A scratch array shaped like p (reused every step: no allocation on the hot path)."""
        w, d = self._scratch.get(p), p.data
        if (w is None or type(w) is not type(d) or w.shape != d.shape or w.dtype != d.dtype
                or (type(d) is not np.ndarray and w.device != d.device)):  # (numpy: one device)
            w = backend.namespace(d).empty_like(d)
            self._scratch[p] = w
            state = self.state.get(p)
            if state and _moved(state, d):  # p went to another device or dtype (`Module.to`): its state follows
                _follow(state, d)
        return w

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """{'state': {index: {name: array or number}}, 'param_groups': [options + 'params':
        [indices]]}: parameters are named by their position across groups (as PyTorch). The
        arrays are copies on the parameters' device (`nn.save` writes host copies)."""
        index = {}
        groups = []
        for g in self.param_groups:
            opts = {k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            opts["params"] = ids
            groups.append(opts)
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                s = self.state.get(p)
                if s:
                    state[index[id(p)]] = {
                        k: (backend.namespace(v).asarray(v, copy=True) if backend.is_array(v) else v)
                        for k, v in s.items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and group options saved by `state_dict`; checked in full first, so
        nothing changes when it does not fit this optimizer's parameters. Arrays (of any library,
        or from `nn.load`) are copied onto each parameter's device, in its dtype."""
        name = type(self).__name__
        try:
            groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups'") from None
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(groups)} parameter groups; "
                f"this optimizer has {len(self.param_groups)}"
            )
        params = {}
        for i, (sg, g) in enumerate(zip(groups, self.param_groups)):
            if len(sg["params"]) != len(g["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {i} has {len(sg['params'])} parameters in the saved "
                    f"state and {len(g['params'])} here"
                )
            for k, p in zip(sg["params"], g["params"]):
                params[int(k)] = p
        new_state = {}
        problems = []
        for k, s in saved_state.items():
            k = int(k)
            if k not in params:
                problems.append(f"state for parameter index {k}, which this optimizer does not have")
                continue
            p = params[k]
            entry = {}
            for n, v in s.items():
                if isinstance(v, Tensor) or backend.is_array(v):
                    v = _copy_like(v.data if isinstance(v, Tensor) else v, p.data)
                    if v.shape != p.shape:
                        problems.append(
                            f"state {n!r} of parameter {k} has shape {v.shape}; the parameter has {p.shape}"
                        )
                elif isinstance(v, np.generic):
                    v = v.item()
                entry[n] = v
            new_state[p] = entry
        if problems:
            raise ValueError(f"{name}.load_state_dict:\n  " + "\n  ".join(problems))
        for sg, g in zip(groups, self.param_groups):
            for k, v in sg.items():
                if k != "params":
                    g[k] = tuple(v) if isinstance(v, list) else copy.deepcopy(v)
        self.state = new_state
        if self._flat is not None:
            self._flatten()  # the loaded state into the buffers

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"


def _key(a) -> str:
    """The flat buffers' key for arrays like `a`: numpy's dtype string on the host ("<f4"),
    "float32@cuda:0" for other libraries and devices."""
    if isinstance(a, np.ndarray):
        return a.dtype.str
    return f"{backend.dtype_name(a.dtype)}@{backend.device_name(a)}"


def _moved(state: dict, p) -> bool:
    """Whether the parameter `p` now lives elsewhere, or in another dtype, than its state arrays
    (after `Module.to`)."""
    for v in state.values():
        if backend.is_array(v):
            return type(v) is not type(p) or v.device != p.device or v.dtype != p.dtype
    return False


def _follow(state: dict, p) -> None:
    """Move the state arrays to the parameter's library and device, in its dtype."""
    for k, v in state.items():
        if backend.is_array(v):
            state[k] = _copy_like(v, p)


def _copy_like(v, p):
    """A copy of the array `v` in p's library, on p's device, in p's dtype."""
    xp = backend.namespace(p)
    return xp.astype(like(v, p), p.dtype, copy=True)
