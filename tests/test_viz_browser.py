"""autograd.viz in a real browser: the interactive page and the SVG drawings, in headless
Chromium driven through chromedriver's WebDriver protocol (plain HTTP, no client library).

Skipped, saying so, only where no Chromium or chromedriver is installed (Debian: `apt-get
install chromium chromium-driver`; `.ci/run` installs them when it runs as root).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest

import autograd
import nn
from autograd import viz

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no Chromium/chromedriver on PATH (apt-get install chromium chromium-driver): browser tests skipped",
)


class Browser:
    """A headless Chromium session through chromedriver's W3C WebDriver HTTP API."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([DRIVER, f"--port={port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if self._call("GET", "/status")["value"]["ready"]:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("chromedriver did not start within 20 s")
            time.sleep(0.05)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                            "--window-size=1280,900", "--disable-dev-shm-usage"]},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}}
        self.sid = self._call("POST", "/session", caps)["value"]["sessionId"]

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"webdriver {method} {path}: {e.read().decode()[:500]}") from None

    def session(self, method: str, path: str, body=None):
        return self._call(method, f"/session/{self.sid}{path}", body)["value"]

    def get(self, url: str) -> None:
        self.session("POST", "/url", {"url": url})

    def js(self, script: str, *args):
        return self.session("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> dict:
        return self.session("POST", "/element", {"using": "css selector", "value": css})

    def click(self, element: dict) -> None:
        eid = next(iter(element.values()))
        self.session("POST", f"/element/{eid}/click", {})

    def console_errors(self) -> list:
        logs = self.session("POST", "/se/log", {"type": "browser"})
        return [e["message"] for e in logs if e["level"] == "SEVERE"]

    def screenshot(self) -> bytes:
        return base64.b64decode(self.session("GET", "/screenshot"))

    def close(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.sid}")
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


def open_page(browser, path) -> None:
    browser.get(path.resolve().as_uri())
    browser.console_errors()  # (drain what an earlier page left)


def small_model_graph():
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = autograd.tensor(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), name="x")
    loss = ((model(x) - 1.0) ** 2).mean()
    loss.name = "loss"
    with viz.record_grads():
        loss.backward()
    return model, loss


# --------------------------------------------------------------------------- the page
def test_page_loads_offline_without_console_errors(browser, tmp_path):
    model, loss = small_model_graph()
    out = viz.render(loss, tmp_path / "graph.html", params=model)
    text = out.read_text()
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text  # nothing fetched
    browser.get(out.resolve().as_uri())
    assert browser.console_errors() == []
    drawn = browser.js("return document.querySelectorAll('#view svg g.node').length")
    assert drawn == len(re.findall(r"\tn\d+ \[", viz.draw(loss, params=model).source)) + 1  # and the legend
    assert browser.js("return document.title") == "autograd graph: loss"


def test_clicking_a_node_shows_its_gradient(browser, tmp_path):
    model, loss = small_model_graph()
    open_page(browser, viz.render(loss, tmp_path / "graph.html", params=model))
    node = browser.find("#view svg g.node[data-id] title")  # any node: then the weight itself
    assert node
    ids = browser.js("return [...document.querySelectorAll('#view g.node')]"
                     ".filter(g => g.textContent.includes('0.weight')).map(g => g.dataset.id)")
    assert len(ids) == 1
    browser.click(browser.find(f'#view g.node[data-id="{ids[0]}"]'))
    panel = browser.js("return document.getElementById('panel').innerText")
    grad = float(np.linalg.norm(model[0].weight.grad.data))
    assert "leaf tensor" in panel and f"grad norm {grad:.4g}" in panel
    hists = browser.js("return [...document.querySelectorAll('#panel .hist')].map(h => h.innerText.split('\\n')[0])")
    assert hists == ["values", "gradient"]
    assert browser.console_errors() == []


def test_stepping_through_backward_lights_nodes_in_the_engines_order(browser, tmp_path):
    x = autograd.tensor([0.5, -1.0], requires_grad=True, name="x")
    w = autograd.tensor(2.0, requires_grad=True, name="w")
    h1 = x * w
    h2 = h1.tanh()
    h3 = h2.exp()
    s = h3 + w
    loss = s.sum()
    fired = []  # the engine's order, seen by hooks of our own
    for t, name in ((x, "x"), (w, "w"), (h1, "mul"), (h2, "tanh"), (h3, "exp"), (s, "add"), (loss, "sum")):
        t.register_hook(lambda g, name=name: fired.append(name))
    with viz.record_grads():
        loss.backward()
    open_page(browser, viz.render(loss, tmp_path / "steps.html"))
    n = browser.js("return graphPage.steps.length")
    assert n == len(fired)
    seen = []
    for _ in range(n):
        browser.click(browser.find("#next"))
        current = browser.js("return [...document.querySelectorAll('#view g.node.current')]"
                             ".map(g => g.querySelector('text').textContent)")
        lit = browser.js("return document.querySelectorAll('#view g.node.lit').length")
        op = [c for c in current if c in ("mul", "tanh", "exp", "add", "sum", "x", "w")]
        assert len(op) == 1, current
        seen.append(op[0])
        assert lit >= len(seen)
    assert seen == fired
    status = browser.js("return document.getElementById('status').textContent")
    assert status.startswith(f"step {n}/{n}: AccumulateGrad")
    assert browser.console_errors() == []


