"""autograd.viz: golden DOT text, real renders through graphviz-pure, gradients after backward,
module clusters and collapse, NaN highlighting, and graphs far past any recursion limit."""

from __future__ import annotations

import os
import re
import shutil
import sys
import sysconfig

import graphviz
import numpy as np
import pytest

import autograd
import nn
from autograd import viz

HEADER = (
    "digraph {\n"
    '\tgraph [rankdir=LR fontname="Helvetica" fontsize=12 labeljust=l pad=0.3]\n'
    '\tnode [fontname="Helvetica" fontsize=10 shape=box style="rounded,filled" margin="0.08,0.04"]\n'
    '\tedge [fontname="Helvetica" fontsize=9 arrowsize=0.6]\n'
)
NOT_KEPT = (  # notes are wrapped into left-aligned lines (\\l)
    '\tlabel="Gradients of intermediate tensors are not kept: run backward inside\\l'
    'autograd.viz.record_grads() (or call retain_grad()) to see them.\\l" labelloc=t\n'
)


def small_graph():
    x = autograd.tensor([1.0, -2.0], requires_grad=True, name="x")
    w = autograd.tensor(3.0, requires_grad=True, name="w")
    y = (x * w - 1.0).sum(axis=0)
    return x, w, y


# --------------------------------------------------------------------------- golden DOT
def test_golden_forward_before_backward():
    _, _, y = small_graph()
    assert viz.draw(y, legend=False).source == HEADER + (
        '\tn0 [label="x\\nfloat32[2]\\ndata [1, -2]" fontname="Courier" fillcolor="#c6dbf7"]\n'
        '\tn1 [label="w\\nfloat32\\ndata 3" fontname="Courier" fillcolor="#c6dbf7"]\n'
        '\tn2 [label="mul" shape=ellipse fillcolor="#fff1c1"]\n'
        '\tn3 [label="float32[2]\\nvalue not kept" fontname="Courier" fillcolor="#ffffff"]\n'
        '\tn4 [label="sub\\n(·, 1)" shape=ellipse fillcolor="#fff1c1"]\n'
        '\tn5 [label="float32[2]\\nvalue not kept" fontname="Courier" fillcolor="#ffffff"]\n'
        '\tn6 [label="sum axis=(0,)" shape=ellipse fillcolor="#fff1c1"]\n'
        '\tn7 [label="float32\\ndata -5" fontname="Courier" fillcolor="#b7e4b0"]\n'
        "\tn0 -> n2\n\tn1 -> n2\n\tn2 -> n3\n\tn3 -> n4\n\tn4 -> n5\n\tn5 -> n6\n\tn6 -> n7\n"
        "}\n"
    )


def test_golden_forward_after_backward_shows_leaf_grads_and_says_what_is_missing():
    _, _, y = small_graph()
    y.backward()  # no retain_graph: saved buffers are freed, the structure stays
    src = viz.draw(y, legend=False).source
    assert '\tn0 [label="x\\nfloat32[2]\\ndata [1, -2]\\ngrad [3, 3]" fontname="Courier"' in src
    assert '\tn1 [label="w\\nfloat32\\ndata 3\\ngrad -1" fontname="Courier"' in src
    assert src.endswith(NOT_KEPT + "}\n")


def test_golden_backward_kind():
    _, _, y = small_graph()
    y.backward()
    assert viz.draw(y, kind="backward").source == HEADER + (
        '\tn0 [label="x\\nfloat32[2]\\ndata [1, -2]\\ngrad [3, 3]" fontname="Courier" fillcolor="#c6dbf7"]\n'
        '\tn1 [label="AccumulateGrad" fontname="Courier" fillcolor="#fde0c5"]\n'
        '\tn2 [label="w\\nfloat32\\ndata 3\\ngrad -1" fontname="Courier" fillcolor="#c6dbf7"]\n'
        '\tn3 [label="AccumulateGrad" fontname="Courier" fillcolor="#fde0c5"]\n'
        '\tn4 [label="MulBackward" fontname="Courier" fillcolor="#fde0c5"]\n'
        '\tn5 [label="SubBackward" fontname="Courier" fillcolor="#fde0c5"]\n'
        '\tn6 [label="SumBackward" fontname="Courier" fillcolor="#fde0c5"]\n'
        '\tn7 [label="float32\\ndata -5" fontname="Courier" fillcolor="#b7e4b0"]\n'
        "\tn1 -> n0\n\tn3 -> n2\n\tn4 -> n1\n\tn4 -> n3\n\tn5 -> n4\n\tn6 -> n5\n\tn7 -> n6\n"
        '\tlegend [shape=plaintext style="" fontsize=9 label=<<table border="0" cellborder="1" '
        'cellspacing="2" cellpadding="3"><tr><td bgcolor="#b7e4b0" width="43">output</td>'
        '<td bgcolor="#c6dbf7" width="118">leaf, requires grad</td>'
        '<td bgcolor="#fde0c5" width="107">backward of an op</td>'
        "</tr></table>>]\n"
        + NOT_KEPT + "}\n"
    )


