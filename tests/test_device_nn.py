"""`nn` on another array library than numpy (issue 14): models moved with `Module.to`, trained
with every optimizer (state on the device, flat buffers too), schedulers and clipping, losses,
BatchNorm's running statistics, DataLoader(device=), checkpoints between devices, drawings,
and the physics demo's training loop.

On every machine the second library is array-api-strict, which has nothing but the array API:
a numpy-only call anywhere in `nn` fails here as it would on CuPy. Each result is compared with
the same run on numpy in float64 (strict runs numpy underneath: the numbers agree to the last
bit; on a GPU, to rounding). With CuPy and a GPU the same tests run on "cuda" too (marked gpu).
"""

from __future__ import annotations

import os

import array_api_strict
import numpy as np
import pytest

import autograd
import nn
import nn.functional as F
from autograd import backend, viz

CUDA = pytest.param("cuda", id="cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not autograd.cuda.is_available(), reason="needs CuPy and a CUDA device")])
DEVICES = [pytest.param(array_api_strict, id="array_api_strict"), CUDA]
LIBRARY = {"cuda": "cupy"}


def library(device) -> str:
    return LIBRARY.get(device, getattr(device, "__name__", None))


def on(device, t) -> bool:
    """Whether the Tensor (or array) lives in `device`'s library."""
    return backend.library(t.data if isinstance(t, autograd.Tensor) else t) == library(device)


def host(t) -> np.ndarray:
    return backend.to_numpy(t.data if isinstance(t, autograd.Tensor) else t)


def close(a, b, rtol=1e-12, atol=1e-13):
    np.testing.assert_allclose(host(a), host(b), rtol=rtol, atol=atol)


def mlp(dropout: float = 0.0) -> nn.Sequential:
    autograd.manual_seed(0)
    layers = [nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(16, 3)).double()


DATA = np.random.default_rng(1).normal(size=(48, 5))
LABELS = np.random.default_rng(2).integers(0, 3, size=48)

OPTIMIZERS = {
    "adam": lambda ps: nn.optim.Adam(ps, lr=1e-2),
    "adam_flat": lambda ps: nn.optim.Adam(ps, lr=1e-2, flat=True),
    "adam_amsgrad_l2": lambda ps: nn.optim.Adam(ps, lr=1e-2, amsgrad=True, weight_decay=1e-2),
    "adamw": lambda ps: nn.optim.AdamW(ps, lr=1e-2),
    "sgd_momentum": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9),
    "sgd_momentum_flat": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9, flat=True),
    "sgd_nesterov_damped": lambda ps: nn.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "rmsprop_centered": lambda ps: nn.optim.RMSprop(ps, lr=1e-2, centered=True, momentum=0.5, weight_decay=1e-3),
}


def train(device, make_opt, steps: int = 6, *, move_after: int = 0, dropout: float = 0.0, clip: bool = False):
    """Train the MLP on numpy (device None), or on `device`: moved after `move_after` steps
    (0: before the first), the optimizer made on the host before the move either way."""
    model = mlp(dropout)
    opt = make_opt(model.parameters())
    sched = nn.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    losses = []
    for step in range(steps):
        if device is not None and step == move_after:
            model.to(device)
        here = device if device is not None and step >= move_after else None
        rows = np.arange(step * 8, step * 8 + 8) % len(DATA)
        x = autograd.tensor(DATA[rows], device=here)
        y = autograd.tensor(LABELS[rows], device=here)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            nn.utils.clip_grad_value_(model.parameters(), 0.05)
        opt.step()
        sched.step()
        losses.append(loss.item())
    return model, opt, losses


