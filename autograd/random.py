"""One seeded random source for everything random in graphgrad: `nn.init`, dropout masks and
data shuffling all draw from it, so `autograd.manual_seed(0)` makes a whole run reproducible."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the shared generator (numpy's PCG64) and return it.

    >>> import autograd
    >>> _ = autograd.manual_seed(0); a = autograd.random.generator().random()
    >>> _ = autograd.manual_seed(0); a == autograd.random.generator().random()
    True
    """
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int; got {type(seed).__name__}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    """The shared generator (read it at each use: `manual_seed` replaces it)."""
    return _generator
