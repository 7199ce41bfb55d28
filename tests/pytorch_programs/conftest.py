"""These files are programs, not test modules: they `import torch` at the top and train when
imported. tests/test_pytorch_programs.py runs them; pytest (and its doctest collector) must not."""

collect_ignore_glob = ["*.py"]