# ---------------------------------------------------------------- Module.to
@pytest.mark.parametrize("device", DEVICES)
def test_module_to_moves_parameters_buffers_and_gradients_in_place(device):
    model = mlp()
    params = list(model.parameters())
    model(autograd.tensor(DATA[:4])).sum().backward()
    grads = [host(p.grad).copy() for p in params]
    values = [host(p).copy() for p in params] + [host(b).copy() for b in model.buffers()]
    assert model.to(device) is model
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]  # the same Parameters
    assert all(on(device, t) for t in [*model.parameters(), *model.buffers()])
    assert all(on(device, p.grad) for p in params)
    for p, g in zip(params, grads):
        close(p.grad, g, 0, 0)
    for t, v in zip([*model.parameters(), *model.buffers()], values):
        close(t, v, 0, 0)
    assert str(params[0].device) != "cpu"
    model.cpu()
    assert all(isinstance(t.data, np.ndarray) for t in [*model.parameters(), *model.buffers()])
    for t, v in zip([*model.parameters(), *model.buffers()], values):
        close(t, v, 0, 0)


def test_module_to_takes_a_device_and_a_dtype_together():
    model = mlp().float()
    model.to(array_api_strict, autograd.float64)
    w = model[0].weight
    assert on(array_api_strict, w) and backend.dtype_name(w.dtype) == "float64"
    assert backend.dtype_name(model[1].num_batches_tracked.dtype) == "int64"  # integers keep theirs
    model.to("array_api_strict:CPU_DEVICE")  # the name a Tensor's .device gives works too
    assert on(array_api_strict, w)
    model.float()
    assert backend.dtype_name(w.dtype) == "float32" and on(array_api_strict, w)


@pytest.mark.skipif(autograd.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_module_to_cuda_without_cuda_says_so_and_moves_nothing():
    model = mlp()
    before = [p.data for p in model.parameters()]
    for call in (lambda: model.to("cuda"), model.cuda, lambda: model.cuda(1)):
        with pytest.raises(RuntimeError, match=r"device 'cuda(:1)?' is not available.*CuPy"):
            call()
    assert all(p.data is d for p, d in zip(model.parameters(), before))
    with pytest.raises(RuntimeError, match="not available"):
        nn.data.DataLoader(DATA, batch_size=4, device="cuda")
    with pytest.raises(RuntimeError, match="unknown device"):
        model.to("tpu:0")


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("device", DEVICES)
def test_training_on_the_device_gives_the_numpy_parameters(device, name):
    ref, ref_opt, ref_losses = train(None, OPTIMIZERS[name])
    model, opt, losses = train(device, OPTIMIZERS[name])
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):
        assert on(device, p)
        close(p, q)
    for b, c in zip(model.buffers(), ref.buffers()):  # BatchNorm's running statistics, on the device
        assert on(device, b)
        close(b, c)
    for p in model.parameters():  # the optimizer's state lives with its parameter
        for v in opt.state[p].values():
            assert not backend.is_array(v) or on(device, v)


@pytest.mark.parametrize("name", ["adam", "adam_flat", "sgd_momentum_flat", "rmsprop_centered"])
def test_state_follows_parameters_moved_after_some_steps(name):
    ref, _, ref_losses = train(None, OPTIMIZERS[name], steps=7)
    model, opt, losses = train(array_api_strict, OPTIMIZERS[name], steps=7, move_after=3)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):
        close(p, q)
        assert all(on(array_api_strict, v) for v in opt.state[p].values() if backend.is_array(v))
        assert on(array_api_strict, p.grad)


def test_dropout_init_and_clipping_give_the_numpy_numbers():
    ref, _, ref_losses = train(None, OPTIMIZERS["adam"], dropout=0.3, clip=True)
    model, _, losses = train(array_api_strict, OPTIMIZERS["adam"], dropout=0.3, clip=True)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):
        close(p, q)
    p = nn.Parameter(array_api_strict.zeros((3, 4), dtype=array_api_strict.float32))
    q = nn.Parameter(np.zeros((3, 4), dtype=np.float32))
    for init in (nn.init.xavier_uniform_, nn.init.kaiming_normal_, nn.init.ones_):
        autograd.manual_seed(5)
        init(p)
        autograd.manual_seed(5)
        init(q)
        assert on(array_api_strict, p)
        close(p, q, 0, 0)


