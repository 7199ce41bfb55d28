"""autograd.compile against hand-written numpy, eager graphgrad and (when installed) JAX's jit,
in the same process, rounds interleaved so that the ratios share the machine's weather.

1. MLP 2-16-16-1, tanh, 100 points, float64, MSE + SGD: one full training step.
   Target: compiled <= 1.2x the hand-written numpy.
2. MLP 784-512-512-10, ReLU, batch 256, float32, cross-entropy + Adam: one training step.
   Target: compiled <= 1.0x the hand-written numpy.
3. A chain of 1,000 elementwise ops (mul, add, tanh) on float64 (4,), forward and backward,
   time per op. Target: compiled <= 1.5x numpy.
4. The flat buffer alone (no compile): one Adam step over 200 parameters of 64 float32 each,
   per parameter against `flat=True`.

Every compiled step is checked first to give the eager step's numbers bit for bit. JAX is not
a dependency: run this file with a Python that has `jax` (and PYTHONPATH at the repository)
to add its column. Set BENCH_QUICK=1 for a short run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
import bench_mlp as M  # noqa: E402
from timing import fmt_time  # noqa: E402

import autograd  # noqa: E402
import nn  # noqa: E402
import nn.functional as F  # noqa: E402

QUICK = bool(os.environ.get("BENCH_QUICK"))
ROUNDS = 5 if QUICK else 15


def try_jax():
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        return jax
    except Exception:
        return None


def interleaved(impls: dict, budget: float) -> dict:
    """Median seconds per call of each implementation; rounds alternate between them."""
    number = {}
    for name, fn in impls.items():
        fn()
        t0 = time.perf_counter()
        fn()
        number[name] = max(1, int(budget / ROUNDS / max(time.perf_counter() - t0, 1e-7)))
    times = {name: [] for name in impls}
    for _ in range(ROUNDS):
        for name, fn in impls.items():
            n = number[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t0) / n)
    return {name: statistics.median(ts) for name, ts in times.items()}


def table(title: str, times: dict, ref: str, target: str, per: int = 1) -> None:
    print(f"\n## {title}\n")
    print(f"| implementation | time{' per op' if per > 1 else ''} | / {ref} |")
    print("|---|---|---|")
    for name, t in times.items():
        print(f"| {name} | {fmt_time(t / per)} | {t / times[ref]:.2f}x |")
    print(f"\ntarget: {target}")


def check_same(a, b, what: str) -> None:
    a = a.data if isinstance(a, autograd.Tensor) else a
    b = b.data if isinstance(b, autograd.Tensor) else b
    if not np.array_equal(a, b):
        raise SystemExit(f"{what}: compiled and eager differ")


# ----------------------------------------------------------------------------- 1. small MLP
def training_step(model, opt, loss_fn, x, y):
    """One step of `model` on (x, y) with `opt`, as a function for timing (returns the loss)."""
    x = autograd.tensor(x)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def small(jax):
    model, eager = M.ours_small()
    ref = M.numpy_small([p.data for p in model.parameters()])
    twin, step = M.ours_small()
    compiled = autograd.compile(step)
    for _ in range(4):
        check_same(eager(), compiled(), "small MLP")
    for p, q in zip(model.parameters(), twin.parameters()):
        check_same(p, q, "small MLP parameters")

    autograd.manual_seed(0)
    flat_model = nn.Sequential(nn.Linear(2, 16, dtype=np.float64), nn.Tanh(), nn.Linear(16, 16, dtype=np.float64),
                               nn.Tanh(), nn.Linear(16, 1, dtype=np.float64))
    flat_step = training_step(flat_model, nn.optim.SGD(flat_model.parameters(), lr=0.05, flat=True),
                              F.mse_loss, M.X2, M.Y2)
    impls = {"numpy (hand-written)": ref, "graphgrad eager": eager, "graphgrad compiled": compiled,
             "graphgrad compiled, flat SGD": autograd.compile(flat_step)}
    if jax is not None:
        impls["JAX jit"] = jax_small(jax, [p.data for p in twin.parameters()])
    table("MLP 2-16-16-1, 100 points, float64, MSE + SGD: one training step",
          interleaved(impls, 0.3 if QUICK else 1.0), "numpy (hand-written)", "compiled <= 1.2x numpy")


def jax_small(jax, params, lr=0.05):
    jnp = jax.numpy
    x, y = jnp.asarray(M.X2), jnp.asarray(M.Y2)
    ps = [jnp.asarray(p) for p in params]

    def loss(ps):
        W1, b1, W2, b2, W3, b3 = ps
        a1 = jnp.tanh(x @ W1.T + b1)
        a2 = jnp.tanh(a1 @ W2.T + b2)
        return jnp.mean((a2 @ W3.T + b3 - y) ** 2)

    @jax.jit
    def step(ps):
        loss_value, g = jax.value_and_grad(loss)(ps)
        return [p - lr * gp for p, gp in zip(ps, g)], loss_value

    state = [ps]

    def run():
        state[0], loss_value = step(state[0])
        loss_value.block_until_ready()

    return run


# ----------------------------------------------------------------------------- 2. large MLP
def large(jax):
    model, eager = M.ours_big()
    ref = M.NumpyMLP([p.data for p in model.parameters()])
    twin, step = M.ours_big()
    compiled = autograd.compile(step)
    for _ in range(3):
        check_same(eager(), compiled(), "large MLP")
    autograd.manual_seed(0)
    flat_model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    flat_step = training_step(flat_model, nn.optim.Adam(flat_model.parameters(), lr=1e-3, flat=True),
                              F.cross_entropy, M.X1, M.Y1)
    impls = {"numpy (hand-written)": lambda: ref.step(M.X1, M.Y1), "graphgrad eager": eager,
             "graphgrad compiled": compiled, "graphgrad compiled, flat Adam": autograd.compile(flat_step)}
    if jax is not None:
        impls["JAX jit"] = jax_large(jax, [p.data for p in twin.parameters()])
    table("MLP 784-512-512-10, batch 256, float32, cross-entropy + Adam: one training step",
          interleaved(impls, 1.0 if QUICK else 4.0), "numpy (hand-written)", "compiled <= 1.0x numpy")


def jax_large(jax, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    jnp = jax.numpy
    x, y = jnp.asarray(M.X1), jnp.asarray(M.Y1)
    ps = [jnp.asarray(p) for p in params]

    def loss(ps):
        W1, c1, W2, c2, W3, c3 = ps
        h = jax.nn.relu(x @ W1.T + c1)
        h = jax.nn.relu(h @ W2.T + c2)
        logp = jax.nn.log_softmax(h @ W3.T + c3)
        return -jnp.mean(logp[jnp.arange(y.shape[0]), y])

    @jax.jit
    def step(ps, m, v, t):
        loss_value, g = jax.value_and_grad(loss)(ps)
        t = t + 1
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(v, g)]
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        ps = [p - lr / bc1 * mi / (jnp.sqrt(vi / bc2) + eps) for p, mi, vi in zip(ps, m, v)]
        return ps, m, v, t, loss_value

    state = [ps, [jnp.zeros_like(p) for p in ps], [jnp.zeros_like(p) for p in ps], jnp.asarray(0.0, jnp.float32)]

    def run():
        *state[:4], loss_value = step(*state)
        loss_value.block_until_ready()

    return run


# ----------------------------------------------------------------------------- 3. op chain
class E:
    """bench_engine's chain (that file runs its benchmark on import)."""

    N_OPS = 1000
    x0 = np.linspace(-1.0, 1.0, 4)
    w = np.full(4, 0.9)
    b = np.full(4, 0.1)

    @staticmethod
    def ours():
        x = autograd.tensor(E.x0, requires_grad=True)
        wt, bt = autograd.tensor(E.w), autograd.tensor(E.b)
        h = x
        for i in range(E.N_OPS):
            k = i % 3
            h = h * wt if k == 0 else (h + bt if k == 1 else h.tanh())
        h.backward(np.ones(4))
        return x.grad

    @staticmethod
    def numpy_by_hand():
        h, tape = E.x0, []
        for i in range(E.N_OPS):
            k = i % 3
            if k == 0:
                h = h * E.w
            elif k == 1:
                h = h + E.b
            else:
                h = np.tanh(h)
                tape.append(h)
        g, j = np.ones(4), len(tape)
        for i in reversed(range(E.N_OPS)):
            k = i % 3
            if k == 0:
                g = g * E.w
            elif k == 2:
                j -= 1
                g = g * (1 - tape[j] * tape[j])
        return g


