"""The MLP trainer of ``hyperknob.nn``: its speed next to a hand-written loop, and what it finds.

Part ``timing`` (goal of issue 3: hyperknob / hand <= 1.10 seconds per epoch). For each
configuration the same model, built by ``hyperknob.nn.build_mlp`` (same seed, so the same
initial weights), is trained for ``--epochs`` epochs on the digits training split, on the same
device, with the same torch thread count, by

- **hyperknob**: ``hyperknob.nn.train(config, data, seed=r, device=...)`` with
  ``epochs=--epochs`` and no early stopping, timed as one call (its setup included: building
  the model, moving the data to the device, the starting loss, keeping the best epoch's
  weights, the divergence check);
- **hand**: a minimal hand-written PyTorch loop, timed the same way (its setup included:
  building the model and moving the data to the device). Per epoch it does exactly this:
  ``torch.randperm`` over the training rows (on the device), then per mini-batch a gather by
  index from tensors already on the device, forward, cross-entropy (plus the same L1 term
  ``l1 * sum |W|`` over the weight matrices when ``l1 > 0``), ``zero_grad``, ``backward``,
  ``Adam.step``; then ``model.eval()`` and, under ``torch.no_grad()``, the validation split's
  cross-entropy and accuracy, each read back with ``.item()``. No DataLoader.

Runs alternate A B, B A, A B, ... (repeat r uses seed r for both) after one untimed warm-up
run of each; reported: the median seconds per epoch (wall time of a run / epochs) of each, the
ratio of the medians, and a 95% bootstrap interval of that ratio (repeats resampled in pairs);
also the ratio of the fastest run of each, less sensitive to other load on a shared machine.

Part ``quality``: for each seed, ``job = hyperknob.nn.objective("digits", seed=seed)``, a study
with ``RandomSampler(seed=seed)``, ``job.prepare(study)`` (the rule-of-thumb trials first), then
``study.optimize(job, n_trials=--trials)``. Reported per seed: the best validation accuracy,
the test accuracy of the best trial's configuration refit with ``train(config, data,
seed=job.seed)`` and scored by ``evaluate(model, data, "test")``, the wall time of the search,
and the trials pruned / diverged; then the mean over seeds.

Results are printed as Markdown tables and written as JSON (every run, the command, versions,
torch threads, date) with a ``.txt`` of the tables beside it.

Examples::

    python benchmarks/trainer.py --part timing --repeats 3 --epochs 2     # smoke test
    python benchmarks/trainer.py --part timing
    python benchmarks/trainer.py --part quality --seeds 0 1 2 --trials 50
    python benchmarks/trainer.py --part timing --device cuda
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import hyperknob
from hyperknob import nn as hknn
from hyperknob.nn import MLPConfig, build_mlp, evaluate, load_dataset, train

GOAL_RATIO = 1.10  # issue 3: hyperknob seconds per epoch / hand-written loop's
REFERENCE_TEST_ACCURACY = 0.98  # a well-tuned MLP on digits
RESULTS = Path(__file__).resolve().parent / "results"
# name -> configuration timed in part "timing" (Adam, learning rate 1e-3, ReLU, PyTorch's
# default initialization, no schedule, no early stopping; epochs set by --epochs)
TIMED: dict[str, MLPConfig] = {
    "128x128, batch 64": MLPConfig(hidden_layers=(128, 128), batch_size=64),
    "512x512, batch 128": MLPConfig(hidden_layers=(512, 512), batch_size=128),
    "128x128, batch 64, dropout 0.2, L1 1e-5": MLPConfig(
        hidden_layers=(128, 128), batch_size=64, dropout=0.2, l1=1e-5),
}
BOOTSTRAP_SAMPLES = 2000


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------
# part "timing"


def hand_loop(config: MLPConfig, data: hknn.Dataset, *, seed: int,
              device: torch.device) -> float:
    """Train like a typical hand-written PyTorch loop; return the last validation accuracy."""
    torch.manual_seed(seed)
    model = build_mlp(config, data.n_features, int(data.n_classes or 0)).to(device)
    x_train = torch.as_tensor(data.x_train, device=device)
    y_train = torch.as_tensor(data.y_train, device=device)
    x_val = torch.as_tensor(data.x_val, device=device)
    y_val = torch.as_tensor(data.y_val, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_fn = nn.CrossEntropyLoss()
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    n, batch = x_train.shape[0], config.batch_size
    val_accuracy = 0.0
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(n, device=device)
        for start in range(0, n, batch):
            index = order[start:start + batch]
            loss = loss_fn(model(x_train[index]), y_train[index])
            if config.l1 > 0:
                loss = loss + config.l1 * sum(w.abs().sum() for w in weights)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            out = model(x_val)
            val_loss = loss_fn(out, y_val).item()
            val_accuracy = (out.argmax(dim=1) == y_val).float().mean().item()
        assert math.isfinite(val_loss), "validation loss is not finite"
    return val_accuracy


def hyperknob_loop(config: MLPConfig, data: hknn.Dataset, *, seed: int,
                   device: torch.device) -> float:
    """Train with hyperknob's trainer; return the last validation accuracy."""
    result = train(config, data, seed=seed, device=str(device))
    return result.history[-1].val_metric


