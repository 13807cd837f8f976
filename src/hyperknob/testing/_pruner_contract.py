"""The pruner contract: tests that every :class:`~hyperknob.pruners.BasePruner` must pass.

Subclass :class:`PrunerContract` in a test module, implement :meth:`make_pruner`, and say with
the class attributes what the pruner is expected to do with the scripted trials (see
:class:`PrunerContract`). Every test runs a scripted study: fixed parameters, enqueued in
order, each drawing a deterministic curve of intermediate values (:func:`scripted_value`).
Good curves keep improving and stay below 1.5; bad curves stall from step 3 on and stay above
3.0; one good curve reports NaN at step 3. The objective reports every step and raises
:class:`~hyperknob.TrialPruned` when ``should_prune()`` says so.

Each test runs on three storages: in memory, a SQLite file, and a fresh PostgreSQL database
(taken from the ``postgres_url`` fixture of hyperknob's ``tests/conftest.py``: skipped without
``HYPERKNOB_TEST_POSTGRES_URL``, failing under ``CI=true`` without it).

Example:
    >>> from hyperknob.pruners import MedianPruner
    >>> class TestMedian(PrunerContract):
    ...     def make_pruner(self):
    ...         return MedianPruner(n_startup_trials=3)
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from hyperknob.exceptions import TrialPruned
from hyperknob.pruners._base import BasePruner
from hyperknob.samplers import RandomSampler
from hyperknob.storages._base import BaseStorage
from hyperknob.storages._in_memory import InMemoryStorage
from hyperknob.storages._sql import SQLStorage
from hyperknob.study._functions import create_study, load_study
from hyperknob.study._study import Study
from hyperknob.study._view import StudyView
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState
from hyperknob.trial._trial import Trial

__all__ = ["DEFAULT_SCHEDULE", "PrunerContract", "ScriptedTrial", "scripted_objective",
           "scripted_value"]

#: A trial whose ``level`` is at least this is *bad*: its curve stays above ``level + 0.25``.
BAD_LEVEL = 2.0


class ScriptedTrial(NamedTuple):
    """The parameters of one scripted trial; enqueued as they are.

    ``level``: where the curve ends up; ``stalls_at``: the step from which the curve stops
    improving (-1: never); ``nan_at``: the step that reports NaN (-1: none); ``n_steps``: how
    many steps (0 to ``n_steps - 1``) the trial reports.
    """

    level: float
    stalls_at: int = -1
    nan_at: int = -1
    n_steps: int = 10

    @property
    def kind(self) -> str:
        """Return ``"nan"`` (a curve with a NaN), ``"bad"`` or ``"good"``."""
        if self.nan_at >= 0:
            return "nan"
        return "bad" if self.level >= BAD_LEVEL else "good"


def _good(level: float) -> ScriptedTrial:
    return ScriptedTrial(level)


def _bad(level: float) -> ScriptedTrial:
    return ScriptedTrial(level, stalls_at=3)


#: Twelve trials over ten steps (0-9). Good ones are first, so that pruners with a few startup
#: trials have them; the first trial of the second half (number 6) is bad; trial 7 is a good
#: curve that reports NaN at step 3.
DEFAULT_SCHEDULE: tuple[ScriptedTrial, ...] = (
    _good(0.30), _good(0.10), _bad(4.0), _good(0.20), _bad(3.5), _good(0.40),
    _bad(4.5), ScriptedTrial(0.05, nan_at=3), _bad(3.0), _good(0.15), _bad(5.0), _good(0.25),
)


def scripted_value(params: Mapping[str, Any], step: int) -> float:
    """Return what the scripted trial with ``params`` reports at ``step``.

    ``level + 1 / (s + 1)`` with ``s = min(step, stalls_at)`` (``s = step`` if it never stalls),
    and NaN at ``nan_at``.
    """
    if step == params["nan_at"]:
        return math.nan
    stalls_at = params["stalls_at"]
    s = min(step, stalls_at) if stalls_at >= 0 else step
    return float(params["level"]) + 1.0 / (s + 1)


def scripted_objective(trial: Trial) -> float:
    """Report the scripted curve of the trial's parameters; stop when the pruner says so."""
    n_steps = trial.suggest_int("n_steps", 1, 1000)
    params: dict[str, Any] = {
        "level": trial.suggest_float("level", 0.0, 10.0),
        "stalls_at": trial.suggest_int("stalls_at", -1, 1000),
        "nan_at": trial.suggest_int("nan_at", -1, 1000),
    }
    for step in range(n_steps):
        trial.report(scripted_value(params, step), step)
        if trial.should_prune():
            raise TrialPruned()
    return scripted_value({**params, "nan_at": -1}, n_steps - 1)


