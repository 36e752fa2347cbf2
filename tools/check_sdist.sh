#!/usr/bin/env bash
# Release check: the sdist is complete. Builds the sdist (python -m build --sdist), checks what it
# holds, builds a wheel FROM the sdist in a clean virtual environment (an isolated build that
# fetches scikit-build-core and pybind11 from the package index), installs that wheel in another
# clean virtual environment and runs `eap-anomaly demo` outside the source tree.
#     tools/check_sdist.sh            (a few minutes on 2 cores; needs `build` from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/eap-sdist.XXXXXX")
trap 'rm -rf "$work"' EXIT
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"

echo "== sdist"
python3 -m venv "$work/tool"
"$work/tool/bin/pip" install -q build
"$work/tool/bin/python" -m build --sdist --outdir "$work/dist" .
sdist=$(ls "$work"/dist/*.tar.gz)
tar -tzf "$sdist" | sed 's|^[^/]*/||' > "$work/contents"
for need in pyproject.toml CMakeLists.txt README.md cpp/bindings.cpp cpp/eap/distances.cpp \
            python/eap_anomaly/__init__.py python/eap_anomaly/_core.pyi python/eap_anomaly/py.typed \
            tests/conftest.py; do
  grep -qx "$need" "$work/contents" || { echo "check_sdist: the sdist lacks $need" >&2; exit 1; }
done
if grep -qE '^(build|dist|\.venv[^/]*|\.ci-venv|\.asv)/|\.so$' "$work/contents"; then
  echo "check_sdist: the sdist holds build outputs or virtual environments:" >&2
  grep -E '^(build|dist|\.venv[^/]*|\.ci-venv|\.asv)/|\.so$' "$work/contents" | head >&2
  exit 1
fi
echo "$(wc -l < "$work/contents") files in $(basename "$sdist")"

echo "== wheel from the sdist (clean venv, isolated build)"
python3 -m venv "$work/builder"
"$work/builder/bin/pip" wheel -q --no-deps --wheel-dir "$work/wheels" "$sdist"
ls "$work"/wheels

echo "== install the wheel in a clean venv and run the demo"
python3 -m venv "$work/user"
"$work/user/bin/pip" install -q "$work"/wheels/*.whl
cd "$work"
"$work/user/bin/python" -c "import eap_anomaly, sys; assert 'site-packages' in eap_anomaly.__file__, eap_anomaly.__file__"
"$work/user/bin/eap-anomaly" demo
echo "check_sdist: OK"
