"""The registry of primitive ops.

Each primitive is one class: its forward on numpy arrays, its backward right below it, and
what its tests need. The backward gets `(g, out, needs, *inputs, **attrs)` and returns one
gradient (or None) per input; it is written with operators, methods and `call(...)` so the
same formula runs on arrays (first order) and on Tensors (`create_graph=True`). Broadcasting
and dtype are undone by the engine, not here.
"""

from __future__ import annotations

REGISTRY: dict[str, type] = {}


class Op:
    """Base class of primitive ops. Subclasses register themselves by `name`.

    Class attributes:
      name            -- the op's name in errors, drawings and the registry
      save_out        -- backward reads the forward output (kept until backward frees it)
      needs_inputs    -- backward reads input values (a second backward then needs retain_graph)
      differentiable  -- False for ops that never carry gradient
      same_shape      -- unary elementwise: the engine skips undoing broadcasting and casting
    Test metadata (read by tests/test_ops.py, nothing else):
      ref       -- numpy reference for the forward
      arity     -- number of tensor inputs
      domain    -- (low, high) for drawn input values
      kinks     -- points where the derivative jumps; drawn values keep away from them
      smooth    -- True when second derivatives are checked
      sample    -- name of the input generator in the tests ("elementwise", "reduce", ...)
      attrs     -- list of attribute dicts to test with
    """

    name = "op"
    save_out = False
    needs_inputs = True
    differentiable = True
    same_shape = False  # True: each input's gradient has its shape and dtype (no engine check)

    ref = None
    arity = 1
    domain = (-3.0, 3.0)
    kinks: tuple = ()
    smooth = True
    sample = "elementwise"
    attrs: tuple = ({},)

    def __init_subclass__(cls, register: bool = True, **kwargs):
        super().__init_subclass__(**kwargs)
        if register:
            if cls.name in REGISTRY:
                raise ValueError(f"op {cls.name!r} is registered twice")
            REGISTRY[cls.name] = cls

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
