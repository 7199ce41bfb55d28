"""Turning DOT text into pictures: find a renderer and run it with a timeout.

A system Graphviz `dot` is used when it is on PATH (it also writes PDF); otherwise the
`graphviz-pure` program from the pip wheel of that name, looked up on PATH, in this
interpreter's scripts folder and next to `sys.executable`, so it is found even when the
virtual environment is not activated.
"""

from __future__ import annotations

import html
import json
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


# --------------------------------------------------------------------------- the interactive page
# One self-contained HTML file: the drawings as inline SVG, what each node holds as JSON, and
# the script below; nothing is fetched from anywhere.
PAGE_CSS = """
html,body{margin:0;height:100%;font:13px Helvetica,Arial,"Liberation Sans",sans-serif;color:#222}
body{display:flex;flex-direction:column}
header{display:flex;gap:6px;align-items:center;padding:6px 10px;border-bottom:1px solid #ccc;flex-wrap:wrap}
header b{margin-right:8px}
#status{margin-left:6px;font-family:Courier,"Courier New","Liberation Mono",monospace;white-space:pre}
main{flex:1;display:flex;min-height:0}
#view{flex:1;overflow:hidden;cursor:grab;background:#fff;position:relative}
#view svg{width:100%;height:100%;display:block}
#panel{width:320px;overflow:auto;border-left:1px solid #ccc;padding:8px 12px}
#panel table{border-collapse:collapse;margin:6px 0}
#panel th{text-align:left;padding:2px 8px 2px 0;vertical-align:top;color:#555;font-weight:normal}
#panel td{font-family:Courier,"Courier New","Liberation Mono",monospace;word-break:break-all}
#panel h3{margin:4px 0;font-size:14px}
#panel .hist{margin:4px 0 10px}
g.node{cursor:pointer}
g.node.selected>path,g.node.selected>ellipse,g.node.selected>polygon{stroke:#1565c0;stroke-width:3px}
svg.replaying g.node.has-step:not(.lit):not(.selected){opacity:.3}
g.node.lit>path,g.node.lit>ellipse,g.node.lit>polygon{stroke:#e67e22;stroke-width:2.5px}
g.node.current>path,g.node.current>ellipse,g.node.current>polygon{stroke:#c0392b;stroke-width:5px}
"""

