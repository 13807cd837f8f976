"""Pruning unpromising trials with report / should_prune, as in Optuna's pruning tutorial."""

import math

import hyperknob as optuna


def objective(trial):
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    loss = 1.0
    for step in range(20):
        loss *= 1.0 - 5 * lr if lr < 0.05 else 1.0 + lr  # too large a rate diverges
        trial.report(loss, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return loss


study = optuna.create_study(
    sampler=optuna.samplers.TPESampler(seed=10),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3),
)
study.optimize(objective, n_trials=40)

pruned = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.PRUNED])
complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
print(f"pruned: {len(pruned)}, complete: {len(complete)}")
assert pruned, "the diverging learning rates should be pruned"
assert all(t.last_step is not None and t.last_step < 19 for t in pruned)
assert math.isfinite(study.best_value) and study.best_params["lr"] < 0.05

for pruner in (optuna.pruners.SuccessiveHalvingPruner(), optuna.pruners.HyperbandPruner(),
               optuna.pruners.PercentilePruner(25.0), optuna.pruners.NopPruner(),
               optuna.pruners.ThresholdPruner(upper=1.0),
               optuna.pruners.PatientPruner(optuna.pruners.MedianPruner(), patience=2)):
    optuna.create_study(pruner=pruner).optimize(objective, n_trials=8)
