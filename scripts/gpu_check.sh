#!/usr/bin/env bash
# The GPU check of issue 14 in one run, on a machine with an NVIDIA GPU and CuPy: the GPU
# tests (`make test-gpu`: tests/gpu and the gpu-marked cases of tests/test_device_nn.py; every
# registry op, nn, training, checkpoints and device mixing on CuPy against numpy) and
# benchmarks/bench_gpu.py (the 784-512-512-10 training step beside PyTorch CUDA eager at batch
# 256 and 8,192). Under 5 minutes (the tests are cut at 200 s, the benchmark at 100 s); logs
# and results go to $OUT when it is set, else /tmp/gpu_check.
#
# It uses the machine's own Python (GPU_PYTHON, default python3: on the lent GPU machines the
# one with CuPy, PyTorch and JAX) with the repository on PYTHONPATH: nothing is installed and
# no network is needed. What that Python lacks (array-api-compat, array-api-strict, graphviz:
# pure Python) can travel as wheels in .whl/, fetched beforehand on a machine with network:
#
#   scripts/gpu_check.sh --fetch-wheels      # here: wheels into .whl/ (git-ignored)
#   bash scripts/gpu_check.sh                # there, with .whl carried along
#
# Without CuPy or a GPU it runs the tests (each skipped, with the reason), skips the benchmark,
# says so, and exits 3. Exit status otherwise: 0 when the tests pass, 1 when they fail, 2 when
# the benchmark fails (its 1.5x target is reported in its table, not in the exit status).
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS=(array-api-compat==1.16.0 array-api-strict==2.6.1 graphviz==0.21)

if [ "${1:-}" = "--fetch-wheels" ]; then
    mkdir -p .whl
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    exec python3 -m pip download --quiet --no-deps --only-binary=:all: -d .whl "${WHEELS[@]}"
fi

PY=${GPU_PYTHON:-python3}
OUTDIR=${OUT:-/tmp/gpu_check}
mkdir -p "$OUTDIR"
SUMMARY="$OUTDIR/summary.txt"
: > "$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
start=$(date +%s)

say "# gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ) at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
if command -v nvidia-smi >/dev/null; then
    say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
else
    say "gpu: no nvidia-smi here"
fi

# Wheels carried in .whl/ (pure Python) go to a folder on PYTHONPATH, not into the image.
SITE=""
if compgen -G ".whl/*.whl" >/dev/null; then
    SITE=/tmp/gpu_check_site
    "$PY" -m pip install --quiet --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .whl/*.whl || say "warning: could not install the wheels in .whl/"
fi
export PYTHONPATH="$PWD${SITE:+:$SITE}${PYTHONPATH:+:$PYTHONPATH}"
export CI=true  # the derandomized hypothesis profile (tests/conftest.py): a red run repeats exactly
export PYTHONUNBUFFERED=1

"$PY" - <<'EOF' 2>&1 | tee "$OUTDIR/env.txt" | tee -a "$SUMMARY"
import importlib, sys
print("python:", sys.version.split()[0], sys.executable)
for name in ("numpy", "cupy", "torch", "array_api_compat", "array_api_strict", "graphviz", "hypothesis", "pytest"):
    try:
        print(f"{name}: {importlib.import_module(name).__version__}")
    except Exception as e:  # noqa: BLE001
        print(f"{name}: missing ({type(e).__name__}: {e})")
import autograd
print("autograd.cuda.is_available():", autograd.cuda.is_available())
if autograd.cuda.is_available():
    import cupy
    a = cupy.zeros(2)
    print("cupy.ndarray has __array_namespace__:", hasattr(a, "__array_namespace__"),
          "| backend.namespace:", getattr(autograd.backend.namespace(a), "__name__", "?"),
          "| is_array:", autograd.backend.is_array(a), "| device_name:", autograd.backend.device_name(a))
EOF
if ! "$PY" -c "import autograd, nn" 2>/dev/null; then
    say "FAIL: graphgrad does not import with $PY (PYTHONPATH=$PYTHONPATH)"
    exit 1
fi
gpu=1
"$PY" -c "import sys, autograd; sys.exit(0 if autograd.cuda.is_available() else 1)" || gpu=0

# 1. The GPU tests: `make test-gpu` with this Python (the same pytest line where make is missing).
say ""
say "## make test-gpu ($( [ $gpu = 1 ] && echo 'CuPy on the GPU' || echo 'no GPU: each test skips with the reason'))"
export PYTEST_ADDOPTS="--junitxml=$OUTDIR/gpu_tests.xml --durations=10 ${PYTEST_ADDOPTS:-}"
if command -v make >/dev/null; then
    timeout 200 make --no-print-directory test-gpu GPU_PYTHON="$PY" 2>&1 | tee "$OUTDIR/gpu_tests.log"
else
    timeout 200 "$PY" -m pytest -m gpu -p no:cacheprovider -rs tests/gpu $(grep -l 'mark\.gpu' tests/test_*.py) \
        2>&1 | tee "$OUTDIR/gpu_tests.log"
fi
tests_rc=${PIPESTATUS[0]}
say "tests: exit $tests_rc ($(grep -E '[0-9]+ (passed|failed|skipped|error)' "$OUTDIR/gpu_tests.log" | tail -1))"
unset PYTEST_ADDOPTS

if [ $gpu = 0 ]; then
    say "no CUDA device for CuPy here: benchmark skipped. Run this script on the GPU machine."
    exit 3
fi

# 2. The benchmark: graphgrad on CuPy beside PyTorch CUDA eager.
say ""
say "## benchmarks/bench_gpu.py"
timeout 100 "$PY" benchmarks/bench_gpu.py --json "$OUTDIR/bench_gpu.json" 2>&1 | tee "$OUTDIR/bench_gpu.log"
bench_rc=${PIPESTATUS[0]}
grep -E '^\|' "$OUTDIR/bench_gpu.log" >> "$SUMMARY"
say "benchmark: exit $bench_rc"
say "total: $(( $(date +%s) - start )) s"

[ "$tests_rc" = 0 ] || exit 1
[ "$bench_rc" = 0 ] || exit 2
exit 0
