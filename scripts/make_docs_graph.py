"""Regenerate the README's pictures of the graph: docs/graph.svg (a small nn model after
backward, with values, gradients, parameter names and a cluster per module), the same graph
as the interactive page docs/graph.html, docs/interactive.png, a screenshot of that page, and
two bigger graphs drawn by default, docs/chain.svg and docs/mlp20.svg.

    .venv/bin/python scripts/make_docs_graph.py

The SVG and the page are deterministic (fixed seed and data; graphviz-pure writes identical
bytes run to run), so a changed file in a diff means the drawing really changed. The
screenshot needs Chromium; it carries the SHA-256 of the page it shows (a PNG text chunk),
which is how tests/test_viz.py knows it is current without a browser.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

import autograd
import nn
from autograd import viz

DOCS = Path(__file__).resolve().parent.parent / "docs"
OUT = DOCS / "graph.svg"
PAGE = DOCS / "graph.html"
SHOT = DOCS / "interactive.png"
SHOWN = "step=4&select=n1"  # the screenshot: backward at step 4, the first layer's weight clicked
HASH_KEY = b"graphgrad-page-sha256"


def model_and_loss():
    autograd.manual_seed(0)  # the layers' initial weights
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    rng = np.random.default_rng(0)
    x = autograd.tensor(rng.normal(size=(4, 3)).astype(np.float32), name="x")  # 4 points, 3 features
    target = autograd.tensor(np.array([[1.0], [0.0], [1.0], [0.0]], np.float32), name="target")
    loss = ((model(x) - target) ** 2).mean()
    loss.name = "loss"
    return model, loss


def main() -> Path:
    model, loss = model_and_loss()

    # The three lines shown in the README:
    with viz.record_grads():  # keep a summary of every intermediate's gradient
        loss.backward()
    return viz.render(loss, OUT, params=model, rankdir="TB")


def page() -> Path:
    """The interactive page of the same graph."""
    model, loss = model_and_loss()
    with viz.record_grads():
        loss.backward()
    return viz.render(loss, PAGE, params=model)


def examples() -> list[Path]:
    """Two bigger graphs drawn by default (issue 16): a chain of 66 × (mul, add, tanh) and a
    sum, and a 20-layer MLP; both fold their repeats and fit a page."""
    h = autograd.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True, name="x")
    for _ in range(66):
        h = (h * 0.9 + 0.1).tanh()
    chain = h.sum()
    with viz.record_grads():
        chain.backward()
    autograd.manual_seed(0)
    layers = []
    for _ in range(20):
        layers += [nn.Linear(8, 8), nn.ReLU()]
    mlp = nn.Sequential(*layers, nn.Linear(8, 1))
    loss = (mlp(autograd.tensor(np.ones((4, 8), np.float32))) ** 2).mean()
    with viz.record_grads():
        loss.backward()
    return [viz.render(chain, DOCS / "chain.svg"), viz.render(loss, DOCS / "mlp20.svg", params=mlp)]


def page_hash(html: str) -> str:
    return hashlib.sha256((html + "#" + SHOWN).encode("utf-8")).hexdigest()


def png_text(png: bytes, key: bytes):
    """The value of a PNG's tEXt chunk `key`, or None."""
    pos = 8
    while pos < len(png):
        n = int.from_bytes(png[pos:pos + 4], "big")
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        if kind == b"tEXt" and body.startswith(key + b"\0"):
            return body[len(key) + 1:].decode("latin-1")
        pos += 12 + n
    return None


def screenshot() -> Path:
    """docs/interactive.png: the page in headless Chromium, stamped with the page's hash."""
    browser = next((b for b in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if b), None)
    if browser is None:
        raise SystemExit("the screenshot needs Chromium (apt-get install chromium)")
    html = PAGE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={shot}", "--window-size=1280,800", f"{PAGE.as_uri()}#{SHOWN}"],
                       check=True, capture_output=True, timeout=120)
        png = shot.read_bytes()
    body = HASH_KEY + b"\0" + page_hash(html).encode()
    chunk = len(body).to_bytes(4, "big") + b"tEXt" + body + zlib.crc32(b"tEXt" + body).to_bytes(4, "big")
    end = png.rindex(b"IEND") - 4  # the text chunk goes before the image's end
    SHOT.write_bytes(png[:end] + chunk + png[end:])
    return SHOT


if __name__ == "__main__":
    print(f"wrote {main()}")
    print(f"wrote {page()}")
    for path in examples():
        print(f"wrote {path}")
    print(f"wrote {screenshot()}")
