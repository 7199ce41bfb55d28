"""Every registered op on a second array library, array-api-strict, beside numpy (issue 14).

array_api_strict implements the Python array API standard and nothing more: no `.astype` or
`.reshape` methods, no `np.add.at`, no indexing beyond the standard's, no mixing with numpy
arrays. The engine and the ops reach array functions through `autograd.backend.namespace`,
so they must run on it unchanged; a numpy-only call that would break on CuPy then fails here,
on every machine, not only on the GPU one.

For each op in `autograd.REGISTRY` and each of its `attrs`, hypothesis draws a case with the
op's own sample generator (tests/op_samples.py, as tests/test_ops.py does). The case runs twice
through `apply`: on numpy float64 arrays and on the same values as array_api_strict float64
arrays (index arrays and masks converted too). The strict run must keep strict arrays
everywhere (the output, every `.grad`) and agree with the numpy run: forward, backward with
one seed gradient, and second order (`create_graph=True`, the gradient of a weighted sum of
the gradients). Ops the standard cannot express are listed in EXEMPT with the reason.

The same file checks models on the other library: an MLP trains to the same losses whether it
moves there before the first step or in the middle (the optimizer's state follows), and
checkpoints of model and optimizer go between the host and the device. `check_case` and those
scenarios (`train_mlp`, `check_training`, `check_checkpoints`, `check_device_mixing`) are
shared with tests/gpu/, which runs them with CuPy arrays on a CUDA device.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from op_samples import CASE_IDS, CASES, draw_case

import autograd
import nn
import nn.functional as F
from autograd import REGISTRY, backend
from autograd.node import apply

try:
    import array_api_strict as xs
except ImportError:  # tests/gpu imports check_case on machines without it
    xs = None

# Ops the standard cannot express, with the reason (each one is skipped, not run, and named in
# the report). Empty: every op's gaps are filled by autograd/backend.py's table.
EXEMPT: dict[str, str] = {}

RTOL, ATOL = 1e-9, 1e-12  # the same library underneath (strict wraps numpy): near-identical
# A few examples per case: enough to reach each sample kind's branches (index kinds, broadcast,
# keepdims); the numpy-side properties get the full budget in tests/test_ops.py.
# No shrinking: a numpy-only call fails on the first example, and shrinking a failing strict
# run costs minutes for no clearer message.
EXAMPLES = max(3, settings.default.max_examples // 3)

needs_strict = pytest.mark.skipif(xs is None, reason="array-api-strict is not installed "
                                                     "(pip install -e '.[dev]')")


# --------------------------------------------------------------------------- the shared check
_DEVICE_ATTRS = ("device", "source")


def convert_value(value, convert):
    """`value` with its numpy arrays (also inside index tuples and lists) made by `convert`."""
    if isinstance(value, np.ndarray):
        return convert(value)
    if isinstance(value, tuple):
        return tuple(convert_value(v, convert) for v in value)
    if isinstance(value, list) and any(isinstance(v, np.ndarray) for v in value):
        return [convert_value(v, convert) for v in value]
    return value


def run_case(op, case, convert=None, second_order=True, device=None):
    """Run `case` through `apply` on arrays made by `convert` (numpy when None): forward,
    backward with a fixed seed gradient, and second order. Returns {name: array or None}.
    `device` replaces "cpu" in device attributes (to_device's `device` and `source`): the
    registry's case moves numpy to numpy; the other run moves between its own arrays."""
    conv = convert or (lambda a: a)
    args, leaves = [], []
    for i, a in enumerate(case.args):
        if i in case.diff:
            t = autograd.tensor(conv(np.asarray(a, dtype=np.float64)), requires_grad=True)
            leaves.append(t)
            args.append(t)
        else:
            args.append(convert_value(a, conv))
    attrs = {k: convert_value(v, conv) for k, v in case.attrs.items()}
    if device is not None:
        attrs = {k: device if k in _DEVICE_ATTRS and v == "cpu" else v for k, v in attrs.items()}
    out = apply(op, *args, **attrs)
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    seed = rng.uniform(0.5, 1.5, out.shape)
    result = {"forward": out.data}
    if not op.differentiable:
        return result
    out.backward(conv(seed), retain_graph=second_order)
    for i, t in enumerate(leaves):
        result[f"grad {i}"] = None if t.grad is None else t.grad.data
    if second_order:
        weights = [rng.uniform(-1.0, 1.0, t.shape) for t in leaves]
        grads = autograd.grad(out, leaves, grad_outputs=conv(seed), create_graph=True, allow_unused=True)
        for i, g in enumerate(grads):
            result[f"grad {i} (autograd.grad)"] = None if g is None else g.data
        terms = [(g * autograd.tensor(conv(w))).sum() for g, w in zip(grads, weights)
                 if g is not None and g.requires_grad]
        if terms:
            total = functools.reduce(lambda a, b: a + b, terms)
            for i, h in enumerate(autograd.grad(total, leaves, allow_unused=True)):
                result[f"second order {i}"] = None if h is None else h.data
    return result


def check_case(op, case, convert, lib: str, device, rtol=RTOL, atol=ATOL, second_order=True):
    """The case on `convert`'s library (`device`: its device for device attributes) agrees with
    numpy and keeps that library's arrays."""
    want = run_case(op, case, None, second_order)
    got = run_case(op, case, convert, second_order, device)
    assert got.keys() == want.keys(), f"{op.name}: {sorted(got)} != {sorted(want)}"
    for key, w in want.items():
        g = got[key]
        if w is None or g is None:
            assert w is None and g is None, f"{op.name}: {key}: numpy {w!r}, {lib} {g!r}"
            continue
        assert backend.library(g) == lib, f"{op.name}: {key} is a {type(g).__module__} array, not {lib}"
        assert backend.dtype_name(g.dtype) == backend.dtype_name(w.dtype), \
            f"{op.name}: {key} is {g.dtype}, numpy gives {w.dtype}"
        assert tuple(g.shape) == w.shape, f"{op.name}: {key} shape {g.shape}, numpy {w.shape}"
        np.testing.assert_allclose(backend.to_numpy(g), w, rtol=rtol, atol=atol,
                                   err_msg=f"{op.name}: {key} on {lib}")


def strict_array(a: np.ndarray):
    return xs.asarray(a)


# --------------------------------------------------------------------------- the registry
def _params():
    out = []
    for key, case_id in zip(CASES, CASE_IDS):
        reason = EXEMPT.get(key[0])
        marks = [pytest.mark.skip(reason=f"exempt: {reason}")] if reason else []
        out.append(pytest.param(key, id=case_id, marks=marks))
    return out


@needs_strict
@pytest.mark.parametrize("case_key", _params())
@settings(max_examples=EXAMPLES, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(data=st.data())
def test_op_on_array_api_strict(case_key, data):
    op, case = draw_case(data.draw, case_key)
    check_case(op, case, strict_array, "array_api_strict", xs)


def test_exempt_ops_are_registered_and_say_why():
    assert set(EXEMPT) <= set(REGISTRY), f"not registry ops: {set(EXEMPT) - set(REGISTRY)}"
    assert all(isinstance(r, str) and len(r) > 20 for r in EXEMPT.values()), EXEMPT


# --------------------------------------------------------------------------- devices
@needs_strict
def test_mixing_numpy_and_strict_tensors_names_both_devices():
    check_device_mixing(strict_array)


@needs_strict
def test_strict_tensor_with_python_numbers_stays_strict():
    x = autograd.tensor(xs.asarray(np.array([0.5, 1.5, 2.5])), requires_grad=True)
    y = (2.0 - x) * 3 + x / 4.0 - 1.0 / x + x**2.0
    assert backend.library(y.data) == "array_api_strict"
    y.sum().backward()
    assert backend.library(x.grad.data) == "array_api_strict"
    v = np.array([0.5, 1.5, 2.5])
    np.testing.assert_allclose(backend.to_numpy(x.grad.data), -3 + 0.25 + 1 / v**2 + 2 * v, rtol=1e-12)


@needs_strict
def test_moving_between_numpy_and_strict_moves_the_gradient_back():
    v = np.array([0.5, -1.5, 2.0])
    x = autograd.tensor(xs.asarray(v), requires_grad=True)
    y = x.to("cpu")
    assert isinstance(y.data, np.ndarray) and y.requires_grad
    (y * y).sum().backward()
    assert backend.library(x.grad.data) == "array_api_strict"
    np.testing.assert_array_equal(backend.to_numpy(x.grad.data), 2 * v)
    a = autograd.tensor(v, requires_grad=True)
    b = a.to(xs)
    assert backend.library(b.data) == "array_api_strict"
    (b * b * b).sum().backward()
    assert isinstance(a.grad.data, np.ndarray)
    np.testing.assert_allclose(a.grad.data, 3 * v * v, rtol=1e-15)


# --------------------------------------------------------------------------- models (shared with tests/gpu)
_RNG = np.random.default_rng(7)
X = _RNG.normal(size=(48, 5))
Y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5).astype(np.int64)  # 3 classes


def mlp(seed=0):
    autograd.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16, dtype=np.float64), nn.Tanh(), nn.Linear(16, 3, dtype=np.float64))


