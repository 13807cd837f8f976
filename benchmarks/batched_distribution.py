"""Same accuracy distribution? N configurations trained one at a time and the same N batched.

The configurations and the problem are ``benchmarks/batched.py``'s (digits MLP 64-128-128-10,
Adam, 20 epochs, sampled learning rate, L2 and dropout). Per configuration, the best validation
accuracy of ``train`` and of ``train_batched`` (K = N, one batch) are compared: their quartiles,
the mean of each, the mean absolute paired difference, and a two-sample Kolmogorov-Smirnov
test (scipy) of the two sets of accuracies.

Example::

    python benchmarks/batched_distribution.py --device cuda --n 64
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from hyperknob import nn

sys.path.insert(0, str(Path(__file__).parent))
from batched import draw, space_for


def main() -> None:
    """Train N configurations both ways and print and write the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    data = nn.load_dataset("digits", seed=0)
    configs = draw(space_for(data), args.n, args.seed)
    started = time.perf_counter()
    alone = np.array([nn.train(c, data, device=args.device).best.val_metric for c in configs])
    t_alone = time.perf_counter() - started
    started = time.perf_counter()
    batched = np.array([r.best.val_metric
                        for r in nn.train_batched(configs, data, device=args.device)])
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t_batched = time.perf_counter() - started
    ks = stats.ks_2samp(alone, batched)
    report = {
        "command": " ".join(["python", *sys.argv]), "n": args.n, "device": args.device,
        "device_name": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu",
        "seconds_one_at_a_time": t_alone, "seconds_batched": t_batched,
        "quartiles_one_at_a_time": np.quantile(alone, [0, .25, .5, .75, 1]).tolist(),
        "quartiles_batched": np.quantile(batched, [0, .25, .5, .75, 1]).tolist(),
        "mean_one_at_a_time": float(alone.mean()), "mean_batched": float(batched.mean()),
        "mean_abs_paired_difference": float(np.abs(alone - batched).mean()),
        "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
        "one_at_a_time": alone.tolist(), "batched": batched.tolist(),
    }
    text = "\n".join(f"{key}: {value}" for key, value in report.items()
                     if key not in ("one_at_a_time", "batched"))
    print(text)
    out = Path(args.out or f"benchmarks/results/batched-distribution-{args.device}")
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
