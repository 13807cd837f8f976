"""Write ``schema_v1.sqlite3``: a SQLite file in storage schema version 1 (before multi-objective
studies). Run once at commit f182f98 (the last version-1 commit); kept as the record of what the
file holds. Later code reads it in ``test_schema_migration.py``.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import hyperknob
from hyperknob.storages import SCHEMA_VERSION, SQLStorage

assert SCHEMA_VERSION == 1, "run this at a commit with storage schema version 1"
path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("schema_v1.sqlite3"))
path.unlink(missing_ok=True)
storage = SQLStorage(f"sqlite:///{path}")


def objective(trial: hyperknob.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    n = trial.suggest_int("n", 1, 8, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b", None])
    trial.set_user_attr("note", f"trial {trial.number}")
    for step in range(3):
        trial.report(x * x + step, step)
    if trial.number == 3:
        raise hyperknob.TrialPruned("pruned on purpose")
    if trial.number == 4:
        return float("nan")
    return (x - 1.0) ** 2 + n + (kind == "a")


study = hyperknob.create_study(study_name="old-minimize", storage=storage,
                               sampler=hyperknob.samplers.RandomSampler(seed=3))
study.set_user_attr("dataset", "digits")
study.enqueue_trial({"x": 1.0, "n": 2, "kind": "b"})
study.optimize(objective, n_trials=8)
study.enqueue_trial({"x": 0.5})  # stays WAITING
maximize = hyperknob.create_study(study_name="old-maximize", storage=storage,
                                  direction="maximize",
                                  sampler=hyperknob.samplers.RandomSampler(seed=4))
maximize.optimize(lambda t: t.suggest_float("y", 0.0, 1.0), n_trials=3)
storage.close()
with sqlite3.connect(path) as conn:  # fold the WAL into the file: one file to commit
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
print(path, path.stat().st_size)
