"""The ``hyperknob`` command line, called in-process through ``main`` and as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hyperknob
from hyperknob.cli import main
from hyperknob.cli._main import DEMO_FUNCTIONS
from hyperknob.testing.functions import TEST_FUNCTIONS

BRANIN_MIN = 0.397887


@pytest.fixture
def db(tmp_path: Path) -> str:
    """Return the URL of a SQLite file under tmp_path (not created yet)."""
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read or write the user's ./hyperknob.db or $HYPERKNOB_STORAGE."""
    monkeypatch.delenv("HYPERKNOB_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data, list)
    return data


def make_study_with_failures(url: str) -> None:
    """Store 'mixed': 3 COMPLETE trials, one FAIL from an exception, one FAIL from NaN."""
    study = hyperknob.create_study(study_name="mixed", storage=url, seed=0)

    def objective(trial: hyperknob.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        trial.set_user_attr("tag", "t")
        if trial.number == 1:
            raise ValueError("boom at trial 1")
        if trial.number == 2:
            return math.nan
        return x**2

    with pytest.warns(UserWarning, match="trial 2 failed"):
        study.optimize(objective, n_trials=5, catch=(ValueError,))


# -- demo -------------------------------------------------------------------------------------
def test_demo_tunes_branin_and_a_second_run_resumes(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    code, out, err = run(capsys, "--storage", db, "demo", "--seed", "0")
    assert code == 0, err
    assert "demo-branin" in out and "60 trials" in out
    assert "Known optimum: 0.397887" in out
    assert "hyperknob trials demo-branin --storage" in out  # the hint names the storage

    study = hyperknob.load_study(study_name="demo-branin", storage=db)
    assert len(study.trials) == 60
    assert BRANIN_MIN <= study.best_value < 2.0
    first_best = study.best_value

    code, out, err = run(capsys, "demo", "--storage", db, "--seed", "0")
    assert code == 0, err
    assert "now has 120 trials" in out
    study = hyperknob.load_study(study_name="demo-branin", storage=db)
    assert len(study.trials) == 120
    assert [t.number for t in study.trials] == list(range(120))
    assert study.best_value <= first_best
    # The resumed run drew new points, not the first 60 again.
    assert study.trials[60].params != study.trials[0].params


def test_demo_json_reports_best_optimum_and_gap(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    [row] = run_json(capsys, "demo", "--storage", db, "--trials", "30", "--function",
                     "sphere", "--seed", "3")
    assert row["study"] == "demo-sphere" and row["function"] == "sphere"
    assert row["n_trials"] == 30 and row["new_trials"] == 30
    assert row["optimum_value"] == 0.0
    assert row["gap"] == pytest.approx(row["best_value"] - 0.0)
    assert set(row) >= {"params_x0", "params_x1", "best_number"}
    assert row["best_value"] == pytest.approx(
        TEST_FUNCTIONS["sphere"].evaluate([row["params_x0"], row["params_x1"]]))


def test_demo_refuses_to_resume_a_study_with_another_function(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    assert run(capsys, "demo", "--storage", db, "--trials", "2", "--study", "s")[0] == 0
    code, out, err = run(capsys, "demo", "--storage", db, "--trials", "2", "--study", "s",
                         "--function", "levy")
    assert code == 1 and out == ""
    assert "hyperknob: error: study 's' tunes 'branin', not 'levy'" in err
    assert len(hyperknob.load_study(study_name="s", storage=db).trials) == 2


def test_demo_validates_its_numbers(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = run(capsys, "demo", "--storage", db, "--trials", "0")
    assert code == 2 and "expected an integer >= 1, got '0'" in err
    code, _, err = run(capsys, "demo", "--storage", db, "--function", "nope")
    assert code == 2 and "invalid choice: 'nope'" in err


def test_demo_choices_match_the_test_functions() -> None:
    assert set(DEMO_FUNCTIONS) == set(TEST_FUNCTIONS)


# -- studies, trials, best --------------------------------------------------------------------
def test_studies_in_every_format(capsys: pytest.CaptureFixture[str], db: str) -> None:
    make_study_with_failures(db)
    hyperknob.create_study(study_name="empty", storage=db, direction="maximize")

    rows = run_json(capsys, "studies", "--storage", db)
    assert [r["name"] for r in rows] == ["mixed", "empty"]
    assert rows[0]["direction"] == "minimize" and rows[0]["n_trials"] == 5
    assert rows[1] == {"name": "empty", "direction": "maximize", "n_trials": 0,
                       "best_value": None, "started": rows[1]["started"]}
    assert isinstance(rows[0]["started"], str) and "T" in rows[0]["started"]  # ISO datetime

    code, out, _ = run(capsys, "--format", "csv", "--storage", db, "studies")
    assert code == 0
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0] == "name,direction,n_trials,best_value,started"
    assert [r["name"] for r in parsed] == ["mixed", "empty"]
    assert parsed[1]["best_value"] == ""

    code, out, _ = run(capsys, "studies", "--storage", db)
    lines = out.splitlines()
    assert lines[0].split() == ["name", "direction", "n_trials", "best_value", "started"]
    assert lines[2].startswith("mixed ") and lines[3].startswith("empty ")


def test_trials_table_shows_fail_reasons(capsys: pytest.CaptureFixture[str], db: str) -> None:
    make_study_with_failures(db)
    code, out, err = run(capsys, "trials", "mixed", "--storage", db)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["number", "state", "value", "duration_s", "params_x",
                                "user_attrs_tag", "fail_reason"]
    assert len(lines) == 2 + 5
    assert "FAIL" in lines[3] and "the objective raised ValueError: boom at trial 1" in lines[3]
    assert "FAIL" in lines[4] and "nan" in lines[4].lower()
    assert lines[2].split()[1] == "COMPLETE"


def test_trials_json_and_csv(capsys: pytest.CaptureFixture[str], db: str) -> None:
    make_study_with_failures(db)
    rows = run_json(capsys, "--storage", db, "trials", "mixed")
    assert len(rows) == 5
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4]
    assert rows[1]["state"] == "FAIL" and rows[1]["value"] is None  # null, not NaN
    assert rows[2]["value"] is None and "fail_reason" in rows[2]
    assert rows[0]["value"] == pytest.approx(rows[0]["params_x"] ** 2)
    assert isinstance(rows[0]["datetime_start"], str)
    assert rows[0]["duration_s"] >= 0.0

    code, out, _ = run(capsys, "--storage", db, "--format", "csv", "trials", "mixed")
    assert code == 0
    header = out.splitlines()[0].split(",")
    assert header[:3] == ["number", "state", "value"] and "params_x" in header
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert len(parsed) == 5
    assert parsed[1]["value"] == "" and parsed[1]["fail_reason"].startswith("the objective")
    assert float(parsed[0]["value"]) == pytest.approx(rows[0]["value"])


def test_best_of_a_minimized_and_a_maximized_study(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    make_study_with_failures(db)
    study = hyperknob.load_study(study_name="mixed", storage=db)
    [row] = run_json(capsys, "best", "mixed", "--storage", db)
    assert row == {"number": study.best_trial.number, "value": study.best_value,
                   "params_x": study.best_params["x"]}

    up = hyperknob.create_study(study_name="up", storage=db, direction="maximize", seed=1)
    up.optimize(lambda t: t.suggest_float("y", 0.0, 10.0), n_trials=10)
    code, out, _ = run(capsys, "--storage", db, "best", "up")
    assert code == 0
    assert out.splitlines()[0].split() == ["number", "value", "params_y"]
    assert float(out.splitlines()[2].split()[1]) == pytest.approx(up.best_value, rel=1e-5)


def test_best_without_a_complete_trial_is_an_error(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    hyperknob.create_study(study_name="empty", storage=db)
    code, out, err = run(capsys, "best", "empty", "--storage", db)
    assert code == 1 and out == ""
    assert err == "hyperknob: error: study 'empty' has no COMPLETE trial yet\n"


# -- delete -----------------------------------------------------------------------------------
class _FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_delete_with_yes_removes_the_study(capsys: pytest.CaptureFixture[str], db: str) -> None:
    make_study_with_failures(db)
    hyperknob.create_study(study_name="keep", storage=db)
    code, out, err = run(capsys, "delete", "mixed", "--yes", "--storage", db)
    assert code == 0, err
    assert "deleted study 'mixed' (5 trials)" in out
    assert hyperknob.get_all_study_names(db) == ["keep"]
    code, _, err = run(capsys, "trials", "mixed", "--storage", db)
    assert code == 1 and "no study named 'mixed'" in err and "'keep'" in err


def test_delete_without_yes_refuses_when_stdin_is_not_a_tty(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hyperknob.create_study(study_name="s", storage=db)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    code, _, err = run(capsys, "--storage", db, "delete", "s")
    assert code == 2
    assert "refusing to delete study 's'" in err and "--yes" in err
    assert hyperknob.get_all_study_names(db) == ["s"]


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False), ("", False)])
def test_delete_asks_on_a_tty(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch,
    answer: str, deleted: bool,
) -> None:
    hyperknob.create_study(study_name="s", storage=db)
    monkeypatch.setattr(sys, "stdin", _FakeTTY(answer))
    code, _, err = run(capsys, "--storage", db, "delete", "s")
    assert "Delete study 's' and its 0 trials" in err
    assert code == (0 if deleted else 1)
    assert hyperknob.get_all_study_names(db) == ([] if deleted else ["s"])


# -- errors -----------------------------------------------------------------------------------
def _assert_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 1
    assert out == ""
    assert err.startswith("hyperknob: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_unknown_study(capsys: pytest.CaptureFixture[str], db: str) -> None:
    hyperknob.create_study(study_name="there", storage=db)
    for argv in (["trials", "missing"], ["best", "missing"], ["delete", "missing", "--yes"]):
        code, out, err = run(capsys, "--storage", db, *argv)
        _assert_error(code, out, err, "no study named 'missing'", "it holds: 'there'")


def test_unknown_storage_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--storage", "mysql://localhost/db", "studies")
    _assert_error(code, out, err, "unknown storage URL scheme 'mysql'", "sqlite:///PATH")


def test_missing_sqlite_file_is_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "studies")  # the default sqlite:///hyperknob.db
    _assert_error(code, out, err, "no SQLite file 'hyperknob.db'", "hyperknob demo")
    assert not (tmp_path / "hyperknob.db").exists()


def test_a_file_that_is_not_a_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are not the tables you are looking for\n" * 100)
    code, out, err = run(capsys, "--storage", f"sqlite:///{path}", "studies")
    _assert_error(code, out, err, "is not a valid database")


def test_a_schema_too_new(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    hyperknob.create_study(study_name="s", storage=db)
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute("UPDATE hk_meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    code, out, err = run(capsys, "--storage", db, "trials", "s")
    _assert_error(code, out, err, "schema version 99", "Upgrade hyperknob")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "hyperknob: error:" in err
    code, _, err = run(capsys, "studies", "--format", "xml")
    assert code == 2 and "invalid choice: 'xml'" in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"hyperknob {hyperknob.__version__}"
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("studies", "trials", "best", "delete", "demo"):
        assert command in out


# -- global options ---------------------------------------------------------------------------
def test_global_options_before_or_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], db: str
) -> None:
    make_study_with_failures(db)
    before = run(capsys, "--storage", db, "--format", "json", "trials", "mixed")
    after = run(capsys, "trials", "mixed", "--format", "json", "--storage", db)
    mixed = run(capsys, "--format", "json", "trials", "--storage", db, "mixed")
    assert before == after == mixed
    assert before[0] == 0 and len(json.loads(before[1])) == 5


def test_storage_from_the_environment(
    capsys: pytest.CaptureFixture[str], db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_study_with_failures(db)
    monkeypatch.setenv("HYPERKNOB_STORAGE", db)
    assert [r["name"] for r in run_json(capsys, "studies")] == ["mixed"]
    code, out, _ = run(capsys, "demo", "--trials", "3")
    assert code == 0
    assert "--storage" not in out  # the hint needs no --storage: the environment has it
    assert hyperknob.get_all_study_names(db) == ["mixed", "demo-branin"]


def test_empty_storage_table(capsys: pytest.CaptureFixture[str], db: str) -> None:
    hyperknob.storages.get_storage(db)  # create an empty database
    code, out, _ = run(capsys, "studies", "--storage", db)
    assert code == 0 and out.startswith("no studies in ")
    assert run_json(capsys, "studies", "--storage", db) == []


# -- as a program -----------------------------------------------------------------------------
def _program(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HYPERKNOB_STORAGE"}
    return subprocess.run([sys.executable, "-m", "hyperknob.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_program_runs_the_demo_and_lists_trials(tmp_path: Path) -> None:
    done = _program("demo", "--trials", "20", "--seed", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Best trial" in done.stdout and "Traceback" not in done.stderr
    assert (tmp_path / "hyperknob.db").exists()  # the default storage, in the working dir

    listed = _program("trials", "demo-branin", "--format", "json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 20


def test_the_program_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    done = _program("--storage", "nope://x", "studies", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("hyperknob: error: unknown storage URL scheme 'nope'")
    assert "Traceback" not in done.stderr


def test_the_program_starts_without_pandas(tmp_path: Path) -> None:
    code = ("import sys; from hyperknob.cli import main; rc = main(['--version']); "
            "heavy = [m for m in ('pandas', 'tqdm', 'scipy', 'torch') if m in sys.modules]; "
            "print(rc, heavy)")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("0 []")


def test_printed_storage_urls_hide_passwords() -> None:
    from hyperknob.cli._commands import shown

    assert shown("postgresql+psycopg://me:s3cret@db:5432/hk") == (
        "postgresql+psycopg://me:***@db:5432/hk")
    assert shown("sqlite:///a/b.db") == "sqlite:///a/b.db"
