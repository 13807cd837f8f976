"""Multi-objective optimization: the Pareto front of two conflicting objectives."""

import hyperknob as optuna


def objective(trial):
    x = trial.suggest_float("x", 0, 5)
    y = trial.suggest_float("y", 0, 3)
    v0 = 4 * x**2 + 4 * y**2
    v1 = (x - 5) ** 2 + (y - 5) ** 2
    return v0, v1


study = optuna.create_study(directions=["minimize", "minimize"],
                            sampler=optuna.samplers.NSGAIISampler(seed=0, population_size=10))
study.set_metric_names(["v0", "v1"])
study.optimize(objective, n_trials=60)

print(f"Number of trials on the Pareto front: {len(study.best_trials)}")
trial_with_lowest_v0 = min(study.best_trials, key=lambda t: t.values[0])
print(f"Lowest v0: trial {trial_with_lowest_v0.number}, values {trial_with_lowest_v0.values}")
assert study.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
for trial in study.best_trials:
    assert len(trial.values) == 2
    for other in study.trials:
        if other.state == optuna.trial.TrialState.COMPLETE:
            assert not (all(o <= t for o, t in zip(other.values, trial.values, strict=True))
                        and any(o < t for o, t in zip(other.values, trial.values, strict=True)))

df = study.trials_dataframe(multi_index=True)
assert list(df.get("values").keys()) == ["v0", "v1"]

try:
    print(study.best_trial)
except RuntimeError:
    pass
else:
    raise AssertionError("a multi-objective study has no single best trial")

tpe = optuna.create_study(directions=["minimize", "maximize"],
                          sampler=optuna.samplers.TPESampler(seed=1))
tpe.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=20)
assert all(0 <= t.values[1] <= 1 for t in tpe.best_trials)
