#!/usr/bin/env bash
# Build .venv-bench: the environment of the quality benchmark's anchors (benchmarks/quality.py).
# HEBO pins numpy < 1.25, so it cannot share .venv (numpy 2); every method compared with it
# runs here. pymoo's wheel comes without its compiled modules, which HEBO's NSGA-II uses: they
# are built from pymoo's source (a C++ compiler and Cython) so HEBO is timed at its best.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV=.venv-bench
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q torch==2.13.0 "numpy<1.25"
"$VENV/bin/python" -m pip install -q -e '.[bench]' "numpy<1.25" scikit-learn threadpoolctl cython
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
version="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pymoo"))')"
"$VENV/bin/python" -m pip download -q --no-binary :all: --no-deps -d "$build" "pymoo==$version"
tar xzf "$build"/pymoo-*.tar.gz -C "$build"
(cd "$build/pymoo-$version" && "$ROOT/$VENV/bin/python" setup.py build_ext --inplace >/dev/null)
cp "$build/pymoo-$version"/pymoo/cython/*.so "$VENV"/lib/python3*/site-packages/pymoo/cython/
"$VENV/bin/python" -c 'from pymoo.util.function_loader import is_compiled; assert is_compiled()'
echo "$VENV ready: $("$VENV/bin/python" -c 'import hebo, numpy; print("HEBO with numpy", numpy.__version__)')"
