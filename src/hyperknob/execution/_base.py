"""The executor interface: how the trials of one optimize loop run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hyperknob.execution._loop import TrialLoop


class Executor(Protocol):
    """Runs the trials of a :class:`~hyperknob.execution.TrialLoop` until it says stop.

    ``Study.optimize(..., executor=...)`` builds the loop from the validated arguments and
    calls :meth:`run`. An executor takes each trial with ``loop.next_trial()`` (None once
    ``n_trials``, the deadline, :meth:`Study.stop` or a finished grid ends the loop; worker
    processes share the loop's budget), hands every finished trial to ``loop.finished`` on
    the driver, and re-raises an objective's exception whose type is not in ``catch`` after
    its trial is stored as FAIL. :class:`hyperknob.testing.ExecutorContract` checks all of
    this.
    """

    def run(self, loop: TrialLoop, func: Any, catch: tuple[type[Exception], ...]) -> None:
        """Run the loop's trials; return when it may start no more and none is running."""
