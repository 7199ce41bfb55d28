"""`python -m nn.physics`: see :mod:`nn.physics.cli`."""

import sys

from .cli import main

sys.exit(main())
