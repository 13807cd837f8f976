"""FrozenTrial: an immutable record of one trial, the unit of exchange between components."""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping, Sequence
from typing import Any

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalChoice,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.trial._state import TrialState


class FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes: JSON-serializable and picklable, unlike a mappingproxy."""

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> Any:
        raise TypeError("a FrozenTrial's mappings are read-only; use FrozenTrial.replace()")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self

    def copy(self) -> dict[Any, Any]:
        """Return a plain, mutable dict copy."""
        return dict(self)


_EMPTY: Mapping[Any, Any] = FrozenDict()


def _empty() -> Mapping[Any, Any]:
    return _EMPTY


def _freeze(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    if not mapping:
        return _EMPTY
    if isinstance(mapping, FrozenDict):
        return mapping
    return FrozenDict(mapping)


_MULTI = ("the study has several objectives: read FrozenTrial.values (one value per objective) "
          "instead of .value")


def _check_values(values: Any) -> tuple[float, ...] | None:
    """Return ``values`` as a tuple of floats (None stays None), or raise naming the value."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"values must be a sequence of floats or None, got values={values!r}")
    try:
        out = tuple(float(v) for v in values)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"values must be a sequence of floats or None, got values={values!r}") from error
    if not out:
        raise ValueError("values must hold one value per objective, got values=()")
    return out


