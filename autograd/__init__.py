"""graphgrad's engine: a numpy Tensor that records a dynamic graph, reverse-mode gradients
(first and higher order), and the registry of primitive ops.

>>> import autograd
>>> x = autograd.tensor(2.0, requires_grad=True)
>>> y = x * x + 3 * x
>>> y.backward()
>>> x.grad
array(7., dtype=float32)
"""

from . import engine  # noqa: I001  (the engine first: tensor.py plugs the Tensor class into it)
from .dtypes import get_default_dtype, set_default_dtype
from .engine import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .grad import grad
from .operations import (
    abs, argmax, argmin, astype, broadcast_to, clip, concatenate, cos, erf, exp, expand_dims,
    flatten, gelu, leaky_relu, log, log_softmax, logsumexp, matmul, max, maximum, mean, min,
    minimum, relu, reshape, sigmoid, sin, softmax, softplus, sqrt, squeeze, stack, std, sum,
    swapaxes, tanh, transpose, var, where,
)
from .ops import REGISTRY, Op
from . import random
from .random import manual_seed
from .tensor import Tensor, tensor
from . import viz  # noqa: E402  (draw/render; graphviz itself loads on the first drawing)
from . import anomaly, functional  # noqa: E402  (autograd.functional.hessian, ...)
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .function import Function, FunctionCtx

from numpy import float16, float32, float64  # noqa: E402  (autograd.float32 like torch.float32)

__all__ = [
    "REGISTRY", "Op", "Tensor", "tensor", "grad", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "set_default_dtype", "get_default_dtype", "engine", "manual_seed",
    "random",
    "abs", "argmax", "argmin", "astype", "broadcast_to", "clip", "concatenate", "cos", "erf",
    "exp", "expand_dims", "flatten", "gelu", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "relu", "reshape", "sigmoid", "sin",
    "softmax", "softplus", "sqrt", "squeeze", "stack", "std", "sum", "swapaxes", "tanh",
    "transpose", "var", "where",
]
__all__ += ["functional", "anomaly", "Function", "FunctionCtx", "AnomalyError", "detect_anomaly",
            "is_anomaly_enabled", "set_detect_anomaly", "viz", "float16", "float32", "float64"]
