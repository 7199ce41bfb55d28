"""A stateful hypothesis machine (issue 10): random graphs built step by step on three float64
leaves, each value and each gradient checked against a pure numpy float64 shadow of the same
computation, and against torch running the same steps when torch is importable.

The shadow holds one `Sym` per recorded value: a use of a leaf (its value at that time, plus a
perturbation δᵢ that stands for the leaf), a constant, or fn(*args). The expected gradient of a
loss is d/dδ of the shadow at δ = 0 by float64 central differences (a random-direction check
⟨g, u⟩ for leaves over FULL_FD elements); no engine code is involved. A hook `g -> s·g` on a
tensor is a Sym whose deviation from its value is scaled by s (on a leaf: δᵢ scaled by s), so
the expected gradient includes it, in the first order and in a Hessian-vector product.

Leaves: shapes from a small menu or from mutually_broadcastable_shapes, values ±[0.05, 2].
Rules: `forward`, one to three of: add/sub/mul with broadcasting and Python-number operands;
tanh, sin, sigmoid, exp (of bounded values), neg, x*x; a node reused in one expression;
sum/mean with axis and keepdims; basic slices, integer arrays with repeats, boolean masks;
reshape, permute; detach; a `no_grad` block; a new constant. `hook`: a scaling hook on a leaf
or an intermediate, or the removal of one. `backward`: `loss.backward()` or
`t.backward(gradient=...)`, once or twice (retain_graph=True first: accumulation), with or
without retain_graph, into fresh or accumulating `.grad`, for all leaves or `inputs=`.
`hessian_vector_product`: `autograd.grad` with create_graph, then the grad of <g, v>.
`inplace`: add_/sub_/mul_/setitem on an intermediate (recorded), copy_/mul_/setitem on a leaf
under no_grad, or one the engine refuses (on a leaf that requires grad, on a view of a tensor
that requires grad). Values above BOUND go through tanh, so exp and products stay tame.

Invariants: every forward value matches the shadow (checked when made, and at every step:
nothing changes an array behind the graph's back); `.grad` of each leaf matches the shadow's
accumulated gradient (None exactly for leaves never reached), and autograd.grad leaves it alone;
a backward whose graph reaches an array saved for it and since changed in place raises
`VersionError`; one that reaches a node freed by an earlier backward without retain_graph, or a
view whose base changed in place (recorded) since it was made, raises; any other backward raises
nothing. With `inputs` (autograd.grad, backward(inputs=)), the nodes off every path to them may
raise too (engine gap [machine] 2); if they don't, the results are checked. With torch: same
values, requires_grad, version counters, gradients, H v, and the same version errors (torch
rewrites a stale view's graph instead of refusing it, and frees nothing here: not compared there).

The model of what is saved follows torch's rules (the engine's `save_inputs`/`save_output`
match them): mul keeps each factor for the other's gradient, sin its input, tanh, sigmoid and
exp their output; add, sub, neg, reductions and indexing keep nothing.

Left out on purpose: views that change nothing (reshape to the same shape, the identity
permutation), which return their input itself (engine gap [machine] 1, tests at the end); an
in-place operand that shares memory with the target (torch refuses partial overlaps); a full
integer index (a 0-d result), a copy here (numpy's rule) and a view in torch, so indices keep at
least one axis; torch's views made under no_grad require grad without a graph, so their twins
are detached.

Budgets: the `ci` profile runs 15 machines of up to 25 steps (2-3 s); HYPOTHESIS_PROFILE=thorough
(200) or fuzz (1500, `make fuzz`) run more.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes, valid_tuple_axes
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

import autograd
from autograd.node import VersionError

try:  # the torch comparison runs where torch is installed (not in graphgrad's own venv)
    import torch

    torch.set_num_threads(1)  # (tiny tensors: threads only cost)
except ImportError:
    torch = None

EPS = 1e-6  # central differences, first order
H2 = 2e-4  # mixed central differences, second order
FULL_FD = 16  # leaves with more elements are checked along random directions
BOUND = 3.0  # values above it go through tanh (keeps exp and products tame)
POOL = 10
VERSION = "modified by an inplace operation"
BROKEN = "graph a second time|modified by an inplace|view was used after"  # freed, version, stale view
# the leaves' shapes: a menu (the simplest draws: at least two axes to reduce, index and permute),
# or any three that broadcast together
MENU = (((2, 3), (3,), (2, 1)), ((3, 1, 2), (2,), (1, 3, 1)), ((2, 2), (), (1, 2)), ((4,), (1,), (3, 1)))
SHAPES = st.sampled_from(MENU) | mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3).map(
    lambda s: s.input_shapes)
STATS = dict.fromkeys(["backward", "twice", "version error", "broken error", "unpruned error", "hvp", "hooked",
                       "inplace", "leaf inplace", "refused"], 0)


# ----------------------------------------------------------------------------- the shadow
class Block:
    """A block of memory and its version counter (views and detach share their base's)."""

    __slots__ = ("version",)

    def __init__(self):
        self.version = 0


class Sym:
    """A pure re-computation: a leaf use (value + δ[leaf]), a constant (value), or fn(*args).
    `stamps`: (block, version) of each array the op saves for backward (what backward frees);
    `scale`: the product of the hooks on it; `freed`: a backward without retain_graph ran it;
    `stale`: the values of a view whose base changed in place since (backward through it raises)."""

    __slots__ = ("fn", "args", "leaf", "value", "stamps", "scale", "freed", "stale")

    def __init__(self, fn=None, args=(), leaf=None, value=None, stamps=(), stale=False):
        self.fn, self.args, self.leaf, self.stamps = fn, tuple(args), leaf, tuple(stamps)
        self.scale, self.freed, self.stale = 1.0, False, stale
        self.value = value if fn is None else evaluate(self, {}, {})


def evaluate(s: Sym, delta: dict, memo: dict) -> np.ndarray:
    r = memo.get(id(s))
    if r is not None:
        return r
    if s.fn is None:
        r = s.value + delta[s.leaf] if s.leaf in delta else s.value
    else:
        r = np.asarray(s.fn(*[evaluate(a, delta, memo) if isinstance(a, Sym) else a for a in s.args]))
        if s.scale != 1.0:  # a hook g -> s·g: the deviation from the value, scaled
            r = s.value + s.scale * (r - s.value)
    memo[id(s)] = r
    return r


def walk(s: Sym):
    seen, stack = set(), [s]
    while stack:
        x = stack.pop()
        if id(x) not in seen:
            seen.add(id(x))
            yield x
            stack.extend(a for a in x.args if isinstance(a, Sym))


def weights(shape) -> np.ndarray:
    n = math.prod(shape)
    return np.asarray(np.cos(1.3 * np.arange(n) + 0.4).reshape(shape) + 0.25)


def close(got, want, what, rtol=1e-12, atol=1e-13):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol, err_msg=what)


