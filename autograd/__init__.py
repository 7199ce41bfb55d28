"""graphgrad's engine: a numpy Tensor that records a dynamic graph, reverse-mode gradients
(first and higher order), and the registry of primitive ops.

>>> import autograd
>>> x = autograd.tensor(2.0, requires_grad=True)
>>> y = x * x + 3 * x
>>> y.backward()
>>> x.grad
tensor(7.)
"""

# ruff: noqa: I001 - the import order below is the layering, bottom first: each module
# imports only modules above it in this list (checked by tests/test_layering.py).
from . import backend, cuda
from .dtypes import get_default_dtype, set_default_dtype
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, as_tensor, device, tensor
from . import anomaly, random
from . import node
from .ops import REGISTRY, Op
from . import engine
from .engine import increment_version
from . import operations
from .operations import (
    absolute as abs, all_ as all, any_ as any, argmax, argmin, astype, broadcast_to, clip, clone,
    concatenate, cos, erf, exp,
    expand_dims, flatten, gelu, leaky_relu, log, log_softmax, logsumexp, matmul, mean, maximum,
    minimum, norm, power as pow, reduce_max as max, reduce_min as min, reduce_sum as sum, relu, reshape,
    sigmoid, sin, softmax, softplus, sqrt, squeeze, stack, std, swapaxes, tanh, transpose, var,
    where,
)
from . import inplace
from .fused import bce_with_logits, binary_cross_entropy, linear, mse_loss, softmax_cross_entropy
from .factories import (
    arange, cat, empty, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand, randint,
    randn, zeros, zeros_like,
)
from .grad import grad
from .random import manual_seed
from .function import Function, FunctionCtx
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from . import functional
from . import viz  # graphviz itself loads on the first drawing
from .compile import CompileError, compile

# dtypes by PyTorch's names (autograd.float32, autograd.float, autograd.long, ...): numpy's own
from numpy import bool_ as bool, float16, float32, float64, int32, int64
from numpy import float16 as half, float32 as float, float64 as double, int64 as long  # noqa: A001

__all__ = [
    "REGISTRY", "Op", "Tensor", "tensor", "as_tensor", "grad", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "set_default_dtype", "get_default_dtype", "engine",
    "manual_seed", "random", "increment_version", "mode", "node", "operations", "inplace",
    "abs", "all", "any", "argmax", "argmin", "astype", "broadcast_to", "clip", "clone", "concatenate", "cos", "erf",
    "exp", "expand_dims", "flatten", "gelu", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "norm", "pow", "relu", "reshape", "sigmoid", "sin",
    "softmax", "softplus", "sqrt", "squeeze", "stack", "std", "sum", "swapaxes", "tanh",
    "transpose", "var", "where",
    "linear", "mse_loss", "softmax_cross_entropy", "bce_with_logits", "binary_cross_entropy",
    "arange", "cat", "empty", "eye", "from_numpy", "full", "full_like", "linspace", "ones",
    "ones_like", "rand", "randint", "randn", "zeros", "zeros_like",
    "functional", "anomaly", "Function", "FunctionCtx", "AnomalyError", "detect_anomaly",
    "is_anomaly_enabled", "set_detect_anomaly", "viz", "compile", "CompileError",
    "float16", "float32", "float64", "int32", "int64", "bool", "half", "float", "double", "long", "device",
    "backend", "cuda",
]