def test_ids_are_deterministic_counters():
    a = viz.draw(small_graph()[2]).source
    b = viz.draw(small_graph()[2]).source
    assert a == b
    assert str(id(small_graph()[2])) not in a


def test_draw_returns_a_digraph_and_tensor_draw_is_the_same():
    _, _, y = small_graph()
    d = y.draw(show_values=False)
    assert isinstance(d, graphviz.Digraph)
    assert d.source == viz.draw(y, show_values=False).source
    assert "data" not in d.source


# --------------------------------------------------------------------------- freed intermediates
def _labels(src: str) -> list[str]:
    return re.findall(r'\tn\d+ \[label="([^"]*)"', src)


def test_freed_intermediates_still_show_every_op_with_its_shape():
    """Issue 17: nodes keep no intermediate Tensor; the drawing reads shapes from the nodes."""
    import gc
    import weakref

    gc.disable()  # reference counting alone frees what no formula saved
    try:
        x = autograd.tensor(np.ones((2, 3)), requires_grad=True, name="x")
        h = x * 2.0 + 1.0  # mul by a constant saves only the constant; add saves nothing
        dead = weakref.ref(h)
        y = h.tanh()  # tanh saves its output
        del h
        assert dead() is None
        loss = (y * 3.0).reshape(6).sum()
    finally:
        gc.enable()
    labels = _labels(viz.draw(loss, legend=False).source)
    ops = [lb.split("\\n")[0].split(" ")[0] for lb in labels if not lb.startswith(("x", "float64"))]
    assert ops == ["mul", "add", "tanh", "mul", "reshape", "sum"]
    boxes = [lb for lb in labels if lb.startswith("float64")]
    assert boxes == [
        "float64[2, 3]\\nvalue not kept",  # x * 2: freed at once
        "float64[2, 3]\\nvalue not kept",  # + 1: freed when h was dropped
        f"float64[2, 3]\\ndata mean {np.tanh(3.0):.4g} std 0",  # saved by tanh
        "float64[2, 3]\\nvalue not kept",
        "float64[6]\\nvalue not kept",
        f"float64\\ndata {6 * 3 * np.tanh(3.0):.4g}",  # the root's own data
    ]
    # backward frees the saved output too; the shapes stay
    loss.backward()
    after = _labels(viz.draw(loss, legend=False).source)
    assert [lb for lb in after if lb.startswith("float64")][2] == "float64[2, 3]\\nvalue not kept"
    assert len(after) == len(labels)


def test_inputs_that_need_no_grad_are_grey_boxes_with_shape_and_saved_value():
    w = autograd.tensor(np.ones(3), requires_grad=True, name="w")
    batch = autograd.tensor(np.arange(6.0).reshape(2, 3), name="batch")
    target = autograd.tensor(np.zeros((2, 3)), name="target")
    loss = ((w * batch - target) ** 2).sum()  # mul saves batch (for w's grad); sub saves nothing
    src = viz.draw(loss, legend=False).source
    grey = 'fontname="Courier" fillcolor="#e6e6e6"'
    assert re.search(rf'\[label="(batch\\n)?float64\[2, 3\]\\ndata mean 2.5 std 1.708" {grey}\]', src)
    assert f'[label="float64[2, 3]\\nvalue not kept" {grey}]' in src  # target: its shape only
    assert '"pow\\n(·, 2)"' in src
    loss.backward()  # frees what mul saved: the batch's box stays, by name, without shape
    src = viz.draw(loss, legend=False).source
    assert re.search(rf'\[label="(batch\\n)?input not kept" {grey}\]', src)
    assert '"pow\\n(·, ?)"' in src and "? marks an input that backward freed" in src


def test_a_batch_read_by_two_ops_is_one_box():
    w = autograd.tensor(np.ones(3), requires_grad=True)
    batch = autograd.tensor(np.arange(3.0) + 1)
    loss = (w * batch).sum() + (w / batch).sum()  # both save batch
    src = viz.draw(loss, legend=False).source
    assert src.count("data [1, 2, 3]") == 1
    box = re.search(r'\tn(\d+) \[label="float64\[3\]\\ndata \[1, 2, 3\]"', src).group(1)
    assert len(re.findall(rf"\tn{box} -> ", src)) == 2


def test_a_value_changed_in_place_after_forward_is_not_shown():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # exp saves its output, the array y holds
    z = y * 1.0
    before = viz.draw(z, legend=False).source
    assert f"data [{np.e:.4g}, {np.e ** 2:.4g}]" in before
    y.data += 100.0  # changed behind the graph's back (as an optimizer does)
    autograd.increment_version(y)
    after = viz.draw(z, legend=False).source
    assert "102.7" not in after and "float32[2]\\nvalue not kept" in after


