"""The primitive ops, one registry. Importing this package registers them all."""

from . import device, elementwise, linalg, nn_ops, reductions, shape  # noqa: F401
from .registry import REGISTRY, Op, attr_text

__all__ = ["REGISTRY", "Op", "attr_text"]
