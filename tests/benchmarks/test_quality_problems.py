"""benchmarks/quality.py: suite d's BBOB problems and the per-instance score.

The quality benchmark is run by hand, but its problem definitions decide every figure in
BENCHMARKS.md, so they are checked here: f_opt recovered from cocoex, losses >= 0 and 0 at the
optimum, the instance a seed picks, and the score with a clip_p per seed.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
cocoex = pytest.importorskip("cocoex")

from _quality_problems import (  # noqa: E402
    BBOB_DIMENSIONS,
    BBOB_FUNCTIONS,
    all_problem_names,
    bbob_optimum,
    make_problem,
    suite_of,
)


def test_suite_d_names_twelve_functions_in_four_dimensions() -> None:
    names = all_problem_names("d")
    assert len(BBOB_FUNCTIONS) == 12 and BBOB_DIMENSIONS == (2, 5, 10, 20)
    assert len(names) == 48 == len(set(names))
    assert all(suite_of(n) == "d" for n in names)
    assert "bbob-f15-10d" in names


@pytest.mark.parametrize("function", [3, 8, 15, 20, 24])
def test_loss_is_zero_at_the_optimum_and_positive_elsewhere(function: int) -> None:
    dim, instance = 5, 2
    suite = cocoex.Suite("bbob", f"instances: {instance}",
                         f"dimensions: {dim} function_indices: {function}")
    raw = suite.get_problem_by_function_dimension_instance(function, dim, instance)
    f_opt = bbob_optimum(raw)
    draws = np.random.default_rng(0).uniform(-5, 5, size=(2000, dim))
    assert min(raw(x) for x in draws) > f_opt  # f_opt is below every sampled value
    problem = make_problem(f"bbob-f{function}-{dim}d", seed=instance - 1)
    losses = [problem.evaluate({f"x{i}": float(v) for i, v in enumerate(x)})[0]
              for x in draws[:200]]
    assert min(losses) > 0.0
    assert problem.known_optimum == 0.0
    assert problem.clip_uniform is not None
    assert problem.clip_uniform > float(np.median(losses)) / 10  # the same order of magnitude
    assert not Path("._bbob_problem_best_parameter.txt").exists()  # written in a temp dir


def test_the_seed_picks_the_instance() -> None:
    a, b = make_problem("bbob-f21-2d", seed=0), make_problem("bbob-f21-2d", seed=1)
    point = {"x0": 1.0, "x1": -2.0}
    again = make_problem("bbob-f21-2d", seed=0)
    assert a.evaluate(point) == again.evaluate(point)
    assert a.evaluate(point) != b.evaluate(point)
    assert a.clip_uniform != b.clip_uniform


def test_score_uses_each_seeds_clip() -> None:
    import quality

    info = {"suite": "d", "known_optimum": 0.0, "clip_uniform": 10.0,
            "clip_by_seed": {"0": 10.0, "1": 100.0}}
    runs = [{"problem": "p", "method": "m", "seed": s, "losses": [50.0, 5.0]} for s in (0, 1)]
    norms = quality.score_table(runs, {"p": info}, t=2)
    assert norms["p"]["m"] == {0: 0.5, 1: 0.05}
    assert math.isclose(quality.suite_scores(norms, ["p"], "m")[0], 100 * (1 - 0.275))


@pytest.mark.slow
def test_quick_run_scores_every_installed_method(tmp_path: Path) -> None:
    """``quality.py --quick`` (the CI smoke run) writes every evaluation and the tables."""
    import json
    import subprocess

    out = tmp_path / "quick.json"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "quality.py"), "--quick",
                           "--methods", "hk-random", "hk-auto", "--out", str(out)],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    runs = {(r["problem"], r["method"], r["seed"]): r for r in data["runs"]}
    assert set(runs) == {(p, m, s) for p in ("branin-2d", "hartmann3-3d")
                         for m in ("hk-random", "hk-auto") for s in (0, 1)}
    assert all(len(r["losses"]) == 16 for r in runs.values())
    table = out.with_suffix(".txt").read_text()
    assert "### Suite a: score at 16 trials" in table
    assert "hk-auto" in table and "Goal verdicts" in table


def test_merge_keeps_the_clip_of_every_seed(tmp_path: Path) -> None:
    """Slices by seed each know their own instances' clips; the merge must keep them all."""
    import json

    import quality

    def slice_file(seed: int, clip: float) -> str:
        info = {"suite": "d", "known_optimum": 0.0, "clip_uniform": clip,
                "clip_by_seed": {str(seed): clip}}
        run = {"problem": "bbob-f2-2d", "method": "hk-random", "seed": seed, "losses": [1.0],
               "wall_s": 0.1, "objective_s": 0.1}
        path = tmp_path / f"s{seed}.json"
        path.write_text(json.dumps({"meta": {}, "problems": {"bbob-f2-2d": info},
                                    "runs": [run]}))
        return str(path)

    merged = quality.merge([slice_file(0, 10.0), slice_file(1, 100.0)],
                           str(tmp_path / "m.json"), [])
    assert merged["problems"]["bbob-f2-2d"]["clip_by_seed"] == {"0": 10.0, "1": 100.0}
