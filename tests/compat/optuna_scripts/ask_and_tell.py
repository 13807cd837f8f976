"""The ask-and-tell interface: a loop of your own, define-and-run search spaces."""

import hyperknob as optuna
from hyperknob.distributions import CategoricalDistribution, FloatDistribution

study = optuna.create_study(direction="maximize")
n_trials = 12
for _ in range(n_trials):
    trial = study.ask()
    c = trial.suggest_float("C", 1e-7, 10.0, log=True)
    kernel = trial.suggest_categorical("kernel", ["linear", "rbf"])
    score = -abs(c - 1.0) + (0.1 if kernel == "rbf" else 0.0)
    study.tell(trial, score)
assert len(study.trials) == n_trials and study.best_value <= 0.1

distributions = {"C": FloatDistribution(1e-7, 10.0, log=True),
                 "kernel": CategoricalDistribution(["linear", "rbf"])}
for _ in range(5):
    trial = study.ask(distributions)  # the parameters are suggested at once
    assert set(trial.params) == {"C", "kernel"}
    study.tell(trial, -trial.params["C"])

failed = study.ask()
study.tell(failed, state=optuna.trial.TrialState.FAIL)
pruned = study.ask()
pruned.report(0.5, step=1)
study.tell(pruned, state=optuna.trial.TrialState.PRUNED)
states = [t.state for t in study.trials[-2:]]
assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.PRUNED]
assert study.trials[-1].intermediate_values == {1: 0.5}