def test_record_grads_keeps_what_backward_frees():
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).exp()  # exp saves its output
    loss = (h ** 2).sum()  # pow saves h and the exponent 2
    with viz.record_grads():
        loss.backward()
    src = viz.draw(loss, legend=False).source
    assert f"data [{np.exp(3.0):.4g}, {np.exp(6.0):.4g}]" in src  # kept as text, not as the array
    assert '"pow\\n(·, 2)"' in src and "?" not in src
    snap = viz.record.snapshot(h.grad_fn)
    assert snap is not None and isinstance(snap.out, viz.record.Kept) and h.grad_fn.out is None


def test_record_grads_around_a_training_loop_records_every_step():
    """Issue 10: new graphs reuse the addresses of freed ones; every step must be recorded,
    and nothing may pile up across steps."""
    import gc

    w = autograd.tensor([0.5, -0.5], requires_grad=True, name="w")
    missed = []
    gc.disable()
    try:
        with viz.record_grads():
            for step in range(300):
                h = w * float(step + 1)
                loss = (h * h).sum()
                loss.backward()
                want = 2 * (step + 1) * 0.5
                got = viz.record.recorded(h)
                if got is None or got[0] != (want, -want):
                    missed.append(step)
                w.grad = None
            del h, loss
            live = len(viz.record._grads), len(viz.record._saved)
    finally:
        gc.enable()
    assert missed == []
    assert live[0] <= 2 and live[1] == 0  # w (and nothing of the dropped graphs)
    assert w._hooks is None


# --------------------------------------------------------------------------- gradients
def test_record_grads_shows_intermediate_gradients_and_cleans_up():
    x = autograd.tensor([1.0, 2.0], requires_grad=True, name="x")
    h = x * 3.0
    loss = (h * h).sum()
    with viz.record_grads():
        loss.backward()
    src = viz.draw(loss).source
    # dL/dh = 2h = [6, 12]; dL/dx = 3 * [6, 12]
    assert "float32[2]\\ndata [3, 6]\\ngrad [6, 12]" in src
    assert "x\\nfloat32[2]\\ndata [1, 2]\\ngrad [18, 36]" in src
    assert "Gradients of intermediate tensors are not kept" not in src
    assert autograd.mode.state.on_backward is None
    assert h._node._hooks is None and x._hooks is None  # the context removed its hooks


def test_record_grads_keeps_a_norm_not_the_array_for_big_tensors():
    x = autograd.tensor(np.full((10, 10), 2.0), requires_grad=True)
    h = x * 1.0
    with viz.record_grads():
        (h * h).sum().backward()
    summary = viz.record.recorded(h)
    assert summary[0] is None and summary[1] == pytest.approx(40.0)  # ||2h|| = 4 * 10
    assert "grad norm 40" in viz.draw(h).source or "grad norm 40" in viz.draw((h * h).sum()).source


def test_record_grads_with_autograd_grad_and_user_hooks():
    x = autograd.tensor(2.0, requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 10)
    with viz.record_grads():
        (gx,) = autograd.grad(y * 1.0, [x])
    assert float(gx) == pytest.approx(40.0)
    assert viz.record.recorded(y)[0] == (10.0,)  # recorded after the user's hook changed it
    assert viz.record.recorded(x)[0] == (40.0,)


def test_retained_grad_is_shown_without_recording():
    x = autograd.tensor(2.0, requires_grad=True)
    h = x * 5.0
    h.retain_grad()
    (h * h).backward()
    assert "data 10\\ngrad 20" in viz.draw(h * 1.0).source or "grad 20" in viz.draw(h).source


def test_backward_kind_shows_gradient_each_grad_fn_receives():
    x = autograd.tensor(2.0, requires_grad=True, name="x")
    with viz.record_grads():
        y = x.exp() * 3.0
        y.backward()
    src = viz.draw(y, kind="backward").source
    assert "MulBackward\\ngrad 1" in src
    assert f"ExpBackward\\ngrad {3.0:.4g}" in src
    assert "AccumulateGrad" in src