def prefix(trial: FrozenTrial, step: int) -> FrozenTrial:
    """Return ``trial`` as it was, RUNNING, right after reporting ``step``."""
    values = {s: v for s, v in trial.intermediate_values.items() if s <= step}
    return trial.replace(state=TrialState.RUNNING, value=None, datetime_complete=None,
                         intermediate_values=values)


def same_float(a: float, b: float) -> bool:
    """Return whether two reported values are equal, NaN equal to NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def outcome(trials: list[FrozenTrial]) -> list[tuple[int, str, Any, Any]]:
    """Return ``(number, state, pruned_at_step, prune_reason)`` for each trial."""
    return [(t.number, t.state.name, t.system_attrs.get("pruned_at_step"),
             t.system_attrs.get("prune_reason")) for t in trials]


#: Runs the first trials of a study in a fresh process: argv = url, study name, pickled pruner
#: file, number of trials.
RESTART_SCRIPT = """
import pickle
import sys

from hyperknob.samplers import RandomSampler
from hyperknob.study._functions import load_study
from hyperknob.testing._pruner_contract import scripted_objective

url, name, pruner_file, n_trials = sys.argv[1:5]
with open(pruner_file, "rb") as f:
    pruner = pickle.load(f)
study = load_study(study_name=name, storage=url, pruner=pruner, sampler=RandomSampler(seed=0))
study.optimize(scripted_objective, n_trials=int(n_trials))
study.storage.close()
"""


class RecordingPruner(BasePruner):
    """Ask a pruner and remember each reason it gave, by trial number and step."""

    def __init__(self, inner: BasePruner) -> None:
        self.inner = inner
        self.reasons: dict[tuple[int, int], str] = {}

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        reason = self.inner.check(study, trial)
        if reason is not None and trial.last_step is not None:
            self.reasons[trial.number, trial.last_step] = reason
        return reason


@dataclasses.dataclass
class PrunerStorage:
    """Where a test's study lives: in memory (one shared storage object) or at a URL."""

    kind: str
    url: str | None
    memory: InMemoryStorage | None = None
    opened: list[BaseStorage] = dataclasses.field(default_factory=list)

    def connect(self) -> BaseStorage:
        """Return a new handle on the data (in memory: the one storage object)."""
        if self.memory is not None:
            return self.memory
        assert self.url is not None
        storage = SQLStorage(self.url)
        self.opened.append(storage)
        return storage

    def close(self) -> None:
        """Close every handle :meth:`connect` opened."""
        for storage in self.opened:
            storage.close()
        self.opened.clear()


