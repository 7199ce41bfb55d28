"""Tools to test gradients: `gradcheck`, `gradgradcheck` and (with hypothesis installed)
the strategies in `autograd.testing.strategies`.

Hypothesis is a test extra: it is imported only by `autograd.testing.strategies`, so the
engine and these checks work without it.
"""

from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]