def test_clipping_returns_the_norm_on_the_device():
    p = nn.Parameter(array_api_strict.zeros(2, dtype=array_api_strict.float64))
    p.grad = autograd.tensor(array_api_strict.asarray([3.0, 4.0], dtype=array_api_strict.float64))
    norm = nn.utils.clip_grad_norm_([p], 1.0)
    assert on(array_api_strict, norm) and norm.item() == 5.0
    close(p.grad, [0.6, 0.8], rtol=1e-6)  # (max_norm / (norm + 1e-6), as torch)
    assert nn.utils.clip_grad_norm_([p], 1.0, norm_type=float("inf")).item() == pytest.approx(0.8)


def test_optimizer_state_dict_round_trips_between_devices():
    model, opt, _ = train(array_api_strict, OPTIMIZERS["adam"], steps=3)
    sd = opt.state_dict()
    assert all(on(array_api_strict, v) for s in sd["state"].values() for v in s.values() if backend.is_array(v))
    cpu = mlp()
    cpu_opt = nn.optim.Adam(cpu.parameters(), lr=1e-2)
    cpu_opt.load_state_dict(sd)  # onto the numpy parameters
    for s in cpu_opt.state.values():
        assert all(isinstance(v, np.ndarray) for v in s.values() if backend.is_array(v))
    back = nn.optim.Adam(model.parameters(), lr=1e-2, flat=True)
    back.load_state_dict(cpu_opt.state_dict())  # and back onto the device, into flat buffers
    for p in model.parameters():
        for k, v in back.state[p].items():
            if backend.is_array(v):
                assert on(array_api_strict, v)
                close(v, opt.state[p][k], 0, 0)


# ---------------------------------------------------------------- losses and layers
def _both(fn, *arrays):
    """fn on numpy Tensors and on strict ones: (numpy value, strict value, numpy grads, strict grads)."""
    out = []
    for dev in (None, array_api_strict):
        ts = [autograd.tensor(a, requires_grad=np.asarray(a).dtype.kind == "f", device=dev) for a in arrays]
        y = fn(*ts)
        y.sum().backward()
        out.append((y, [t.grad for t in ts if t.requires_grad]))
    (a, ga), (b, gb) = out
    assert on(array_api_strict, b)
    close(b, a)
    for g, h in zip(gb, ga):
        assert on(array_api_strict, g)
        close(g, h)


Z = np.random.default_rng(3).normal(size=(6, 4))
T = np.array([0, 3, 1, -100, 2, 3])
W = np.array([1.0, 2.0, 0.5, 1.0])


def like_z(a, z):
    """A constant Tensor in z's library (numpy arrays are not moved silently)."""
    return autograd.tensor(a).to(backend.namespace(z.data))


@pytest.mark.parametrize("case", [
    lambda z, t: F.cross_entropy(z, t),
    lambda z, t: F.cross_entropy(z, t, weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.1),
    lambda z, t: F.cross_entropy(z, t, reduction="none"),
    lambda z, t: F.cross_entropy(z, t, reduction="sum", weight=like_z(W, z)),
    lambda z, t: F.nll_loss(F.log_softmax(z), t),
    lambda z, t: F.nll_loss(F.log_softmax(z), t, weight=[1.0, 2.0, 0.5, 1.0], reduction="sum"),
    lambda z, t: F.cross_entropy(z, F.softmax(z * 0.5).detach()),
    lambda z, t: F.mse_loss(z, z.detach() * 0.5),
    lambda z, t: F.l1_loss(z, [[0.5] * 4] * 6),
    lambda z, t: F.huber_loss(z, z.detach() * 0.1, delta=0.5),
    lambda z, t: F.binary_cross_entropy_with_logits(z, F.sigmoid(z.detach()), pos_weight=[1.0, 2.0, 3.0, 4.0]),
    lambda z, t: F.binary_cross_entropy(F.sigmoid(z), F.sigmoid(z.detach() * 0.3)),
], ids=["ce", "ce_weight_smooth", "ce_none", "ce_sum_weight", "nll", "nll_weight_sum", "ce_probabilities", "mse",
        "l1_list", "huber", "bce_logits_pos_weight", "bce"])
def test_losses_on_the_device(case):
    _both(case, Z, T)


