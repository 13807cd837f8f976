"""Search-space distributions: immutable value objects with a JSON round-trip.

Every distribution has an *external* representation (what the objective sees: a float, an int,
a category) and an *internal* one (a float the samplers work with: the value itself for numbers,
the index of the choice for categories).
"""

from __future__ import annotations

import abc
import dataclasses
import decimal
import json
import math
from collections.abc import Sequence
from typing import Any, Union

from hyperknob._checks import check_number

CategoricalChoice = Union[None, bool, int, float, str]  # noqa: UP007 - a runtime alias

_CHOICE_TYPES = (type(None), bool, int, float, str)


def _divides(low: float, high: float, step: float) -> bool:
    # Decimal arithmetic on the shortest repr avoids 0.1-style binary rounding false alarms.
    span = decimal.Decimal(repr(high)) - decimal.Decimal(repr(low))
    quotient = span / decimal.Decimal(repr(step))
    if quotient == quotient.to_integral_value():
        return True
    # Bounds computed in floats (low + k * step) may be off in the last bits.
    ratio = (high - low) / step
    return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, abs(ratio))


@dataclasses.dataclass(frozen=True, eq=False)
class Prior:
    """A belief about where good values lie: a centre, and how sure of it one is.

    Samplers favour values near ``center`` (πBO's weighted acquisition in :class:`GPSampler`,
    a prior-centred Parzen component in :class:`TPESampler`); the data outweighs the belief as
    trials accumulate, so a wrong prior costs time, not the result. Their start-up trials
    (Sobol or random) ignore it, and so do the other samplers.

    Attributes:
        center: An external value: a number in ``[low, high]`` for float and int distributions
            (a float such as 1.5 is allowed for ints: "1 or 2"), one of the choices for a
            categorical one.
        confidence: In (0, 1). Numbers: the belief's spread in the sampler's unit
            coordinates is ``0.5 * (1 - confidence)``; choices: ``center`` has probability
            ``confidence + (1 - confidence) / k`` of ``k`` choices.

    Example:
        >>> FloatDistribution(1e-4, 1e-1, log=True, prior=Prior(1e-3, confidence=0.8)).prior
        Prior(center=0.001, confidence=0.8)
    """

    center: CategoricalChoice
    confidence: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.center, _CHOICE_TYPES):
            raise TypeError(f"prior 'center' must be a number, bool, str or None, got "
                            f"{self.center!r} of type {type(self.center).__name__}")
        if isinstance(self.center, float) and math.isnan(self.center):
            raise ValueError("prior 'center' must not be NaN, got center=nan")
        confidence = self.confidence
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
            raise TypeError(f"prior 'confidence' must be a number in (0, 1), got "
                            f"confidence={confidence!r}")
        if not 0.0 < confidence < 1.0:
            raise ValueError(f"prior 'confidence' must be in (0, 1), got "
                             f"confidence={confidence!r}")
        object.__setattr__(self, "confidence", float(confidence))

    # Typed equality, as for choices: a prior on True is not a prior on 1 (nor 1.0 on 1).
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Prior):
            return NotImplemented
        return (_choice_key(self.center), self.confidence) == (
            _choice_key(other.center), other.confidence)

    def __hash__(self) -> int:
        return hash((_choice_key(self.center), self.confidence))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready attributes of the prior."""
        return {"center": self.center, "confidence": self.confidence}


def _check_numeric_prior(dist: FloatDistribution | IntDistribution) -> None:
    prior = dist.prior
    if prior is None:
        return
    if not isinstance(prior, Prior):
        raise TypeError(f"'prior' must be a Prior or None, got {prior!r}")
    center = prior.center
    if isinstance(center, bool) or not isinstance(center, (int, float)):
        raise TypeError(f"prior center must be a number for {type(dist).__name__}, got "
                        f"center={center!r}")
    if not (dist.low <= center <= dist.high):
        raise ValueError(f"prior center must lie in [low, high], got center={center!r} for "
                         f"low={dist.low!r}, high={dist.high!r}")
    # One type per distribution, so that equal beliefs compare equal: floats for floats, ints
    # for ints unless the centre lies between two of them.
    if isinstance(dist, FloatDistribution) or not float(center).is_integer():
        center = float(center)
    else:
        center = int(center)
    if center is not prior.center:
        object.__setattr__(dist, "prior", Prior(center, prior.confidence))


class BaseDistribution(abc.ABC):
    """One dimension of a search space."""

    @abc.abstractmethod
    def to_internal(self, external: Any) -> float:
        """Return the float the samplers work with for an external value."""

    @abc.abstractmethod
    def to_external(self, internal: float) -> Any:
        """Return the value the objective sees for an internal float."""

    @abc.abstractmethod
    def contains(self, internal: float) -> bool:
        """Return whether an internal value lies in this distribution."""

    @abc.abstractmethod
    def is_single(self) -> bool:
        """Return whether the distribution has exactly one value."""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready attributes of the distribution (``prior`` only when set)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        prior = data.pop("prior", None)
        if prior is not None:
            data["prior"] = prior.to_dict()
        return data

    def __repr__(self) -> str:
        # As Optuna prints its distributions: keyword arguments in alphabetical order (and
        # hyperknob's ``prior`` only when one is set).
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        if fields.get("prior", False) is None:
            del fields["prior"]
        body = ", ".join(f"{name}={value!r}" for name, value in sorted(fields.items()))
        return f"{type(self).__name__}({body})"


@dataclasses.dataclass(frozen=True, repr=False)
class FloatDistribution(BaseDistribution):
    """A float in ``[low, high]``, optionally on a log scale or a grid of ``step``.

    Example:
        >>> FloatDistribution(1e-4, 1e-1, log=True).to_external(0.01)
        0.01
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None
    prior: Prior | None = None

    def __post_init__(self) -> None:
        check_number("low", self.low)
        check_number("high", self.high)
        if self.low > self.high:
            raise ValueError(f"'low' must be <= 'high', got low={self.low!r}, high={self.high!r}")
        if self.log and self.low <= 0:
            raise ValueError(f"'low' must be > 0 when log=True, got low={self.low!r}")
        if self.step is not None:
            check_number("step", self.step)
            if self.log:
                raise ValueError(f"'step' and log=True cannot be combined, got step={self.step!r}")
            if self.step <= 0:
                raise ValueError(f"'step' must be > 0, got step={self.step!r}")
            if not _divides(self.low, self.high, self.step):
                raise ValueError(
                    f"'step' must divide high - low, got step={self.step!r} for "
                    f"low={self.low!r}, high={self.high!r}"
                )
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        if self.step is not None:
            object.__setattr__(self, "step", float(self.step))
        _check_numeric_prior(self)

    def to_internal(self, external: Any) -> float:
        if isinstance(external, bool) or not isinstance(external, (int, float)):
            raise TypeError(f"expected a float for {self!r}, got {external!r}")
        return float(external)

    def to_external(self, internal: float) -> float:
        return float(internal)

    def contains(self, internal: float) -> bool:
        if not (self.low <= internal <= self.high):
            return False
        if self.step is None:
            return True
        k = (internal - self.low) / self.step
        return abs(k - round(k)) < 1e-8

    def is_single(self) -> bool:
        if self.step is None:
            return self.low == self.high
        return self.high - self.low < self.step

    def n_steps(self) -> int:
        """Return the number of grid points when ``step`` is set."""
        assert self.step is not None
        return int(round((self.high - self.low) / self.step)) + 1


