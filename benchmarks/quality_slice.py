"""Paired differences over problems for a slice of seeds (e.g. HEBO's one-instance slice of
suite d): where a method ran too few seeds for a difference over seeds, pair each
(problem, seed) of the default with the rival's on the same instance and report the mean
difference of scores and its standard error over those pairs.

    python benchmarks/quality_slice.py A.json B.json ... --seeds 0 --trials 100 \\
        --rivals hebo optuna-gp --out slice.txt
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from quality import merge, score_table


def slice_lines(paths: list[str], seeds: list[int], budgets: list[int], method: str,
                rivals: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:  # merge() saves what it merged
        data = merge(paths, str(Path(tmp) / "merged.json"), [])
    runs = [r for r in data["runs"] if r["seed"] in seeds]
    infos = data["problems"]
    dims = sorted({int(p.rpartition("-")[2][:-1]) for p in infos if p.startswith("bbob-")})
    lines = [f"Paired over problems x seeds {seeds}: {method} minus rival, score points "
             "(100 = best known); mean ± SE over the pairs; n = pairs", "",
             "| dimension | trials | rival | n | " + method + " | rival | difference |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for t in budgets:
        norms = score_table(runs, infos, t)
        for d in [*dims, 0]:
            problems = [p for p in norms if d == 0 or p.endswith(f"-{d}d")]
            for rival in rivals:
                pairs = [(100 * (1 - norms[p][method][s]), 100 * (1 - norms[p][rival][s]))
                         for p in problems for s in seeds
                         if s in norms[p].get(method, {}) and s in norms[p].get(rival, {})]
                if len(pairs) < 2:
                    continue
                diffs = [a - b for a, b in pairs]
                se = statistics.stdev(diffs) / len(diffs) ** 0.5
                label = "all" if d == 0 else f"{d}-D"
                lines.append(f"| {label} | {t} | {rival} | {len(pairs)} | "
                             f"{statistics.fmean(a for a, _ in pairs):.1f} | "
                             f"{statistics.fmean(b for _, b in pairs):.1f} | "
                             f"{statistics.fmean(diffs):+.1f} ± {se:.1f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="quality.py JSON files (later ones win)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--trials", nargs="+", type=int, default=[25, 100])
    parser.add_argument("--method", default="hk-auto")
    parser.add_argument("--rivals", nargs="+", default=["hebo"])
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args(argv)
    text = "\n".join(slice_lines(args.paths, args.seeds, args.trials, args.method,
                                 args.rivals)) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