def test_user_function_name_and_op_attributes():
    class Cube(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    x = autograd.tensor(np.ones((2, 3)), requires_grad=True)
    y = autograd.sum(Cube.apply(x), axis=1).max()
    y.backward()
    fwd = viz.draw(y).source
    assert '"Cube"' in fwd and '"sum axis=(1,)"' in fwd
    assert "CubeBackward" in viz.draw(y, kind="backward").source


# --------------------------------------------------------------------------- names, colours
def test_params_dict_names_leaves_and_constants_are_grey():
    w = autograd.tensor(np.ones(3), requires_grad=True)
    c = autograd.tensor(np.arange(3.0))
    y = (w * c).sum()
    src = viz.draw(y, params={"layer.weight": w}).source
    assert "layer.weight\\nfloat64[3]" in src
    assert '"float64[3]\\ndata [0, 1, 2]" fontname="Courier" fillcolor="#e6e6e6"' in src
    assert "constant</td>" in src and "output</td>" in src


def test_nan_and_inf_are_red():
    x = autograd.tensor([-1.0, 4.0], requires_grad=True, name="x")
    y = x.sqrt()
    y.sum().backward()
    src = viz.draw(y).source
    red = 'fillcolor="#ff8a8a" color="#c00000" penwidth=2'
    y_line = [ln for ln in src.splitlines() if "data [nan, 2]" in ln]
    assert len(y_line) == 1 and red in y_line[0]
    x_line = [ln for ln in src.splitlines() if ln.startswith('\tn0 [label="x')]
    assert red in x_line[0] and "grad [nan, 0.25]" in x_line[0]
    assert "holds NaN or inf" in src
    big = autograd.tensor(np.full(10, np.inf))
    assert red in viz.draw(big * 1.0).source


# --------------------------------------------------------------------------- modules
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc1(x))


class Net(nn.Module):
    """Named children two levels deep (`encoder.fc1`) beside a Sequential (`head.0`)."""

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.head = nn.Sequential(nn.Linear(4, 2), nn.ReLU())

    def forward(self, x):
        return self.head(self.encoder(x))


def small_model():
    autograd.manual_seed(0)
    model = Net()
    x = autograd.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32), name="x")
    loss = (model(x) ** 2).mean()
    loss.backward()
    return model, loss


def test_module_clusters_are_nested_and_labelled():
    _, loss = small_model()
    src = viz.draw(loss).source
    # `encoder` and `head` ran no op of their own: known by path only, without params=
    assert 'label="encoder" style="rounded,dashed"' in src and 'label="head" style' in src
    for title in ("encoder.fc1: Linear(3→4)", "encoder.act: Tanh", "head.0: Linear(4→2)", "head.1: ReLU"):
        assert f'label="{title}" style="rounded,dashed"' in src
    assert src.index('label="encoder"') < src.index('label="encoder.fc1')  # nested inside encoder
    fc1 = src[src.index('label="encoder.fc1'):src.index('label="encoder.act')]
    assert "encoder.fc1.weight\\nfloat32[4, 3]" in fc1 and "encoder.fc1.bias\\nfloat32[4]" in fc1
    assert '"linear"' in fc1  # the layer's op is drawn inside its cluster
    assert "head.0.weight\\nfloat32[2, 4]" in src
    # ops outside any module stay on top; backward freed pow's saved inputs, exponent included
    assert '"pow\\n(·, ?)"' in src.split("subgraph")[0] and "? marks an input that backward freed" in src


def test_params_module_names_everything_by_dotted_names():
    model, loss = small_model()
    src = viz.draw(loss, params=model).source
    assert 'label="Net" style="rounded,dashed"' in src  # the root is known now
    assert 'label="encoder: Encoder"' in src and 'label="head: Sequential"' in src
    assert "encoder.fc1.bias\\nfloat32[4]" in src and "head.0.weight\\nfloat32[2, 4]" in src

    autograd.manual_seed(1)
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    out = seq(autograd.tensor(np.ones((2, 3), np.float32))).sum()
    out.backward()
    src = viz.draw(out, params=seq).source
    for name in ("0.weight\\nfloat32[4, 3]", "0.bias\\nfloat32[4]", "2.weight\\nfloat32[1, 4]", "2.bias"):
        assert name in src
    assert 'label="0: Linear(3→4)"' in src and 'label="2: Linear(4→1)"' in src
    assert 'label="Sequential" style' in src
    # a dict of names wins over the module's own names
    assert "first.w\\nfloat32[4, 3]" in viz.draw(out, params={"first.w": seq[0].weight}).source


def test_collapse_modules_draws_one_box_per_module():
    model, loss = small_model()
    src = viz.draw(loss, collapse="modules").source
    assert "encoder.fc1: Linear(3→4)\\n1 op\\nweight float32[4, 3] grad norm" in src
    assert "head.0: Linear(4→2)\\n1 op\\nweight float32[2, 4] grad norm" in src
    assert 'encoder.act: Tanh\\n1 op" fontname="Courier" fillcolor="#e4d7f5"' in src
    assert '"linear"' not in src and '"tanh"' not in src and '"relu"' not in src
    assert '[label="[5, 4]"]' in src  # edges between boxes carry the tensor's shape
    assert "module (collapsed)" in src
    top = viz.draw(loss, collapse=1, params=model).source
    assert "encoder: Encoder\\n2 ops\\nfc1.weight float32[4, 3]" in top
    assert "head: Sequential\\n2 ops\\n0.weight float32[2, 4]" in top
    assert "encoder.fc1" not in top and '"linear"' not in top
    whole = viz.draw(loss, collapse=0, params=model).source
    boxes = [ln for ln in whole.splitlines() if 'fillcolor="#e4d7f5"' in ln]
    assert len(boxes) == 1 and "Net\\n4 ops" in boxes[0]


