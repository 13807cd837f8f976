"""Trials per second one at a time vs K at a time, and the best accuracy at equal wall time.

The problem (issue 8): the digits MLP 64-128-128-10, ReLU, Adam, 20 epochs, batch 64; each
trial samples its own learning rate (1e-4..1e-1, log), L2 (1e-6..1e-2, log) and dropout
(0..0.5). Configurations are drawn by ``RandomSampler(seed=--seed)``; every trial trains with
seed 0, as ``NeuralNetworkObjective`` does.

Part 1, throughput: ``train(config)`` one configuration at a time on the first
``--sequential`` configurations, then ``train_batched`` on the first K configurations for each K
in ``--ks`` (a K whose run would take longer than ``--seconds``, extrapolated from the last K, is
skipped and said so), then ``auto``: ``choose_batch`` plus training ``--sequential`` trials in
batches of its K, the probe's time included. Reported: trials per second and the ratio to one at
a time, and, on the configurations both ran, the largest difference of best validation accuracy
(small but not 0 even on CPU, where batched training is exact to rounding: see below; on CUDA
the dropout draws differ too).

Part 2, equal wall time: two studies (TPE, seed ``--seed``, no pruner) tune the same space for
``--seconds`` each: ``study.optimize`` one trial at a time, and ``optimize_batched`` with
``auto``'s K (its probe's seconds taken from the budget). Reported: trials finished, the best
validation accuracy and the quartiles of the trials' accuracies.

Why the best accuracies of one configuration can differ between one-at-a-time and batched
training although the first epochs agree to ~1e-6: at these learning rates Adam on digits is
chaotic — changing one weight by one ulp in ``train`` itself moves the 20th epoch's loss by
tens of percent. The batched sums run in another order, so compare distributions, not trials.

Writes ``<out>.json`` (every figure, the command, versions, threads, device name) and
``<out>.txt`` (the tables).

Examples::

    python benchmarks/batched.py --quick                      # a minute on a laptop CPU
    python benchmarks/batched.py --device cpu --threads 1
    python benchmarks/batched.py --device cuda --seconds 60
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch

import hyperknob
from hyperknob import nn
from hyperknob.distributions import FloatDistribution
from hyperknob.nn._batched_auto import choose_batch
from hyperknob.nn._batched_study import optimize_batched
from hyperknob.samplers import RandomSampler, TPESampler


def space_for(data: nn.Dataset) -> nn.SearchSpace:
    """Return the benchmark's space: a fixed digits MLP, sampled lr, L2 and dropout."""
    return nn.default_space(data.n_features, data.n_train).replace(
        n_layers=2, units=128, activation="relu", init="default", optimizer="adam",
        momentum=0.0, l1=0.0, schedule="constant", batch_size=64, epochs=20, patience=None,
        learning_rate=FloatDistribution(1e-4, 1e-1, log=True),
        l2=FloatDistribution(1e-6, 1e-2, log=True), dropout=FloatDistribution(0.0, 0.5))


def draw(space: nn.SearchSpace, count: int, seed: int) -> list[nn.MLPConfig]:
    """Draw ``count`` configurations at random (the same ones for every method)."""
    study = hyperknob.create_study(sampler=RandomSampler(seed=seed))
    return [space.suggest(study.ask()) for _ in range(count)]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def throughput(data: nn.Dataset, space: nn.SearchSpace, args: argparse.Namespace
               ) -> list[dict[str, Any]]:
    """Return one row per method: trials, seconds, trials/s, ratio, accuracy difference."""
    configs = draw(space, max([args.sequential, *args.ks]), args.seed)
    nn.train_batched(configs[:2], data, device=args.device)  # warm-up, untimed
    nn.train(dataclasses.replace(configs[0], epochs=1), data, device=args.device)
    started = time.perf_counter()
    alone = [nn.train(c, data, device=args.device).best.val_metric
             for c in configs[:args.sequential]]
    _sync(args.device)
    seconds = time.perf_counter() - started
    base = args.sequential / seconds
    rows = [{"method": "one at a time", "k": 1, "trials": args.sequential,
             "seconds": seconds, "trials_per_s": base, "ratio": 1.0, "max_acc_diff": 0.0}]
    print(f"one at a time: {args.sequential} trials in {seconds:.2f} s = {base:.2f} trials/s")
    last_rate = base
    for k in args.ks:
        if k / last_rate > args.seconds:
            print(f"K={k}: skipped (about {k / last_rate:.0f} s > --seconds {args.seconds:g})")
            rows.append({"method": f"K={k}", "k": k, "skipped": True})
            continue
        started = time.perf_counter()
        results = nn.train_batched(configs[:k], data, device=args.device)
        _sync(args.device)
        seconds = time.perf_counter() - started
        last_rate = k / seconds
        both = min(k, args.sequential)
        diff = max(abs(r.best.val_metric - a) for r, a in zip(results[:both], alone,
                                                              strict=False))
        rows.append({"method": f"K={k}", "k": k, "trials": k, "seconds": seconds,
                     "trials_per_s": last_rate, "ratio": last_rate / base,
                     "max_acc_diff": diff,
                     "accuracy_quartiles": _quartiles([r.best.val_metric for r in results])})
        print(f"K={k}: {seconds:.2f} s = {last_rate:.2f} trials/s = {last_rate / base:.2f}x; "
              f"best-accuracy difference on the {both} shared configurations {diff:.4f}")
    rows.append(_auto(data, space, configs, args, base))
    return rows