def train_mlp(device=None, steps=6, move_at=0, flat=False, model=None, opt=None, start=0):
    """(model, optimizer, losses) of a small float64 MLP trained with cross-entropy and Adam on
    host data; at step `move_at` the model goes to `device` (None: stays on the host) and the
    batches come from a DataLoader that puts them there. `model`/`opt` continue a run (from
    step `start`)."""
    if model is None:
        model = mlp()
        opt = nn.optim.Adam(model.parameters(), lr=0.05, flat=flat)
    host = list(nn.data.DataLoader((X, Y), batch_size=16))
    there = host if device is None else list(nn.data.DataLoader((X, Y), batch_size=16, device=device))
    losses = []
    for i in range(start, start + steps):
        if device is not None and i == move_at:
            model.to(device)
        x, y = (there if device is not None and i >= move_at else host)[i % len(host)]
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, opt, losses


def _host(a):
    return backend.to_numpy(a.data if isinstance(a, autograd.Tensor) else a)


def assert_on(lib: str, model, opt=None):
    """Every parameter, gradient and optimizer state array of `model`/`opt` is a `lib` array."""
    for name, p in model.named_parameters():
        assert backend.library(p.data) == lib, f"parameter {name} is {type(p.data).__module__}"
        assert p.grad is None or backend.library(p.grad.data) == lib, f"{name}.grad"
    if opt is not None:
        for state in opt.state.values():
            for k, v in state.items():
                assert not backend.is_array(v) or backend.library(v) == lib, f"optimizer state {k!r}"


