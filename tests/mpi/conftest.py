# The scripts here run under `mpiexec -n 2` (started by tests/test_distributed.py): pytest
# must not import them (their doctest collection would run them as one process).
collect_ignore_glob = ["*.py"]