class PrunerContract:
    """Pytest test class: the guarantees of :class:`~hyperknob.pruners.BasePruner`.

    Subclasses implement :meth:`make_pruner` (a picklable pruner: one check runs it in a fresh
    process) and set the class attributes below to what the pruner does with the scripted
    trials of :meth:`schedule`.
    """

    #: Whether the pruner stops some of the scripted bad trials (False: never prunes at all).
    prunes_bad_trials: bool = True
    #: Whether its decisions depend on the other trials (False for rules that look at the
    #: trial's own curve only).
    compares_trials: bool = True
    #: Whether a decision to prune can only stay one as more trials finish (true of rules on
    #: the trial's own curve); then every pruned trial, re-checked against the final study of
    #: a parallel run, is still pruned.
    decisions_only_stricter: bool = False
    #: Whether the trial that reports NaN is pruned at that step, with a reason saying NaN.
    prunes_nan: bool = True

    # -- hooks -----------------------------------------------------------------------------
    def make_pruner(self) -> BasePruner:
        """Return a new pruner. Subclasses must implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_pruner()")

    def schedule(self) -> list[ScriptedTrial]:
        """Return the scripted trials, in the order they run. The first half must hold the
        trials the pruner needs before it prunes, and the first trial of the second half must
        be bad (a pruner that prunes it there has used the first half's trials)."""
        return list(DEFAULT_SCHEDULE)

    def postgres_url(self, request: pytest.FixtureRequest) -> str:
        """Return the URL of an empty PostgreSQL database for one test.

        The default takes the ``postgres_url`` fixture (hyperknob's ``tests/conftest.py``: a
        fresh database per test, dropped afterwards) and skips where there is none.
        """
        try:
            url: str = request.getfixturevalue("postgres_url")
        except pytest.FixtureLookupError:
            pytest.skip("no postgres_url fixture: define one or override postgres_url()")
        return url

    # -- fixtures --------------------------------------------------------------------------
    @pytest.fixture(params=["memory", "sqlite",
                            pytest.param("postgres", marks=pytest.mark.postgres)])
    def pruner_storage(self, request: pytest.FixtureRequest,
                       tmp_path: Path) -> Iterator[PrunerStorage]:
        """Yield an empty storage of each kind, and close what the test opened on it."""
        kind: str = request.param
        if kind == "memory":
            where = PrunerStorage(kind, None, memory=InMemoryStorage())
        elif kind == "sqlite":
            where = PrunerStorage(kind, f"sqlite:///{tmp_path}/pruner.db")
        else:
            where = PrunerStorage(kind, self.postgres_url(request))
        try:
            yield where
        finally:
            where.close()

    # -- helpers ---------------------------------------------------------------------------
    def _new_study(self, where: PrunerStorage, pruner: BasePruner) -> Study:
        """Create a uniquely named study on ``where`` with every scripted trial enqueued."""
        name = f"{type(self).__name__}-{uuid.uuid4().hex[:8]}"
        study = create_study(study_name=name, storage=where.connect(), pruner=pruner,
                             sampler=RandomSampler(seed=0))
        for scripted in self.schedule():
            study.enqueue_trial(scripted._asdict())
        return study

    def _reload(self, where: PrunerStorage, study: Study) -> Study:
        """Load ``study`` through a new storage handle with a fresh pruner."""
        return load_study(study_name=study.study_name, storage=where.connect(),
                          pruner=self.make_pruner(), sampler=RandomSampler(seed=0))

    @staticmethod
    def _kind(trial: FrozenTrial) -> str:
        return ScriptedTrial(**trial.params).kind

    def _check_recorded(self, trials: list[FrozenTrial]) -> None:
        """Every trial finished; a PRUNED one keeps its reason, its step and its curve up to
        that step, a COMPLETE one its whole curve and its value."""
        schedule = self.schedule()
        assert [t.number for t in trials] == list(range(len(schedule)))
        for trial in trials:
            assert trial.state in (TrialState.COMPLETE, TrialState.PRUNED), (
                f"trial {trial.number} is {trial.state.name}: "
                f"{trial.system_attrs.get('fail_reason')}")
            params = schedule[trial.number]._asdict()
            assert dict(trial.params) == params
            last = trial.last_step
            assert last is not None, f"trial {trial.number} reported nothing"
            if trial.state is TrialState.PRUNED:
                reason = trial.system_attrs.get("prune_reason")
                assert isinstance(reason, str) and reason.strip(), (
                    f"trial {trial.number} was pruned without a reason: {reason!r}")
                assert trial.system_attrs.get("pruned_at_step") == last, (
                    f"trial {trial.number}: pruned_at_step "
                    f"{trial.system_attrs.get('pruned_at_step')!r}, last step {last}")
                assert trial.value is None
            else:
                assert last == params["n_steps"] - 1
                assert trial.value == scripted_value({**params, "nan_at": -1}, last)
                assert "prune_reason" not in trial.system_attrs
            assert sorted(trial.intermediate_values) == list(range(last + 1))
            for step, value in trial.intermediate_values.items():
                assert same_float(value, scripted_value(params, step)), (
                    f"trial {trial.number} step {step}: stored {value!r}, "
                    f"reported {scripted_value(params, step)!r}")

    def _pruned(self, trials: list[FrozenTrial], kind: str) -> list[FrozenTrial]:
        return [t for t in trials if self._kind(t) == kind and t.state is TrialState.PRUNED]

    def _check_prunes_bad_trials(self, trials: list[FrozenTrial]) -> None:
        pruned = [t for t in trials if t.state is TrialState.PRUNED]
        if not self.prunes_bad_trials:
            assert pruned == [], f"{self.make_pruner()!r} pruned {outcome(pruned)}"
            return
        assert self._pruned(trials, "bad"), (
            f"no bad trial was pruned: {outcome(trials)}")

    # -- the checks ------------------------------------------------------------------------
    def test_decisions_depend_only_on_stored_trials(self, pruner_storage: PrunerStorage) -> None:
        """A fresh pruner on a freshly loaded study decides as the pruner that ran the study,
        for every stored trial cut after each of its steps."""
        pruner = self.make_pruner()
        study = self._new_study(pruner_storage, pruner)
        study.optimize(scripted_objective, n_trials=len(self.schedule()))
        fresh_study = self._reload(pruner_storage, study)
        fresh = fresh_study.pruner
        assert fresh is not pruner
        decisions: list[str | None] = []
        for trial in fresh_study.trials:
            for step in sorted(trial.intermediate_values):
                cut = prefix(trial, step)
                ours = pruner.check(study.view, cut)
                theirs = fresh.check(fresh_study.view, cut)
                assert ours == theirs, (
                    f"trial {trial.number} at step {step}: the pruner that ran the study says "
                    f"{ours!r}, a fresh one on the reloaded study says {theirs!r}")
                decisions.append(theirs)
            # The yes/no form agrees (checked on the whole curve only, to save reads).
            last = trial.last_step
            assert last is not None
            assert fresh.prune(fresh_study.view, prefix(trial, last)) is (
                decisions[-1] is not None)
        if self.prunes_bad_trials:
            assert any(d is not None for d in decisions)
        else:
            assert all(d is None for d in decisions)

    def test_pruned_trials_are_recorded(self, pruner_storage: PrunerStorage) -> None:
        """PRUNED trials store the pruner's reason, their last step and their curve; more bad
        trials are pruned than good ones (in share); a NaN report is stored as NaN, and
        pruners that handle NaN stop the trial right there."""
        recording = RecordingPruner(self.make_pruner())
        study = self._new_study(pruner_storage, recording)
        study.optimize(scripted_objective, n_trials=len(self.schedule()))
        trials = study.trials
        self._check_recorded(trials)
        for trial in trials:
            if trial.state is TrialState.PRUNED:
                step = trial.system_attrs["pruned_at_step"]
                assert trial.system_attrs["prune_reason"] == recording.reasons.get(
                    (trial.number, step)), f"trial {trial.number}"
        self._check_prunes_bad_trials(trials)
        if self.prunes_bad_trials:
            bad = [t for t in trials if self._kind(t) == "bad"]
            good = [t for t in trials if self._kind(t) == "good"]
            bad_share = len(self._pruned(trials, "bad")) / len(bad)
            good_share = len(self._pruned(trials, "good")) / len(good)
            assert bad_share > good_share, (
                f"pruned {bad_share:.0%} of the bad trials and {good_share:.0%} of the good "
                f"ones: {outcome(trials)}")
        # NaN: stored as NaN (_check_recorded compares NaN-aware); pruned right there by
        # pruners that handle it.
        with_nan = [t for t in trials if self._kind(t) == "nan"]
        assert with_nan, "the schedule has no trial that reports NaN"
        for trial in with_nan:
            nan_at = trial.params["nan_at"]
            if self.prunes_nan:
                assert trial.state is TrialState.PRUNED, (
                    f"trial {trial.number} reported NaN at step {nan_at} but was not pruned")
                assert trial.system_attrs["pruned_at_step"] == nan_at
                assert "nan" in trial.system_attrs["prune_reason"].lower()
            if trial.last_step is not None and trial.last_step >= nan_at:
                assert math.isnan(trial.intermediate_values[nan_at])

    def test_worker_processes(self, pruner_storage: PrunerStorage) -> None:
        """With two worker processes every trial finishes and PRUNED ones keep their reason
        and step; re-checked against the final study, decisions that can only get stricter
        are still to prune."""
        study = self._new_study(pruner_storage, self.make_pruner())
        study.optimize(scripted_objective, n_trials=len(self.schedule()), n_jobs=2)
        trials = self._reload(pruner_storage, study).trials
        self._check_recorded(trials)
        self._check_prunes_bad_trials(trials)
        final = self.make_pruner()
        for trial in trials:
            last = trial.last_step
            assert last is not None
            if self.decisions_only_stricter and trial.state is TrialState.PRUNED:
                assert final.check(study.view, prefix(trial, last)) is not None, (
                    f"trial {trial.number}, pruned at step {last}, is no longer pruned there")
            nan_at = trial.params["nan_at"]
            if self.prunes_nan and 0 <= nan_at <= last:
                # NaN is pruned whatever the other trials did.
                assert final.check(study.view, prefix(trial, nan_at)) is not None

    def test_continues_after_restart(self, pruner_storage: PrunerStorage,
                                     tmp_path: Path) -> None:
        """Half the trials run in another process (in memory: another Study and pruner), half
        here with a fresh pruner on the reloaded study: the same outcome as one straight run,
        and the second half's decisions use the first half's trials."""
        schedule = self.schedule()
        half = len(schedule) // 2
        assert schedule[half].kind == "bad", "the second half must start with a bad trial"
        first = self._new_study(pruner_storage, self.make_pruner())
        if pruner_storage.url is None:
            first.optimize(scripted_objective, n_trials=half)
        else:
            pruner_file = tmp_path / "pruner.pkl"
            pruner_file.write_bytes(pickle.dumps(self.make_pruner()))
            done = subprocess.run(
                [sys.executable, "-c", RESTART_SCRIPT, pruner_storage.url, first.study_name,
                 str(pruner_file), str(half)],
                capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode == 0, done.stderr
        resumed = self._reload(pruner_storage, first)
        assert [t.state.is_finished() for t in resumed.trials[:half]] == [True] * half
        assert not any(t.state is TrialState.COMPLETE for t in resumed.trials[half:])
        resumed.optimize(scripted_objective, n_trials=len(schedule) - half)
        trials = resumed.trials
        self._check_recorded(trials)

        straight = self._new_study(PrunerStorage("memory", None, InMemoryStorage()),
                                   self.make_pruner())
        straight.optimize(scripted_objective, n_trials=len(schedule))
        assert outcome(trials) == outcome(straight.trials)

        if not self.prunes_bad_trials:
            assert not any(t.state is TrialState.PRUNED for t in trials)
            return
        first_new = trials[half]
        assert first_new.state is TrialState.PRUNED, (
            f"trial {half}, the first one run here, has a bad curve but was not pruned")
        if self.compares_trials:
            # Alone in a study, the trial would have gone on: the decision used the first
            # half's trials, read from the storage.
            empty = create_study(pruner=self.make_pruner())
            cut = prefix(first_new, first_new.system_attrs["pruned_at_step"])
            assert empty.pruner.check(empty.view, cut) is None