def magnitudes(shape):
    """sign · [0.05, 2]: no tiny values, nothing large."""
    return st.builds(lambda m, s: np.where(s, -m, m), arrays(np.float64, shape, elements=st.floats(0.05, 2.0)),
                     arrays(np.bool_, shape))


def signed(lo=0.25, hi=1.75):
    return st.builds(lambda m, s: -m if s else m, st.floats(lo, hi), st.booleans())


# ----------------------------------------------------------------------------- the machine
class Val:
    """A tensor the program holds (and its torch twin), and what the shadow knows of it.
    kind: leaf, node (recorded op), view (recorded, shares memory with `base`), const (no grad;
    the shadow reads its values when it is used), stale (a view whose base changed in place,
    recorded, since: graphgrad gives it a graph that refuses backward, torch rewrites its graph).
    tainted: stale or made from a stale one (torch's twin may differ in requires_grad)."""

    __slots__ = ("t", "tt", "kind", "sym", "block", "leaf", "base", "name", "tainted")
    count = 0

    def __init__(self, t, tt, kind, sym, block, leaf=None, base=None, tainted=False):
        self.t, self.tt, self.kind, self.sym, self.block = t, tt, kind, sym, block
        self.leaf, self.base, self.tainted = leaf, base, tainted
        Val.count += 1
        self.name = f"x{leaf}" if kind == "leaf" else f"v{Val.count}"

    def current(self) -> Sym:
        if self.kind in ("const", "stale"):
            return Sym(value=self.t.data.copy(), stale=self.kind == "stale")
        return self.sym

    def __repr__(self):
        return f"<{self.name} {self.kind} {self.t.shape}>"


def twin(x):
    """The torch form of an index or operand (numpy arrays inside indices become tensors)."""
    if isinstance(x, tuple):
        return tuple(twin(i) for i in x)
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    return x


def scaling(s):
    return lambda g: g * s


def assigned(index):
    def fn(a, v):
        out = a.copy()
        out[index] = v
        return out

    return fn


