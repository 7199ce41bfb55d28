"""Regenerate docs/graph.svg: a small network after backward, with values, gradients and names.

    .venv/bin/python scripts/make_docs_graph.py

The picture is deterministic (fixed data and weights; graphviz-pure writes identical bytes
run to run), so a changed docs/graph.svg in a diff means the drawing really changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import autograd
from autograd import viz

OUT = Path(__file__).resolve().parent.parent / "docs" / "graph.svg"


def main() -> Path:
    rng = np.random.default_rng(0)
    x = autograd.tensor(rng.normal(size=(4, 3)), name="x")  # a batch of 4 points, 3 features
    target = autograd.tensor(np.array([[1.0], [0.0], [1.0], [0.0]]), name="target")
    params = {
        "fc1.weight": autograd.tensor(rng.normal(size=(3, 5)) * 0.5, requires_grad=True),
        "fc1.bias": autograd.tensor(np.zeros(5), requires_grad=True),
        "fc2.weight": autograd.tensor(rng.normal(size=(5, 1)) * 0.5, requires_grad=True),
        "fc2.bias": autograd.tensor(np.full(1, 0.1), requires_grad=True),
    }
    hidden = autograd.tanh(x @ params["fc1.weight"] + params["fc1.bias"])
    pred = autograd.sigmoid(hidden @ params["fc2.weight"] + params["fc2.bias"])
    loss = ((pred - target) ** 2).mean()
    loss.name = "loss"

    # The three lines shown in the README:
    with viz.record_grads():  # keep a summary of every intermediate's gradient
        loss.backward()
    return viz.render(loss, OUT, params=params, rankdir="TB")


if __name__ == "__main__":
    print(f"wrote {main()}")