RUNNERS: dict[str, Callable[..., float]] = {"hyperknob": hyperknob_loop, "hand": hand_loop}


def timed_run(name: str, config: MLPConfig, data: hknn.Dataset, *, seed: int,
              device: torch.device) -> dict[str, Any]:
    gc.collect()
    synchronize(device)
    started = time.perf_counter()
    accuracy = RUNNERS[name](config, data, seed=seed, device=device)
    synchronize(device)
    seconds = time.perf_counter() - started
    return {"loop": name, "seed": seed, "seconds": seconds,
            "seconds_per_epoch": seconds / config.epochs, "final_val_accuracy": accuracy}


def bootstrap_ratio(a: list[float], b: list[float], *, seed: int = 0) -> tuple[float, float]:
    """Return a 95% percentile-bootstrap interval of median(a) / median(b), pairs resampled."""
    rng = random.Random(seed)
    k = len(a)
    ratios = []
    for _ in range(BOOTSTRAP_SAMPLES):
        picks = [rng.randrange(k) for _ in range(k)]
        ratios.append(statistics.median(a[i] for i in picks)
                      / statistics.median(b[i] for i in picks))
    ratios.sort()
    return ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]


def run_timing(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    data = load_dataset("digits", seed=0)
    measurements: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for label, base in TIMED.items():
            config = dataclasses.replace(base, epochs=args.epochs, patience=None)
            warm = dataclasses.replace(config, epochs=max(1, min(3, args.epochs)))
            for name in RUNNERS:  # warm-up: allocator, kernels, lazy initialization
                timed_run(name, warm, data, seed=0, device=device)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in RUNNERS}
            for repeat in range(args.repeats):
                order = list(RUNNERS) if repeat % 2 == 0 else list(reversed(RUNNERS))
                for name in order:
                    run = timed_run(name, config, data, seed=repeat, device=device)
                    run.update({"config": label, "threads": threads, "repeat": repeat})
                    runs[name].append(run)
                    measurements.append(run)
                    print(f"  threads={threads} {label:42s} r={repeat} {name:9s} "
                          f"{1000 * run['seconds_per_epoch']:8.2f} ms/epoch", flush=True)
            ours = [r["seconds_per_epoch"] for r in runs["hyperknob"]]
            hand = [r["seconds_per_epoch"] for r in runs["hand"]]
            ratio = statistics.median(ours) / statistics.median(hand)
            low, high = bootstrap_ratio(ours, hand)
            summary.append({
                "config": label, "threads": threads, "repeats": args.repeats,
                "epochs": args.epochs, "hyperknob_ms_per_epoch": 1000 * statistics.median(ours),
                "hand_ms_per_epoch": 1000 * statistics.median(hand), "ratio": ratio,
                "ratio_of_fastest": min(ours) / min(hand),
                "ratio_ci95": [low, high], "goal": GOAL_RATIO, "met": ratio <= GOAL_RATIO,
                "config_dict": config.to_dict(),
            })
    return {"measurements": measurements, "summary": summary}


