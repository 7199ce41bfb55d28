# Two commands for users: `make demo` and `make test`. Each creates .venv and installs the project.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo lessons reference test bench fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# One BLAS thread: the demo's small matrices gain nothing from more; on the shared 2-core machine
# the demo took 121 s of CPU with two BLAS threads and 19 s with one (75 s wall clock, under load)
demo: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m graphgrad_physics --out report

# The note's lessons over 3 seeds (learning rate, batch norm, regularization, Adam): lessons/
lessons: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m graphgrad_physics lessons --out lessons

# scikit-learn reference models for the report's table (installs the optional 'reference' extra)
reference: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[reference]'
	$(BIN)/python scripts/reference_sklearn.py --out report/reference_sklearn.json

# One BLAS thread per process: on a 2-core machine, BLAS threads fighting over the cores made
# the suite several times slower (and its MPI tests run two processes anyway).
test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest

# The property tests with 100x the examples of `make test`, plus the slow ones (1,000,000-op chain).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m "slow or not slow" -p no:cacheprovider \
		tests/test_ops.py tests/test_registry_saves.py tests/test_engine.py \
		$(wildcard tests/test_mutation_properties.py tests/test_graph_machine.py)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
