"""The registry of primitive ops.

Each primitive is one class: its forward on numpy arrays, its backward right below it, what
backward reads, and what its tests need. The backward gets `(g, out, needs, *inputs, **attrs)`
and returns one gradient (or None) per input; it is written with operators, methods and
`call(...)` so the same formula runs on arrays (first order) and on Tensors
(`create_graph=True`). Broadcasting and dtype are undone by the engine, not here.

An input the op does not declare in `save_inputs` reaches backward as a stand-in that has
only `shape`, `dtype` and `ndim`: a formula that reads its values fails loudly, and the
registry-wide test checks every declaration.
"""

from __future__ import annotations

REGISTRY: dict[str, type] = {}


class Op:
    """Base class of primitive ops. Subclasses register themselves by `name`.

    Class attributes:
      name            -- the op's name in errors, drawings and the registry
      save_inputs     -- the inputs whose values backward reads: a tuple of indices (always
                         kept), or a dict {i: (j, ...)}: input i is kept only when one of the
                         inputs j needs a gradient (mul keeps y only for x's gradient)
      save_output     -- backward reads the forward output
      view            -- the output may share memory with input 0 (and so its version)
      differentiable  -- False for ops that never carry gradient
      same_shape      -- unary elementwise: the engine skips undoing broadcasting and casting
    Test metadata (read by tests/test_ops.py, tests/op_samples.py and tests/test_registry_saves.py):
      ref       -- numpy reference for the forward (independent of `forward`)
      arity     -- number of tensor inputs (-1: variadic)
      domain    -- (low, high) for drawn input values, or one pair per input
      kinks     -- points where the derivative jumps; drawn values keep away from them
      sample    -- name of the input generator in the tests ("elementwise", "reduce", ...)
      attrs     -- list of attribute dicts to test with
      rtol      -- tolerance of the finite-difference gradient check, when an op needs a looser one
    """

    name = "op"
    save_inputs: tuple | dict = ()
    save_output = False
    view = False
    differentiable = True
    same_shape = False  # True: each input's gradient has its shape and dtype (no engine check)

    ref = None
    arity = 1
    domain = (-3.0, 3.0)
    kinks: tuple = ()
    sample = "elementwise"
    attrs: tuple = ({},)
    rtol = 1e-6

    def __init_subclass__(cls, register: bool = True, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._plans = {}
        # precomputed for node.unary and node.binary: the plan of one input needing grad, and
        # those of two inputs by 2·(x needs grad) + (y needs grad)
        cls.plan1 = cls.plan((True,))
        cls.plans2 = tuple(cls.plan(n) for n in ((False, False), (False, True), (True, False), (True, True)))
        if register:
            if cls.name in REGISTRY:
                raise ValueError(f"op {cls.name!r} is registered twice")
            REGISTRY[cls.name] = cls

    @classmethod
    def plan(cls, needs: tuple) -> tuple:
        """Which inputs to keep for backward, given which need a gradient (cached)."""
        p = cls._plans.get(needs)
        if p is None:
            s = cls.save_inputs
            if isinstance(s, dict):
                p = tuple(any(needs[j] for j in s.get(i, ()) if j < len(needs)) for i in range(len(needs)))
            else:
                p = tuple(i in s for i in range(len(needs)))
            cls._plans[needs] = p
        return p

    @staticmethod
    def forward(*inputs, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(g, out, needs, *inputs, **attrs):
        raise NotImplementedError


def attr_text(attrs: dict | None) -> str:
    """Attributes as `key=value` text for errors and drawings (`axis=1 keepdims=True`)."""
    if not attrs:
        return ""
    return " ".join(f"{k}={v!r}" for k, v in attrs.items() if v is not None)