def timing_table(part: dict[str, Any], device: str) -> str:
    lines = [f"Seconds per epoch on digits ({device}), median over repeats; ratio = hyperknob / "
             f"hand (goal <= {GOAL_RATIO:.2f})", "",
             "| configuration | threads | hyperknob ms/epoch | hand ms/epoch | ratio "
             "| 95% CI of ratio | ratio of fastest runs | goal |",
             "|---|---:|---:|---:|---:|---|---:|---|"]
    for row in part["summary"]:
        low, high = row["ratio_ci95"]
        lines.append(
            f"| {row['config']} | {row['threads']} | {row['hyperknob_ms_per_epoch']:.2f} "
            f"| {row['hand_ms_per_epoch']:.2f} | {row['ratio']:.3f} | {low:.3f} - {high:.3f} "
            f"| {row['ratio_of_fastest']:.3f} | {'met' if row['met'] else 'missed'} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# part "quality"


def run_quality(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    from hyperknob.samplers import RandomSampler

    torch.set_num_threads(args.threads[0])
    per_seed = []
    for seed in args.seeds:
        job = hknn.objective("digits", seed=seed, device=str(device))
        study = hyperknob.create_study(direction=job.direction,
                                       sampler=RandomSampler(seed=seed))
        job.prepare(study)
        started = time.perf_counter()
        study.optimize(job, n_trials=args.trials)
        wall = time.perf_counter() - started
        trials = study.trials
        states = [t.state.name for t in trials]
        best = study.best_trial
        config = MLPConfig.from_dict(best.user_attrs["config"])
        refit_started = time.perf_counter()
        refit = train(config, job.dataset, seed=job.seed, device=str(device))
        refit_seconds = time.perf_counter() - refit_started
        test_accuracy = evaluate(refit.model, job.dataset, "test", device=str(device))
        row = {
            "seed": seed, "n_trials": len(trials), "best_trial": best.number,
            "best_source": best.user_attrs.get("source", "sampler"),
            "best_val_accuracy": best.value, "refit_val_accuracy": refit.best.val_metric,
            "refit_reproduces_val": refit.best.val_metric == best.value,
            "test_accuracy": test_accuracy, "wall_seconds": wall,
            "refit_seconds": refit_seconds,
            "complete": states.count("COMPLETE"), "pruned": states.count("PRUNED"),
            "failed": states.count("FAIL"),
            "diverged": sum(t.user_attrs.get("stop_reason") == "diverged" for t in trials),
            "early_stopped": sum(t.user_attrs.get("stop_reason") == "early_stopping"
                                 for t in trials),
            "epochs_run_total": sum(int(t.user_attrs.get("epochs_run", 0)) for t in trials),
            "best_config": config.to_dict(),
            "trials": [{"number": t.number, "state": t.state.name, "value": t.value,
                        "params": dict(t.params),
                        "stop_reason": t.user_attrs.get("stop_reason"),
                        "epochs_run": t.user_attrs.get("epochs_run"),
                        "n_parameters": t.user_attrs.get("n_parameters"),
                        "source": t.user_attrs.get("source", "sampler")} for t in trials],
        }
        per_seed.append(row)
        print(f"  seed {seed}: best val {row['best_val_accuracy']:.4f} (trial {best.number}, "
              f"{row['best_source']}), test {test_accuracy:.4f}, {wall:.0f} s, "
              f"pruned {row['pruned']}, diverged {row['diverged']}", flush=True)
    mean = {key: statistics.fmean(r[key] for r in per_seed)
            for key in ("best_val_accuracy", "test_accuracy", "wall_seconds", "pruned",
                        "diverged")}
    return {"trials": args.trials, "per_seed": per_seed, "mean": mean,
            "reference_test_accuracy": REFERENCE_TEST_ACCURACY}


def quality_table(part: dict[str, Any], device: str) -> str:
    lines = [f"digits, default space, {part['trials']} trials (rule-of-thumb trials first, then "
             f"RandomSampler(seed)), {device}; test accuracy of the best configuration refit "
             f"(reference: about {REFERENCE_TEST_ACCURACY:.2f})", "",
             "| seed | best val accuracy | test accuracy (refit) | best trial | wall s "
             "| pruned | diverged | early-stopped |",
             "|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in part["per_seed"]:
        lines.append(
            f"| {r['seed']} | {r['best_val_accuracy']:.4f} | {r['test_accuracy']:.4f} "
            f"| #{r['best_trial']} ({r['best_source']}) | {r['wall_seconds']:.0f} "
            f"| {r['pruned']} | {r['diverged']} | {r['early_stopped']} |")
    m = part["mean"]
    lines.append(f"| mean | {m['best_val_accuracy']:.4f} | {m['test_accuracy']:.4f} | "
                 f"| {m['wall_seconds']:.0f} | {m['pruned']:.1f} | {m['diverged']:.1f} | |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# records


def versions() -> dict[str, str]:
    import sklearn

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "hyperknob": hyperknob.__version__}


def source_state() -> dict[str, Any]:
    """Identify the hyperknob code measured: commit, changed files, hash of its sources."""
    import hashlib
    import subprocess

    package = Path(hyperknob.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    state: dict[str, Any] = {"sources_sha256": digest.hexdigest()}
    try:
        state["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
            cwd=package).stdout.strip()
        state["uncommitted"] = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], capture_output=True, text=True,
            check=True, cwd=package).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def machine(device: torch.device) -> dict[str, Any]:
    found: dict[str, Any] = {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                             "processor": platform.processor() or platform.machine(),
                             "device": str(device)}
    if device.type == "cuda":
        found["gpu"] = torch.cuda.get_device_name(device)
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("timing", "quality", "all"), default="all")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    parser.add_argument("--threads", type=int, nargs="+", default=[torch.get_num_threads()],
                        help="torch.set_num_threads for both loops; timing runs each value "
                             "(quality uses the first); default: torch's own")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per loop")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per timed run")
    parser.add_argument("--trials", type=int, default=50, help="trials per seed (quality)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON to write (default: benchmarks/results/trainer-PART-DEVICE"
                             ".json); the tables go to the same name with .txt")
    args = parser.parse_args(argv)
    if args.repeats < 2 or args.epochs < 1 or args.trials < 1 or min(args.threads) < 1:
        parser.error("need --repeats >= 2, --epochs >= 1, --trials >= 1, --threads >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    device = hknn.resolve_device(args.device)
    out = args.out or RESULTS / f"trainer-{args.part}-{device.type}.json"
    payload: dict[str, Any] = {
        "benchmark": "trainer",
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(), "source": source_state(), "machine": machine(device),
        "torch_threads": args.threads, "torch_interop_threads": torch.get_num_interop_threads(),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    tables = []
    if args.part in ("timing", "all"):
        payload["timing"] = run_timing(args, device)
        tables.append(timing_table(payload["timing"], str(device)))
        print("\n" + tables[-1] + "\n", flush=True)
    if args.part in ("quality", "all"):
        payload["quality"] = run_quality(args, device)
        tables.append(quality_table(payload["quality"], str(device)))
        print("\n" + tables[-1] + "\n", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1) + "\n")
    header = (f"{payload['command']}\n{payload['date']}  torch {torch.__version__}  "
              f"threads {args.threads}  {payload['machine']}\n\n")
    out.with_suffix(".txt").write_text(header + "\n\n".join(tables) + "\n")
    print(f"wrote {out} and {out.with_suffix('.txt')}")


if __name__ == "__main__":
    main()
