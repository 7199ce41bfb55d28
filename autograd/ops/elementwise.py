"""Elementwise primitives: arithmetic, unary math and activations.

Each backward returns gradients in the broadcast output shape; the engine sums them back
to each input's shape and casts them to its dtype.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from .. import backend
from ..backend import namespace, namespace_of
from ..node import call, raw
from .registry import Op

SQRT_PI = math.sqrt(math.pi)
SQRT_2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _mask(cond, like):
    """A boolean array as a 0/1 array of `like`'s float dtype (avoids float64 upcasts)."""
    dtype = raw(like).dtype
    if not backend.is_floating(dtype):
        dtype = backend.dtype_in(namespace(cond), np.float64)
    return backend.astype(cond, dtype)


class Unary(Op, register=False):
    """An elementwise op of one input: its gradient has the input's shape and dtype."""

    same_shape = True


# ----------------------------------------------------------------------------- arithmetic
class Add(Op):
    """x + y;  d/dx = 1, d/dy = 1"""

    name = "add"
    arity = 2
    ref = staticmethod(np.add)

    forward = staticmethod(operator.add)

    @staticmethod
    def backward(g, out, needs, x, y):
        return g, g


class Sub(Op):
    """x - y;  d/dx = 1, d/dy = -1"""

    name = "sub"
    arity = 2
    ref = staticmethod(np.subtract)

    forward = staticmethod(operator.sub)

    @staticmethod
    def backward(g, out, needs, x, y):
        return g, (-g if needs[1] else None)


class Mul(Op):
    """x * y;  d/dx = y, d/dy = x"""

    name = "mul"
    save_inputs = {0: (1,), 1: (0,)}
    arity = 2
    ref = staticmethod(np.multiply)

    forward = staticmethod(operator.mul)

    @staticmethod
    def backward(g, out, needs, x, y):
        return (g * y if needs[0] else None), (g * x if needs[1] else None)


class Div(Op):
    """x / y;  d/dx = 1/y, d/dy = -x/y²"""

    name = "div"
    save_inputs = {0: (1,), 1: (0, 1)}
    arity = 2
    kinks = (0.0,)
    ref = staticmethod(np.true_divide)

    forward = staticmethod(operator.truediv)

    @staticmethod
    def backward(g, out, needs, x, y):
        gx = g / y
        return (gx if needs[0] else None), (-gx * x / y if needs[1] else None)


class Neg(Unary):
    """-x"""

    name = "neg"
    ref = staticmethod(np.negative)

    forward = staticmethod(operator.neg)

    @staticmethod
    def backward(g, out, needs, x):
        return (-g,)


class Pow(Op):
    """x ** y;  d/dx = y x^(y-1), d/dy = x^y log x"""

    name = "pow"
    save_inputs = (0, 1)
    arity = 2
    domain = ((0.2, 3.0), (-2.0, 2.0))
    ref = staticmethod(np.power)

    @staticmethod
    def forward(x, y):
        return namespace_of(x, y).pow(x, y)

    @staticmethod
    def backward(g, out, needs, x, y):
        # As PyTorch: at x = 0, d/dx is 0 where y = 0 (x^0 is constant) and d/dy is 0 where
        # y >= 0 (0^y is flat there), where the formulas give 0·inf = nan. (Only at x = 0: the
        # masks must not cut the second derivative anywhere else.)
        xd, yd = raw(x), raw(y)
        xp = namespace_of(xd, yd)
        gx = gy = None
        with backend.errstate(xp, divide="ignore", invalid="ignore"):
            if needs[0]:
                gx = g * call(Where, (xd == 0) & (yd == 0), 0.0, y * x ** (y - 1))
            if needs[1]:
                flat = (xd == 0) & (yd >= 0)
                if isinstance(x, (int, float)):  # a number base (2 ** t)
                    # numpy's log of a number is a float64 scalar: arrays promote with it, Tensors
                    # take it as a Python number. The same on every library: a 0-d float64
                    # array beside arrays, a Python number beside Tensors.
                    p = x**y
                    lx = call(Log, xp.asarray(float(x), device=yd.device))
                    term = p * (float(lx) if raw(p) is not p else lx)
                else:
                    term = x**y * call(Log, x)
                gy = g * call(Where, flat, 0.0, term)
        return gx, gy


def _to_winner(g, needs, x_wins, tie):
    """Gradient of an elementwise pick between x and y: all to the winner, halves on a tie."""
    wx = _mask(x_wins, g) + 0.5 * _mask(tie, g)
    return (g * wx if needs[0] else None), (g * (1 - wx) if needs[1] else None)