def _auto(data: nn.Dataset, space: nn.SearchSpace, configs: list[nn.MLPConfig],
          args: argparse.Namespace, base: float) -> dict[str, Any]:
    started = time.perf_counter()
    choice = choose_batch(space, data, device=args.device, seed=args.seed)
    probe = time.perf_counter() - started
    args.auto_choice = choice
    count = max(args.sequential, choice.k)
    more = configs[:count] + draw(space, max(0, count - len(configs)), args.seed + 1)
    started = time.perf_counter()
    for start in range(0, count, choice.k):
        part = more[start:start + choice.k]
        if choice.k == 1:
            nn.train(part[0], data, device=args.device)
        else:
            nn.train_batched(part, data, device=args.device)
    _sync(args.device)
    seconds = time.perf_counter() - started
    rate = count / seconds
    print(f"auto: K={choice.k} ({choice.reason}); probe {probe:.2f} s, then {count} trials "
          f"in {seconds:.2f} s = {rate:.2f} trials/s = {rate / base:.2f}x")
    return {"method": "auto", "k": choice.k, "trials": count, "seconds": seconds,
            "trials_per_s": rate, "ratio": rate / base, "probe_seconds": probe,
            "reason": choice.reason}


def _quartiles(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[int(q * (len(ordered) - 1))] for q in (0.0, 0.25, 0.5, 0.75, 1.0)]


def equal_time(data: nn.Dataset, space: nn.SearchSpace, args: argparse.Namespace
               ) -> list[dict[str, Any]]:
    """Tune the space for ``--seconds`` one at a time and batched; return both outcomes."""
    rows = []
    choice = args.auto_choice
    for label, k in (("one at a time", 1), (f"batched (auto, K={choice.k})", choice.k)):
        job = nn.NeuralNetworkObjective(data, space, device=args.device, log=lambda _: None)
        study = hyperknob.create_study(direction="maximize",
                                       sampler=TPESampler(seed=args.seed))
        started = time.perf_counter()
        if k == 1:
            study.optimize(job, timeout=args.seconds)
        else:
            # auto's probe (measured in part 1) counts against the batched budget
            budget = max(args.seconds - args.auto_probe_seconds, 1.0)
            optimize_batched(study, job, batch=k, timeout=budget)
        seconds = time.perf_counter() - started + (0.0 if k == 1 else args.auto_probe_seconds)
        values = [t.value for t in study.trials if t.value is not None]
        best = max(values) if values else float("nan")
        rows.append({"method": label, "k": k, "seconds": seconds, "trials": len(study.trials),
                     "best_val_accuracy": best,
                     "accuracy_quartiles": _quartiles(values) if values else []})
        print(f"equal time, {label}: {len(study.trials)} trials in {seconds:.1f} s, best "
              f"validation accuracy {best:.4f}")
    return rows


def render(report: dict[str, Any]) -> str:
    """Return the report as Markdown tables."""
    lines = [f"Batched training on {report['device_name']} ({report['device']}, torch "
             f"{report['torch']}, {report['threads']} threads), {report['date']}",
             f"Command: {report['command']}", "",
             "| method | K | trials | seconds | trials/s | vs one at a time | max best-acc diff |",
             "|---|---|---|---|---|---|---|"]
    for row in report["throughput"]:
        if row.get("skipped"):
            lines.append(f"| {row['method']} | {row['k']} | skipped (over --seconds) | | | | |")
            continue
        diff = row.get("max_acc_diff")
        lines.append(f"| {row['method']} | {row['k']} | {row['trials']} | {row['seconds']:.2f}"
                     f" | {row['trials_per_s']:.2f} | {row['ratio']:.2f}x | "
                     f"{'' if diff is None else f'{diff:.4f}'} |")
    lines += ["", f"Equal wall time ({report['seconds']:g} s each, TPE seed {report['seed']}):",
              "", "| method | trials | best validation accuracy | quartiles |",
              "|---|---|---|---|"]
    for row in report["equal_time"]:
        quartiles = ", ".join(f"{q:.3f}" for q in row["accuracy_quartiles"])
        lines.append(f"| {row['method']} | {row['trials']} | {row['best_val_accuracy']:.4f} | "
                     f"{quartiles} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the options, run both parts, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--ks", type=int, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="per method of part 2, and the longest batched run of part 1")
    parser.add_argument("--sequential", type=int, default=8,
                        help="trials trained one at a time for the baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--quick", action="store_true", help="--ks 16 64 --seconds 15 "
                        "--sequential 4")
    parser.add_argument("--out", default=None, help="path without suffix (default: "
                        "benchmarks/results/batched-<device>)")
    args = parser.parse_args()
    if args.quick:
        args.ks, args.seconds, args.sequential = [16, 64], 15.0, 4
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = nn.resolve_device(args.device)
    args.device = str(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(
    ) or platform.machine()
    data = nn.load_dataset("digits", seed=0)
    space = space_for(data)
    report: dict[str, Any] = {
        "command": shlex.join([sys.executable.split("/")[-1], *sys.argv]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "device": args.device, "device_name": name, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "seconds": args.seconds, "seed": args.seed,
    }
    report["throughput"] = throughput(data, space, args)
    args.auto_probe_seconds = report["throughput"][-1]["probe_seconds"]
    report["equal_time"] = equal_time(data, space, args)
    out = Path(args.out or f"benchmarks/results/batched-{device.type}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = render(report)
    out.with_suffix(".txt").write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
