"""autograd.compile: replays give eager's numbers bit for bit, and never a stale replay."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
import nn.functional as F

RNG = np.random.default_rng(0)
X = RNG.normal(size=(20, 3))
Y = RNG.normal(size=(20, 1))


def mlp(seed=0, dtype=np.float64, act=nn.Tanh):
    autograd.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8, dtype=dtype), act(), nn.Linear(8, 1, dtype=dtype))


def training_step(model, opt, loss=F.mse_loss):
    def step(x, y):
        opt.zero_grad()
        out = loss(model(x), y)
        out.backward()
        opt.step()
        return out

    return step


def same(a, b):
    a = a.data if isinstance(a, autograd.Tensor) else a
    b = b.data if isinstance(b, autograd.Tensor) else b
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), f"max difference {np.max(np.abs(a - b))}"


def twins(make_opt, seed=0, **kw):
    """Two identical models and optimizers: one stepped eagerly, one compiled."""
    pairs = []
    for _ in range(2):
        m = mlp(seed, **kw)
        pairs.append((m, make_opt(m.parameters())))
    return pairs


def test_training_step_replays_bit_for_bit():
    (m1, o1), (m2, o2) = twins(lambda ps: nn.optim.SGD(ps, lr=0.1))
    eager, compiled = training_step(m1, o1), autograd.compile(training_step(m2, o2))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for _ in range(5):
        same(eager(x, y), compiled(x, y))
        for p, q in zip(m1.parameters(), m2.parameters()):
            same(p, q)
            same(p.grad, q.grad)
    assert compiled.stats["replays"] >= 3


# --------------------------------------------------------------------------- every registry op
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from op_samples import CASE_IDS, CASES, draw_case, tensors_for  # noqa: E402

from autograd.node import apply  # noqa: E402


def _op_step(op, attrs, weights):
    def f(*ts):
        out = apply(op, *ts, **attrs)
        if out.requires_grad:
            (out * weights).sum().backward()
        return out

    return f


@pytest.mark.parametrize("case_key", CASES, ids=CASE_IDS)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_every_op_compiled_matches_eager(case_key, data):
    op, case = draw_case(data.draw, case_key)
    ref = tensors_for(case)
    out = apply(op, *ref, **case.attrs)
    weights = np.asarray(RNG.normal(size=out.shape), dtype=out.dtype)
    f = _op_step(op, case.attrs, weights)
    want_out = f(*ref)
    compiled = autograd.compile(f)
    for _ in range(3):  # the capture, then replays
        ts = tensors_for(case)
        got = compiled(*ts)
        same(got, want_out)
        for a, b in zip(ref, ts):
            if isinstance(a, autograd.Tensor) and a.grad is not None:
                same(a.grad, b.grad)
    assert compiled.stats["replays"] >= 1, compiled.stats


# --------------------------------------------------------------------------- layers, losses, optimizers
def run_steps(make_model, make_opt, loss_fn, x, y, n, compiled):
    """n training steps from seed 0 (models, dropout masks): per step the loss, and at the
    end every parameter, gradient, buffer and optimizer state array."""
    autograd.manual_seed(0)
    model = make_model()
    opt = make_opt(model.parameters())
    step = training_step(model, opt, loss_fn)
    if compiled:
        step = autograd.compile(step)
    autograd.manual_seed(1)
    losses = [step(x, y).data.copy() for _ in range(n)]
    state = [p.data for p in model.parameters()] + [p.grad.data for p in model.parameters()]
    state += [b.data for b in model.buffers()]
    for s in opt.state.values():
        state += [v for v in s.values()]
    return losses, state, step


def check_twins(*args, n=5):
    l1, s1, _ = run_steps(*args, n=n, compiled=False)
    l2, s2, c = run_steps(*args, n=n, compiled=True)
    assert c.stats["replays"] >= n - 2, c.stats
    for a, b in zip(l1, l2):
        same(a, b)
    assert len(s1) == len(s2)
    for a, b in zip(s1, s2):
        if isinstance(a, np.ndarray):
            same(a, b)
        else:
            assert a == b


def bn_dropout_mlp(dtype=np.float64):
    return nn.Sequential(nn.Linear(3, 8, dtype=dtype), nn.BatchNorm1d(8, dtype=dtype), nn.ReLU(),
                         nn.Dropout(0.3), nn.Linear(8, 1, dtype=dtype))


OPTIMIZERS = {
    "sgd": lambda ps: nn.optim.SGD(ps, lr=0.1),
    "sgd-momentum": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd-nesterov": lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda ps: nn.optim.Adam(ps, lr=0.01),
    "adam-amsgrad": lambda ps: nn.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda ps: nn.optim.AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: nn.optim.RMSprop(ps, lr=0.01),
    "rmsprop-centered": lambda ps: nn.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_optimizers_batchnorm_dropout_match_eager(name, dtype):
    x, y = autograd.tensor(X, dtype=dtype), autograd.tensor(Y, dtype=dtype)
    check_twins(lambda: bn_dropout_mlp(dtype), OPTIMIZERS[name], F.mse_loss, x, y)


LABELS = RNG.integers(0, 4, size=20)
LOSSES = {
    "cross_entropy": (4, lambda z, t: F.cross_entropy(z, t), LABELS),
    "cross_entropy-smooth": (4, lambda z, t: F.cross_entropy(z, t, label_smoothing=0.1), LABELS),
    "nll": (4, lambda z, t: F.nll_loss(F.log_softmax(z, dim=-1), t), LABELS),
    "bce_logits": (1, F.binary_cross_entropy_with_logits, (Y > 0).astype(np.float64)),
    "bce": (1, lambda z, t: F.binary_cross_entropy(autograd.sigmoid(z), t), (Y > 0).astype(np.float64)),
    "huber": (1, F.huber_loss, Y),
    "l1": (1, F.l1_loss, Y),
    "mse-sum": (1, lambda z, t: F.mse_loss(z, t, reduction="sum"), Y),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_match_eager(name):
    k, loss, target = LOSSES[name]

    def model():
        return nn.Sequential(nn.Linear(3, 6, dtype=np.float64), nn.GELU(approximate="tanh"),
                             nn.LayerNorm(6, dtype=np.float64), nn.LeakyReLU(0.1), nn.Linear(6, k, dtype=np.float64))

    check_twins(model, OPTIMIZERS["adam"], loss, autograd.tensor(X), target)


def test_more_layers_match_eager():
    idx = RNG.integers(0, 10, size=(20, 3))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4, dtype=np.float64)
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(12, 5, dtype=np.float64), nn.Softplus(),
                                      nn.Sigmoid(), nn.Linear(5, 1, dtype=np.float64))

        def forward(self, i):
            return self.body(self.emb(i))

    check_twins(Net, OPTIMIZERS["rmsprop"], F.mse_loss, autograd.tensor(idx), autograd.tensor(Y))


# --------------------------------------------------------------------------- guards
def test_a_new_shape_or_dtype_is_captured_anew_and_each_replays():
    f = autograd.compile(lambda x: (x * x).sum(axis=0))
    for shape, dtype in [((3, 2), np.float64), ((4, 2), np.float64), ((3, 2), np.float32)] * 3:
        a = RNG.normal(size=shape).astype(dtype)
        same(f(autograd.tensor(a)), (a * a).sum(axis=0))
    assert f.stats["captures"] == 3 and f.stats["replays"] == 6


def test_a_branch_on_a_tensor_value_is_a_guard_never_a_stale_replay():
    def g(x):
        s = (x * x).sum()
        if s.item() > 10:  # data-dependent control flow
            return s * 2
        return -s

    f = autograd.compile(g)
    for v in [1.0, 1.1, 3.0, 3.1, 1.2, 3.2, 0.5]:
        x = autograd.tensor(np.full(3, v))
        same(f(x), g(x))
    assert f.stats["captures"] == 2 and f.stats["misses"] >= 1  # one plan per branch


def test_values_that_keep_changing_a_branch_give_a_clear_error_or_eager_calls():
    def g(x):
        return x * float(x.sum())  # a Python number made from the values: baked, then guarded

    f = autograd.compile(g, max_captures=3)
    with pytest.raises(autograd.CompileError, match="captured 3 times"):
        for v in range(10):
            f(autograd.tensor(np.full(2, float(v))))
    f = autograd.compile(g, max_captures=2, fallback="eager")
    with pytest.warns(RuntimeWarning, match="eagerly"):
        for v in range(6):
            x = autograd.tensor(np.full(2, float(v)))
            same(f(x), g(x))


def test_parameters_replaced_or_changed_outside_are_seen():
    (m1, o1), (m2, o2) = twins(lambda ps: nn.optim.SGD(ps, lr=0.1, momentum=0.9))
    eager, compiled = training_step(m1, o1), autograd.compile(training_step(m2, o2))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for i in range(8):
        same(eager(x, y), compiled(x, y))
        if i == 3:  # replaced
            for m in (m1, m2):
                m[0].weight.data = np.full((8, 3), 0.25)
        if i == 5:  # changed in place
            for m in (m1, m2):
                m[2].bias.data[...] = 3.0
    for p, q in zip(m1.parameters(), m2.parameters()):
        same(p, q)
    assert compiled.stats["replays"] >= 5


def test_a_learning_rate_changed_outside_is_read_at_each_replay():
    (m1, o1), (m2, o2) = twins(lambda ps: nn.optim.Adam(ps, lr=0.1))
    s1, s2 = nn.optim.lr_scheduler.StepLR(o1, 1, gamma=0.5), nn.optim.lr_scheduler.StepLR(o2, 1, gamma=0.5)
    eager, compiled = training_step(m1, o1), autograd.compile(training_step(m2, o2))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for _ in range(6):
        same(eager(x, y), compiled(x, y))
        s1.step()
        s2.step()
    assert compiled.stats["captures"] == 2


def test_a_scheduler_stepped_inside_is_refused():
    m = mlp()
    opt = nn.optim.SGD(m.parameters(), lr=0.1)
    sched = nn.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    inner = training_step(m, opt)

    def step(x, y):
        loss = inner(x, y)
        sched.step()
        return loss

    f = autograd.compile(step)
    with pytest.raises(autograd.CompileError, match="scheduler"):
        for _ in range(3):
            f(autograd.tensor(X), autograd.tensor(Y))


def test_printing_hooks_and_anomaly_mode_are_refused_at_capture():
    x = autograd.tensor(X, requires_grad=True)

    def printing(x):
        y = x * 2
        print(y)
        return y

    def hooked(x):
        y = x * 2
        y.register_hook(lambda g: g * 3)
        y.sum().backward()
        return y

    def anomalous(x):
        with autograd.detect_anomaly():
            return x * 2

    for fn, what in [(printing, "print"), (hooked, "hook"), (anomalous, "anomaly")]:
        with pytest.raises(autograd.CompileError, match=what):
            autograd.compile(fn)(x)
    f = autograd.compile(lambda x: x * 2)
    with autograd.detect_anomaly():  # around the call: it runs eagerly
        same(f(x), x.data * 2)
    assert f.stats["captures"] == 0


def test_a_user_function_is_followed():
    class Cube(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.data ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x * x

    def g(x):
        y = Cube.apply(x).sum()
        y.backward()
        return y

    f = autograd.compile(g)
    for v in (1.0, 2.0, 3.0):
        a, b = autograd.tensor(np.full(3, v), requires_grad=True), autograd.tensor(np.full(3, v), requires_grad=True)
        same(g(a), f(b))
        same(a.grad, b.grad)
    assert f.stats["replays"] == 2


def test_replays_keep_memory_flat():
    import tracemalloc

    m = bn_dropout_mlp()
    opt = nn.optim.Adam(m.parameters(), lr=1e-3)
    f = autograd.compile(training_step(m, opt))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for _ in range(10):
        f(x, y)
    tracemalloc.start()
    for _ in range(100):
        f(x, y)
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(1000):
        f(x, y)
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert f.stats["replays"] >= 1100 and f.stats["captures"] == 2
    assert grown < 20_000, grown


def test_pytorch_promotion_of_float_with_int_is_kept():
    f = autograd.compile(lambda x, m: x * m)
    x, m = autograd.tensor(np.ones(3, np.float32)), autograd.tensor(np.array([1, 0, 2]))
    for _ in range(3):
        assert f(x, m).dtype == np.float32


# --------------------------------------------------------------------------- differentiated later
def test_a_compiled_loss_function_differentiates_like_eager():
    (m1, _), (m2, _) = twins(lambda ps: None)

    def loss(m):
        return lambda x, y: F.mse_loss(m(x), y)

    eager, compiled = loss(m1), autograd.compile(loss(m2))
    for i in range(4):
        x1 = autograd.tensor(X + i, requires_grad=True)
        x2 = autograd.tensor(X + i, requires_grad=True)
        a, b = eager(x1, autograd.tensor(Y)), compiled(x2, autograd.tensor(Y))
        same(a, b)
        assert b.requires_grad and b.grad_fn is not None
        (a * 3).backward()  # the output goes on into an eager graph
        (b * 3).backward()
        same(x1.grad, x2.grad)
        for p, q in zip(m1.parameters(), m2.parameters()):
            same(p.grad, q.grad)
    assert compiled.stats == {"captures": 1, "replays": 3, "misses": 0, "eager": 0}


def test_several_outputs_and_inference():
    m = mlp()

    def two(x):
        h = m(x)
        return h.sum(), (h * h).mean()

    f = autograd.compile(two)
    for _ in range(3):
        x = autograd.tensor(X)
        s, q = f(x)
        (s + q).backward()
    grads = [p.grad.data.copy() for p in m.parameters()]
    m.zero_grad()
    for _ in range(3):
        s, q = two(autograd.tensor(X))
        (s + q).backward()
    for g, p in zip(grads, m.parameters()):
        np.testing.assert_allclose(g, p.grad.data, rtol=1e-13)  # (summed per output, then together)
    infer = autograd.compile(m)
    with autograd.no_grad():
        for _ in range(3):
            out = infer(autograd.tensor(X))
            assert out.grad_fn is None
            same(out, m(autograd.tensor(X)))
    assert infer.stats["replays"] == 2


def test_double_backward_through_a_compiled_function_is_refused():
    f = autograd.compile(lambda x: (x * x).sum())
    x = autograd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(autograd.CompileError, match="create_graph"):
        autograd.grad(f(x), x, create_graph=True)


@pytest.mark.parametrize("name", ["sgd-momentum", "adam-amsgrad", "rmsprop-centered"])
def test_flat_optimizers_compile_to_the_same_numbers(name):
    def make_flat(ps):
        ps = list(ps)
        opt = OPTIMIZERS[name](ps)
        return type(opt)(ps, **{k: v for k, v in opt.defaults.items()}, flat=True)

    x, y = autograd.tensor(X), autograd.tensor(Y)
    check_twins(bn_dropout_mlp, make_flat, F.mse_loss, x, y)
    l1, s1, _ = run_steps(bn_dropout_mlp, OPTIMIZERS[name], F.mse_loss, x, y, n=5, compiled=False)
    l2, s2, _ = run_steps(bn_dropout_mlp, make_flat, F.mse_loss, x, y, n=5, compiled=True)
    for a, b in zip(l1 + s1[:10], l2 + s2[:10]):  # flat and compiled = per-parameter and eager
        same(a, b)


def test_flat_parameters_replaced_between_replays_are_seen():
    (m1, o1), (m2, o2) = twins(lambda ps: nn.optim.Adam(ps, lr=0.01, flat=True))
    eager, compiled = training_step(m1, o1), autograd.compile(training_step(m2, o2))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for i in range(7):
        same(eager(x, y), compiled(x, y))
        if i == 3:
            for m in (m1, m2):
                m[0].weight.data = np.full((8, 3), 0.5)
    for p, q in zip(m1.parameters(), m2.parameters()):
        same(p, q)


def test_a_plan_is_drawn_and_shown():
    (m, o), _ = twins(lambda ps: nn.optim.Adam(ps, lr=0.01))
    f = autograd.compile(training_step(m, o))
    x, y = autograd.tensor(X), autograd.tensor(Y)
    for _ in range(3):
        f(x, y)
    plan = f.last_plan
    assert "def replay" in f.source() and len(plan.kernels()) == len(plan.steps)
    src = f.draw().source
    for what in ("matmul", "tanh", "#dbe9f6", "#fde2cf", "#dff0d8", "writes"):  # phases, state written
        assert what in src, what
    g = plan.graph()
    assert {n["phase"] for n in g["nodes"]} >= {"forward", "backward", "update"}


def test_an_error_inside_leaves_everything_plain_and_a_method_compiles():
    m = mlp()

    def bad(x):
        m(x)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        autograd.compile(bad)(autograd.tensor(X))
    assert all(type(p.data) is np.ndarray for p in m.parameters())
    assert type(np.asarray) is type(np.zeros) and np.asarray.__module__ == "numpy"

    class Trainer:
        def __init__(self):
            self.model = mlp()
            self.opt = nn.optim.SGD(self.model.parameters(), lr=0.1)

        @autograd.compile
        def step(self, x, y):
            return training_step(self.model, self.opt)(x, y)

    t, ref = Trainer(), training_step(*twins(lambda ps: nn.optim.SGD(ps, lr=0.1))[0])
    for _ in range(4):
        same(t.step(autograd.tensor(X), autograd.tensor(Y)), ref(autograd.tensor(X), autograd.tensor(Y)))
    assert t.step.stats["replays"] == 2


def test_a_branch_on_state_the_function_changed_is_refused():
    m = mlp()
    opt = nn.optim.SGD(m.parameters(), lr=0.1)
    inner = training_step(m, opt)

    def step(x, y):
        loss = inner(x, y)
        return loss * 2 if m[0].bias.data.sum() > 0 else loss  # reads what opt.step() just changed

    f = autograd.compile(step)
    with pytest.raises(autograd.CompileError, match="changes state"):
        for _ in range(3):  # (the first capture makes the optimizer's state; the second is refused)
            f(autograd.tensor(X), autograd.tensor(Y))


def test_keyword_arguments_and_a_float_argument_are_read_at_each_call():
    def g(x, *, scale):
        return (x * scale).sum()

    f = autograd.compile(g)
    for s in (0.5, 2.0, -1.0):
        x = autograd.tensor(X)
        same(f(x, scale=s), g(x, scale=s))
    assert f.stats["captures"] == 1 and f.stats["replays"] == 2


def test_a_model_passed_as_an_argument_or_reached_indirectly_is_found():
    m, ref = mlp(), mlp()
    opt = nn.optim.SGD(m.parameters(), lr=0.1)
    ref_step = training_step(ref, nn.optim.SGD(ref.parameters(), lr=0.1))
    models = [None] * 100 + [m]  # (too long a list for discovery to walk)

    def step(model, x, y):  # the model as an argument
        return training_step(model, opt)(x, y)

    def hidden(x, y):  # reached only through a function stored in a dict: met while running
        return models[-1](x).sum()

    f = autograd.compile(step)
    for _ in range(4):
        same(f(m, autograd.tensor(X), autograd.tensor(Y)), ref_step(autograd.tensor(X), autograd.tensor(Y)))
    assert f.stats["replays"] == 2
    h = autograd.compile(hidden)
    with autograd.no_grad():
        for _ in range(4):
            same(h(autograd.tensor(X), None), m(autograd.tensor(X)).sum())
    assert h.stats["replays"] >= 2
