"""What :meth:`Study.add_trial` and :meth:`Study.add_trials` check before storing a trial
made elsewhere (all of a batch is checked before any is stored)."""

from __future__ import annotations

from hyperknob.storages._in_memory import check_json
from hyperknob.trial._frozen import FrozenTrial, fits
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import check_objective_values


def check_addable(trial: FrozenTrial, n_objectives: int) -> None:
    """Raise TypeError or ValueError unless ``trial`` can be stored as it is in a study with
    ``n_objectives`` objectives: finished, one finite value per objective when COMPLETE (none
    otherwise), parameters inside their distributions, JSON attributes."""
    if not isinstance(trial, FrozenTrial):
        raise TypeError(f"add_trial() takes a FrozenTrial, got {trial!r}")
    if not trial.state.is_finished():
        raise ValueError(f"add_trial() takes a finished trial, got state {trial.state!r}")
    if trial.state is TrialState.COMPLETE:
        _, reason = check_objective_values(trial.values, n_objectives)
        if reason is not None:
            raise ValueError(f"a COMPLETE trial needs one finite value per objective: "
                             f"{reason.replace('the objective returned', 'it has')}")
    elif trial.values is not None:
        raise ValueError(f"a {trial.state.name} trial takes no values, got "
                         f"values={trial.values!r}")
    for name, value in trial.params.items():
        dist = trial.distributions.get(name)
        if dist is None or not fits(value, dist):
            raise ValueError(f"parameter {name!r}={value!r} does not fit {dist!r}")
    for kind, attrs in (("user", trial.user_attrs), ("system", trial.system_attrs)):
        for key, value in attrs.items():
            check_json(kind, key, value)
