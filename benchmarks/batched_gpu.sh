#!/usr/bin/env bash
# Issue 8 on a lent GPU, from the repository root, in under ~6 minutes:
#   the batched-vs-sequential equivalence tests on CUDA (no dropout there: CUDA's sequential
#   dropout draws come from another generator), then benchmarks/batched.py --device cuda.
# Results go to $OUT (default benchmarks/results). Offline machine: SQLAlchemy's wheel may
# travel in .whl/ (carry it), as for benchmarks/gpu_check_nn.sh.
set -euo pipefail
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ! python3 -c "import hyperknob.nn, sqlalchemy" 2>/dev/null; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD/src"
  else
    export PYTHONPATH="$PWD/src"
  fi
  python3 -c "import hyperknob.nn" 2>/dev/null || python3 -m pip install -q -e '.[nn]'
fi
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
HYPERKNOB_TEST_DEVICE=cuda timeout 120 python3 -m pytest -q -p no:cacheprovider \
  tests/nn/test_batched_train.py -k "equals_sequential" 2>&1 | tail -5 \
  | tee "$OUT/batched-cuda-equivalence.txt"
timeout 330 python3 benchmarks/batched.py --device cuda --seconds 45 --sequential 8 \
  --ks 16 64 256 1024 --out "$OUT/batched-cuda"
ls -l "$OUT"/batched-cuda*
