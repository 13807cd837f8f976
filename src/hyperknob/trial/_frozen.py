"""FrozenTrial: an immutable record of one trial, the unit of exchange between components."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hyperknob.distributions import BaseDistribution
from hyperknob.trial._state import TrialState

_EMPTY: Mapping[Any, Any] = MappingProxyType({})


def _empty() -> Mapping[Any, Any]:
    return _EMPTY


def _freeze(mapping: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    if not mapping:
        return _EMPTY
    if isinstance(mapping, MappingProxyType):
        return mapping
    return MappingProxyType(dict(mapping))


@dataclasses.dataclass(frozen=True, eq=True)
class FrozenTrial:
    """A snapshot of a trial. Mappings are read-only views; build a new record to change one.

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

    def __hash__(self) -> int:
        return hash((self.trial_id, self.number, self.state))

    def __reduce__(self) -> tuple[Any, ...]:  # mappingproxy does not pickle
        return (_rebuild, (self._to_plain(),))

    def _to_plain(self) -> dict[str, Any]:
        plain = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("params", "distributions", "user_attrs", "system_attrs",
                     "intermediate_values"):
            plain[name] = dict(plain[name])
        return plain

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


def _rebuild(plain: dict[str, Any]) -> FrozenTrial:
    return FrozenTrial(**plain)