@dataclasses.dataclass(frozen=True, repr=False)
class IntDistribution(BaseDistribution):
    """An integer in ``[low, high]`` on a grid of ``step``, optionally on a log scale.

    Example:
        >>> IntDistribution(1, 5).to_external(3.0)
        3
    """

    low: int
    high: int
    log: bool = False
    step: int = 1
    prior: Prior | None = None

    def __post_init__(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    object.__setattr__(self, name, int(value))
                    continue
                raise TypeError(f"{name!r} must be an int, got {name}={value!r}")
        if self.low > self.high:
            raise ValueError(f"'low' must be <= 'high', got low={self.low!r}, high={self.high!r}")
        if self.step <= 0:
            raise ValueError(f"'step' must be >= 1, got step={self.step!r}")
        if self.log and self.low < 1:
            raise ValueError(f"'low' must be >= 1 when log=True, got low={self.low!r}")
        if self.log and self.step != 1:
            raise ValueError(f"'step' must be 1 when log=True, got step={self.step!r}")
        if (self.high - self.low) % self.step != 0:
            raise ValueError(
                f"'step' must divide high - low, got step={self.step!r} for "
                f"low={self.low!r}, high={self.high!r}"
            )
        _check_numeric_prior(self)

    def to_internal(self, external: Any) -> float:
        if isinstance(external, bool) or not isinstance(external, (int, float)):
            raise TypeError(f"expected an int for {self!r}, got {external!r}")
        return float(external)

    def to_external(self, internal: float) -> int:
        return int(round(internal))

    def contains(self, internal: float) -> bool:
        if not (self.low <= internal <= self.high) or internal != round(internal):
            return False
        return (int(round(internal)) - self.low) % self.step == 0

    def is_single(self) -> bool:
        return self.low == self.high

    def n_steps(self) -> int:
        """Return the number of values in the range."""
        return (self.high - self.low) // self.step + 1


def _choice_key(choice: CategoricalChoice) -> tuple[str, Any]:
    return (type(choice).__name__, choice)


@dataclasses.dataclass(frozen=True, repr=False)
class CategoricalDistribution(BaseDistribution):
    """One of a finite tuple of choices: None, bool, int, float or str.

    Example:
        >>> CategoricalDistribution(["relu", "tanh"]).to_external(1.0)
        'tanh'
    """

    choices: tuple[CategoricalChoice, ...]
    prior: Prior | None = None

    def __post_init__(self) -> None:
        if isinstance(self.choices, (str, bytes)) or not isinstance(self.choices, Sequence):
            raise TypeError(
                f"'choices' must be a sequence such as a list or tuple, got {self.choices!r}"
            )
        choices = tuple(self.choices)
        if not choices:
            raise ValueError("'choices' must not be empty, got choices=()")
        seen: set[tuple[str, Any]] = set()
        for index, choice in enumerate(choices):
            if not isinstance(choice, _CHOICE_TYPES):
                raise TypeError(
                    "each choice must be None, bool, int, float or str, got "
                    f"{choice!r} of type {type(choice).__name__} at index {index}"
                )
            if isinstance(choice, float) and math.isnan(choice):
                raise ValueError(f"choices must not contain NaN, got NaN at index {index}")
            key = _choice_key(choice)
            if key in seen:
                raise ValueError(f"choices must be distinct, got {choice!r} twice")
            seen.add(key)
        object.__setattr__(self, "choices", choices)
        if self.prior is not None:
            if not isinstance(self.prior, Prior):
                raise TypeError(f"'prior' must be a Prior or None, got {self.prior!r}")
            try:
                index = int(self.to_internal(self.prior.center))
            except ValueError:
                raise ValueError(f"prior center must be one of the choices {list(choices)!r}, "
                                 f"got center={self.prior.center!r}") from None
            # Store the choice itself, so that e.g. 1 given for the choice 1.0 round-trips.
            object.__setattr__(self, "prior", Prior(choices[index], self.prior.confidence))

    def to_internal(self, external: Any) -> float:
        key = _choice_key(external) if isinstance(external, _CHOICE_TYPES) else None
        for index, choice in enumerate(self.choices):
            if _choice_key(choice) == key:
                return float(index)
        for index, choice in enumerate(self.choices):  # e.g. 1 given for the choice 1.0
            if not isinstance(choice, bool) and choice == external:
                return float(index)
        raise ValueError(f"{external!r} is not one of the choices {list(self.choices)!r}")

    def to_external(self, internal: float) -> CategoricalChoice:
        return self.choices[int(internal)]

    def contains(self, internal: float) -> bool:
        return internal == int(internal) and 0 <= int(internal) < len(self.choices)

    def is_single(self) -> bool:
        return len(self.choices) == 1

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"choices": list(self.choices)}
        if self.prior is not None:
            data["prior"] = self.prior.to_dict()
        return data


