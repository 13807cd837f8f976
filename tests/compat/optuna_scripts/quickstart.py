"""Quickstart: minimize a quadratic, read the best trial, tabulate the trials."""

import hyperknob as optuna


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    return (x - 2) ** 2


study = optuna.create_study()
study.optimize(objective, n_trials=60)

best_params = study.best_params
found_x = best_params["x"]
print(f"Found x: {found_x}, (x - 2)^2: {(found_x - 2) ** 2}")
assert abs(found_x - 2) < 0.2
assert study.best_value == study.best_trial.value
assert len(study.trials) == 60
assert study.best_trial.state == optuna.trial.TrialState.COMPLETE
assert str(study.best_trial.state) == "TrialState.COMPLETE"

df = study.trials_dataframe()
assert list(df["number"]) == list(range(60))
assert "params_x" in df.columns

study.optimize(objective, n_trials=10)  # resume: the study keeps its history
assert len(study.trials) == 70
