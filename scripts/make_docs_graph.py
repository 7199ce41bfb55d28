"""Regenerate docs/graph.svg: a small nn model after backward, with values, gradients,
parameter names and a cluster per module.

    .venv/bin/python scripts/make_docs_graph.py

The picture is deterministic (fixed seed and data; graphviz-pure writes identical bytes
run to run), so a changed docs/graph.svg in a diff means the drawing really changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd
import nn
from autograd import viz

OUT = Path(__file__).resolve().parent.parent / "docs" / "graph.svg"


def main() -> Path:
    autograd.manual_seed(0)  # the layers' initial weights
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    rng = np.random.default_rng(0)
    x = autograd.tensor(rng.normal(size=(4, 3)).astype(np.float32), name="x")  # 4 points, 3 features
    target = autograd.tensor(np.array([[1.0], [0.0], [1.0], [0.0]], np.float32), name="target")
    loss = ((model(x) - target) ** 2).mean()
    loss.name = "loss"

    # The three lines shown in the README:
    with viz.record_grads():  # keep a summary of every intermediate's gradient
        loss.backward()
    return viz.render(loss, OUT, params=model, rankdir="TB")


if __name__ == "__main__":
    print(f"wrote {main()}")
