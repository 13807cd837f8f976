"""Neural networks: build an MLP from hyperparameters, learn its W and b, tune it.

Needs the ``nn`` extra (PyTorch and scikit-learn): ``pip install 'hyperknob[nn]'``.

The whole main job (search, model selection, test score, files) is :func:`tune`:

    >>> from hyperknob import nn
    >>> result = nn.tune("digits", trials=30)  # doctest: +SKIP
    >>> result.test, result.baseline.test  # doctest: +SKIP

The objective alone, for a study of your own:

    >>> import hyperknob
    >>> job = nn.objective("digits")  # doctest: +SKIP
    >>> study = hyperknob.create_study(direction=job.direction)  # doctest: +SKIP
    >>> study.optimize(job, n_trials=30)  # doctest: +SKIP
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "hyperknob.nn needs PyTorch: pip install 'hyperknob[nn]' (or torch>=2.2)"
    ) from error

from hyperknob._training_record import StopReason, TrainingRecord, read_record, store_record
from hyperknob.execution import BatchedExecutor
from hyperknob.nn._batched_auto import BatchChoice, choose_batch
from hyperknob.nn._batched_study import optimize_batched
from hyperknob.nn._batched_train import train_batched
from hyperknob.nn._config import MLPConfig
from hyperknob.nn._data import BUILTIN_DATASETS, Dataset, Task, load_dataset
from hyperknob.nn._model import MLP, LayerParameters, ModelDescription, build_mlp, describe
from hyperknob.nn._objective import NeuralNetworkObjective, objective
from hyperknob.nn._select import Ensemble
from hyperknob.nn._space import SearchSpace, default_space, load_space
from hyperknob.nn._train import EpochRecord, TrainResult, evaluate, resolve_device, train
from hyperknob.nn._tune import Baseline, TuneResult, tune

__all__ = [
    "BUILTIN_DATASETS",
    "MLP",
    "Baseline",
    "BatchChoice",
    "BatchedExecutor",
    "Dataset",
    "Ensemble",
    "EpochRecord",
    "LayerParameters",
    "MLPConfig",
    "ModelDescription",
    "NeuralNetworkObjective",
    "SearchSpace",
    "StopReason",
    "Task",
    "TrainResult",
    "TrainingRecord",
    "TuneResult",
    "build_mlp",
    "choose_batch",
    "default_space",
    "describe",
    "evaluate",
    "load_dataset",
    "load_space",
    "objective",
    "optimize_batched",
    "read_record",
    "resolve_device",
    "store_record",
    "train",
    "train_batched",
    "tune",
]