def check_training(device, lib: str, rtol=1e-12, flat=False):
    """The MLP trains to the same losses on the host and on `device` (moved before the first
    step, or after three steps with the optimizer made on the host): state follows the model."""
    _, _, want = train_mlp(None, flat=flat)
    for move_at in (0, 3):
        model, opt, got = train_mlp(device, move_at=move_at, flat=flat)
        assert_on(lib, model, opt)
        np.testing.assert_allclose(got, want, rtol=rtol, err_msg=f"moved at step {move_at}, flat={flat}")
        assert got[-1] < got[0]


def check_checkpoints(device, lib: str, tmp_path: Path, rtol=1e-12):
    """Model and optimizer checkpoints between host and `device`: saved from the device (host
    copies), loaded to the host or onto the device (`map_location`), into models on either; a
    run resumed from the checkpoint on the other side continues with the same losses."""
    _, _, whole = train_mlp(device, steps=6)
    model, opt, first = train_mlp(device, steps=3)
    np.testing.assert_allclose(first, whole[:3], rtol=rtol)
    path = tmp_path / "run.npz"
    nn.save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    weights = {k: _host(v) for k, v in model.state_dict().items()}

    on_host = nn.load(path)
    assert all(isinstance(_host(v), np.ndarray) and backend.library(getattr(v, "data", v)) == "numpy"
               for v in on_host["model"].values())
    there = nn.load(path, map_location=device)
    for k, v in there["model"].items():
        assert backend.library(getattr(v, "data", v)) == lib, k
        np.testing.assert_array_equal(_host(v), weights[k], err_msg=k)

    for saved, place in ((on_host, device), (there, None), (there, device), (on_host, None)):
        m = mlp(seed=1)
        if place is not None:
            m.to(place)
        o = nn.optim.Adam(m.parameters(), lr=0.05)
        m.load_state_dict(saved["model"])
        o.load_state_dict(saved["opt"])
        assert_on(lib if place is not None else "numpy", m, o)
        for k, v in m.state_dict().items():
            np.testing.assert_array_equal(_host(v), weights[k], err_msg=k)
        _, _, rest = train_mlp(place, steps=3, model=m, opt=o, start=3, move_at=3)
        np.testing.assert_allclose(rest, whole[3:], rtol=rtol, err_msg=f"resumed on {place}")


