"""The notebook that walks through the note (docs/note_walkthrough.ipynb) runs from top to
bottom, offline, with nbclient and a fresh ipykernel (issue 15, part 2). Its cells assert their
own checks (backprop by hand equals the engine, Adam by hand equals nn.optim.Adam, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "note_walkthrough.ipynb"


def test_the_notebook_is_stored_without_outputs():
    nbformat = pytest.importorskip("nbformat", reason="nbformat comes with the dev extra")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat comes with the dev extra")
    nbclient = pytest.importorskip("nbclient", reason="nbclient comes with the dev extra")
    pytest.importorskip("ipykernel", reason="ipykernel comes with the dev extra")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # a fresh kernel in an empty folder: nothing the notebook needs may come from the checkout's cwd
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "largest difference engine vs hand" in text and "validation loss per epoch" in text
    # the two drawings render inline as SVG
    svgs = [o for o in outputs if o.output_type == "execute_result" and "image/svg+xml" in o.data]
    assert len(svgs) == 2