class GraphMachine(RuleBasedStateMachine):
    @initialize(shapes=SHAPES, data=st.data(), seed=st.integers(0, 2**32 - 1))
    def setup(self, shapes, data, seed):
        self.rng = np.random.default_rng(seed)
        self.leaves, self.pool, self.hooks = [], [], []
        self.views = []  # every tensor a view op made, kept alive: a recorded in-place change of
        # their memory makes each live one stale
        self.expected = [None, None, None]  # the shadow's .grad of each leaf
        for i, shape in enumerate(shapes):
            a = data.draw(magnitudes(shape), label=f"x{i}")
            tt = torch.tensor(a, requires_grad=True) if torch else None
            v = Val(autograd.tensor(a, requires_grad=True), tt, "leaf", Sym(leaf=i, value=a.copy()), Block(), i)
            self.leaves.append(v)
            self.pool.append(v)
        for step in data.draw(st.lists(st.sampled_from(self.FORWARD), min_size=2, max_size=4), label="first steps"):
            getattr(self, "_" + step)(data)

    # ------------------------------------------------------------------ helpers
    def pick(self, data, pred, label=None):
        """One of the held tensors that pass pred, the newest first (the simplest draw builds deep graphs)."""
        items = [v for v in reversed(self.pool) if pred(v)]
        return data.draw(st.sampled_from(items), label=label) if items else None

    def operand(self, data, shape, numbers, label):
        """A held tensor that broadcasts to exactly `shape`, or a Python number."""
        fits = [v for v in reversed(self.pool) if _broadcastable(v.t.shape, shape, into=True)]
        return data.draw(st.sampled_from(fits) | numbers if fits else numbers, label=label)

    def add(self, v: Val) -> Val:
        self.pool.append(v)
        if len(self.pool) > POOL:
            del self.pool[next(k for k, e in enumerate(self.pool) if e.kind != "leaf")]
        return v

    def leaf_scale(self, i) -> float:
        return math.prod(h[3] for h in self.hooks if h[2] == ("leaf", i))

    def run(self, fn, args, ref, saved=(), saves_out=False, tfn=None, view=False) -> Val:
        """Apply one op to Vals (or Python numbers) in the engine, in torch and in the shadow.
        `saved`: the Vals whose arrays the op keeps for backward; `saves_out`: it keeps its output;
        `view`: a view op (reshape, permute, indexing), whose result may share the input's memory."""
        syms = [a.current() if isinstance(a, Val) else a for a in args]
        t = fn(*[a.t if isinstance(a, Val) else a for a in args])
        tt = None
        if torch:
            tt = (tfn or fn)(*[a.tt if isinstance(a, Val) else twin(a) for a in args])
            if view and not autograd.is_grad_enabled():
                tt = tt.detach()  # (torch's views made under no_grad require grad, without a graph: not ours)
        first = args[0] if isinstance(args[0], Val) else None
        shares = first is not None and np.may_share_memory(t.data, first.t.data)
        block = first.block if shares else Block()
        grad = autograd.is_grad_enabled() and any(isinstance(a, Val) and a.t.requires_grad for a in args)
        assert t.requires_grad == grad, f"requires_grad is {t.requires_grad}; expected {grad}"
        stamps = [(v.block, v.block.version) for v in saved] + ([(block, block.version)] if saves_out else [])
        sym = Sym(ref, syms, stamps=stamps)
        close(t.data, sym.value, "forward value against the shadow")
        assert t.dtype == np.float64
        tainted = any(isinstance(a, Val) and a.tainted for a in args)
        if grad:
            v = Val(t, tt, "view" if shares else "node", sym, block, base=first if shares else None, tainted=tainted)
        else:
            v = Val(t, tt, "const", None, block, tainted=tainted)
        self.check_twin(v)
        if view and shares:
            self.views.append(v)
        return v

    def bounded(self, v: Val) -> Val:
        if v.t.data.size and np.abs(v.t.data).max() > BOUND:
            return self.run(lambda a: a.tanh(), [v], np.tanh, saves_out=True)
        return v

    def check_twin(self, v: Val):
        if torch:
            close(v.t.data, v.tt.detach().numpy(), f"forward value against torch ({v})", rtol=1e-11, atol=1e-13)
            assert v.tainted or v.tt.requires_grad == v.t.requires_grad, v
            # (an empty view has its own counter here: numpy says it shares no memory)
            same = v.tt._version == v.t._version or not v.t.data.size
            assert same, f"{v}: version {v.t._version}, torch {v.tt._version}"

    def outcome(self, root: Sym, inputs=None) -> str:
        """What a backward from root must do: 'ok', 'version' (a saved array changed) or 'broken'
        (it reaches a node freed by a backward without retain_graph, or a stale view). With
        `inputs` (leaf numbers), only through the nodes that lead to them, as torch runs it."""
        syms = list(walk(root))
        if inputs is not None:
            memo = {}

            def reaches(s):
                r = memo.get(id(s))
                if r is None:
                    r = memo[id(s)] = s.leaf in inputs or any(reaches(a) for a in s.args if isinstance(a, Sym))
                return r

            syms = [s for s in syms if reaches(s)]
        if any(s.freed or s.stale for s in syms):
            return "broken"
        if any(b.version != ver for s in syms for b, ver in s.stamps):
            return "version"
        return "ok"

    def loss_fn(self, root: Sym):
        return lambda delta: float(np.sum(evaluate(root, delta, {})))

    def fd_grad(self, f, i) -> np.ndarray:
        """d f/d leaf i with its hooks (δ scaled by them), by central differences."""
        shape, s = self.leaves[i].t.shape, self.leaf_scale(i)
        g = np.zeros(shape)
        for idx in np.ndindex(shape):
            d = np.zeros(shape)
            d[idx] = EPS * s
            g[idx] = (f({i: d}) - f({i: -d})) / (2 * EPS)
        return g

    def check_increment(self, f, i, got, times, what):
        """got (the change of leaf i's .grad) against `times` gradients of f; returns the increment
        the shadow accumulates (the engine's, once checked along random directions, for big leaves)."""
        shape, s = self.leaves[i].t.shape, self.leaf_scale(i)
        scale = max(1.0, abs(f({})))
        if math.prod(shape) <= FULL_FD:
            want = times * self.fd_grad(f, i)
            close(got, want, f"{what}: gradient of x{i} against central differences", rtol=1e-5, atol=1e-7 * scale)
            return want
        for _ in range(2):
            u = self.rng.standard_normal(shape)
            want = times * (f({i: EPS * s * u}) - f({i: -EPS * s * u})) / (2 * EPS)
            close(np.sum(got * u), want, f"{what}: <grad x{i}, u> against central differences", rtol=1e-5,
                  atol=1e-7 * scale * np.abs(u).sum())
        return got.copy()

    def reset_grads(self):
        for v in self.leaves:
            v.t.grad = None
            if torch:
                v.tt.grad = None
        self.expected = [None, None, None]

    def refresh_views(self, block):
        """After a leaf changed under no_grad: its views read the new values."""
        memo = {}

        def refresh(v):
            if v.kind == "leaf" or id(v) in memo:
                return v.sym
            memo[id(v)] = True
            v.sym = Sym(v.sym.fn, (refresh(v.base),) + v.sym.args[1:])
            close(v.t.data, v.sym.value, f"{v} after its leaf changed")
            return v.sym

        for v in self.pool:
            if v.kind == "view" and v.block is block:
                refresh(v)

    # ------------------------------------------------------------------ forward rules
    FORWARD = ("binary", "binary", "unary", "reuse", "reduce", "reduce", "index", "index", "reshape", "detach",
               "no_grad", "constant")

    @rule(data=st.data(), steps=st.lists(st.sampled_from(FORWARD), min_size=1, max_size=3))
    def forward(self, data, steps):
        """One to three forward ops on what the program holds."""
        for step in steps:
            getattr(self, "_" + step)(data)

    def _binary(self, data):
        name = data.draw(st.sampled_from(["add", "sub", "mul"]), label="binary")
        swap = data.draw(st.booleans(), label="swap")
        a = self.pick(data, lambda v: True, "a")
        others = [v for v in reversed(self.pool) if _broadcastable(v.t.shape, a.t.shape)]
        b = data.draw(st.sampled_from(others) | signed(), label="b")
        if swap:
            a, b = b, a
        fn, ref = {"add": (lambda x, y: x + y, np.add), "sub": (lambda x, y: x - y, np.subtract),
                   "mul": (lambda x, y: x * y, np.multiply)}[name]
        saved = []
        if name == "mul":  # each factor is kept for the other's gradient
            for x, y in ((a, b), (b, a)):
                if isinstance(x, Val) and isinstance(y, Val) and x.t.requires_grad:
                    saved.append(y)
        self.add(self.bounded(self.run(fn, [a, b], ref, saved)))

    def _unary(self, data):
        name = data.draw(st.sampled_from(["tanh", "sin", "sigmoid", "exp", "neg", "square"]), label="unary")
        a = self.pick(data, lambda v: True, "a")
        if name == "exp" and a.t.data.size and np.abs(a.t.data).max() > 2:
            a = self.run(lambda x: x.tanh(), [a], np.tanh, saves_out=True)
        if name == "square":
            r = self.run(lambda x: x * x, [a], np.square, saved=[a, a] if a.t.requires_grad else [])
        elif name == "neg":
            r = self.run(lambda x: -x, [a], np.negative)
        elif name == "sin":
            r = self.run(lambda x: x.sin(), [a], np.sin, saved=[a])
        else:
            ref = {"tanh": np.tanh, "exp": np.exp, "sigmoid": lambda x: 1 / (1 + np.exp(-x))}[name]
            r = self.run(lambda x: getattr(x, name)(), [a], ref, saves_out=True)
        self.add(self.bounded(r))

    def _reuse(self, data):
        """A shared subexpression: a op inner(a), one node feeding two paths."""
        inner = data.draw(st.sampled_from(["tanh", "sin"]), label="inner")
        outer = data.draw(st.sampled_from(["add", "mul"]), label="outer")
        a = self.pick(data, lambda v: v.t.requires_grad, "a")
        if inner == "tanh":
            u = self.run(lambda x: x.tanh(), [a], np.tanh, saves_out=True)
        else:
            u = self.run(lambda x: x.sin(), [a], np.sin, saved=[a])
        if outer == "add":
            r = self.run(lambda x, y: x + y, [a, u], np.add)
        else:
            r = self.run(lambda x, y: x * y, [a, u], np.multiply, saved=[u, a])
        self.add(self.bounded(r))

    def _reduce(self, data):
        name = data.draw(st.sampled_from(["sum", "mean"]), label="reduction")
        keepdims = data.draw(st.booleans(), label="keepdims")
        a = self.pick(data, lambda v: name == "sum" or v.t.data.size > 0, "a")
        axis = None
        if a.t.ndim and data.draw(st.booleans(), label="over some axes"):
            axis = data.draw(valid_tuple_axes(a.t.ndim, min_size=1), label="axis")

        def ref(x):
            return getattr(np, name)(x, axis=axis, keepdims=keepdims)

        self.add(self.bounded(self.run(lambda x: getattr(x, name)(dim=axis, keepdim=keepdims), [a], ref)))

    def _index(self, data):
        how = data.draw(st.sampled_from(["basic", "ints", "mask"]), label="index")
        a = self.pick(data, lambda v: v.t.ndim > 0 and v.t.data.size > 0, "a")
        if a is None:
            return
        if how == "basic":
            idx = _basic_index(data, a.t.shape)
        elif how == "ints":  # along axis 0; repeats accumulate (the simplest draw, [0, 0], repeats)
            n = a.t.shape[0]
            ints = data.draw(st.lists(st.integers(-n, n - 1), min_size=2, max_size=4), label="ints")
            idx = np.array(ints, dtype=np.int64)
        else:
            idx = data.draw(arrays(np.bool_, a.t.shape), label="mask")
        self.add(self.run(lambda x: x[idx], [a], lambda x: x[idx], tfn=lambda x: x[twin(idx)], view=True))

    def _reshape(self, data):
        how = data.draw(st.sampled_from(["reshape", "permute"]), label="how")
        a = self.pick(data, lambda v: how == "reshape" or v.t.ndim > 1, "a")
        if a is None:
            return
        s = a.t.shape
        if how == "reshape":  # (not to the same shape: that returns the tensor itself, [machine] 1)
            options = [(math.prod(s),), s[::-1]] + ([(1, *s), (*s, 1)] if len(s) < 4 else [])
            shape = data.draw(st.sampled_from([o for o in options if o != s] or [(1, *s)]), label="shape")
            if shape == (math.prod(s),) and data.draw(st.booleans(), label="as -1"):
                shape = (-1,)
            r = self.run(lambda x: x.reshape(shape), [a], lambda x: np.reshape(x, shape), view=True)
        else:
            perm = tuple(data.draw(st.permutations(range(len(s))), label="perm"))
            if perm == tuple(range(len(s))):
                perm = perm[::-1]
            r = self.run(lambda x: x.permute(*perm), [a], lambda x: np.transpose(x, perm), view=True)
        self.add(r)

    def _detach(self, data):
        a = self.pick(data, lambda v: True, "a")
        d = a.t.detach()
        assert not d.requires_grad and d.is_leaf and (not d.data.size or np.shares_memory(d.data, a.t.data))
        self.add(Val(d, a.tt.detach() if torch else None, "const", None, a.block))

    def _no_grad(self, data):
        name = data.draw(st.sampled_from(["mul", "tanh", "permute", "reuse"]), label="under no_grad")
        a = self.pick(data, lambda v: True, "a")
        if name == "permute" and a.t.ndim < 2:
            name = "tanh"
        with autograd.no_grad(), (torch.no_grad() if torch else _Nothing()):
            if name == "mul":
                c = data.draw(signed(), label="c")
                r = self.run(lambda x: x * c, [a], lambda x: x * c)
            elif name == "tanh":
                r = self.run(lambda x: x.tanh(), [a], np.tanh)
            elif name == "permute":
                perm = tuple(range(a.t.ndim))[::-1]
                r = self.run(lambda x: x.permute(*perm), [a], lambda x: np.transpose(x, perm), view=True)
            else:
                r = self.run(lambda x: x * x.sin(), [a], lambda x: x * np.sin(x))
            assert not r.t.requires_grad and r.t.is_leaf
        self.add(r)

    def _constant(self, data):
        shape = data.draw(st.sampled_from(sorted({v.t.shape for v in self.pool})), label="shape")
        a = data.draw(magnitudes(shape), label="values")
        self.add(Val(autograd.tensor(a), torch.tensor(a) if torch else None, "const", None, Block()))

    # ------------------------------------------------------------------ hooks
    @rule(data=st.data(), s=st.sampled_from([0.5, -2.0, 3.0, "remove"]))
    def hook(self, data, s):
        """Register a hook g -> s·g on a leaf or an intermediate, or remove one."""
        if s == "remove":
            if self.hooks:
                self._remove_hook(data)
            return
        a = self.pick(data, lambda v: v.kind in ("leaf", "node"), "target")
        key = ("leaf", a.leaf) if a.kind == "leaf" else a.sym
        if sum(h[2] is key or h[2] == key for h in self.hooks) >= 2:
            return
        handle = a.t.register_hook(scaling(s))
        thandle = a.tt.register_hook(scaling(s)) if torch else None
        self.hooks.append((handle, thandle, key, s))
        self._rescale(key)

    def _remove_hook(self, data):
        k = data.draw(st.integers(0, len(self.hooks) - 1), label="hook")
        handle, thandle, key, _ = self.hooks.pop(k)
        handle.remove()
        if torch:
            thandle.remove()
        self._rescale(key)

    def _rescale(self, key):
        if isinstance(key, Sym):
            key.scale = math.prod(h[3] for h in self.hooks if h[2] is key)

    # ------------------------------------------------------------------ backward
    @rule(data=st.data(), times=st.sampled_from([1, 1, 2]), retain=st.booleans(), seed_form=st.booleans(),
          fresh=st.booleans(), only=st.booleans())
    def backward(self, data, times, retain, seed_form, fresh, only):
        """loss.backward() or t.backward(gradient=w), once or twice (retain_graph=True first),
        into fresh .grad or accumulating, into every leaf or only some (inputs=...)."""
        if fresh:
            self.reset_grads()
        a = self.pick(data, lambda v: v.t.requires_grad, "root")
        w = weights(a.t.shape)
        root = Sym(lambda x: x * w, [a.current()])  # (x * w).sum() saves w: a constant that never changes
        used = sorted({s.leaf for s in walk(root) if s.leaf is not None})
        inputs = None
        if only and used:  # (then the graph is kept: whether the rest of it is freed is not specified)
            used = sorted(data.draw(st.lists(st.sampled_from(used), min_size=1, unique=True), label="inputs"))
            inputs, retain = [self.leaves[i].t for i in used], True

        def run_engine(retain_graph):
            if seed_form:
                a.t.backward(gradient=autograd.tensor(w), retain_graph=retain_graph, inputs=inputs)
            else:
                (a.t * autograd.tensor(w)).sum().backward(retain_graph=retain_graph, inputs=inputs)

        def run_torch():
            tin = None if inputs is None else [self.leaves[i].tt for i in used]
            (a.tt * torch.from_numpy(w)).sum().backward(retain_graph=True, inputs=tin)

        if not self.attempt(root, None if inputs is None else used, lambda: run_engine(True), run_torch):
            return
        before = [None if v.t.grad is None else v.t.grad.data.copy() for v in self.leaves]
        for k in range(times):
            run_engine(retain or k < times - 1)
            if torch:
                run_torch()
        f = self.loss_fn(root)
        for i, v in enumerate(self.leaves):
            g = v.t.grad
            if i not in used:
                what = f"x{i} is not in the graph (or not in inputs=), but its .grad changed"
                assert (g is None) == (before[i] is None), what
                if g is not None:
                    close(g.data, before[i], what, 0, 0)
                continue
            assert g is not None, f"x{i} is in the graph but got no .grad"
            assert g.shape == v.t.shape and g.dtype == v.t.dtype
            got = g.data - (0 if before[i] is None else before[i])
            inc = self.check_increment(f, i, got, times, f"backward from {a}")
            self.expected[i] = inc if self.expected[i] is None else self.expected[i] + inc
        if not retain:
            for s in walk(root):
                if s.stamps:
                    s.freed = True
        STATS["backward"] += 1
        STATS["twice"] += times == 2
        STATS["hooked"] += any(s.scale != 1 for s in walk(root)) or any(self.leaf_scale(i) != 1 for i in used)

    def attempt(self, root, inputs, engine_call, torch_call) -> bool:
        """Where the shadow says a backward from root must raise, check that it does (engine and
        torch) and return False; else True: the caller runs it and checks the results."""
        full = self.outcome(root)
        pruned = full if inputs is None else self.outcome(root, inputs)
        if pruned != "ok":
            if full == "version":
                with pytest.raises(VersionError, match=VERSION):
                    engine_call()
            else:
                with pytest.raises(RuntimeError, match=BROKEN):
                    engine_call()
            if torch and pruned == "version" and inputs is None:  # (with inputs, torch unpacks
                with pytest.raises(RuntimeError, match=VERSION):  # only what each wanted gradient reads)
                    torch_call()
            STATS["version error" if pruned == "version" else "broken error"] += 1
            self.reset_grads()  # (leaves reached before the error may have accumulated)
            return False
        if full != "ok":  # broken only off the paths to the inputs, which graphgrad runs too: [machine] 2
            try:
                engine_call()
            except RuntimeError as e:
                assert re.search(BROKEN, str(e)), e
                STATS["unpruned error"] += 1
                self.reset_grads()
                return False
            self.reset_grads()  # (it prunes now: start again from fresh .grad)
        return True

    @rule(data=st.data())
    def hessian_vector_product(self, data):
        """autograd.grad(create_graph=True) then grad of <g, v>: H v, against mixed central
        differences of the shadow (and torch). Intermediate hooks are left out (they would fire
        in both passes); a leaf hook s on the input gives s² H v, as the shadow's δ scaling does."""
        a = self.pick(data, lambda v: v.t.requires_grad and all(s.scale == 1 for s in walk(v.current())), "root")
        if a is None:
            return
        w = weights(a.t.shape)
        root = Sym(lambda y: y * w, [a.current()])
        used = sorted({s.leaf for s in walk(root) if s.leaf is not None})
        if not used:
            return
        i = data.draw(st.sampled_from(used), label="input")
        x = self.leaves[i]
        vdir = np.asarray(self.rng.standard_normal(x.t.shape))

        def engine_grad():
            return autograd.grad((a.t * autograd.tensor(w)).sum(), x.t, create_graph=True)[0]

        def torch_grad():
            return torch.autograd.grad((a.tt * torch.from_numpy(w)).sum(), x.tt, create_graph=True)[0]

        if not self.attempt(root, [i], engine_grad, torch_grad):
            return
        g = engine_grad()
        f = self.loss_fn(root)
        self.check_increment(f, i, g.data, 1, f"autograd.grad from {a}")
        hv = np.zeros(x.t.shape)
        if g.requires_grad:
            (h,) = autograd.grad((g * autograd.tensor(vdir)).sum(), x.t, retain_graph=True, allow_unused=True)
            hv = hv if h is None else h.data
        if torch:
            gt = torch_grad()
            close(g.data, gt.detach().numpy(), "autograd.grad against torch", 1e-9, 1e-12)
            hvt = np.zeros(x.t.shape)
            if gt.requires_grad:
                ht = torch.autograd.grad((gt * torch.from_numpy(vdir)).sum(), x.tt, retain_graph=True,
                                         allow_unused=True)[0]
                hvt = hvt if ht is None else ht.numpy()
            close(hv, hvt, "Hessian-vector product against torch", 1e-9, 1e-11)
        s = self.leaf_scale(i)
        scale = max(1.0, abs(f({})), float(np.abs(hv).max(initial=0)))
        if math.prod(x.t.shape) <= FULL_FD:
            for idx in np.ndindex(x.t.shape):
                e = np.zeros(x.t.shape)
                e[idx] = 1.0
                close(hv[idx], _mixed(f, i, s * e, s * vdir), f"H v at {idx} against central differences", 1e-4,
                      1e-5 * scale)
        else:
            u = self.rng.standard_normal(x.t.shape)
            close(np.sum(hv * u), _mixed(f, i, s * u, s * vdir), "u·H v against central differences", 1e-4,
                  1e-5 * scale * np.abs(u).sum())
        STATS["hvp"] += 1

    # ------------------------------------------------------------------ in-place
    @rule(data=st.data(), where=st.sampled_from(["intermediate", "intermediate", "leaf", "refused"]))
    def inplace(self, data, where):
        """In place: on an intermediate (recorded), on a leaf under no_grad, or refused."""
        getattr(self, "_inplace_" + where)(data)

    def _inplace_intermediate(self, data):
        """Recorded: the tensor's node becomes the op applied to its old value."""
        name = data.draw(st.sampled_from(["add_", "sub_", "mul_", "setitem"]), label="op")
        target = self.pick(data, lambda v: v.kind == "node", "target")
        if target is None:
            return
        shape = target.t.shape
        if name == "setitem":
            if not shape or not target.t.data.size:
                return
            idx = data.draw(_set_index(shape), label="index")
            sub = target.t.data[idx].shape
            other = self.operand(data, sub, signed(), "value")
            fn, ref = (lambda x, y: x.__setitem__(idx, y)), assigned(idx)

            def tfn(x, y):
                x[twin(idx)] = y
        else:
            other = self.operand(data, shape, signed(0.5, 1.5), "other")
            fn = tfn = (lambda x, y: getattr(x, name)(y))
            ref = {"add_": np.add, "sub_": np.subtract, "mul_": np.multiply}[name]
        if isinstance(other, Val) and np.may_share_memory(other.t.data, target.t.data):
            return  # (torch refuses partial overlaps)
        version, arr = target.t._version, target.t.data
        saved = [other] if name == "mul_" and isinstance(other, Val) else []  # (and a copy of the old value)
        args = [target.sym, other.current() if isinstance(other, Val) else other]
        new = Sym(ref, args, stamps=[(v.block, v.block.version) for v in saved])
        if np.abs(new.value).max(initial=0) > 2 * BOUND:
            return
        fn(target.t, other.t if isinstance(other, Val) else other)
        if torch:
            tfn(target.tt, other.tt if isinstance(other, Val) else other)
        assert target.t._version == version + 1 and target.t.data is arr
        target.block.version += 1
        target.sym = new
        close(target.t.data, new.value, f"{name} on {target}")
        for v in self.views:  # its live views go stale (their graph is of the old values)
            if v.block is target.block and v.t is not target.t:
                v.kind, v.sym, v.tainted = "stale", None, True
                assert v.t.requires_grad, f"{v} went stale but does not require grad"
        self.check_twin(target)
        STATS["inplace"] += 1

    def _inplace_leaf(self, data):
        """The update idiom: the leaf keeps its identity, its version goes up, later uses see the
        new values, and a backward through an op that saved the old ones raises."""
        name = data.draw(st.sampled_from(["copy_", "mul_", "setitem"]), label="op")
        x = data.draw(st.sampled_from(self.leaves), label="leaf")
        shape = x.t.shape
        with autograd.no_grad():
            if name == "copy_":
                new = data.draw(magnitudes(shape), label="values")
                x.t.copy_(new)
            elif name == "mul_":
                c = data.draw(signed(0.5, 1.5), label="c")
                x.t.mul_(c)
            else:
                if not shape:
                    return
                idx = data.draw(_set_index(shape), label="index")
                c = data.draw(signed(), label="c")
                x.t[idx] = c
        if torch:
            with torch.no_grad():
                if name == "copy_":
                    x.tt.copy_(twin(new))
                elif name == "mul_":
                    x.tt.mul_(c)
                else:
                    x.tt[twin(idx)] = c
        assert x.t.is_leaf and x.t.requires_grad and x.t._version == x.block.version + 1
        x.block.version += 1
        x.sym = Sym(leaf=x.leaf, value=x.t.data.copy())
        self.refresh_views(x.block)
        self.check_twin(x)
        STATS["leaf inplace"] += 1

    def _inplace_refused(self, data):
        """With grad on, in place on a leaf that requires grad raises (torch's rule), and on a view
        of a tensor that requires grad (graphgrad asks for a clone()); nothing changes."""
        where = data.draw(st.sampled_from(["leaf", "view"]), label="on")
        a = self.pick(data, lambda v: v.kind == where or (where == "view" and v.kind == "stale"), "target")
        if a is None:
            return
        before, version = a.t.data.copy(), a.t._version
        with pytest.raises(RuntimeError, match="leaf Variable|view"):
            a.t.mul_(2.0)
        if where == "leaf" and torch:
            with pytest.raises(RuntimeError, match="leaf Variable"):
                a.tt.mul_(2.0)
        close(a.t.data, before, "a refused in-place op changed the data", 0, 0)
        assert a.t._version == version
        STATS["refused"] += 1

    # ------------------------------------------------------------------ invariants
    @invariant()
    def values_unchanged(self):
        """Nothing (backward, hooks, another tensor's in-place op) changed an array behind the graph."""
        for v in getattr(self, "pool", ()):
            if v.kind not in ("const", "stale"):
                close(v.t.data, v.sym.value, f"{v} changed behind the graph's back")
            self.check_twin(v)

    @invariant()
    def grads_match(self):
        for v, want in zip(getattr(self, "leaves", ()), getattr(self, "expected", ())):
            assert v.t.is_leaf and v.t.requires_grad
            g = v.t.grad
            assert (g is None) == (want is None), f"{v}: .grad is {g}; the shadow expects {want}"
            if g is not None:
                close(g.data, want, f"{v}: accumulated .grad", 1e-5, 1e-6 * max(1.0, np.abs(want).max(initial=0)))
                if torch:
                    assert v.tt.grad is not None
                    close(g.data, v.tt.grad.numpy(), f"{v}: .grad against torch", 1e-9, 1e-12)
            elif torch:
                assert v.tt.grad is None


