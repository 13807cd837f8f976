"""Choosing samplers, and constrained optimization with constraints_func."""

import hyperknob as optuna


def objective(trial):
    x = trial.suggest_float("x", -15, 30)
    y = trial.suggest_float("y", -15, 30)
    c0 = (x - 5) ** 2 + y**2 - 25  # feasible when <= 0
    c1 = -((x - 8) ** 2) - (y + 3) ** 2 + 7.7
    trial.set_user_attr("constraint", (c0, c1))
    v0 = 4 * x**2 + 4 * y**2
    v1 = (x - 5) ** 2 + (y - 5) ** 2
    return v0, v1


def constraints(trial):
    return trial.user_attrs["constraint"]


for sampler in (optuna.samplers.NSGAIISampler(constraints_func=constraints, seed=0),
                optuna.samplers.TPESampler(constraints_func=constraints, seed=0)):
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=40)
    for trial in study.best_trials:  # the Pareto front holds feasible trials only
        assert all(c <= 0 for c in trial.user_attrs["constraint"]), trial.number

for sampler in (optuna.samplers.RandomSampler(seed=0), optuna.samplers.QMCSampler(seed=0),
                optuna.samplers.TPESampler(seed=0, multivariate=True),
                optuna.samplers.TPESampler(**optuna.samplers.TPESampler.hyperopt_parameters()),
                optuna.samplers.GridSampler({"x": [0, 1, 2], "y": [-1, 1]})):
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", -3, 3) ** 2 + t.suggest_float("y", -1, 1),
                   n_trials=6)
    assert len(study.trials) == 6