def test_folded_groups_expand_on_click_and_a_screenshot_is_not_blank(browser, tmp_path):
    h = autograd.tensor(np.linspace(-1, 1, 4), requires_grad=True, name="x")
    for _ in range(66):
        h = (h * 0.9 + 0.1).tanh()
    loss = h.sum()
    with viz.record_grads():
        loss.backward()
    open_page(browser, viz.render(loss, tmp_path / "chain.html"))
    fold = browser.js("return [...document.querySelectorAll('#view g.node')]"
                      ".filter(g => g.textContent.includes('× 64')).map(g => g.dataset.id)")
    assert len(fold) == 1
    browser.click(browser.find(f'#view g.node[data-id="{fold[0]}"]'))
    browser.click(browser.find("#expand"))
    inner = browser.js("return document.querySelector('#view svg').textContent")
    assert "× 62: mul → add → tanh" in inner  # one level down: two more repetitions shown
    assert browser.js("return document.getElementById('back').hidden") is False
    png = browser.screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(set(_png_pixels(png))) > 20  # many colours: a drawing, not an empty page
    browser.click(browser.find("#back"))
    assert "× 64" in browser.js("return document.querySelector('#view svg').textContent")
    assert browser.console_errors() == []


def _png_pixels(png: bytes) -> bytes:
    """The decompressed image data of a PNG (filter bytes included: enough to count colours)."""
    pos, data = 8, b""
    while pos < len(png):
        n = int.from_bytes(png[pos:pos + 4], "big")
        if png[pos + 4:pos + 8] == b"IDAT":
            data += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    return zlib.decompress(data)


def test_a_100k_op_graph_page_opens_in_under_3_seconds(browser, tmp_path):
    x = autograd.tensor(0.5, requires_grad=True, name="x")
    y = x
    for i in range(100_000):
        y = y * 1.0001 if i % 2 else y.tanh()
    out = viz.render(y, tmp_path / "big.html")
    t0 = time.monotonic()
    browser.get(out.resolve().as_uri())  # returns once the page has loaded and run its script
    ready = browser.js("return typeof graphPage === 'object' && document.querySelectorAll('#view g.node').length")
    assert time.monotonic() - t0 < 3.0
    assert 5 <= ready <= 100 and "× 49,998" in browser.js("return document.querySelector('#view svg').textContent")
    assert browser.console_errors() == []


# --------------------------------------------------------------------------- no clipped text
CHECK_TEXT = """
const svg = document.querySelector('svg'), box = svg.getBoundingClientRect(), bad = [];
const inside = (a, b, tol) => a.x >= b.x - tol && a.y >= b.y - tol &&
  a.x + a.width <= b.x + b.width + tol && a.y + a.height <= b.y + b.height + tol;
for (const t of svg.querySelectorAll('text')) {
  if (!inside(t.getBoundingClientRect(), box, 0)) bad.push('outside the picture: ' + t.textContent);
}
for (const g of svg.querySelectorAll('g.node')) {
  const shapes = [...g.querySelectorAll('path, ellipse, polygon')].filter(s => s.getAttribute('fill') !== 'none');
  for (const t of g.querySelectorAll('text')) {
    const b = t.getBBox(), cx = b.x + b.width / 2, cy = b.y + b.height / 2;
    const own = shapes.map(s => s.getBBox())
      .filter(s => cx >= s.x && cx <= s.x + s.width && cy >= s.y && cy <= s.y + s.height);
    if (own.length && !own.some(s => inside({x: b.x, y: s.y, width: b.width, height: s.height}, s, 1)))
      bad.push('spills out of its box: ' + t.textContent);
  }
}
return bad;
"""


@pytest.mark.parametrize("sans,mono", [("DejaVu Sans", "DejaVu Sans Mono"), ("Liberation Sans", "Liberation Mono")])
def test_no_text_is_clipped_with_wide_fonts(browser, tmp_path, sans, mono):
    model, loss = small_model_graph()
    h = autograd.tensor(np.ones(3), requires_grad=True, name="x")
    for _ in range(30):
        h = (h * 0.9 + 0.1).tanh()
    chain = h.sum()
    chain.backward()
    for name, svg in (("model", viz.draw(loss, params=model)), ("chain", viz.draw(chain, max_nodes=30)),
                      ("modules", viz.draw(loss, params=model, collapse="modules")),
                      ("backward", viz.draw(loss, params=model, kind="backward"))):
        text = viz.pipe(svg.source, "svg").decode()
        css = (f"<style>text{{font-family:'{sans}'!important}} "
               f"text[font-family^='Courier']{{font-family:'{mono}'!important}}</style>")
        page = tmp_path / f"{name}.html"
        page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>{css}</head><body>{text}</body></html>")
        browser.get(page.resolve().as_uri())
        assert browser.js(f"return document.fonts.check('10px \"{sans}\"')")
        assert browser.js(CHECK_TEXT) == [], name


def test_chromium_is_found_for_ci():
    assert os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)
