# Two commands for users: `make demo` and `make test`. Each creates .venv and installs the project.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo lessons reference test test-gpu bench bench-gpu fuzz clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# One BLAS thread: the demo's small matrices gain nothing from more; on the shared 2-core machine
# the demo took 121 s of CPU with two BLAS threads and 19 s with one (75 s wall clock, under load)
demo: $(STAMP)
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m graphgrad_physics --out report $(ARGS)

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

# The GPU tests (tests/gpu, marked `gpu`: every registry op, training, checkpoints and device
# mixing on CuPy against numpy), for a machine with an NVIDIA GPU; without one they are skipped
# with the reason. Installs the 'gpu' extra (cupy-cuda13x) into .venv, unless GPU_PYTHON names
# a Python that has CuPy already (the GPU machines' own: scripts/gpu_check.sh sets it, with the
# repository on PYTHONPATH). GRAPHGRAD_GPU_DRY_RUN=1 runs them with array-api-strict in CuPy's place.
# Test files elsewhere that mark some of their cases `gpu` (tests/test_device_nn.py) run too.
GPU_PYTHON ?=
GPU_TESTS = tests/gpu $(shell grep -l 'mark\.gpu' tests/test_*.py)
test-gpu: $(if $(GPU_PYTHON),,$(STAMP))
	$(if $(GPU_PYTHON),,$(BIN)/python -m pip install --quiet -e '.[gpu]')
	$(or $(GPU_PYTHON),$(BIN)/python) -m pytest -m gpu -p no:cacheprovider -rs $(GPU_TESTS)

# The training step on the GPU beside PyTorch CUDA (benchmarks/bench_gpu.py; numpy without a GPU)
bench-gpu: $(if $(GPU_PYTHON),,$(STAMP))
	$(or $(GPU_PYTHON),$(BIN)/python) benchmarks/bench_gpu.py

# The property tests with 100x the examples of `make test`, plus the slow ones (1,000,000-op chain).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m "slow or not slow" -p no:cacheprovider \
		tests/test_ops.py tests/test_registry_saves.py tests/test_engine.py \
		$(wildcard tests/test_mutation_properties.py tests/test_graph_machine.py)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
