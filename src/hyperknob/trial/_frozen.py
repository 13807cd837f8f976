"""FrozenTrial: an immutable record of one trial, the unit of exchange between components."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from hyperknob.distributions import BaseDistribution
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


@dataclasses.dataclass(frozen=True, eq=True)
class FrozenTrial:
    """A snapshot of a trial. Its mappings are read-only; build a new record to change one.

    Example:
        >>> t = FrozenTrial(number=0, trial_id=1, state=TrialState.COMPLETE, value=0.5)
        >>> t.value
        0.5
    """

    number: int
    trial_id: int
    state: TrialState
    value: float | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=_empty)
    distributions: Mapping[str, BaseDistribution] = dataclasses.field(default_factory=_empty)
    user_attrs: Mapping[str, Any] = dataclasses.field(default_factory=_empty)
    system_attrs: Mapping[str, Any] = dataclasses.field(default_factory=_empty)
    intermediate_values: Mapping[int, float] = dataclasses.field(default_factory=_empty)
    datetime_start: datetime.datetime | None = None
    datetime_complete: datetime.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("params", "distributions", "user_attrs", "system_attrs",
                     "intermediate_values"):
            object.__setattr__(self, name, _freeze(getattr(self, name)))

    @classmethod
    def build(
        cls,
        *,
        number: int,
        trial_id: int,
        state: TrialState,
        value: float | None,
        params: Mapping[str, Any],
        distributions: Mapping[str, BaseDistribution],
        user_attrs: Mapping[str, Any],
        system_attrs: Mapping[str, Any],
        intermediate_values: Mapping[int, float],
        datetime_start: datetime.datetime | None,
        datetime_complete: datetime.datetime | None,
    ) -> FrozenTrial:
        """Build a record from mutable mappings (copied) without per-field checks: a hot path.

        Every field is a keyword: eleven positional values are too easy to swap.
        """
        self = object.__new__(cls)
        self.__dict__.update(
            number=number, trial_id=trial_id, state=state, value=value,
            params=FrozenDict(params) if params else _EMPTY,
            distributions=FrozenDict(distributions) if distributions else _EMPTY,
            user_attrs=FrozenDict(user_attrs) if user_attrs else _EMPTY,
            system_attrs=FrozenDict(system_attrs) if system_attrs else _EMPTY,
            intermediate_values=FrozenDict(intermediate_values) if intermediate_values else _EMPTY,
            datetime_start=datetime_start, datetime_complete=datetime_complete,
        )
        return self

    def __hash__(self) -> int:
        return hash((self.trial_id, self.number, self.state))

    def replace(self, **changes: Any) -> FrozenTrial:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

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

    def internal_params(self) -> dict[str, float]:
        """Return the parameters as the internal floats samplers work with."""
        return {
            name: self.distributions[name].to_internal(value)
            for name, value in self.params.items()
        }