def test_loss_errors_read_back_from_the_device():
    z = autograd.tensor(Z, device=array_api_strict)
    with pytest.raises(IndexError, match="target 7 is out of bounds for 4 classes"):
        F.cross_entropy(z, autograd.tensor(np.array([0, 1, 7, 0, 0, 0]), device=array_api_strict))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        F.binary_cross_entropy(z, z.detach())
    with pytest.raises(RuntimeError, match="weight is on cpu but the input is on array_api_strict"):
        F.cross_entropy(z, autograd.tensor(T, device=array_api_strict), weight=W)  # a numpy array: not moved
    with pytest.raises(RuntimeError, match="target is on cpu but the input is on array_api_strict"):
        F.nll_loss(z, T)


def test_layers_on_the_device():
    autograd.manual_seed(0)
    emb = nn.Embedding(10, 3).double()
    ref = nn.Embedding(10, 3).double()
    ref.load_state_dict(emb.state_dict())
    emb.to(array_api_strict)
    idx = np.array([[1, 2, 2], [9, 0, 1]])
    a, b = ref(idx), emb(autograd.tensor(idx, device=array_api_strict))
    close(b, a, 0, 0)
    b.sum().backward()
    a.sum().backward()
    close(emb.weight.grad, ref.weight.grad, 0, 0)
    with pytest.raises(IndexError, match="out of range"):
        emb(autograd.tensor(np.array([10]), device=array_api_strict))
    for layer in (lambda: nn.LayerNorm(4), lambda: nn.BatchNorm1d(4)):
        _both(lambda z, t, make=layer: make().double().to(backend.namespace(z.data))(z), Z, T)
    bn = nn.BatchNorm1d(4).double().to(array_api_strict)
    bn_ref = nn.BatchNorm1d(4).double()
    for m in (bn, bn_ref):
        m(autograd.tensor(Z, device=None if m is bn_ref else array_api_strict))
        m.eval()
    close(bn(autograd.tensor(Z, device=array_api_strict)), bn_ref(autograd.tensor(Z)))
    assert int(bn.num_batches_tracked.item()) == 1 and on(array_api_strict, bn.running_var)


# ---------------------------------------------------------------- data
def test_dataloader_moves_each_batch_to_the_device():
    gen = lambda: np.random.default_rng(7)  # noqa: E731
    ref = list(nn.data.DataLoader((DATA, LABELS), batch_size=10, shuffle=True, generator=gen()))
    got = list(nn.data.DataLoader((DATA, LABELS), batch_size=10, shuffle=True, generator=gen(),
                                  device=array_api_strict))
    assert len(got) == len(ref) == 5
    for (x, y), (xr, yr) in zip(got, ref):
        assert on(array_api_strict, x) and on(array_api_strict, y)
        close(x, xr, 0, 0)
        close(y, yr, 0, 0)
    # a dataset of device arrays is batched where it is, and a Subset of it too
    xs = array_api_strict.asarray(DATA)
    ds = nn.data.TensorDataset(xs, autograd.tensor(LABELS, device=array_api_strict))
    sub = nn.data.Subset(ds, [3, 1, 4])
    (b, c), = nn.data.DataLoader(sub, batch_size=3)
    assert on(array_api_strict, b) and on(array_api_strict, c)
    close(b, DATA[[3, 1, 4]], 0, 0)
    x0, y0 = ds[2]
    assert on(array_api_strict, x0) and int(y0.item()) == LABELS[2]

    class Pairs(nn.data.Dataset):  # a map-style dataset: examples collated, then moved
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return DATA[i], float(i)

    (x, i), = nn.data.DataLoader(Pairs(), batch_size=4, device=array_api_strict)
    assert on(array_api_strict, x) and on(array_api_strict, i)
    close(i, [0.0, 1.0, 2.0, 3.0], 0, 0)