def check_device_mixing(make):
    """An op on a host Tensor and one on the other device raises, naming both devices; so
    does a gradient from the wrong device. `make(np_array)` gives the other library's array."""
    a = autograd.tensor(np.ones(3), requires_grad=True)
    b_data = make(np.ones(3))
    b = autograd.tensor(b_data, requires_grad=True)
    there = backend.device_name(b_data)
    layer = nn.Linear(3, 2, dtype=np.float64).to(b.device)
    w = autograd.tensor(np.ones((2, 3)))
    for fn in (lambda: a + b, lambda: b * a, lambda: b - np.ones(3), lambda: autograd.matmul(b, a),
               lambda: autograd.linear(b, w), lambda: layer(a), lambda: autograd.concatenate([b, a]),
               lambda: autograd.where(b > 0, b, a)):
        with pytest.raises((RuntimeError, TypeError, ValueError)) as err:
            fn()
        msg = str(err.value)
        assert "cpu" in msg and there in msg, msg
    with pytest.raises((RuntimeError, TypeError, ValueError)) as err:
        (b * 2.0).backward(np.ones(3))
    assert "cpu" in str(err.value) and there in str(err.value), str(err.value)


def _layers_model():
    autograd.manual_seed(3)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.GELU(), nn.LayerNorm(8), nn.Softplus(),
                         nn.Dropout(0.5), nn.Linear(8, 3)).double()


def _layers_run(model, x, y, t01, emb, idx):
    """Every loss on the model's output, summed; backward; clip the gradients."""
    z = model(x)
    loss = (F.cross_entropy(z, y) + F.mse_loss(z, t01) + F.l1_loss(z, t01) + F.huber_loss(z, t01)
            + F.binary_cross_entropy_with_logits(z, t01) + F.nll_loss(F.log_softmax(z, dim=1), y)
            + F.binary_cross_entropy(z.sigmoid(), t01) + (emb(idx) ** 2).mean())
    loss.backward()
    norm = nn.utils.clip_grad_norm_(list(model.parameters()) + list(emb.parameters()), 0.5)
    return loss, norm


