#!/usr/bin/env bash
# Issue 3 on a lent GPU (run through the device tool, from the repository root):
#   the trainer on CUDA (determinism of one seed, accuracy), the trainer-vs-hand-loop timing
#   on CUDA, and `hyperknob tune digits --device cuda` end to end.
# The GPU image has torch but not SQLAlchemy: its wheel travels in .whl/ (see BENCHMARKS.md).
set -euo pipefail
OUT="${OUT:-/tmp/gpu-check}"
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:$PWD/src"
else
  export PYTHONPATH="$PWD/src"
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 - <<'PY'
import time, torch
from hyperknob import nn
print("torch", torch.__version__, "auto device:", nn.resolve_device("auto"))
data = nn.load_dataset("digits", seed=0)
config = nn.MLPConfig(hidden_layers=(128, 128), epochs=20)
runs = []
for _ in range(2):
    started = time.perf_counter()
    result = nn.train(config, data, seed=0, device="cuda")
    runs.append((time.perf_counter() - started, result))
(t1, a), (t2, b) = runs
print(f"cuda train 20 epochs: {t1:.2f} s (first, with warm-up), {t2:.2f} s (second)")
print("same seed, same curve on cuda:", a.curves() == b.curves())
print("best validation accuracy:", round(a.best.val_metric, 4),
      "test accuracy:", round(nn.evaluate(a.model, data, "test", device="cuda"), 4))
cpu = nn.train(config, data, seed=0, device="cpu")
print("cpu best validation accuracy:", round(cpu.best.val_metric, 4))
PY
python3 benchmarks/trainer.py --part timing --device cuda --repeats 5 --epochs 20 \
  --out "$OUT/trainer-timing-cuda.json"
python3 -m hyperknob.cli tune digits --device cuda --trials 8 --max-epochs 30 \
  --storage "sqlite:///$OUT/hk.db" --output "$OUT/runs" --study gpu-digits
