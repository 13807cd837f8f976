"""How near the misses are: where a method never reached ``none``'s best validation accuracy
of the same seed within the budget, by how many validation examples and standard errors.

Reads merged runs of ``benchmarks/transfer.py`` (``--merge ... --out``) and the validation
sizes the source studies recorded (``user_attrs["dataset"]["n_val"]`` of ``<target>-source``
in ``--sources``; every target, held out too, has one there: ``--part sources --targets``).
Classification targets only (accuracy: a gap in examples is exact). The standard error is
the binomial one of the validation accuracy at ``none``'s best, sqrt(p (1 - p) / n_val).

Example::

    python benchmarks/transfer_gaps.py /tmp/v18-15.json --sources /tmp/exp100/src100.db
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import Counter
from pathlib import Path

import transfer


def validation_sizes(sources: str) -> dict[str, tuple[int, str]]:
    """Return target -> (validation rows, task) from the source studies' records."""
    import hyperknob
    from hyperknob.exceptions import StudyNotFoundError

    url = f"sqlite:///{sources}"
    out = {}
    for target in transfer.ALL:
        try:
            study = hyperknob.load_study(study_name=transfer.source_name(target), storage=url)
        except StudyNotFoundError:  # a target without a source study is skipped
            continue
        record = study.user_attrs.get("dataset", {})
        out[target] = (int(record["n_val"]), str(record["task"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs")
    parser.add_argument("--sources", required=True)
    parser.add_argument("--method", default="warm")
    args = parser.parse_args(argv)
    runs = json.loads(Path(args.runs).read_text())["runs"]
    by_key = {(r["target"], r["method"], r["seed"]): r for r in runs}
    sizes = validation_sizes(args.sources)
    examples: Counter[int] = Counter()
    errors = []
    for (target, method, seed), own in sorted(by_key.items()):
        base = by_key.get((target, "none", seed))
        if method != args.method or base is None or sizes.get(target, (0, ""))[1] != (
                "classification"):
            continue
        goal = transfer.best_curve(base)[-1]
        if transfer.to_reach(own, goal)[0] <= len(own["trials"]):
            continue
        n_val = sizes[target][0]
        gap = goal - transfer.best_curve(own)[-1]
        examples[round(gap * n_val)] += 1
        if 0.0 < goal < 1.0:
            errors.append(gap / math.sqrt(goal * (1.0 - goal) / n_val))
    total = sum(examples.values())
    print(f"{args.method}: {total} (classification target, seed) pairs never reached none's "
          f"best; gap in validation examples: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(examples.items())))
    if errors:
        print(f"gap in binomial standard errors: median {statistics.median(errors):.2f} "
              f"({len(errors)} pairs with 0 < none's best < 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