def chain(jax):
    def fn(x):
        h = x
        for i in range(E.N_OPS):
            k = i % 3
            h = h * wt if k == 0 else (h + bt if k == 1 else h.tanh())
        h.backward(np.ones(4))
        return x.grad

    wt, bt = autograd.tensor(E.w), autograd.tensor(E.b)
    compiled = autograd.compile(fn)

    def run_compiled():
        return compiled(autograd.tensor(E.x0, requires_grad=True))

    for _ in range(3):
        check_same(E.ours(), run_compiled(), "op chain")
    impls = {"numpy (hand-written)": E.numpy_by_hand, "graphgrad eager": E.ours, "graphgrad compiled": run_compiled}
    if jax is not None:
        impls["JAX jit"] = jax_chain(jax)
    table(f"A chain of {E.N_OPS:,} ops (mul, add, tanh) on float64 (4,), forward + backward",
          interleaved(impls, 0.5 if QUICK else 2.0), "numpy (hand-written)", "compiled <= 1.5x numpy", per=E.N_OPS)


def jax_chain(jax):
    jnp = jax.numpy
    w, b = jnp.asarray(E.w), jnp.asarray(E.b)

    def f(x):
        h = x
        for i in range(E.N_OPS):
            k = i % 3
            h = h * w if k == 0 else (h + b if k == 1 else jnp.tanh(h))
        return jnp.sum(h)

    g = jax.jit(jax.grad(f))
    x = jnp.asarray(E.x0)
    return lambda: g(x).block_until_ready()


# ----------------------------------------------------------------------------- 4. flat buffers
def flat_adam():
    rng = np.random.default_rng(0)
    runs = {}
    for flat in (False, True):
        ps = [nn.Parameter(rng.normal(size=64).astype(np.float32)) for _ in range(200)]
        opt = nn.optim.Adam(ps, lr=1e-3, flat=flat)
        for p in ps:
            p.grad = rng.normal(size=64).astype(np.float32)
        runs["per parameter" if not flat else "flat=True"] = opt.step
    table("Adam step over 200 parameters of 64 float32 (no compile)", interleaved(runs, 0.3 if QUICK else 1.0),
          "per parameter", "a handful of numpy calls per step instead of 200 handfuls")


def main() -> None:
    jax = try_jax()
    print(f"numpy {np.__version__}; JAX {jax.__version__ + ' (jit)' if jax else 'not installed'}")
    small(jax)
    large(jax)
    chain(jax)
    flat_adam()


if __name__ == "__main__":
    main()
