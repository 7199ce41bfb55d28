"""PyTorch's first programs, written as a PyTorch user writes them, run on graphgrad (issue 9).

Each file in `pytorch_programs/` imports `torch` and nothing of graphgrad. Here `torch` is
mapped by name only: a bare module holding `autograd`'s public names, plus `nn`, `optim` and
`autograd` (for `torch.autograd.Function`). Nothing is added or changed, so a program runs
exactly as written or fails. Each one leaves `first_loss` and `final_loss` behind.

Without torch: each program must run, train (the loss falls by a large factor) and end in
the range PyTorch reaches from its own random starts.
With torch: each program also runs on torch, both engines starting from the same values, and
the losses must agree to float32 rounding. The programs read those values through one hook:
the environment variable START_VALUES names a JSON file of values by name (tensor names, or
`named_parameters()` names), copied in under `no_grad` before training starts.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import runpy
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import autograd
import nn

PROGRAMS = Path(__file__).parent / "pytorch_programs"

N, D_IN, H, D_OUT = 64, 1000, 100, 10


def _randn(*shape):
    return ("randn", shape)


def _linear(prefix: str, fan_in: int, fan_out: int) -> dict:
    """A Linear's weight and bias as torch initialises them: uniform in +-1/sqrt(fan_in)."""
    bound = 1 / np.sqrt(fan_in)
    return {f"{prefix}weight": ("uniform", (fan_out, fan_in), bound), f"{prefix}bias": ("uniform", (fan_out,), bound)}


_POLY = {name: _randn() for name in "abcd"}
_DATA = {"x": _randn(N, D_IN), "y": _randn(N, D_OUT)}

# program -> (the starting values it reads, the least factor by which its loss must fall,
# the range of final losses torch 2.13 and graphgrad reached from 8 random starts each, widened).
CASES = {
    "poly_tensors": (_POLY, 100, (8.0, 20.0)),
    "poly_autograd": (_POLY, 100, (8.0, 20.0)),
    "poly_function": ({}, 20, (8.9, 9.0)),  # starts from constants: nothing random
    "poly_nn": (_linear("0.", 3, 1), 100, (8.5, 12.0)),
    "poly_optim": (_linear("0.", 3, 1), 100, (8.5, 20.0)),
    "poly_module": (_POLY, 100, (8.0, 20.0)),
    # 3,000 of the tutorial's 30,000 steps: it trains, but stays far from the best fit
    "poly_dynamic": ({**_POLY, "e": _randn()}, 100, (20.0, 6000.0)),
    "twolayer_tensors": ({**_DATA, "w1": _randn(D_IN, H), "w2": _randn(H, D_OUT)}, 1e5, (0.0, 2.0)),
    "twolayer_autograd": ({**_DATA, "w1": _randn(D_IN, H), "w2": _randn(H, D_OUT)}, 1e5, (0.0, 2.0)),
    "twolayer_function": ({**_DATA, "w1": _randn(D_IN, H), "w2": _randn(H, D_OUT)}, 1e5, (0.0, 2.0)),
    "twolayer_nn": ({**_DATA, **_linear("0.", D_IN, H), **_linear("2.", H, D_OUT)}, 1e3, (0.0, 0.1)),
    "twolayer_optim": ({**_DATA, **_linear("linear1.", D_IN, H), **_linear("linear2.", H, D_OUT)}, 1e3, (0.0, 0.5)),
    "twolayer_dynamic": (
        {
            **_DATA,
            **_linear("input_linear.", D_IN, H),
            **_linear("middle_linear.", H, H),
            **_linear("output_linear.", H, D_OUT),
        },
        100,
        (0.0, 10.0),
    ),
}


def torch_by_name() -> types.ModuleType:
    """`torch` as graphgrad's names: autograd's public API, nn, nn.optim. Nothing else."""
    torch = types.ModuleType("torch", "graphgrad under PyTorch's names (mapped, not shimmed)")
    for name in autograd.__all__:
        setattr(torch, name, getattr(autograd, name))
    torch.nn, torch.optim, torch.autograd = nn, nn.optim, autograd
    return torch


def run_program(name: str, torch: types.ModuleType, monkeypatch, start: Path | None = None) -> dict:
    """Run one program with `import torch` giving `torch`; return its globals."""
    state = random.getstate()
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "torch", torch)
        if start is None:
            patch.delenv("START_VALUES", raising=False)
        else:
            patch.setenv("START_VALUES", str(start))
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return runpy.run_path(str(PROGRAMS / f"{name}.py"), run_name="__main__")
        finally:
            random.setstate(state)


def write_start_values(name: str, path: Path) -> Path:
    """Draw the program's starting values (float32, fixed seed) into a JSON file."""
    rng = np.random.default_rng(sorted(CASES).index(name))
    values = {}
    for key, (kind, shape, *scale) in CASES[name][0].items():
        if kind == "randn":
            arr = rng.standard_normal(shape)
        else:
            arr = rng.uniform(-scale[0], scale[0], shape)
        values[key] = arr.astype(np.float32).tolist()  # float32 values, exact in JSON
    path.write_text(json.dumps(values))
    return path


def test_torch_is_mapped_by_name_only():
    torch = torch_by_name()
    assert set(vars(torch)) - {"__name__", "__doc__", "__package__", "__loader__", "__spec__"} == {
        *autograd.__all__,
        "nn",
        "optim",
        "autograd",
    }
    assert all(getattr(torch, n) is getattr(autograd, n) for n in autograd.__all__)


def test_every_program_is_a_case():
    assert sorted(p.stem for p in PROGRAMS.glob("*.py") if p.name != "conftest.py") == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_program_runs_and_trains_on_graphgrad(name, monkeypatch):
    _, factor, (low, high) = CASES[name]
    g = run_program(name, torch_by_name(), monkeypatch)
    first, final = g["first_loss"], g["final_loss"]
    assert isinstance(first, float) and isinstance(final, float)
    assert np.isfinite(final)
    assert final * factor <= first, f"{name}: loss fell only from {first:.4g} to {final:.4g}"
    assert low <= final <= high, f"{name}: final loss {final:.4g} is outside PyTorch's range [{low}, {high}]"


@pytest.mark.parametrize("name", sorted(CASES))
def test_program_matches_torch_from_the_same_start(name, monkeypatch, tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed: nothing to compare with")
    start = write_start_values(name, tmp_path / "start.json") if CASES[name][0] else None
    ours = run_program(name, torch_by_name(), monkeypatch, start)
    theirs = run_program(name, torch, monkeypatch, start)
    factor = CASES[name][1]
    assert theirs["final_loss"] * factor <= theirs["first_loss"]  # the comparison is of a training run
    # The first loss is one forward pass: float32 rounding only (measured <= 3.2e-7). The last
    # follows hundreds of steps, each summing in its own order (numpy's BLAS vs torch's), and
    # is the small remainder of a loss that fell 1e3-1e9 times (measured <= 9.5e-4).
    assert ours["first_loss"] == pytest.approx(theirs["first_loss"], rel=1e-5)
    assert ours["final_loss"] == pytest.approx(theirs["final_loss"], rel=FINAL_RTOL.get(name, 3e-3))


# RMSprop at a fixed lr ends circling the optimum; rounding sets where on the circle the last
# step lands (the runs agree to 1e-6 for 1,000 steps, then within a few 1e-3 around 8.9).
FINAL_RTOL = {"poly_optim": 2e-2}
