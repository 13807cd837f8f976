"""Bad storage input gets a clear error, and nothing already stored is lost."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import hyperknob
from hyperknob.exceptions import SchemaVersionError, StorageError
from hyperknob.storages import SCHEMA_VERSION, SQLStorage, get_storage


def objective(trial: hyperknob.Trial) -> float:
    return trial.suggest_float("x", 0, 1)


@pytest.mark.parametrize("url", ["mysql://u@h/db", "redis://localhost", "study.db"])
def test_unknown_scheme_names_the_scheme_and_what_is_expected(url: str) -> None:
    with pytest.raises(ValueError, match=r"unknown storage URL scheme .* expected 'sqlite:///"):
        hyperknob.create_study(storage=url)


def test_storage_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="storage must be a URL string, a BaseStorage or None"):
        get_storage(42)  # type: ignore[arg-type]


def test_a_text_file_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StorageError, match=r"notes.db.* is not a valid database|cannot open"):
        hyperknob.create_study(storage=f"sqlite:///{path}")
    assert path.read_text().startswith("these are my notes")


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a directory, expected a file"):
        get_storage(f"sqlite:///{tmp_path}")


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    study = hyperknob.create_study(study_name="kept", storage=url)
    study.optimize(objective, n_trials=3)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("UPDATE hk_meta SET value = ? WHERE key = 'schema_version'",
                     (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaVersionError, match=rf"schema version {SCHEMA_VERSION + 1}; "
                       rf"this hyperknob reads schema versions up to {SCHEMA_VERSION}"):
        SQLStorage(url)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM hk_trials").fetchone()[0] == 3


def test_study_not_found_names_the_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(hyperknob.StudyNotFoundError, match="no study named 'ghost'"):
        hyperknob.load_study(study_name="ghost", storage=url)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_file_is_a_clear_error(tmp_path: Path) -> None:  # pragma: no cover - non-root
    url = f"sqlite:///{tmp_path}/s.db"
    hyperknob.create_study(study_name="a", storage=url).optimize(objective, n_trials=2)
    os.chmod(tmp_path / "s.db", 0o444)
    with pytest.raises(StorageError, match="read-only"):
        hyperknob.load_study(study_name="a", storage=url).optimize(objective, n_trials=1)


def test_read_only_database_is_a_clear_error_and_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    hyperknob.create_study(study_name="a", storage=url).optimize(objective, n_trials=2)
    read_only = SQLStorage(f"sqlite:///file:{tmp_path}/s.db?mode=ro&uri=true")
    study = hyperknob.load_study(study_name="a", storage=read_only)
    assert len(study.trials) == 2
    with pytest.raises(StorageError, match="read-only"):
        study.optimize(objective, n_trials=1)
    assert len(hyperknob.load_study(study_name="a", storage=url).trials) == 2


def test_resume_after_reopening_keeps_everything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    first = hyperknob.create_study(study_name="r", storage=url, seed=1)
    first.optimize(objective, n_trials=5)
    first._storage.close()
    again = hyperknob.create_study(study_name="r", storage=url, load_if_exists=True)
    again.optimize(objective, n_trials=5)
    assert [t.number for t in again.trials] == list(range(10))
    assert again.best_value == min(t.value for t in again.trials if t.value is not None)


def test_unknown_scheme_error_does_not_echo_a_password() -> None:
    with pytest.raises(ValueError, match="'mysql'") as info:
        get_storage("mysql://user:s3cret@db.example/hk")
    assert "s3cret" not in str(info.value)