class Maximum(Op):
    """elementwise max; a tie splits the gradient evenly (as torch.maximum)"""

    name = "maximum"
    save_inputs = (0, 1)
    arity = 2
    sample = "separated"
    ref = staticmethod(np.maximum)

    @staticmethod
    def forward(x, y):
        return namespace_of(x, y).maximum(x, y)

    @staticmethod
    def backward(g, out, needs, x, y):
        return _to_winner(g, needs, raw(x) > raw(y), raw(x) == raw(y))


class Minimum(Op):
    """elementwise min; a tie splits the gradient evenly (as torch.minimum)"""

    name = "minimum"
    save_inputs = (0, 1)
    arity = 2
    sample = "separated"
    ref = staticmethod(np.minimum)

    @staticmethod
    def forward(x, y):
        return namespace_of(x, y).minimum(x, y)

    @staticmethod
    def backward(g, out, needs, x, y):
        return _to_winner(g, needs, raw(x) < raw(y), raw(x) == raw(y))


class Where(Op):
    """where(cond, x, y): x where cond holds, else y; cond carries no gradient"""

    name = "where"
    save_inputs = (0,)
    arity = 3
    sample = "where"
    ref = staticmethod(np.where)

    @staticmethod
    def forward(cond, x, y):
        return namespace_of(x, y, cond).where(cond, x, y)

    @staticmethod
    def backward(g, out, needs, cond, x, y):
        c = raw(cond)
        if isinstance(c, (bool, np.bool_)):  # a 0-d comparison, as a constant
            c = 1.0 if c else 0.0
        else:
            if backend.kind(c.dtype) != "b":
                c = c != 0
            c = _mask(c, g)
        return None, (g * c if needs[1] else None), (g * (1 - c) if needs[2] else None)


class Cast(Op):
    """x.astype(dtype); the engine casts the gradient back to x's dtype"""

    name = "astype"
    attrs = ({"dtype": np.dtype(np.float64)},)
    ref = staticmethod(lambda x, dtype: x.astype(dtype))

    @staticmethod
    def forward(x, dtype):
        return backend.astype(x, backend.dtype_in(namespace(x), dtype))

    @staticmethod
    def backward(g, out, needs, x, dtype):
        return (g,)


class Clone(Unary):
    """a copy of x with its own memory;  d/dx = 1"""

    name = "clone"
    ref = staticmethod(np.array)

    @staticmethod
    def forward(x):
        return namespace(x).asarray(x, copy=True)

    @staticmethod
    def backward(g, out, needs, x):
        return (g,)


# ----------------------------------------------------------------------------- unary math
class Exp(Unary):
    """exp x;  d/dx = exp x"""

    name = "exp"
    save_output = True
    ref = staticmethod(np.exp)

    @staticmethod
    def forward(x):
        return namespace(x).exp(x)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * out,)


class Log(Unary):
    """log x;  d/dx = 1/x"""

    name = "log"
    save_inputs = (0,)
    domain = (0.1, 5.0)
    ref = staticmethod(np.log)

    @staticmethod
    def forward(x):
        return namespace(x).log(x)

    @staticmethod
    def backward(g, out, needs, x):
        return (g / x,)


class Sqrt(Unary):
    """sqrt x;  d/dx = 1/(2 sqrt x)  (inf at 0, as PyTorch)"""

    name = "sqrt"
    save_output = True
    domain = (0.1, 5.0)
    ref = staticmethod(np.sqrt)

    @staticmethod
    def forward(x):
        return namespace(x).sqrt(x)

    @staticmethod
    def backward(g, out, needs, x):
        return (g / (2 * out),)


class Abs(Unary):
    """|x|;  d/dx = sign x (0 at 0, as PyTorch)"""

    name = "abs"
    save_inputs = (0,)
    kinks = (0.0,)
    ref = staticmethod(np.abs)

    @staticmethod
    def forward(x):
        return namespace(x).abs(x)

    @staticmethod
    def backward(g, out, needs, x):
        xd = raw(x)
        return (g * namespace(xd).sign(xd),)


class Sin(Unary):
    """sin x;  d/dx = cos x"""

    name = "sin"
    save_inputs = (0,)
    ref = staticmethod(np.sin)

    @staticmethod
    def forward(x):
        return namespace(x).sin(x)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * call(Cos, x),)


class Cos(Unary):
    """cos x;  d/dx = -sin x"""

    name = "cos"
    save_inputs = (0,)
    ref = staticmethod(np.cos)

    @staticmethod
    def forward(x):
        return namespace(x).cos(x)

    @staticmethod
    def backward(g, out, needs, x):
        return (-g * call(Sin, x),)


class Tanh(Unary):
    """tanh x;  d/dx = 1 - tanh² x"""

    name = "tanh"
    save_output = True
    ref = staticmethod(np.tanh)

    @staticmethod
    def forward(x):
        return namespace(x).tanh(x)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * (1 - out * out),)


