"""`python -m graphgrad_physics`: see :mod:`graphgrad_physics.cli`."""

import sys

from .cli import main

sys.exit(main(prog="python -m graphgrad_physics"))
