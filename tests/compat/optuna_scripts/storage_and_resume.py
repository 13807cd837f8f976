"""Saving studies in a database, resuming them, copying and deleting them."""

import hyperknob as optuna


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    return (x - 2) ** 2


study_name = "example-study"
storage_name = f"sqlite:///{study_name}.db"
study = optuna.create_study(study_name=study_name, storage=storage_name)
study.optimize(objective, n_trials=3)

study = optuna.create_study(study_name=study_name, storage=storage_name, load_if_exists=True)
study.optimize(objective, n_trials=3)
assert len(study.trials) == 6

loaded = optuna.load_study(study_name=study_name, storage=storage_name)
assert loaded.best_value == study.best_value

storage = optuna.storages.RDBStorage(url=storage_name, engine_kwargs={"pool_size": 4})
assert optuna.get_all_study_names(storage=storage) == [study_name]
summary = optuna.get_all_study_summaries(storage=storage)[0]
assert summary.n_trials == 6 and summary.study_name == study_name
assert summary.direction == optuna.study.StudyDirection.MINIMIZE

optuna.copy_study(from_study_name=study_name, from_storage=storage_name,
                  to_storage="sqlite:///copy.db", to_study_name="copied")
copied = optuna.load_study(study_name="copied", storage="sqlite:///copy.db")
assert [t.params for t in copied.trials] == [t.params for t in loaded.trials]

optuna.delete_study(study_name=study_name, storage=storage_name)
assert optuna.get_all_study_names(storage=storage_name) == []

in_memory = optuna.storages.RDBStorage(url="sqlite:///:memory:")
optuna.create_study(storage=in_memory).optimize(objective, n_trials=2)
