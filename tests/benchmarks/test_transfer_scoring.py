"""benchmarks/transfer.py: how runs are scored (trials and epochs to reach a goal, the noise
floor of the criterion, paired differences). No network is trained here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import transfer  # noqa: E402


def _run(method: str, seed: int, values: list[float | None], epochs: int = 10,
         target: str = "iris") -> dict[str, Any]:
    rows = [{"number": i, "state": "COMPLETE" if v is not None else "PRUNED", "value": v,
             "epochs": epochs} for i, v in enumerate(values)]
    return {"target": target, "method": method, "seed": seed, "trials": rows,
            "direction": "maximize"}


def test_to_reach_counts_trials_and_epochs_and_never_as_one_more() -> None:
    run = _run("warm", 0, [0.5, None, 0.8, 0.9])
    assert transfer.best_curve(run) == [0.5, 0.5, 0.8, 0.9]
    assert transfer.to_reach(run, 0.8) == (3, 30)
    assert transfer.to_reach(run, 0.95) == (5, 41)  # never: T + 1, all epochs + 1
    minimize = dict(run, direction="minimize")
    assert transfer.best_curve(minimize)[0] == -0.5


def test_noise_floor_judges_none_by_another_seed() -> None:
    # Seed 0 reaches its best (0.9) at trial 4, seed 1 at trial 1 (0.95): seed 1 reaches
    # seed 0's goal at once (4x), seed 0 never reaches seed 1's 0.95 (1/5 = 0.2x): the
    # target's median is 2.1x.
    runs = {("iris", "none", 0): _run("none", 0, [0.5, 0.6, 0.7, 0.9]),
            ("iris", "none", 1): _run("none", 1, [0.95, 0.6, 0.7, 0.8])}
    line = transfer._noise_floor(runs, ["iris"])[0]
    assert "1 of 1 at >= 2x; 0 slower than 1.2x; geometric mean 2.10x" in line


def test_ceiling_says_which_targets_any_method_could_speed_up_twice() -> None:
    # iris: none's best at trials 4, 3 and 1 (median 3: a method could reach 3x; sharing the
    # first trial, 2, 1.5, 1 -> median 1.5); wine: at trial 1 twice (nothing can be faster).
    runs = {("iris", "none", 0): _run("none", 0, [0.5, 0.6, 0.7, 0.9]),
            ("iris", "none", 1): _run("none", 1, [0.5, 0.6, 0.9, 0.8]),
            ("iris", "none", 2): _run("none", 2, [0.9, 0.6, 0.7, 0.8]),
            ("wine", "none", 0): _run("none", 0, [0.9, 0.6], target="wine"),
            ("wine", "none", 1): _run("none", 1, [0.9, 0.9], target="wine")}
    line = transfer._ceiling(runs, ["iris", "wine"])[0]
    assert "1 of 2 targets can reach >= 2x; sharing `none`'s first trial (reached at the " \
           "second): 0 of 2" in line
    runs[("iris", "none", 2)] = _run("none", 2, [0.5, 0.5, 0.5, 0.9])
    assert "sharing `none`'s first trial (reached at the second): 1 of 2" in \
        transfer._ceiling(runs, ["iris", "wine"])[0]


def test_paired_differences_match_seeds() -> None:
    runs = {}
    for seed, (base, own) in enumerate([(0.8, 0.9), (0.7, 0.9)]):
        runs[("iris", "none", seed)] = _run("none", seed, [base] * 10)
        runs[("iris", "warm", seed)] = _run("warm", seed, [own] * 10)
    lines = transfer._paired(runs, ["iris"], ["warm"], 10)
    # Differences 0.1 and 0.2: mean 0.15, standard error 0.0707 / sqrt(2) = 0.05.
    assert lines[-1] == "| iris | +0.1500 +- 0.0500 | +0.1500 +- 0.0500 |"


def test_score_table_names_the_speed_up_and_the_goal_lines() -> None:
    runs = [_run("none", 0, [0.5, 0.6, 0.7, 0.9]), _run("warm", 0, [0.9, 0.5, 0.5, 0.5])]
    table = transfer.score_table(runs, 4)
    assert "| iris | 4 (1.00x, 1) | 1 (4.00x, 1) |" in table
    assert "- warm: 1 of 1 at >= 2x; 0 slower than 1.2x; geometric mean 4.00x" in table


def test_the_ratio_of_mean_trials_to_reach_is_reported_too() -> None:
    # Seed 0: none reaches its 0.9 at trial 4, warm at 1; seed 1: none at 1, warm never (5).
    # Medians of the per-seed speed-ups: (4 + 0.2) / 2 = 2.1x; means: 2.5 / 3 = 0.83x.
    runs = [_run("none", 0, [0.5, 0.6, 0.7, 0.9]), _run("warm", 0, [0.9, 0.5, 0.5, 0.5]),
            _run("none", 1, [0.9, 0.6, 0.7, 0.8]), _run("warm", 1, [0.5, 0.5, 0.5, 0.5])]
    table = transfer.score_table(runs, 4)
    assert "- warm: 1 of 1 at >= 2x; 0 slower than 1.2x; geometric mean 2.10x" in table
    assert ("ratio of the means: 0 of 1 at >= 2x; 0 slower than 1.2x; geometric mean 0.83x"
            in table)


@pytest.mark.parametrize("name", sorted(transfer.HELD_OUT))
def test_held_out_targets_are_targets_only(name: str) -> None:
    assert name in transfer.ALL and name not in transfer.DATASETS
    assert transfer.data_arg(name, "/d") == (f"/d/{name}.csv", "y")


def test_mean_goal_is_the_mean_final_score_and_the_mean_trials() -> None:
    # none's finals 0.9 and 0.7: goal 0.8, reached at trials 4 and never (5): mean 4.5;
    # warm reaches 0.8 at trial 1 and at trial 3: mean 2 -> 2.25x.
    runs = {("iris", "none", 0): _run("none", 0, [0.5, 0.6, 0.7, 0.9]),
            ("iris", "none", 1): _run("none", 1, [0.7, 0.6, 0.7, 0.7]),
            ("iris", "warm", 0): _run("warm", 0, [0.8, 0.6, 0.7, 0.7]),
            ("iris", "warm", 1): _run("warm", 1, [0.5, 0.6, 0.85, 0.7])}
    assert transfer._mean_goal(runs, ["iris"], ["warm"]) == [
        "- warm (mean goal, mean trials): 1 of 1 at >= 2x; 0 slower than 1.2x; geometric "
        "mean 2.25x"]


def test_median_goal_is_one_goal_per_target() -> None:
    runs = {("iris", "none", 0): _run("none", 0, [0.5, 0.6, 0.7, 0.9]),
            ("iris", "none", 1): _run("none", 1, [0.5, 0.8, 0.6, 0.6]),
            ("iris", "none", 2): _run("none", 2, [0.85, 0.6, 0.6, 0.6]),
            ("iris", "warm", 0): _run("warm", 0, [0.85, 0.5, 0.5, 0.5]),
            ("iris", "warm", 1): _run("warm", 1, [0.5, 0.5, 0.5, 0.5]),
            ("iris", "warm", 2): _run("warm", 2, [0.9, 0.5, 0.5, 0.5])}
    lines = transfer._median_goal(runs, ["iris"], ["warm"], 4)
    # Goal: the median final, 0.85. none reaches it at 4, never (5), 1: median 4; warm at
    # 1, never, 1: median 1.
    assert "| iris | 4 | 1 (4.00x) |" in lines
    assert lines[-2] == ("- warm (median goal): 1 of 1 at >= 2x; 0 slower than 1.2x; "
                         "geometric mean 4.00x")


def test_merge_keeps_the_methods_and_seeds_asked_for_and_the_later_file_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setattr(transfer, "meta", lambda argv: {})
    monkeypatch.setattr(transfer, "make_data", lambda folder: None)
    old = {"runs": [_run("none", 0, [0.5]), _run("warm", 0, [0.6]), _run("warm", 7, [0.1])]}
    new = {"runs": [_run("warm", 0, [0.9]), _run("mislead", 0, [0.4])]}
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    out = tmp_path / "m.json"
    assert transfer.main(["--merge", str(tmp_path / "old.json"), str(tmp_path / "new.json"),
                          "--methods", "none", "warm", "--seeds", "0", "--out",
                          str(out)]) == 0
    kept = {(r["method"], r["seed"]): r["trials"][0]["value"]
            for r in json.loads(out.read_text())["runs"]}
    assert kept == {("none", 0): 0.5, ("warm", 0): 0.9}
    transfer.main(["--merge", str(tmp_path / "old.json"), "--out", str(out)])
    assert len(json.loads(out.read_text())["runs"]) == 3  # every method and seed by default


def test_none_reseed_keeps_the_data_split_and_changes_the_search_seed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from hyperknob import nn

    calls: list[tuple[Any, dict[str, Any]]] = []

    class TuneCalledError(Exception):
        pass

    def tune(data: Any, **options: Any) -> None:
        calls.append((data, options))
        raise TuneCalledError

    monkeypatch.setattr(nn, "tune", tune)
    for method in ("none", "none-reseed"):
        with pytest.raises(TuneCalledError):
            transfer.run("iris", method, 3, 25, "/nowhere.db", "/nowhere")
    (plain, plain_options), (again, options) = calls
    assert plain == "iris" and plain_options["seed"] == 3
    assert options["seed"] == 3 + transfer.RESEED and options["target"] is None
    split = nn.load_dataset("iris", seed=3)  # the split nn.tune("iris", seed=3) makes
    assert isinstance(again, nn.Dataset)
    assert (again.x_val == split.x_val).all() and (again.y_train == split.y_train).all()
