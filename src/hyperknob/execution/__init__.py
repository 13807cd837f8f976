"""Executors: the ways of running an optimize loop's trials -- here, in worker processes, K
at a time in one batch, or on a Ray cluster (``RayExecutor``, imported on demand: it needs
Ray). Each drives the one :class:`TrialLoop` of ``execution._loop``."""

from hyperknob.execution._base import Executor
from hyperknob.execution._batched import BatchedExecutor, BatchObjective, OneByOne
from hyperknob.execution._loop import TrialLoop, evaluate
from hyperknob.execution._processes import ProcessExecutor
from hyperknob.execution._serial import SerialExecutor

__all__ = ["BatchObjective", "BatchedExecutor", "Executor", "OneByOne", "ProcessExecutor",
           "SerialExecutor", "TrialLoop", "evaluate"]