PAGE_JS = r"""
(() => {
"use strict";
const DATA = JSON.parse(document.getElementById("graph-data").textContent);
const $ = (id) => document.getElementById(id);
const view = $("view"), panel = $("panel"), slider = $("slider"), status = $("status");
const HELP = "Click a node to see its values and gradient. Drag to pan, scroll to zoom. " +
  "Step through backward with the slider, the buttons or the arrow keys.";
const stack = [];
let svg = null, home = null, vb = null, steps = [], at = 0, timer = null, drag = null, moved = false;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function current() { return DATA.views[stack[stack.length - 1]]; }
function setViewBox() { svg.setAttribute("viewBox", vb.join(" ")); }
function scale() {
  const r = svg.getBoundingClientRect();
  return Math.min(r.width / vb[2], r.height / vb[3]);
}
function toSvg(x, y) {
  const p = svg.createSVGPoint();
  p.x = x; p.y = y;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}
function nodes() { return svg.querySelectorAll("g.node"); }

function show() {
  const v = current();
  view.innerHTML = v.svg;
  svg = view.querySelector("svg");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  home = svg.getAttribute("viewBox").trim().split(/[\s,]+/).map(Number);
  vb = home.slice();
  setViewBox();
  for (const g of nodes()) {
    const t = g.querySelector("title");
    g.dataset.id = t ? t.textContent : "";
    const info = v.nodes[g.dataset.id];
    if (info && info.steps) g.classList.add("has-step");
  }
  steps = v.steps;
  slider.max = steps.length;
  $("back").hidden = stack.length < 2;
  $("where").textContent = v.title;
  panel.replaceChildren(el("p", HELP));
  setStep(0);
}
function open(k) { stack.push(k); show(); }
function back() { if (stack.length > 1) { stack.pop(); show(); } }

function histogram(h, colour, caption) {
  const box = el("div", undefined, "hist");
  box.append(el("div", caption));
  const [lo, hi, counts] = h, W = 240, H = 56, n = counts.length;
  const top = Math.max(...counts, 1);
  const ns = "http://www.w3.org/2000/svg";
  const s = document.createElementNS(ns, "svg");
  s.setAttribute("width", W); s.setAttribute("height", H);
  s.setAttribute("class", "histogram");
  counts.forEach((c, i) => {
    const r = document.createElementNS(ns, "rect");
    const bh = c ? Math.max(1, (H - 2) * c / top) : 0;
    r.setAttribute("x", (i * W) / n + 0.5); r.setAttribute("width", W / n - 1);
    r.setAttribute("y", H - bh); r.setAttribute("height", bh); r.setAttribute("fill", colour);
    s.append(r);
  });
  box.append(s);
  const fmt = (x) => Number(x.toPrecision(4)).toString();
  box.append(el("div", n > 1 ? fmt(lo) + " … " + fmt(hi) : "all " + fmt(lo)));
  return box;
}

function select(id) {
  for (const g of svg.querySelectorAll("g.node.selected")) g.classList.remove("selected");
  const g = [...nodes()].find((n) => n.dataset.id === id);
  if (g) g.classList.add("selected");
  const info = current().nodes[id];
  if (!info) return;
  const out = [el("h3", info.label.split("\n")[0])];
  const table = el("table");
  const rows = [["kind", info.kind], ["op", info.op], ["type", info.type], ["value", info.value],
                ["grad", info.grad]];
  if (info.steps) rows.push(["backward step", info.steps.map((s) => s + 1).join(" … ")]);
  for (const [k, v] of rows) {
    if (v === undefined) continue;
    const tr = el("tr");
    tr.append(el("th", k), el("td", v));
    table.append(tr);
  }
  out.push(table);
  if (info.vh) out.push(histogram(info.vh, "#6b8fd6", "values"));
  if (info.gh) out.push(histogram(info.gh, "#e67e22", "gradient"));
  if (info.expand !== undefined) {
    const b = el("button", "expand: draw what it holds");
    b.id = "expand";
    b.onclick = () => open(info.expand);
    out.push(b);
  }
  out.push(el("pre", info.label));
  panel.replaceChildren(...out);
}

function setStep(k) {
  at = Math.max(0, Math.min(k, steps.length));
  slider.value = at;
  const lit = new Set();
  for (let i = 0; i < at; i++) for (const id of steps[i][1]) lit.add(id);
  const cur = at > 0 ? steps[at - 1] : null;
  for (const g of nodes()) {
    g.classList.toggle("lit", lit.has(g.dataset.id));
    g.classList.toggle("current", cur !== null && cur[1].includes(g.dataset.id));
  }
  svg.classList.toggle("replaying", at > 0);
  if (!steps.length) {
    status.textContent = "no backward recorded: run it inside autograd.viz.record_grads() to replay it";
  } else {
    status.textContent = at === 0 ? "backward: " + steps.length + " steps" :
      "step " + at + "/" + steps.length + ": " + cur[2];
  }
}
function play() {
  if (timer) { clearInterval(timer); timer = null; $("play").textContent = "play"; return; }
  if (at >= steps.length) setStep(0);
  $("play").textContent = "pause";
  timer = setInterval(() => {
    if (at >= steps.length) { play(); return; }
    setStep(at + 1);
  }, 500);
}

view.addEventListener("wheel", (e) => {
  e.preventDefault();
  const f = Math.exp(e.deltaY * 0.0015), p = toSvg(e.clientX, e.clientY);
  vb = [p.x - (p.x - vb[0]) * f, p.y - (p.y - vb[1]) * f, vb[2] * f, vb[3] * f];
  setViewBox();
}, { passive: false });
view.addEventListener("mousedown", (e) => { drag = { x: e.clientX, y: e.clientY, vb: vb.slice() }; moved = false; });
window.addEventListener("mousemove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) moved = true;
  if (!moved) return;
  const s = scale();
  vb = [drag.vb[0] - dx / s, drag.vb[1] - dy / s, drag.vb[2], drag.vb[3]];
  setViewBox();
});
window.addEventListener("mouseup", () => { drag = null; });
view.addEventListener("click", (e) => {
  if (moved) return;
  const g = e.target.closest("g.node");
  if (g) select(g.dataset.id);
});
window.addEventListener("keydown", (e) => {
  if (e.key === "ArrowRight") setStep(at + 1);
  else if (e.key === "ArrowLeft") setStep(at - 1);
});
$("prev").onclick = () => setStep(at - 1);
$("next").onclick = () => setStep(at + 1);
slider.oninput = () => setStep(Number(slider.value));
$("play").onclick = play;
$("fit").onclick = () => { vb = home.slice(); setViewBox(); };
$("back").onclick = back;
window.graphPage = { select, setStep, open, back, get step() { return at; }, get steps() { return steps; } };
open(0);
// A link may say where to start: page.html#step=5&select=n3
const want = new URLSearchParams(location.hash.slice(1));
if (want.has("step")) setStep(Number(want.get("step")));
if (want.has("select")) select(want.get("select"));
})();
"""


def page(views: list, title: str) -> str:
    """The interactive page: `views` is a list of dicts (svg, nodes, steps, title), the first
    the whole drawing, the others what its folded vertices hold."""
    data = json.dumps({"views": views}, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\u0021--")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head><body>\n"
        f"<header><b>{html.escape(title)}</b><span id=\"where\"></span>"
        "<button id=\"back\" hidden>back</button><button id=\"fit\">fit</button>"
        "<span>backward:</span><button id=\"prev\" title=\"previous step (←)\">◀</button>"
        "<input id=\"slider\" type=\"range\" min=\"0\" max=\"0\" value=\"0\">"
        "<button id=\"next\" title=\"next step (→)\">▶</button><button id=\"play\">play</button>"
        "<span id=\"status\"></span></header>\n"
        "<main><div id=\"view\"></div><aside id=\"panel\"></aside></main>\n"
        f"<script type=\"application/json\" id=\"graph-data\">{data}</script>\n"
        f"<script>{PAGE_JS}</script>\n</body></html>\n"
    )
