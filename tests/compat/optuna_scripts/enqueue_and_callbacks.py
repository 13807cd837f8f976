"""Enqueued trials, trials made by hand, user attributes and callbacks that stop a study."""

import hyperknob as optuna
from hyperknob.distributions import FloatDistribution


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    trial.set_user_attr("squared", x * x)
    return (x - 2) ** 2


study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
study.enqueue_trial({"x": 2.0})
study.add_trial(optuna.trial.create_trial(
    params={"x": 5.0}, distributions={"x": FloatDistribution(-10, 10)}, value=9.0))
study.add_trials([optuna.trial.create_trial(
    params={"x": float(v)}, distributions={"x": FloatDistribution(-10, 10)},
    value=(v - 2.0) ** 2) for v in (0, 1)])


def stop_when_close(study, trial):
    if trial.value is not None and trial.value < 1e-9:
        study.stop()


study.optimize(objective, n_trials=20, callbacks=[stop_when_close])
assert study.trials[0].params == {"x": 2.0}  # the enqueued trial ran first, and stopped it
assert len(study.trials) == 4
assert study.best_trial.user_attrs == {"squared": 4.0}
study.set_user_attr("owner", "me")
assert study.user_attrs["owner"] == "me"


class MaxTrials:
    def __init__(self, n):
        self.n = n

    def __call__(self, study, trial):
        if len(study.trials) >= self.n:
            study.stop()


study.optimize(objective, n_trials=100, callbacks=[MaxTrials(9)])
assert len(study.trials) == 9
