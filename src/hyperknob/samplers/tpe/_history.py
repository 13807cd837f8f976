"""What TPE remembers of a study: its finished trials as columns, converted once.

Finished trials never change, so each is converted to internal floats the first time it is
seen; later calls only convert new ones. RUNNING trials change and are read afresh each call.
Everything here is derived from the stored trials: a fresh process rebuilds the same arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from hyperknob._direction import StudyDirection
from hyperknob._losses import signs
from hyperknob.distributions import BaseDistribution
from hyperknob.samplers._constraints import CONSTRAINTS_KEY, violation
from hyperknob.samplers.tpe._space import FloatArray, IntArray
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

#: Ranking tiers: COMPLETE trials first (by value), then PRUNED, then RUNNING (constant liar).
TIER_COMPLETE, TIER_PRUNED, TIER_RUNNING = 0, 1, 2

Key = tuple[str, BaseDistribution]


class _Growable:
    """An append-only float array with amortized O(1) growth, padded with ``fill``."""

    def __init__(self, fill: float = np.nan) -> None:
        self._data = np.full(16, fill)
        self._fill = fill

    def set(self, index: int, value: float) -> None:
        if index >= self._data.shape[0]:
            grown = np.full(max(2 * self._data.shape[0], index + 1), self._fill)
            grown[: self._data.shape[0]] = self._data
            self._data = grown
        self._data[index] = value

    def view(self, n: int) -> FloatArray:
        if n > self._data.shape[0]:
            self.set(n - 1, self._fill)
        return self._data[:n]


@dataclasses.dataclass(frozen=True)
class Observations:
    """Trials that hold every parameter of a group, sorted by trial number.

    Attributes:
        values: ``[n, d]`` internal values, columns in the order of the keys asked for.
        tier: ``[n]`` :data:`TIER_COMPLETE`, :data:`TIER_PRUNED` or :data:`TIER_RUNNING`.
        score: ``[n]`` the (first) value signed so that lower is better (NaN unless COMPLETE).
        number: ``[n]`` trial numbers.
        losses: ``[n, m]`` every objective's value signed so that lower is better (NaN
            unless COMPLETE), in a study with m > 1 objectives; else None.
        violation: ``[n]`` total constraint violation (0: feasible or no constraints; NaN
            for RUNNING trials), or None when no trial has constraint values.
    """

    values: FloatArray
    tier: IntArray
    score: FloatArray
    number: IntArray
    losses: FloatArray | None = None
    violation: FloatArray | None = None

    @property
    def n_finished(self) -> int:
        """Return how many observations come from finished (COMPLETE or PRUNED) trials."""
        return int(np.count_nonzero(self.tier != TIER_RUNNING))


class GroupDecomposition:
    """Split parameter names into groups that always appear together (partition refinement).

    Two names share a group iff every trial seen holds both or neither, so the result does not
    depend on the order trials are folded in. A name seen with two distributions is dropped
    (the sampler then draws it on its own).
    """

    def __init__(self) -> None:
        self._groups: list[frozenset[str]] = []
        self._distributions: dict[str, BaseDistribution] = {}
        self._conflicting: set[str] = set()

    def add(self, distributions: Mapping[str, BaseDistribution]) -> None:
        """Fold in the parameters of one trial."""
        for name, dist in distributions.items():
            known = self._distributions.setdefault(name, dist)
            if known != dist:
                self._conflicting.add(name)
        names = frozenset(distributions)
        refined: list[frozenset[str]] = []
        for group in self._groups:
            refined.extend(part for part in (group & names, group - names) if part)
        new = names.difference(*self._groups)
        if new:
            refined.append(frozenset(new))
        self._groups = refined

    def groups(self) -> list[dict[str, BaseDistribution]]:
        """Return the groups (names sorted, groups ordered by their first name)."""
        out = []
        for group in self._groups:
            names = sorted(group - self._conflicting)
            if names:
                out.append({name: self._distributions[name] for name in names})
        return sorted(out, key=lambda g: next(iter(g)))


class StudyHistory:
    """Columns of internal values of a study's finished trials, appended as trials finish."""

    def __init__(self, directions: Sequence[StudyDirection]) -> None:
        self._signs: list[float] = signs(directions).tolist()
        self._sign: float = self._signs[0]
        self._seen: set[int] = set()
        self._rows = 0
        self._number = _Growable()
        self._tier = _Growable()
        self._score = _Growable()
        #: Signed values of objectives 1, 2, ... (objective 0 is ``_score``).
        self._more_scores = [_Growable() for _ in self._signs[1:]]
        self._violation = _Growable(fill=0.0)
        self._constrained = False
        self._columns: dict[Key, _Growable] = {}
        self._curves: dict[int, Mapping[int, float]] = {}
        self.decomposition = GroupDecomposition()
        self._everywhere: dict[str, BaseDistribution] | None = None
        self._snapshot: tuple[int, list[FrozenTrial]] | None = None
        #: Every trial numbered below this one is finished and folded in (or FAILed): the next
        #: :meth:`update` needs only the trials from here on.
        self.watermark = 0

    @property
    def sign(self) -> float:
        """Return 1 when the study minimizes its (first) objective, -1 when it maximizes
        (scores = sign * value)."""
        return self._sign

    @property
    def n_objectives(self) -> int:
        """Return how many objectives the study has."""
        return len(self._signs)

    @property
    def n_finished(self) -> int:
        """Return how many finished (COMPLETE or PRUNED) trials have been folded in."""
        return self._rows

    def running_seen_by(self, trial_id: int) -> list[FrozenTrial] | None:
        """Return the RUNNING trials of the last :meth:`update` made for ``trial_id``, or None
        if the last update was made for another trial."""
        snapshot = self._snapshot
        if snapshot is None or snapshot[0] != trial_id:
            return None
        return snapshot[1]

    def update(
        self, trials: Iterable[FrozenTrial], for_trial_id: int | None = None
    ) -> list[FrozenTrial]:
        """Fold in newly finished trials; return the RUNNING ones (read afresh each call).

        ``trials``: ordered by number, at least those numbered :attr:`watermark` or higher.

        ``for_trial_id`` names the trial this update serves: :meth:`running_seen_by` then
        returns the same RUNNING list to that trial's later calls.
        """
        running: list[FrozenTrial] = []
        seen = self._seen
        lowest_open: int | None = None
        last = self.watermark - 1
        for trial in trials:
            last = trial.number
            if trial.trial_id in seen:  # the common case first: a trial folded in before
                continue
            state = trial.state
            if state is TrialState.RUNNING:
                running.append(trial)
            elif state is TrialState.COMPLETE or state is TrialState.PRUNED:
                seen.add(trial.trial_id)
                self._append(trial)
            if lowest_open is None and not state.is_finished():
                lowest_open = trial.number
        self.watermark = max(self.watermark, last + 1 if lowest_open is None else lowest_open)
        self._snapshot = None if for_trial_id is None else (for_trial_id, running)
        return running

    def _append(self, trial: FrozenTrial) -> None:
        row = self._rows
        self._rows += 1
        self._number.set(row, trial.number)
        if trial.state is TrialState.COMPLETE:
            values = trial.values
            assert values is not None
            self._tier.set(row, TIER_COMPLETE)
            self._score.set(row, self._sign * values[0])
            for extra, sign, value in zip(self._more_scores, self._signs[1:], values[1:],
                                          strict=True):
                extra.set(row, sign * value)
        else:
            self._tier.set(row, TIER_PRUNED)
        if CONSTRAINTS_KEY in trial.system_attrs:
            self._constrained = True
            self._violation.set(row, violation(trial))
        self._curves[trial.number] = trial.intermediate_values
        for name, dist in trial.distributions.items():
            column = self._columns.get((name, dist))
            if column is None:
                column = self._columns[(name, dist)] = _Growable()
            column.set(row, dist.to_internal(trial.params[name]))
        self.decomposition.add(trial.distributions)
        if self._everywhere is None:
            self._everywhere = dict(trial.distributions)
        else:
            self._everywhere = {name: dist for name, dist in self._everywhere.items()
                                if trial.distributions.get(name) == dist}

    def curve(self, number: int) -> Mapping[int, float]:
        """Return the intermediate values of finished trial ``number``."""
        return self._curves[number]

    def intersection(self) -> dict[str, BaseDistribution]:
        """Return the parameters every finished trial held with one distribution, sorted."""
        space = self._everywhere or {}
        return {name: space[name] for name in sorted(space)}

    def observations(
        self, keys: Sequence[Key], running: Sequence[FrozenTrial], exclude_trial_id: int
    ) -> Observations:
        """Return the trials holding every key: finished ones, then RUNNING ones (not
        ``exclude_trial_id``), all sorted by trial number."""
        n = self._rows
        present = np.ones(n, dtype=bool)
        columns = []
        for key in keys:
            column = self._columns.get(key)
            values = column.view(n) if column is not None else np.full(n, np.nan)
            present &= ~np.isnan(values)
            columns.append(values)
        values = np.stack(columns, axis=1)[present] if columns else np.empty((0, 0))
        tier = self._tier.view(n)[present]
        score = self._score.view(n)[present]
        number = self._number.view(n)[present]
        losses = np.stack([self._score.view(n), *(c.view(n) for c in self._more_scores)],
                          axis=1)[present] if self._more_scores else None
        bad = self._violation.view(n)[present] if self._constrained else None

        pending = [(trial.number, _running_row(trial, keys)) for trial in running
                   if trial.trial_id != exclude_trial_id]
        rows = [(number, row) for number, row in pending if row is not None]
        if rows:
            values = np.vstack([values.reshape(-1, len(keys)), [row for _, row in rows]])
            tier = np.append(tier, np.full(len(rows), TIER_RUNNING))
            score = np.append(score, np.full(len(rows), np.nan))
            number = np.append(number, [number for number, _ in rows])
            if losses is not None:
                losses = np.vstack([losses, np.full((len(rows), losses.shape[1]), np.nan)])
            if bad is not None:
                bad = np.append(bad, np.full(len(rows), np.nan))
        order = np.argsort(number, kind="stable")
        return Observations(values=values.reshape(-1, len(keys))[order],
                            tier=tier[order].astype(np.int64), score=score[order],
                            number=number[order].astype(np.int64),
                            losses=None if losses is None else losses[order],
                            violation=None if bad is None else bad[order])


def _running_row(trial: FrozenTrial, keys: Sequence[Key]) -> list[float] | None:
    """Return a RUNNING trial's internal values for ``keys``, or None if it lacks one."""
    row = []
    for name, dist in keys:
        if trial.distributions.get(name) != dist:
            return None
        row.append(dist.to_internal(trial.params[name]))
    return row