def check_layers_and_extras(device, lib: str, rtol=1e-12, atol=1e-14):
    """Layers (batch norm with its running statistics, layer norm, GELU, softplus, dropout,
    embedding), every loss, gradient clipping, a scheduler on a device loss, autograd.functional
    and viz summaries: the same numbers on `device` as on the host, the arrays staying there."""
    results = {}
    for where in (None, device):
        model, emb = _layers_model(), nn.Embedding(6, 4, dtype=np.float64)
        data = [autograd.tensor(X[:16]), autograd.tensor(Y[:16]), autograd.tensor((X[:16, :3] > 0) * 1.0),
                None, autograd.tensor(np.array([[0, 5], [2, 2]]))]
        if where is not None:
            model.to(where)
            emb.to(where)
            data = [d if d is None else d.to(where) for d in data]
        data[3] = emb
        model.eval()  # (dropout off: the device draws other random numbers)
        loss, norm = _layers_run(model, *data)
        model.train()
        out = model(data[0])  # training mode: batch statistics, running stats updated, dropout
        assert backend.library(out.data) == (lib if where is not None else "numpy")
        for b in model.buffers():
            assert backend.library(b.data) == (lib if where is not None else "numpy")
        opt = nn.optim.SGD(model.parameters(), lr=0.1)
        sched = nn.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        for _ in range(3):
            sched.step(loss)  # a device scalar: read once per step
        x = autograd.tensor(np.array([0.3, -0.8, 1.1]))
        if where is not None:
            x = x.to(where)
        f = lambda v: (v.tanh() * v * v).sum()  # noqa: E731
        h = autograd.functional.hessian(f, x)
        j = autograd.functional.jacobian(lambda v: v.sin() * v, x)
        _, hv = autograd.functional.hvp(f, x, x)
        drawing = autograd.viz.draw(loss, params=model).source
        assert "float64" in drawing
        results[where is not None] = {
            "loss": loss, "norm": norm, "lr": opt.param_groups[0]["lr"], "hessian": h, "jacobian": j, "hvp": hv,
            **{f"grad {k}": p.grad for k, p in model.named_parameters()},
            **{f"buffer {k}": b for k, b in model.named_buffers()}, "embedding grad": emb.weight.grad,
        }
    host, there = results[False], results[True]
    for k, v in host.items():
        w = there[k]
        if isinstance(v, float):
            assert v == w, k
            continue
        assert backend.library(w.data) == lib, f"{k} is {type(w.data).__module__}"
        np.testing.assert_allclose(_host(w), _host(v), rtol=rtol, atol=atol, err_msg=k)


@needs_strict
@pytest.mark.parametrize("flat", [False, True], ids=["per-parameter", "flat"])
def test_mlp_trains_the_same_on_strict_arrays(flat):
    check_training(xs, "array_api_strict", flat=flat)


@needs_strict
def test_checkpoints_between_numpy_and_strict(tmp_path):
    check_checkpoints(xs, "array_api_strict", tmp_path)


@needs_strict
def test_layers_losses_and_extras_on_strict_arrays():
    check_layers_and_extras(xs, "array_api_strict")


@needs_strict
def test_in_place_changes_on_strict_arrays_match_numpy():
    """Writing into a strict-backed tensor (the optimizers' and users' idiom) gives numpy's
    values and, where recorded, numpy's gradients."""
    results = []
    for lib in ("numpy", xs):
        w = autograd.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        y = w.to(lib) * 2.0 if lib != "numpy" else w * 2.0
        y[0, 1] = 10.0
        y[:, [0, 2]] += 1.0
        y.mul_(3.0)
        y.clamp_(max=25.0)
        y.sum().backward()
        c = autograd.zeros(3, device=None if lib == "numpy" else lib)
        c.add_(autograd.ones(3, device=None if lib == "numpy" else lib)).sub_(0.5)
        c.zero_()
        results.append((y.numpy(), w.grad.numpy(), c.numpy()))
        if lib != "numpy":
            assert backend.library(y.data) == "array_api_strict" and backend.library(c.data) == "array_api_strict"
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@needs_strict
def test_numbers_beside_bool_and_integer_strict_arrays_promote_as_numpy():
    """The standard leaves a float beside a bool or integer array undefined; graphgrad casts
    as numpy does, so `(z > 0) * 1.0` is the same on every library."""
    for make in (lambda t: t, lambda t: t.to(xs)):
        z = make(autograd.tensor([-1.0, 2.0]))
        n = make(autograd.tensor([1, 2]))
        got = [(z > 0) * 1.0, 2.5 * (z > 0), n / 2.0, (z > 0) + 1]
        assert [backend.dtype_name(g.dtype) for g in got] == ["float64", "float64", "float64", "int64"]
        assert [g.tolist() for g in got] == [[0.0, 1.0], [0.0, 2.5], [0.5, 1.0], [1, 2]]
