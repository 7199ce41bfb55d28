"""Every Python block of the README runs as written, on its own (issue 15, part 3): each in a
fresh namespace, in an empty folder (blocks that save files write there), with nothing defined
by an earlier block."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 7


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: f"block{i}")
def test_a_readme_block_runs_on_its_own(index, tmp_path):
    import autograd
    from autograd.ops import REGISTRY

    code = BLOCKS[index]
    registered = dict(REGISTRY)  # a block that adds an op must not leave it for other tests
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})
    finally:
        os.chdir(cwd)
        REGISTRY.clear()
        REGISTRY.update(registered)
        autograd.manual_seed(0)


def test_the_printed_values_are_the_ones_the_comments_give(tmp_path):
    """Blocks whose comments promise values: the Function and the op example."""
    outputs = {}
    for i, code in enumerate(BLOCKS):
        if "Cube.apply" in code or "class Square(Op)" in code:
            from autograd.ops import REGISTRY

            registered = dict(REGISTRY)
            buf = io.StringIO()
            try:
                with contextlib.redirect_stdout(buf):
                    exec(compile(code, f"README block {i}", "exec"), {"__name__": "__readme__"})
            finally:
                REGISTRY.clear()
                REGISTRY.update(registered)
            outputs["cube" if "Cube.apply" in code else "square"] = buf.getvalue()
    assert "[ 3. 12.]" in outputs["cube"].replace(",", "") or "[3. 12.]" in outputs["cube"].replace(",", "")
    assert "-6." in outputs["square"]
