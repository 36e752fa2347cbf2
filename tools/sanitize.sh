#!/usr/bin/env bash
# Builds the C++ core with -fsanitize=address,undefined (own venv and build directory) and runs
# the test suite under it. Too slow for every CI run; run it before releases and after core edits:
#     tools/sanitize.sh [pytest arguments]
# CPython itself is not instrumented, so the ASan runtime is preloaded and leak checks are off
# (the interpreter's own allocations would drown them). Any report aborts the run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-sanitize
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q scikit-build-core pybind11 cmake ninja numpy scipy scikit-learn threadpoolctl \
    pytest hypothesis
"$venv/bin/pip" install -q --no-build-isolation . -Cbuild-dir=build/sanitize \
    -Ccmake.define.EAP_SANITIZE=ON -Ccmake.build-type=RelWithDebInfo
export LD_PRELOAD="$(g++ -print-file-name=libasan.so):$(g++ -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# Dask, CLI-subprocess and Parquet tests start other programs or need extras: not the core's business.
"$venv/bin/python" -m pytest -q -p no:cacheprovider \
    --ignore=tests/test_dask.py --ignore=tests/test_cli.py "$@"