def test_two_models_with_the_same_paths_are_not_merged():
    autograd.manual_seed(0)
    gen = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    disc = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    out = disc(gen(autograd.tensor(np.ones((4, 2), np.float32)))).mean()
    out.backward()
    src = viz.draw(out, collapse="modules").source
    boxes = re.findall(r'\tn(\d+) \[label="([^"]*)" fontname="Courier" fillcolor="#e4d7f5"', src)
    titles = sorted(label.split("\\n")[0] for _, label in boxes)
    assert titles == ["0: Linear(2→3)", "0: Linear(3→1)", "1: Sigmoid", "1: Tanh"]
    assert "weight float32[1, 3]" in src  # the second model's parameters are named and boxed
    edges = re.findall(r"\tn(\d+) -> n(\d+)", src)
    assert all(int(a) < int(b) for a, b in edges)  # no cycle between the boxes
    full = viz.draw(out).source
    assert full.count('label="0: Linear') == 2 and full.count('label="1: ') == 2


# --------------------------------------------------------------------------- rendering
def _no_dot_path(tmp_path):
    """A PATH with everything the test runner had except any `dot`."""
    keep = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not os.path.exists(os.path.join(p, "dot"))]
    return os.pathsep.join(keep) or str(tmp_path)


def test_svg_render_through_graphviz_pure_without_dot(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _no_dot_path(tmp_path))
    assert shutil.which("dot") is None
    binary, kind = viz.find_renderer()
    assert kind == "graphviz-pure"
    _, _, y = small_graph()
    y.backward()
    out = viz.render(y, tmp_path / "graph.svg")
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for text in ("sum axis=(0,)", "mul", "grad [3, 3]", "data 3", "leaf, requires grad"):
        assert text in svg.replace("&#45;", "-")
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_render_finds_graphviz_pure_when_venv_is_not_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing at all on PATH
    path, kind = viz.find_renderer()
    assert kind == "graphviz-pure"
    assert os.path.dirname(path) in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable))
    png = viz.render(autograd.tensor(1.0, requires_grad=True).exp(), tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clear_error_when_no_renderer(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(viz.RendererNotFound, match="pip install graphviz-pure"):
        viz.render(autograd.tensor(1.0, requires_grad=True).exp(), tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_pdf_without_dot_names_what_is_needed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _no_dot_path(tmp_path))
    with pytest.raises(ValueError, match="needs Graphviz's `dot`"):
        viz.render(autograd.tensor(1.0, requires_grad=True).exp(), tmp_path / "g.pdf")


def test_render_creates_missing_folders(tmp_path):
    out = viz.render(autograd.tensor(1.0, requires_grad=True).exp(), tmp_path / "new" / "deeper" / "g.svg")
    assert out.read_text().lstrip().startswith("<?xml")
    assert sorted(os.listdir(tmp_path / "new" / "deeper")) == ["g.svg"]  # no temp file left


def test_drawing_repr_says_what_is_drawn_and_folded():
    _, _, y = small_graph()
    text = repr(viz.draw(y))
    assert text.startswith("<autograd.viz drawing (forward): 8 nodes, 7 edges;")
    assert "folded" not in text and "0x" not in text
    x = autograd.tensor(0.5, requires_grad=True)
    for _ in range(100):
        x = x.tanh()
    text = repr(viz.draw(x, max_nodes=20))
    assert "98 ops folded into 1 group;" in text  # the first and the last tanh stay


def test_renderer_timeout_kills_and_explains(tmp_path):
    x = autograd.tensor(1.0, requires_grad=True)
    with pytest.raises(TimeoutError, match="max_nodes"):
        viz.render(x.exp(), tmp_path / "g.svg", timeout=1e-6)
    assert not (tmp_path / "g.svg").exists()


def test_jupyter_repr_uses_our_renderer(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", _no_dot_path(tmp_path))
    d = viz.draw(autograd.tensor(2.0, requires_grad=True, name="w").tanh())
    svg = d._repr_image_svg_xml()
    assert "<svg" in svg and "tanh" in svg
    saved = d.save(tmp_path / "d.svg")
    assert saved.read_text() == svg


# --------------------------------------------------------------------------- big graphs
def test_100k_op_chain_draws_without_recursion(monkeypatch):
    x = autograd.tensor(0.5, requires_grad=True, name="x")
    y = x
    for i in range(100_000):
        y = y * 1.0001 if i % 2 else y.tanh()
    monkeypatch.setattr(sys, "getrecursionlimit", sys.getrecursionlimit)  # documented: no recursion
    small = viz.draw(y)  # past max_nodes: folded, and the picture says so
    assert small.source.count("->") < 12  # x, one repetition, the fold, the last repetition
    assert "× 49,998: tanh → mul" in small.source and "summarised" in small.source
    full = viz.draw(y, kind="backward", max_nodes=None).source
    assert full.count("Backward") == 100_000 and "summarised" not in full


def test_same_op_runs_fold_with_a_count():
    x = autograd.tensor(0.5, requires_grad=True)
    y = x.exp()
    for _ in range(50):
        y = y.tanh()
    y = y * 2.0
    for _ in range(50):
        y = y.sin()
    src = viz.draw(y, max_nodes=20).source
    assert "× 48: tanh\\n(48 ops folded)" in src and "× 48: sin" in src  # the ends of each run stay
    assert '"exp"' in src and '"mul\\n(·, 2)"' in src  # runs of one op are left alone
    assert "data 0.1983" in src  # the output's tensor stays visible


def test_unfoldable_graphs_are_cut_to_max_nodes():
    y = autograd.tensor(0.3, requires_grad=True)
    for _ in range(500):
        y = y * y.tanh() + 0.1  # every step reuses y: no chains to fold
    src = viz.draw(y, max_nodes=40).source
    nodes = [ln for ln in src.splitlines() if re.match(r"\tn\d+ \[", ln)]
    assert len(nodes) <= 40
    assert "more nodes not drawn" in src and "farthest from the output not drawn" in src.replace("\\l", " ")


# --------------------------------------------------------------------------- readable at every size
def _svg_size(drawing) -> tuple[float, float]:
    svg = viz.pipe(drawing.source, "svg").decode()
    w, h = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    return float(w), float(h)


def _stretch(w: float, h: float) -> float:
    return max(w / h, h / w)


def mul_add_tanh_chain(steps: int = 66):
    """Issue 16's chain: 66 × (mul, add, tanh) and a sum, about 200 ops and 400 nodes."""
    h = autograd.tensor(np.linspace(-1.0, 1.0, 4), requires_grad=True, name="x")
    for _ in range(steps):
        h = (h * 0.9 + 0.1).tanh()
    return h.sum()


def deep_mlp(layers: int = 20):
    autograd.manual_seed(0)
    mods = []
    for _ in range(layers):
        mods += [nn.Linear(8, 8), nn.ReLU()]
    model = nn.Sequential(*mods, nn.Linear(8, 1))
    loss = (model(autograd.tensor(np.ones((4, 8), np.float32), name="x")) ** 2).mean()
    return model, loss


def test_a_200_op_chain_folds_its_repeats_and_fits_a_page():
    loss = mul_add_tanh_chain()
    with viz.record_grads():
        loss.backward()
    d = viz.draw(loss)
    src = d.source
    assert "× 64: mul → add → tanh\\n(192 ops folded)" in src  # the first and last repetitions stay
    labels = _labels(src)
    assert [lb.split("\\n")[0] for lb in labels].count("tanh") == 2 and '"sum"' in src
    w, h = _svg_size(d)
    assert _stretch(w, h) <= 3.0 and max(w, h) <= 2000, (w, h)  # was 73,194 × 138 pt


def test_a_20_layer_mlp_folds_its_repeated_layers_and_fits_a_page():
    model, loss = deep_mlp()
    loss.backward()
    d = viz.draw(loss, params=model)
    src = d.source
    assert "× 18: Linear(8→8) → ReLU\\n(36 ops, 36 parameters folded)" in src
    for title in ("0: Linear(8→8)", "1: ReLU", "38: Linear(8→8)", "39: ReLU", "40: Linear(8→1)"):
        assert f'label="{title}"' in src  # the ends stay, each in its module's cluster
    assert "2.weight" not in src and "37.bias" not in src  # folded parameters go with their fold
    w, h = _svg_size(d)
    assert _stretch(w, h) <= 3.0 and max(w, h) <= 2000, (w, h)


def test_repeated_calls_of_one_module_fold_and_its_parameters_are_drawn_once():
    autograd.manual_seed(0)
    cell = nn.Linear(8, 8)  # one module called in a loop, as an RNN's cell
    h = autograd.tensor(np.ones((2, 8), np.float32))
    for _ in range(40):
        h = cell(h).tanh()
    loss = h.sum()
    loss.backward()
    src = viz.draw(loss, params={"cell.weight": cell.weight, "cell.bias": cell.bias}).source
    assert "× 38: linear → tanh\\n(76 ops folded)" in src
    labels = _labels(src)
    assert sum(lb.startswith("cell.weight\\n") for lb in labels) == 1
    w_id = re.search(r'\tn(\d+) \[label="cell.weight', src).group(1)
    fold_id = re.search(r'\tn(\d+) \[label="× 38', src).group(1)
    assert f"\tn{w_id} -> n{fold_id}" in src  # the shared weight feeds the folded steps too


def test_layout_direction_follows_the_graphs_shape():
    _, _, y = small_graph()
    assert "rankdir=LR" in viz.draw(y).source  # small: left to right, as it fits a screen
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    loss = ((model(autograd.tensor(np.ones((4, 3), np.float32))) - 1.0) ** 2).mean()
    loss.backward()
    d = viz.draw(loss, params=model)
    assert "rankdir=TB" in d.source  # left to right it was 2,074 × 468 pt
    w, h = _svg_size(d)
    assert _stretch(w, h) <= 3.0 and w <= 1400 and h <= 1400, (w, h)
    assert "rankdir=LR" in viz.draw(loss, params=model, rankdir="LR").source  # the user's choice stays
    with pytest.raises(ValueError, match="rankdir must be None"):
        viz.draw(loss, rankdir="up")


def test_a_long_chain_without_repeats_wraps_into_rows_like_text():
    y = autograd.tensor(np.ones(3), requires_grad=True, name="x")
    ops = ["tanh", "sin", "cos", "exp", "sigmoid", "relu"]
    rng = np.random.default_rng(1)
    for k in rng.integers(0, len(ops), size=45):
        y = getattr(y, ops[k])()
    d = viz.draw(y, max_nodes=None)
    src = d.source
    rows = re.findall(r"\t\{rank=same; ([^}]*)\}", src)
    assert len(rows) >= 3 and "rankdir=TB" in src and "newrank=true" in src
    ops_drawn = sum(1 for lb in _labels(src) if lb.split("\\n")[0] in ops)
    assert ops_drawn == 45  # nothing hidden: wrapping only moves boxes
    firsts = [r.split(";")[0] for r in rows]
    for a, b in zip(firsts, firsts[1:]):  # each row starts under the previous one
        assert f"\t{a} -> {b} [style=invis weight=100 minlen=2]" in src
    w, h = _svg_size(d)
    assert _stretch(w, h) <= 3.0, (w, h)
    assert "rank=same" not in viz.draw(y, max_nodes=None, rankdir="TB").source


def test_folding_starts_at_max_nodes_100_by_default():
    model, loss = deep_mlp(15)  # 97 vertices: drawn whole
    loss.backward()
    assert "folded" not in viz.draw(loss).source
    model, loss = deep_mlp(16)  # 103
    loss.backward()
    assert "× 14: Linear(8→8) → ReLU" in viz.draw(loss).source
    assert "folded" not in viz.draw(loss, max_nodes=200).source
    assert "folded" not in viz.draw(loss, max_nodes=None).source


def test_text_is_set_so_that_wider_fonts_do_not_clip_it(tmp_path):
    """Issue 16: with a wider font the hint and the legend were cut off. (The browser tests
    measure it with DejaVu Sans; these are the measures taken.)"""
    loss = mul_add_tanh_chain(8)
    loss.backward()
    d = viz.draw(loss, max_nodes=10)
    src = d.source
    note = re.search(r'\tlabel="([^"]*)" labelloc=t', src).group(1)
    lines = note.split("\\l")
    assert lines[-1] == "" and all(len(ln) <= 72 for ln in lines)  # wrapped, left-aligned
    assert "pad=0.3" in src.split("\n")[1]  # room around the drawing
    for w, text in re.findall(r'<td bgcolor="#[0-9a-f]+" width="(\d+)">([^<]*)</td>', src):
        assert int(w) >= len(text) * 5.8  # DejaVu Sans at 9 pt is at most 5.8 pt a character
    boxes = [ln for ln in src.splitlines() if re.match(r"\tn\d+ \[", ln) and "shape=ellipse" not in ln]
    assert boxes and all('fontname="Courier"' in ln for ln in boxes)  # monospace widths agree
    svg = viz.pipe(src, "svg").decode()
    assert 'font-family="Helvetica,sans-Serif"' not in svg  # each font named with its look-alikes
    assert "Liberation Sans" in svg and "Liberation Mono" in svg and "Courier New" in svg


# --------------------------------------------------------------------------- the interactive page
def _page_data(page) -> dict:
    import json

    text = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>', page.html, re.S).group(1)
    return json.loads(text)


def test_interactive_page_is_one_offline_file_with_values_gradients_and_backward_steps(tmp_path):
    loss = mul_add_tanh_chain(10)
    with viz.record_grads():
        loss.backward()
    page = viz.interactive(loss, max_nodes=30)
    html = page.html
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "<script>" in html
    assert not re.search(r"(src|href)=|https?://(?!www\.w3\.org)", html)  # nothing loaded from anywhere
    views = _page_data(page)["views"]
    main = views[0]
    x = next(n for n in main["nodes"].values() if n["label"].startswith("x\n"))
    assert x["kind"] == "leaf tensor" and x["type"] == "float64[4]" and x["grad"].startswith("grad [")
    fold = next(n for n in main["nodes"].values() if n["kind"] == "folded ops")
    assert fold["label"].startswith("× 8: mul → add → tanh")
    assert views[fold["expand"]]["title"] == "× 8: mul → add → tanh"
    # backward replayed in the engine's order: the sum first, x's AccumulateGrad last
    steps = main["steps"]
    assert steps[0][2].startswith("SumBackward: grad") and steps[-1][2].startswith("AccumulateGrad x: grad")
    assert [s[0] for s in steps] == sorted(s[0] for s in steps)
    assert re.match(r"<autograd.viz interactive page: \d+ nodes, 1 expandable, \d+ backward steps", repr(page))
    frame = page._repr_html_()  # Jupyter: an iframe, so the script runs in every front end
    assert frame.startswith("<iframe") and "srcdoc=" in frame and "&lt;script&gt;" in frame
    out = viz.render(loss, tmp_path / "pages" / "graph.html", max_nodes=30)
    assert out.read_text() == html
    with pytest.raises(TypeError, match="made from Tensors"):
        viz.render(viz.draw(loss), tmp_path / "g.html")


def test_interactive_page_without_recorded_backward_says_how_to_get_it():
    y = autograd.tensor([1.0, 2.0], requires_grad=True).exp().sum()
    page = viz.interactive(y)
    assert _page_data(page)["views"][0]["steps"] == []
    assert "record_grads() to replay it" in page.html
    x = autograd.tensor(np.arange(10.0), requires_grad=True)
    (vh,) = [n["vh"] for n in _page_data(viz.interactive(x * 1.0))["views"][0]["nodes"].values()
             if n["kind"] == "leaf tensor"]
    assert vh == [0.0, 9.0, [1, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 1]]  # the values in 16 bins


# --------------------------------------------------------------------------- errors
def test_errors_name_the_problem():
    y = autograd.tensor(1.0, requires_grad=True).exp()
    with pytest.raises(ValueError, match="at least one Tensor"):
        viz.draw()
    with pytest.raises(ValueError, match="kind must be"):
        viz.draw(y, kind="sideways")
    with pytest.raises(ValueError, match="collapse must be"):
        viz.draw(y, collapse="layers")
    with pytest.raises(TypeError, match="expected Tensors"):
        viz.draw(np.ones(3))
    with pytest.raises(ValueError, match="requires grad"):
        viz.draw(autograd.tensor(1.0), kind="backward")


# --------------------------------------------------------------------------- the README picture
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_docs_pictures_are_up_to_date_and_readme_shows_the_scripts_lines(tmp_path, monkeypatch):
    import runpy

    monkeypatch.setenv("PATH", _no_dot_path(tmp_path))  # graphviz-pure: byte-identical output
    script = os.path.join(ROOT, "scripts", "make_docs_graph.py")
    ns = runpy.run_path(script)
    ns["main"].__globals__["OUT"] = tmp_path / "graph.svg"
    svg = ns["main"]().read_text()
    for text in ("0: Linear(3→4)", "1: Tanh", "2: Linear(4→1)", "0.weight", "2.bias", "grad norm"):
        assert text in svg
    with open(os.path.join(ROOT, "docs", "graph.svg"), encoding="utf-8") as f:
        assert f.read() == svg, "docs/graph.svg is stale: run python scripts/make_docs_graph.py"
    ns["examples"].__globals__["DOCS"] = tmp_path
    for fresh in ns["examples"]():
        with open(os.path.join(ROOT, "docs", fresh.name), encoding="utf-8") as f:
            assert f.read() == fresh.read_text(), f"docs/{fresh.name} is stale: run python scripts/make_docs_graph.py"
    # the interactive page of the same graph, and the screenshot of it the README shows
    ns["page"].__globals__["PAGE"] = tmp_path / "graph.html"
    html = ns["page"]().read_text(encoding="utf-8")
    with open(os.path.join(ROOT, "docs", "graph.html"), encoding="utf-8") as f:
        assert f.read() == html, "docs/graph.html is stale: run python scripts/make_docs_graph.py"
    with open(os.path.join(ROOT, "docs", "interactive.png"), "rb") as f:
        shot = f.read()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert ns["png_text"](shot, ns["HASH_KEY"]) == ns["page_hash"](html), (
        "docs/interactive.png shows another page: run python scripts/make_docs_graph.py (needs Chromium)")
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    section = readme[readme.index("## Seeing the graph"):]
    code = section[section.index("```python") + 10:section.index("```\n", 10)]
    with open(script, encoding="utf-8") as f:
        source = f.read()
    for line in code.splitlines()[1:]:  # after the import: the lines the script runs
        stmt = line.split("#")[0].strip().replace('"docs/graph.svg"', "OUT").replace('"graph.svg"', "OUT")
        assert stmt in source, f"README line {line!r} is not what make_docs_graph.py runs"
