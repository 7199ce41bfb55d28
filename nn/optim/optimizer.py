"""The optimizer base: parameter groups, gradients, and state that round-trips through
`state_dict()` / `load_state_dict()` (PyTorch's layout: state by parameter index)."""

from __future__ import annotations

import copy

import numpy as np

import autograd
from autograd import Tensor


class Optimizer:
    """Base class: holds `param_groups` (dicts with 'params' and their options) and
    `state` (per-parameter dicts of buffers). Subclasses implement `_update(group)`.

    Updates run on the parameters' arrays in place, outside the graph.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        self._scratch: dict = {}  # one reusable work array per parameter (never saved)
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
            if p.dtype.kind != "f":
                raise TypeError(f"{type(self).__name__}: parameter {i} has dtype {p.dtype}; floats expected")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in ps}) != len(ps) or any(id(p) in seen for p in ps):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        group["params"] = ps
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._check_options(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop (or zero in place) the gradients of every parameter."""
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
        with autograd.no_grad():
            for group in self.param_groups:
                self._update(group)
        return loss

    def _update(self, group: dict) -> None:
        raise NotImplementedError

    def _work(self, p: Tensor) -> np.ndarray:
        """A scratch array shaped like p (reused every step: no allocation on the hot path)."""
        w = self._scratch.get(p)
        if w is None or w.shape != p.data.shape or w.dtype != p.data.dtype:
            w = np.empty_like(p.data)
            self._scratch[p] = w
        return w

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """{'state': {index: {name: array or number}}, 'param_groups': [options + 'params':
        [indices]]}: parameters are named by their position across groups (as PyTorch)."""
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
                        k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and group options saved by `state_dict`; checked in full first, so
        nothing changes when it does not fit this optimizer's parameters."""
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
                if isinstance(v, (np.ndarray, Tensor)):
                    v = np.array(v.data if isinstance(v, Tensor) else v, dtype=p.dtype)
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

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"
