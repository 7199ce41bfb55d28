"""graphgrad on an NVIDIA GPU through CuPy (issue 14), against the same work on numpy.

The checks of tests/test_array_api.py with CuPy arrays on the CUDA device: every registry op
(forward, gradient, second order, in float64; no op is exempt here), an MLP trained to the
same losses (moved before the first step or in the middle, per-parameter and flat Adam),
layers, losses, clipping, schedulers, autograd.functional and viz, checkpoints between host
and device, and the device-mixing error. Then what only the GPU has: the Tensor device API,
and the float32 784-512-512-10 step of benchmarks/bench_gpu.py against the host.

The GPU computes in another order (its own matmul, reductions, exp): values agree to 1e-9
relative in float64, not bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from op_samples import CASE_IDS, CASES, draw_case
from test_array_api import (
    EXAMPLES,
    check_case,
    check_checkpoints,
    check_device_mixing,
    check_layers_and_extras,
    check_training,
    mlp,
    train_mlp,
)

import autograd
import nn
import nn.functional as F
from autograd import backend

pytestmark = pytest.mark.gpu
RTOL, ATOL = 1e-9, 1e-11


@pytest.mark.parametrize("case_key", CASES, ids=CASE_IDS)
@settings(max_examples=EXAMPLES, phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(data=st.data())
def test_op_on_the_gpu(target, case_key, data):
    op, case = draw_case(data.draw, case_key)
    check_case(op, case, target.array, target.lib, target.device, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("flat", [False, True], ids=["per-parameter", "flat"])
def test_mlp_trains_to_the_same_losses(target, flat):
    check_training(target.device, target.lib, rtol=RTOL, flat=flat)


def test_layers_losses_and_extras(target):
    check_layers_and_extras(target.device, target.lib, rtol=RTOL, atol=ATOL)


def test_checkpoints_between_host_and_gpu(target, tmp_path):
    check_checkpoints(target.device, target.lib, tmp_path, rtol=RTOL)


def test_mixing_devices_names_both(target):
    check_device_mixing(target.array)


def test_module_to_keeps_parameters_and_optimizer(target):
    model = mlp()
    params = list(model.parameters())
    opt = nn.optim.Adam(model.parameters(), lr=0.05)
    model, opt, losses = train_mlp(target.device, steps=4, move_at=2, model=model, opt=opt)
    assert [p for p in model.parameters()] == params and opt.param_groups[0]["params"] == params
    for p in params:
        assert backend.library(p.data) == target.lib
        assert all(not backend.is_array(v) or backend.library(v) == target.lib for v in opt.state[p].values())
    model.to("cpu")  # and back: the optimizer follows again
    _, _, more = train_mlp(None, steps=2, model=model, opt=opt, start=4)
    _, _, want = train_mlp(None, steps=6)
    np.testing.assert_allclose(losses + more, want, rtol=RTOL)
    assert all(isinstance(p.data, np.ndarray) for p in params)


# --------------------------------------------------------------------------- CuPy only
def test_tensor_device_api(cupy_only):
    cp = cupy_only
    assert autograd.cuda.is_available()
    v = np.array([[1.0, -2.0], [0.5, 3.0]])
    t = autograd.tensor(v, device="cuda", requires_grad=True)
    assert isinstance(t.data, cp.ndarray) and t.device == "cuda:0" and t.is_cuda
    assert t.dtype == np.float64 or backend.dtype_name(t.dtype) == "float64"
    host = t.cpu()
    assert isinstance(host.data, np.ndarray) and host.device == "cpu"
    np.testing.assert_array_equal(t.numpy(), v)
    np.testing.assert_array_equal(host.cuda().numpy(), v)
    assert t.to("cpu").device == "cpu" and host.to("cuda").device == "cuda:0"
    assert backend.dtype_name(t.to(np.float32).dtype) == "float32" and t.to(np.float32).is_cuda
    with pytest.raises(TypeError):
        np.asarray(t)  # as PyTorch: no silent copy to the host
    y = (t.cpu() * 3.0).cuda().exp().sum()  # the gradient goes back through both moves
    y.backward()
    assert isinstance(t.grad.data, cp.ndarray)
    np.testing.assert_allclose(t.grad.numpy(), 3.0 * np.exp(3.0 * v), rtol=1e-12)
    assert autograd.tensor(cp.asarray(v)).is_cuda  # a CuPy array makes a GPU tensor
    assert "cuda" in repr(t)


def _big_mlp_losses(device, steps=3, batch=256):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    autograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    xt, yt = autograd.tensor(x), autograd.tensor(y)
    if device is not None:
        model.to(device)
        xt, yt = xt.to(device), yt.to(device)
    opt = nn.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


def test_float32_benchmark_step_matches_the_host(target):
    model, got = _big_mlp_losses(target.device)
    _, want = _big_mlp_losses(None)
    for p in model.parameters():
        assert backend.library(p.data) == target.lib and backend.dtype_name(p.dtype) == "float32"
    np.testing.assert_allclose(got, want, rtol=1e-4)  # float32, summed in another order
