"""hyperknob: train a network's parameters, search its hyperparameters, explain the knobs.

Example:
    >>> import hyperknob
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", -10, 10)
    ...     return (x - 2) ** 2
    >>> study = hyperknob.create_study(seed=0)
    >>> study.optimize(objective, n_trials=10)
"""

from typing import TYPE_CHECKING

from hyperknob import distributions, pruners, samplers, storages, strategies
from hyperknob._direction import StudyDirection
from hyperknob.distributions import Prior
from hyperknob.exceptions import (
    DuplicatedStudyError,
    HyperknobError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialPruned,
)
from hyperknob.execution import BatchedExecutor, ProcessExecutor, SerialExecutor
from hyperknob.study import (
    HeartbeatPolicy,
    Study,
    StudyView,
    copy_study,
    create_study,
    delete_study,
    get_all_study_names,
    get_all_study_summaries,
    load_study,
)
from hyperknob.trial import FrozenTrial, Trial, TrialState

if TYPE_CHECKING:
    from hyperknob.execution._ray import RayExecutor

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # RayExecutor imports ray (seconds, and an optional dependency): only when asked for.
    if name == "RayExecutor":
        from hyperknob.execution._ray import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'hyperknob' has no attribute {name!r}")


__all__ = [
    "BatchedExecutor",
    "DuplicatedStudyError",
    "FrozenTrial",
    "HeartbeatPolicy",
    "HyperknobError",
    "Prior",
    "ProcessExecutor",
    "RayExecutor",
    "SchemaVersionError",
    "SerialExecutor",
    "StorageError",
    "Study",
    "StudyDirection",
    "StudyNotFoundError",
    "StudyView",
    "Trial",
    "TrialPruned",
    "TrialState",
    "__version__",
    "copy_study",
    "create_study",
    "delete_study",
    "distributions",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
    "pruners",
    "samplers",
    "storages",
    "strategies",
]
