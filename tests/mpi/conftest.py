"""These files are programs for `mpiexec -n 2`, not test modules: they train when imported.
tests/test_distributed.py runs them; pytest (and its doctest collector) must not."""

collect_ignore_glob = ["*.py"]