# ---------------------------------------------------------------- checkpoints
def test_checkpoints_between_devices(tmp_path):
    path = os.path.join(tmp_path, "m.npz")
    model, _, _ = train(array_api_strict, OPTIMIZERS["adam"], steps=3)
    nn.save(model.state_dict(), path)  # from the device: a host copy is written
    loaded = nn.load(path)
    assert all(isinstance(v.data, np.ndarray) for v in loaded.values())
    cpu = mlp()
    cpu.load_state_dict(loaded)
    for p, q in zip(cpu.parameters(), model.parameters()):
        close(p, q, 0, 0)
    on_device = nn.load(path, map_location=array_api_strict)
    assert all(on(array_api_strict, v) for v in on_device.values())
    # and back: a numpy checkpoint into a model on the device keeps it there (same Parameters)
    cpu_path = os.path.join(tmp_path, "cpu.npz")
    fresh = mlp()
    nn.save(fresh.state_dict(), cpu_path)
    params = list(model.parameters())
    model.load_state_dict(nn.load(cpu_path))
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    for p, q in zip(model.parameters(), fresh.parameters()):
        assert on(array_api_strict, p)
        close(p, q, 0, 0)
    assert all(on(array_api_strict, b) for b in model.buffers())
    if not autograd.cuda.is_available():
        with pytest.raises(RuntimeError, match="not available"):
            nn.load(path, map_location="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not autograd.cuda.is_available(), reason="needs CuPy and a CUDA device")
def test_checkpoint_round_trip_through_the_gpu(tmp_path):
    path = os.path.join(tmp_path, "m.npz")
    model, _, _ = train("cuda", OPTIMIZERS["adam"], steps=3)
    nn.save(model.state_dict(), path)
    cpu = mlp()
    cpu.load_state_dict(nn.load(path))
    for p, q in zip(cpu.parameters(), model.parameters()):
        close(p, q, 0, 0)
    gpu = mlp().cuda()
    gpu.load_state_dict(nn.load(path, map_location="cuda"))
    assert all(on("cuda", p) for p in gpu.parameters())


# ---------------------------------------------------------------- drawings
def test_drawings_of_a_device_graph_read_the_values_back():
    sources = []
    for dev in (None, array_api_strict):
        model = mlp()
        if dev is not None:
            model.to(dev)
        x = autograd.tensor(DATA[:6], name="x", device=dev)
        loss = F.cross_entropy(model(x), autograd.tensor(LABELS[:6], device=dev))
        with viz.record_grads():
            loss.backward()
        sources.append([viz.draw(loss, params=model, kind=k).source for k in ("forward", "backward")])
        page = viz.interactive(loss, params=model)
        assert page is not None
    assert "grad norm" in sources[1][0] and "data mean" in sources[1][0]
    assert sources[1] == sources[0]  # the same picture, values and gradients included


# ---------------------------------------------------------------- the physics demo
def test_physics_training_loop_on_the_device():
    from graphgrad_physics import training

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5))
    y = (x[:, :1] > 0).astype(np.float64)
    runs = []
    for device in ("cpu", "array_api_strict:CPU_DEVICE"):
        autograd.manual_seed(0)
        model = training.mlp(5, (8,), 1, dropout=0.1)
        history = training.fit(
            model, F.binary_cross_entropy_with_logits, x, y,
            lambda m: {"loss": float(np.mean((training.predict(m, x[:40]) - y[:40]) ** 2))},
            select="loss", higher_is_better=False, epochs=3, batch_size=32, lr=1e-2, weight_decay=1e-4,
            patience=5, seed=0, task="t", verbose=False, device=device)
        runs.append((model, history))
    (cpu, h_cpu), (dev, h_dev) = runs
    assert on(array_api_strict, dev[0].weight) and training.device_of(dev) != "cpu"
    assert [e["loss"] for e in h_dev.epochs] == pytest.approx([e["loss"] for e in h_cpu.epochs], rel=1e-6)
    out = training.predict(dev, x[:5])
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(out, training.predict(cpu, x[:5]), rtol=1e-5)


@pytest.mark.skipif(autograd.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_demo_device_cuda_without_cuda_is_one_line_and_exit_code_2(tmp_path, capsys):
    from graphgrad_physics import cli

    out = tmp_path / "report"
    assert cli.main(["--out", str(out), "--device", "cuda", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "not available" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    with pytest.raises(SystemExit):
        cli.main(["--out", str(out), "--device", "gpu"])