class Sigmoid(Unary):
    """σ(x) = 1/(1+e^-x) from e^-|x| (no overflow, full precision in both tails);  d/dx = σ(1-σ)"""

    name = "sigmoid"
    save_output = True
    ref = staticmethod(lambda x: 1.0 / (1.0 + np.exp(-x)))

    @staticmethod
    def forward(x):
        # (1 + tanh(x/2))/2 is cheaper but cancels for x < 0: it gave 0 for σ(-40) in float64
        # and for σ(-17) in float32, so log σ(x) was -inf where PyTorch's is finite.
        xp = namespace(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1, e) / (1 + e)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * out * (1 - out),)


class Erf(Unary):
    """erf x;  d/dx = 2/√π exp(-x²)"""

    name = "erf"
    save_inputs = (0,)
    ref = staticmethod(np.vectorize(math.erf, otypes=[np.float64]))

    forward = staticmethod(backend.erf)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * (2.0 / SQRT_PI) * call(Exp, -(x * x)),)


# ----------------------------------------------------------------------------- activations
class Relu(Unary):
    """max(x, 0);  d/dx = 1 for x > 0 else 0"""

    name = "relu"
    save_output = True  # out > 0 exactly where x > 0: the input can go
    kinks = (0.0,)
    ref = staticmethod(lambda x: np.maximum(x, 0))

    @staticmethod
    def forward(x):
        return namespace(x).maximum(x, 0)

    @staticmethod
    def backward(g, out, needs, x):
        return (g * _mask(raw(out) > 0, g),)


class LeakyRelu(Unary):
    """x if x > 0 else slope·x"""

    name = "leaky_relu"
    save_inputs = (0,)
    kinks = (0.0,)
    attrs = ({"negative_slope": 0.01}, {"negative_slope": 0.2})
    ref = staticmethod(lambda x, negative_slope: np.where(x > 0, x, negative_slope * x))

    @staticmethod
    def forward(x, negative_slope):
        return namespace(x).where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(g, out, needs, x, negative_slope):
        pos = _mask(raw(x) > 0, g)
        return (g * (pos + (1 - pos) * negative_slope),)


def _gelu_ref(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + np.vectorize(math.erf, otypes=[np.float64])(x / SQRT_2))


class Gelu(Unary):
    """x Φ(x) (exact, with erf) or its tanh approximation, as torch.nn.functional.gelu"""

    name = "gelu"
    save_inputs = (0,)
    attrs = ({"approximate": "none"}, {"approximate": "tanh"})
    ref = staticmethod(_gelu_ref)

    @staticmethod
    def forward(x, approximate):
        if approximate == "tanh":
            inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            return 0.5 * x * (1 + namespace(x).tanh(inner))
        return 0.5 * x * (1 + backend.erf(x / SQRT_2))

    @staticmethod
    def backward(g, out, needs, x, approximate):
        if approximate == "tanh":
            t = call(Tanh, SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
            dinner = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner),)
        cdf = 0.5 * (1 + call(Erf, x / SQRT_2))
        pdf = call(Exp, -0.5 * x * x) / (SQRT_2 * SQRT_PI)
        return (g * (cdf + x * pdf),)


class Softplus(Unary):
    """log(1 + e^(βx))/β, linear where βx > threshold (as torch);  d/dx = σ(βx)"""

    name = "softplus"
    save_inputs = (0,)
    kinks = (2.5,)
    attrs = ({"beta": 1.0, "threshold": 20.0}, {"beta": 2.0, "threshold": 5.0})
    ref = staticmethod(
        lambda x, beta, threshold: np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)
    )

    @staticmethod
    def forward(x, beta, threshold):
        xp = namespace(x)
        bx = x * beta
        return xp.where(bx > threshold, x, xp.logaddexp(0, bx) / beta)

    @staticmethod
    def backward(g, out, needs, x, beta, threshold):
        lin = _mask(raw(x) * beta > threshold, g)
        # (the Tensor first: another library's array on the left of a Tensor refuses it)
        return (g * (call(Sigmoid, x * beta) * (1 - lin) + lin),)


class Clip(Unary):
    """clip(x, min, max);  gradient passes where min <= x <= max (as torch.clamp)"""

    name = "clip"
    save_inputs = (0,)
    kinks = (-1.0, -0.5, 0.5, 1.0)
    attrs = ({"min": -1.0, "max": 1.0}, {"min": -0.5, "max": None}, {"min": None, "max": 0.5})
    ref = staticmethod(lambda x, min, max: np.clip(x, min, max))

    @staticmethod
    def forward(x, min, max):
        return namespace(x).clip(x, min, max)

    @staticmethod
    def backward(g, out, needs, x, min, max):
        xd = raw(x)
        inside = None
        if min is not None:
            inside = xd >= min
        if max is not None:
            below = xd <= max
            inside = below if inside is None else inside & below
        if inside is None:
            return (g,)
        return (g * _mask(inside, g),)