@dataclasses.dataclass(frozen=True, eq=True, init=False, repr=False)
class FrozenTrial:
    """A snapshot of a trial. Its mappings are read-only; build a new record to change one.

    ``values`` holds one value per objective (None until the trial completes); ``value`` is
    the single value of a one-objective study. Build it with either ``value=`` or ``values=``.

    Example:
        >>> t = FrozenTrial(number=0, trial_id=1, state=TrialState.COMPLETE, value=0.5)
        >>> t.value, t.values
        (0.5, (0.5,))
    """

    number: int
    trial_id: int
    state: TrialState
    values: tuple[float, ...] | None
    params: Mapping[str, Any]
    distributions: Mapping[str, BaseDistribution]
    user_attrs: Mapping[str, Any]
    system_attrs: Mapping[str, Any]
    intermediate_values: Mapping[int, float]
    datetime_start: datetime.datetime | None
    datetime_complete: datetime.datetime | None

    def __init__(
        self,
        number: int,
        trial_id: int,
        state: TrialState,
        value: float | None = None,
        params: Mapping[str, Any] | None = None,
        distributions: Mapping[str, BaseDistribution] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
        intermediate_values: Mapping[int, float] | None = None,
        datetime_start: datetime.datetime | None = None,
        datetime_complete: datetime.datetime | None = None,
        *,
        values: Sequence[float] | None = None,
    ) -> None:
        if value is not None and values is not None:
            raise ValueError(
                f"give value or values, not both; got value={value!r} and values={values!r}")
        if not isinstance(state, TrialState):
            raise TypeError(f"state must be a TrialState, got state={state!r}")
        checked = _check_values(values if value is None else (value,))
        self.__dict__.update(
            number=number, trial_id=trial_id, state=state, values=checked,
            params=_freeze(params), distributions=_freeze(distributions),
            user_attrs=_freeze(user_attrs), system_attrs=_freeze(system_attrs),
            intermediate_values=_freeze(intermediate_values),
            datetime_start=datetime_start, datetime_complete=datetime_complete,
        )

    @classmethod
    def build(
        cls,
        *,
        number: int,
        trial_id: int,
        state: TrialState,
        values: tuple[float, ...] | None,
        params: Mapping[str, Any],
        distributions: Mapping[str, BaseDistribution],
        user_attrs: Mapping[str, Any],
        system_attrs: Mapping[str, Any],
        intermediate_values: Mapping[int, float],
        datetime_start: datetime.datetime | None,
        datetime_complete: datetime.datetime | None,
    ) -> FrozenTrial:
        """Build a record from mutable mappings (copied) without per-field checks: a hot path.

        ``values`` must already be a tuple of floats (or None). Every field is a keyword:
        eleven positional values are too easy to swap.
        """
        self = object.__new__(cls)
        self.__dict__.update(
            number=number, trial_id=trial_id, state=state, values=values,
            params=FrozenDict(params) if params else _EMPTY,
            distributions=FrozenDict(distributions) if distributions else _EMPTY,
            user_attrs=FrozenDict(user_attrs) if user_attrs else _EMPTY,
            system_attrs=FrozenDict(system_attrs) if system_attrs else _EMPTY,
            intermediate_values=FrozenDict(intermediate_values) if intermediate_values else _EMPTY,
            datetime_start=datetime_start, datetime_complete=datetime_complete,
        )
        return self

    @property
    def value(self) -> float | None:
        """Return the value of a one-objective trial (None until it completes).

        Raises:
            RuntimeError: The trial has several values (a multi-objective study).
        """
        values = self.values
        if values is None:
            return None
        if len(values) > 1:
            raise RuntimeError(_MULTI)
        return values[0]

    def __hash__(self) -> int:
        return hash((self.trial_id, self.number, self.state))

    def __repr__(self) -> str:
        # As Optuna prints its FrozenTrial: this order, values as a list, mappings as dicts.
        values = None if self.values is None else list(self.values)
        return (f"FrozenTrial(number={self.number!r}, state={self.state!r}, values={values!r}, "
                f"datetime_start={self.datetime_start!r}, "
                f"datetime_complete={self.datetime_complete!r}, params={dict(self.params)!r}, "
                f"user_attrs={dict(self.user_attrs)!r}, "
                f"system_attrs={dict(self.system_attrs)!r}, "
                f"intermediate_values={dict(self.intermediate_values)!r}, "
                f"distributions={dict(self.distributions)!r}, trial_id={self.trial_id!r})")

    def replace(self, **changes: Any) -> FrozenTrial:
        """Return a copy with some fields changed (``value=`` sets a one-objective value)."""
        if "value" in changes:
            if "values" in changes:
                raise ValueError("give value or values, not both")
            value = changes.pop("value")
            changes["values"] = None if value is None else (value,)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"FrozenTrial has no field(s) {sorted(unknown)}")
        fields.update(changes)
        values = fields.pop("values")
        return FrozenTrial(**fields, values=values)

    @property
    def duration(self) -> datetime.timedelta | None:
        """Return the wall time from start to completion, if both are known."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start

    @property
    def last_step(self) -> int | None:
        """Return the largest step reported, if any."""
        return max(self.intermediate_values) if self.intermediate_values else None

    # -- an objective re-run on a stored trial: its parameters replayed ----------------------
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None,
                      log: bool = False, prior: Any = None) -> float:
        """Return the stored value of float parameter ``name`` (``objective(best_trial)``
        re-runs an objective on a finished trial); it must fit ``[low, high]``."""
        value: float = self._replay(name, FloatDistribution(low, high, step=step, log=log))
        return value

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False,
                    prior: Any = None) -> int:
        """Return the stored value of int parameter ``name`` (see :meth:`suggest_float`)."""
        value: int = self._replay(name, IntDistribution(low, high, step=step, log=log))
        return value

    def suggest_categorical(self, name: str, choices: Sequence[CategoricalChoice], *,
                            prior: Any = None) -> CategoricalChoice:
        """Return the stored choice of parameter ``name`` (see :meth:`suggest_float`)."""
        value: CategoricalChoice = self._replay(name, CategoricalDistribution(tuple(choices)))
        return value

    def _replay(self, name: str, asked: BaseDistribution) -> Any:
        if name not in self.params:
            raise ValueError(f"trial {self.number} has no parameter {name!r} to replay; it "
                             f"holds {sorted(self.params)}")
        value = self.params[name]
        stored = self.distributions.get(name)
        if stored is not None and type(stored) is not type(asked):
            raise ValueError(f"parameter {name!r} of trial {self.number} was suggested from "
                             f"{stored!r}; the objective now asks {asked!r}")
        if not fits(value, asked):
            raise ValueError(f"parameter {name!r} of trial {self.number} is {value!r}, outside "
                             f"{asked!r} that the objective now asks")
        return value

    def report(self, value: float, step: int) -> None:
        """Do nothing: a stored trial is not pruned (as Optuna's FrozenTrial)."""

    def should_prune(self) -> bool:
        """Return False: a stored trial is not pruned."""
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        """Refuse: a FrozenTrial is a stored record, shared by every reader, and never changes
        (Optuna's changes in place). Build a changed copy with :meth:`replace`."""
        raise TypeError(
            f"trial {self.number} is a FrozenTrial, a stored record that does not change; "
            f"use trial.replace(user_attrs={{**trial.user_attrs, {key!r}: ...}}) for a copy")

    set_system_attr = set_user_attr

    def internal_params(self) -> dict[str, float]:
        """Return the parameters as the internal floats samplers work with."""
        return {
            name: self.distributions[name].to_internal(value)
            for name, value in self.params.items()
        }



def fits(value: Any, distribution: BaseDistribution) -> bool:
    """Return whether the external ``value`` is one ``distribution`` can take."""
    try:
        return distribution.contains(distribution.to_internal(value))
    except (TypeError, ValueError):
        return False


def _constraint_values(constraints: Any) -> list[float]:
    """Return ``constraints`` as finite floats, or raise naming what was given."""
    try:
        values = [float(c) for c in constraints] if not isinstance(constraints, str) else None
    except (TypeError, ValueError):
        values = None
    if values is None or not all(math.isfinite(v) for v in values):
        raise ValueError(f"constraints must be a list of finite numbers (<= 0: satisfied), "
                         f"got constraints={constraints!r}")
    return values


def create_trial(
    *,
    state: TrialState = TrialState.COMPLETE,
    value: float | None = None,
    values: Sequence[float] | None = None,
    params: Mapping[str, Any] | None = None,
    distributions: Mapping[str, BaseDistribution] | None = None,
    user_attrs: Mapping[str, Any] | None = None,
    system_attrs: Mapping[str, Any] | None = None,
    intermediate_values: Mapping[int, float] | None = None,
    constraints: Sequence[float] | None = None,
) -> FrozenTrial:
    """Return a finished trial made outside any study, for :meth:`Study.add_trial`.

    Its number and id are -1 until a study stores it; it started and completed now.
    ``constraints``: its constraint values (feasible when all are <= 0).

    Example:
        >>> from hyperknob.distributions import FloatDistribution
        >>> trial = create_trial(params={"x": 1.0},
        ...                      distributions={"x": FloatDistribution(0, 10)}, value=5.0)
        >>> trial.value, trial.state.name
        (5.0, 'COMPLETE')
    """
    params = dict(params or {})
    distributions = dict(distributions or {})
    if set(params) != set(distributions):
        raise ValueError(f"params and distributions must name the same parameters, got "
                         f"{sorted(params)} and {sorted(distributions)}")
    if not isinstance(state, TrialState):
        raise TypeError(f"state must be a TrialState, got state={state!r}")
    for name, external in params.items():
        dist = distributions[name]
        if not isinstance(dist, BaseDistribution):
            raise TypeError(f"distributions[{name!r}] must be a distribution (e.g. "
                            f"FloatDistribution(0, 1)), got {dist!r}")
        if not fits(external, dist):
            raise ValueError(f"parameter {name!r}={external!r} does not fit {dist!r}")
    attrs = dict(system_attrs or {})
    if constraints is not None:
        attrs["constraints"] = _constraint_values(constraints)
    now = datetime.datetime.now()
    return FrozenTrial(
        -1, -1, state, value, params=params, distributions=distributions,
        user_attrs=user_attrs, system_attrs=attrs, intermediate_values=intermediate_values,
        datetime_start=None if state is TrialState.WAITING else now,
        datetime_complete=now if state.is_finished() else None, values=values)
