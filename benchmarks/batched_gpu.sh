#!/usr/bin/env bash
# Issue 8 on a lent GPU, from the repository root, in under ~6 minutes:
#   1. batched vs sequential training on CUDA for configurations without dropout (CUDA's
#      sequential dropout draws come from another generator), curves compared;
#   2. benchmarks/batched.py --device cuda: trials/s one at a time vs K in {16, 64, 256, 1024}
#      and auto, and the best accuracy of two 45-second studies.
# Results go to $OUT (default benchmarks/results). The machine is offline: SQLAlchemy's wheel
# may travel in .whl/ (carry it), as for benchmarks/gpu_check_nn.sh.
set -euo pipefail
OUT="${OUT:-benchmarks/results}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ! python3 -c "import hyperknob.nn, sqlalchemy" 2>/dev/null; then
  if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl
  fi
  export PYTHONPATH="/tmp/site:$PWD/src"
  python3 -c "import hyperknob.nn" 2>/dev/null || python3 -m pip install -q -e '.[nn]'
fi
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
timeout 150 python3 - <<'PY' 2>&1 | tee "$OUT/batched-cuda-equivalence.txt" || true
import math, time, torch
from hyperknob import nn
data = nn.load_dataset("iris", seed=0)
C = nn.MLPConfig
configs = [C(hidden_layers=(16,), epochs=6, learning_rate=0.01, batch_size=16),
           C(hidden_layers=(8,), epochs=6, optimizer="sgd", momentum=0.9, nesterov=True,
             learning_rate=0.05, l2=1e-3, schedule="step", step_size=2, gamma=0.5),
           C(hidden_layers=(12,), epochs=6, optimizer="adamw", l2=0.1, schedule="cosine",
             batch_size=7, l1=1e-3),
           C(hidden_layers=(5,), epochs=6, optimizer="rmsprop", momentum=0.5, l2=1e-3),
           C(hidden_layers=(9,), epochs=6, optimizer="sgd", learning_rate=50.0)]
started = time.perf_counter()
batched = nn.train_batched(configs, data, seed=list(range(5)), device="cuda")
print(f"train_batched on cuda: {len(configs)} models in {time.perf_counter() - started:.2f} s")
worst = 0.0
for i, (config, mine) in enumerate(zip(configs, batched)):
    alone = nn.train(config, data, seed=i, device="cuda")
    assert mine.stop_reason == alone.stop_reason, (i, mine.stop_reason, alone.stop_reason)
    for a, b in zip(mine.history, alone.history):
        for x, y in ((a.train_loss, b.train_loss), (a.val_loss, b.val_loss)):
            if not (math.isnan(x) and math.isnan(y)):
                worst = max(worst, abs(x - y) / max(abs(y), 1e-3))
print(f"cuda equivalence (no dropout): largest relative loss difference {worst:.2e} "
      f"({'ok' if worst < 1e-3 else 'OVER 1e-3'})")
PY
timeout 330 python3 benchmarks/batched.py --device cuda --seconds 45 --sequential 8 \
  --ks 16 64 256 1024 --out "$OUT/batched-cuda"
ls -l "$OUT"/batched-cuda*