_DISTRIBUTION_CLASSES: dict[str, type[BaseDistribution]] = {
    "FloatDistribution": FloatDistribution,
    "IntDistribution": IntDistribution,
    "CategoricalDistribution": CategoricalDistribution,
}


def distribution_to_json(distribution: BaseDistribution) -> str:
    """Serialize a distribution to a JSON string."""
    return json.dumps(
        {"name": type(distribution).__name__, "attributes": distribution.to_dict()},
        separators=(",", ":"),
    )


def json_to_distribution(text: str) -> BaseDistribution:
    """Rebuild a distribution from :func:`distribution_to_json`'s output."""
    try:
        data = json.loads(text)
        cls = _DISTRIBUTION_CLASSES[data["name"]]
        attributes = dict(data["attributes"])
        prior_data = attributes.pop("prior", None)
        prior = None if prior_data is None else Prior(**prior_data)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"not a serialized distribution: {text!r}") from error
    if cls is CategoricalDistribution:
        return CategoricalDistribution(tuple(attributes["choices"]), prior=prior)
    if prior is not None:
        attributes["prior"] = prior
    return cls(**attributes)


def check_same_distribution(
    name: str, old: BaseDistribution, new: BaseDistribution
) -> None:
    """Raise ``ValueError`` if a parameter is suggested again with another distribution."""
    if old != new:
        raise ValueError(
            f"parameter {name!r} was already suggested in this trial with {old!r}; "
            f"it cannot be suggested again with {new!r}"
        )