# ----------------------------------------------------------------------------- helpers
class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _broadcastable(shape, other, into=False) -> bool:
    """Shapes broadcast together (into: `shape` broadcasts to exactly `other`)."""
    try:
        out = np.broadcast_shapes(shape, other)
    except ValueError:
        return False
    return out == other if into else True


def _basic_index(data, shape) -> tuple:
    """Ints and non-empty slices with positive steps (torch has no negative ones), keeping at
    least one axis (a full integer index is a copy here and a view in torch)."""
    k = data.draw(st.integers(1, len(shape)), label="indexed axes")
    items = []
    for n in shape[:k]:
        if data.draw(st.booleans(), label="int"):
            items.append(data.draw(st.integers(-n, n - 1), label="i"))
        else:
            start = data.draw(st.integers(0, n - 1), label="start")
            stop = data.draw(st.integers(start + 1, n), label="stop")
            items.append(slice(start, stop, data.draw(st.sampled_from([1, 2]), label="step")))
    if k == len(shape) and all(isinstance(i, int) for i in items):
        items[-1] = slice(None)
    return tuple(items)


def _set_index(shape):
    """An index to assign through: a slice of axis 0, a boolean mask, or distinct ints."""
    n = shape[0]
    return st.one_of(
        st.builds(lambda a, b: (slice(min(a, b), max(a, b) + 1),), st.integers(0, n - 1), st.integers(0, n - 1)),
        arrays(np.bool_, shape),
        st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True).map(lambda l: np.array(l, np.int64)),
    )


