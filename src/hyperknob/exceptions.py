"""Exceptions raised by hyperknob."""

from __future__ import annotations


class HyperknobError(Exception):
    """Base class of every hyperknob error."""


class TrialPruned(HyperknobError):  # noqa: N818 - the name Optuna users already catch
    """Raise inside an objective to stop the trial and mark it PRUNED.

    Example:
        >>> def objective(trial):
        ...     if trial.should_prune():
        ...         raise TrialPruned()
    """


class StorageError(HyperknobError):
    """The storage cannot be opened, read or written."""


class SchemaVersionError(StorageError):
    """The database was written by a schema version this hyperknob cannot read."""


class DuplicatedStudyError(HyperknobError, ValueError):
    """A study with this name already exists in the storage."""


class StudyNotFoundError(HyperknobError, KeyError):
    """No study with this name exists in the storage."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TrialNotFoundError(HyperknobError, KeyError):
    """No trial with this id or number exists."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UpdateFinishedTrialError(HyperknobError, RuntimeError):
    """A finished trial (COMPLETE, PRUNED or FAIL) cannot be changed."""


class InvalidArgumentError(HyperknobError, ValueError, TypeError):
    """An argument of the wrong type or out of range; the message names the argument, the
    value received and what was expected. Both a ``ValueError`` and a ``TypeError``."""
