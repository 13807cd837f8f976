"""Re-evaluating the best trial's parameters, and what records print."""

import hyperknob as optuna
from hyperknob.distributions import FloatDistribution, IntDistribution


def objective(trial):
    x = trial.suggest_float("x", -1, 1)
    n = trial.suggest_int("n", 1, 4)
    for step in range(3):
        trial.report(x * step, step)
    return x**2 + n


study = optuna.create_study()
study.optimize(objective, n_trials=5)
assert objective(study.best_trial) == study.best_value  # a FrozenTrial replays its params
assert not study.best_trial.should_prune()

assert str(optuna.trial.TrialState.FAIL) == "TrialState.FAIL"
assert repr(optuna.trial.TrialState.FAIL) == "<TrialState.FAIL: 3>"
expected = "FloatDistribution(high=1.0, log=False, low=0.0, step=None)"
assert repr(FloatDistribution(0, 1)) == expected
assert repr(IntDistribution(1, 5, log=True)) == "IntDistribution(high=5, log=True, low=1, step=1)"
print(study.best_trial)
assert repr(study.best_trial).startswith(
    f"FrozenTrial(number={study.best_trial.number}, state=<TrialState.COMPLETE: 1>, values=[")