def _mixed(f, i, e, v) -> float:
    """eᵀ (d²f/dδᵢ²) v by mixed central differences."""
    h = H2
    return (f({i: h * (e + v)}) - f({i: h * (e - v)}) - f({i: h * (v - e)}) + f({i: -h * (e + v)})) / (4 * h * h)


def test_graph_machine():
    """Random graphs: values, gradients, accumulation, hooks, H v and version errors all as the shadow says."""
    for k in STATS:
        STATS[k] = 0
    run_state_machine_as_test(
        GraphMachine,
        settings=settings(settings(), deadline=None, stateful_step_count=25,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.filter_too_much]),
    )
    print(STATS)
    assert STATS["backward"] >= 3 and STATS["hvp"] >= 1, STATS  # the machine compared something


# ----------------------------------------------------------------------------- found by the machine
IDENTITY_VIEWS = {  # name: (input, view)
    "reshape to its shape": ([1.0, 2.0], lambda x: x.reshape(x.shape)),
    "permute(0)": ([1.0, 2.0], lambda x: x.permute(0)),
    "broadcast_to its shape": ([1.0, 2.0], lambda x: autograd.broadcast_to(x, x.shape)),
    "squeeze of 0-d": (1.0, lambda x: x.squeeze()),
    "swapaxes of 0-d": (1.0, lambda x: autograd.swapaxes(x, 0, 0)),
}


