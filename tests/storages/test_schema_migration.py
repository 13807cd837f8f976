"""Storage schema version 1 -> 2 (several objectives): files written by the old schema open,
read back unchanged, resume, and take multi-objective studies."""

from __future__ import annotations

import math
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

import hyperknob
from hyperknob.exceptions import SchemaVersionError
from hyperknob.storages import SCHEMA_VERSION, SQLStorage
from hyperknob.storages import _sql_schema as schema
from hyperknob.trial import TrialState

V1_FILE = Path(__file__).parent / "data" / "schema_v1.sqlite3"
NEW_TABLES = ("hk_study_directions", "hk_trial_values")


@pytest.fixture
def v1_url(tmp_path: Path) -> str:
    """A copy of the file that commit f182f98 (schema version 1) wrote."""
    path = tmp_path / "old.db"
    shutil.copy(V1_FILE, path)
    return f"sqlite:///{path}"


def _meta(url: str) -> dict[str, str]:
    with sqlite3.connect(url[len("sqlite:///"):]) as conn:
        return dict(conn.execute("SELECT key, value FROM hk_meta").fetchall())


def test_the_fixture_is_version_1() -> None:
    with sqlite3.connect(V1_FILE) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        version = conn.execute("SELECT value FROM hk_meta WHERE key='schema_version'").fetchone()
    assert version == ("1",)
    assert not tables & set(NEW_TABLES)


def test_old_file_is_upgraded_on_open(v1_url: str) -> None:
    SQLStorage(v1_url).close()
    meta = _meta(v1_url)
    assert meta["schema_version"] == str(SCHEMA_VERSION) == "2"
    assert "upgraded_from_1" in meta
    with sqlite3.connect(v1_url[len("sqlite:///"):]) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert set(NEW_TABLES) <= tables


def test_old_trials_read_back_unchanged(v1_url: str) -> None:
    study = hyperknob.load_study(study_name="old-minimize", storage=v1_url)
    assert study.directions == [hyperknob.StudyDirection.MINIMIZE]
    assert study.user_attrs == {"dataset": "digits"}
    trials = study.trials
    assert [t.state for t in trials] == [
        TrialState.COMPLETE, TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED,
        TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE, TrialState.COMPLETE,
        TrialState.WAITING]
    first = trials[0]
    assert first.values == (2.0,) and first.value == 2.0
    assert first.params == {"x": 1.0, "n": 2, "kind": "b"}
    assert first.user_attrs == {"note": "trial 0"}
    assert first.intermediate_values == {0: 1.0, 1: 2.0, 2: 3.0}
    assert trials[3].values is None
    assert trials[3].system_attrs["prune_reason"] == "pruned on purpose"
    assert "nan" in trials[4].system_attrs["fail_reason"]
    assert trials[8].system_attrs["fixed_params"] == {"x": 0.5}
    assert all(t.values is not None and math.isfinite(t.values[0])
               for t in trials if t.state is TrialState.COMPLETE)
    assert study.best_trial.number == 0 and study.best_value == 2.0
    old_max = hyperknob.load_study(study_name="old-maximize", storage=v1_url)
    assert old_max.direction is hyperknob.StudyDirection.MAXIMIZE
    assert len(old_max.trials) == 3
    summaries = {s.study_name: s for s in hyperknob.get_all_study_summaries(v1_url)}
    assert summaries["old-minimize"].best_value == 2.0
    assert summaries["old-maximize"].directions == (hyperknob.StudyDirection.MAXIMIZE,)


def test_old_study_resumes_and_file_takes_multi_objective_studies(v1_url: str) -> None:
    study = hyperknob.load_study(study_name="old-minimize", storage=v1_url,
                                 sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", -5.0, 5.0) ** 2, n_trials=3)
    trials = study.trials
    assert len(trials) == 11  # the WAITING trial ran first, then two new ones
    assert trials[8].state is TrialState.COMPLETE and trials[8].params == {"x": 0.5}
    pareto = hyperknob.create_study(study_name="new-pareto", storage=v1_url,
                                    directions=["minimize", "maximize"],
                                    sampler=hyperknob.samplers.RandomSampler(seed=0))
    pareto.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)),
                    n_trials=4)
    again = hyperknob.load_study(study_name="new-pareto", storage=v1_url)
    assert again.directions == [hyperknob.StudyDirection.MINIMIZE,
                                hyperknob.StudyDirection.MAXIMIZE]
    assert [t.values for t in again.trials] == [
        (t.params["a"], t.params["b"]) for t in again.trials]


def test_newer_file_is_refused_by_name(v1_url: str) -> None:
    SQLStorage(v1_url).close()
    with sqlite3.connect(v1_url[len("sqlite:///"):]) as conn:
        conn.execute("UPDATE hk_meta SET value='3' WHERE key='schema_version'")
    with pytest.raises(SchemaVersionError, match=r"schema version 3.*up to 2"):
        SQLStorage(v1_url)


def _write_version_1_schema(url: str) -> None:
    """Create the version-1 tables (every table but the two version 2 added), marked 1."""
    engine = sa.create_engine(url)
    old = [t for t in schema.metadata.sorted_tables if t.name not in NEW_TABLES]
    with engine.begin() as conn:
        schema.metadata.create_all(conn, tables=old)
        conn.execute(schema.meta.insert().values(key="schema_version", value="1"))
        conn.execute(schema.studies.insert().values(
            study_name="old", direction=1, next_trial_number=1,
            datetime_start=sa.func.now()))
        study_id = conn.execute(sa.select(schema.studies.c.study_id)).scalar_one()
        conn.execute(schema.trials.insert().values(study_id=study_id, number=0, state=1,
                                                   value=0.25))
    engine.dispose()


@pytest.mark.postgres
def test_postgres_version_1_database_is_upgraded(postgres_url: str) -> None:
    """The same upgrade on a PostgreSQL database holding the version-1 tables."""
    _write_version_1_schema(postgres_url)
    study = hyperknob.load_study(study_name="old", storage=postgres_url)
    assert study.best_value == 0.25 and study.trials[0].values == (0.25,)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        version = conn.execute(sa.select(schema.meta.c.value)
                               .where(schema.meta.c.key == "schema_version")).scalar_one()
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert version == "2" and set(NEW_TABLES) <= tables
    pareto = hyperknob.create_study(study_name="pareto", storage=postgres_url,
                                    directions=["minimize", "minimize"],
                                    sampler=hyperknob.samplers.RandomSampler(seed=0))
    pareto.optimize(lambda t: (t.suggest_float("a", 0, 1), 1.0), n_trials=2)
    assert all(t.values is not None and t.values[1] == 1.0 for t in pareto.trials)
