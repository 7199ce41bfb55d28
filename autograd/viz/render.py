"""Turning DOT text into pictures: find a renderer and run it with a timeout.

A system Graphviz `dot` is used when it is on PATH (it also writes PDF); otherwise the
`graphviz-pure` program from the pip wheel of that name, looked up on PATH, in this
interpreter's scripts folder and next to `sys.executable`, so it is found even when the
virtual environment is not activated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

# What graphviz-pure can write (it has no PDF/PostScript backend).
PURE_FORMATS = ("svg", "png", "jpeg", "jpg", "dot", "xdot", "json", "plain")
DEFAULT_TIMEOUT = 60.0


class RendererNotFound(RuntimeError):
    """Neither Graphviz's `dot` nor `graphviz-pure` could be found."""


def _pure_candidates() -> list[Path]:
    exe = "graphviz-pure.exe" if os.name == "nt" else "graphviz-pure"
    found = []
    on_path = shutil.which("graphviz-pure")
    if on_path:
        found.append(Path(on_path))
    scripts = sysconfig.get_path("scripts")
    if scripts:
        found.append(Path(scripts) / exe)
    found.append(Path(sys.executable).parent / exe)
    return found


def find_renderer() -> tuple[str, str]:
    """`(path, kind)` of the program that turns DOT into pictures; kind is "dot" or "graphviz-pure".

    >>> path, kind = find_renderer()
    >>> kind in ("dot", "graphviz-pure")
    True
    """
    dot = shutil.which("dot")
    if dot:
        return dot, "dot"
    looked = []
    for cand in _pure_candidates():
        looked.append(str(cand))
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand), "graphviz-pure"
    raise RendererNotFound(
        "autograd.viz: no Graphviz renderer found: no `dot` on PATH and no `graphviz-pure` program "
        f"(looked in {', '.join(dict.fromkeys(looked))}). Install one with "
        "`pip install graphviz-pure` (or your system's graphviz package)."
    )


def pipe(source: str, format: str = "svg", timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Render DOT text to bytes in `format` with the renderer `find_renderer` picks.

    The subprocess is killed after `timeout` seconds (layout of huge graphs can run for
    minutes); the error then says how to draw less.
    """
    binary, kind = find_renderer()
    fmt = format.lower()
    if kind == "graphviz-pure" and fmt not in PURE_FORMATS:
        raise ValueError(
            f"render: format {format!r} needs Graphviz's `dot` (not found on PATH); graphviz-pure "
            f"writes {', '.join(PURE_FORMATS)}"
        )
    try:
        proc = subprocess.run(
            [binary, f"-T{fmt}"], input=source.encode("utf-8"), capture_output=True,
            timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise TimeoutError(
            f"render: {kind} did not finish within {timeout:g} s on a DOT graph of "
            f"{source.count(chr(10))} lines; draw less (max_nodes=..., collapse='modules') or "
            "pass a larger timeout="
        ) from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"render: {kind} ({binary}) failed with exit status {proc.returncode}: {err}")
    return svg_fonts(proc.stdout) if fmt == "svg" else proc.stdout


# Graphviz measures text in Helvetica and Courier; a viewer without them would fall back to
# any sans-serif or monospace font, and a wider one spills out of boxes. These lists name the
# fonts made with the same widths (Arial, Liberation, Nimbus; Courier New, Liberation Mono).
FONT_STACKS = {
    b'font-family="Helvetica,sans-Serif"':
        b'font-family="Helvetica,Arial,&quot;Liberation Sans&quot;,&quot;Nimbus Sans&quot;,sans-serif"',
    b'font-family="Courier,monospace"':
        b'font-family="Courier,&quot;Courier New&quot;,&quot;Liberation Mono&quot;,&quot;Nimbus Mono PS&quot;,'
        b'monospace"',
}


def svg_fonts(svg: bytes) -> bytes:
    """SVG from Graphviz with each font named by the fonts of its widths (see FONT_STACKS)."""
    for old, new in FONT_STACKS.items():
        svg = svg.replace(old, new)
    return svg