@pytest.mark.parametrize("view", list(IDENTITY_VIEWS))
def test_identity_view_is_a_new_tensor(view):
    """As torch: a new tensor; made under no_grad it carries no gradient to x (as any other view)."""
    value, fn = IDENTITY_VIEWS[view]
    x = autograd.tensor(np.array(value), requires_grad=True)
    with autograd.no_grad():
        y = fn(x)
    assert y is not x and not y.requires_grad


def test_identity_view_hook_scales_only_its_own_use():
    x = autograd.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.reshape(2)
    y.register_hook(lambda g: g * 10)
    ((x * 1).sum() + (y * 1).sum()).backward()
    np.testing.assert_allclose(x.grad.data, [11.0, 11.0])  # torch 2.13: [11, 11]


def _branch_off_the_input():
    """w = x2 + tanh(x1), where tanh's saved output then changes in place: dw/dx2 = 1 needs none of it."""
    x1 = autograd.tensor(np.array(0.5), requires_grad=True)
    x2 = autograd.tensor(np.array(0.3), requires_grad=True)
    t = x1.tanh()
    w = x2 + t
    t.add_(1.0)
    return x2, w


@pytest.mark.parametrize("how", ["grad", "backward(inputs=)", "after a backward freed the branch"])
def test_gradient_for_some_inputs_skips_the_other_branches(how):
    """As torch 2.13 (which returns 1.0 in all three): only the nodes on a path to the inputs run."""
    x2, w = _branch_off_the_input()
    if how == "grad":
        assert autograd.grad(w, x2)[0].item() == 1.0
    elif how == "backward(inputs=)":
        w.backward(inputs=[x2])
        assert x2.grad.item() == 1.0
    else:
        x1 = autograd.tensor(np.array(0.5), requires_grad=True)
        w = x2 + x1.tanh()
        w.backward()  # frees tanh's saved output
        assert autograd.grad(w, x2)[0].item() == 1.0
