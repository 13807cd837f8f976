"""Distributions: validation, internal <-> external, JSON round-trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperknob.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
    distribution_to_json,
    json_to_distribution,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def float_distributions(draw: st.DrawFn) -> FloatDistribution:
    low = draw(finite)
    kind = draw(st.sampled_from(["plain", "log", "step"]))
    if kind == "log":
        low = abs(low) + 1e-3
        return FloatDistribution(low, low + draw(st.floats(0, 1e6)), log=True)
    if kind == "step":
        step = draw(st.sampled_from([0.5, 0.25, 1.0, 2.0]))
        return FloatDistribution(low, low + step * draw(st.integers(0, 100)), step=step)
    return FloatDistribution(low, low + draw(st.floats(0, 1e6)))


@st.composite
def int_distributions(draw: st.DrawFn) -> IntDistribution:
    if draw(st.booleans()):
        low = draw(st.integers(1, 1000))
        return IntDistribution(low, low + draw(st.integers(0, 10**6)), log=True)
    low = draw(st.integers(-10**6, 10**6))
    step = draw(st.integers(1, 10))
    return IntDistribution(low, low + step * draw(st.integers(0, 1000)), step=step)


choices = st.lists(
    st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text(max_size=5)),
    min_size=1, max_size=6, unique_by=lambda c: (type(c).__name__, c),
)


@given(float_distributions())
def test_float_json_round_trip(dist: FloatDistribution) -> None:
    assert json_to_distribution(distribution_to_json(dist)) == dist
    assert dist.contains(dist.to_internal(dist.low))
    assert dist.contains(dist.to_internal(dist.high))


@given(int_distributions())
def test_int_json_round_trip(dist: IntDistribution) -> None:
    assert json_to_distribution(distribution_to_json(dist)) == dist
    assert dist.to_external(dist.to_internal(dist.high)) == dist.high
    assert isinstance(dist.to_external(float(dist.low)), int)


@given(choices)
def test_categorical_round_trip_keeps_types(values: list[object]) -> None:
    dist = CategoricalDistribution(values)  # type: ignore[arg-type]
    restored = json_to_distribution(distribution_to_json(dist))
    assert isinstance(restored, CategoricalDistribution)
    for index, value in enumerate(values):
        assert dist.to_internal(value) == index
        external = restored.to_external(float(index))
        assert type(external) is type(value) and external == value


def test_true_and_one_are_distinct_choices() -> None:
    dist = CategoricalDistribution([1, True, "1"])
    assert [dist.to_internal(v) for v in (1, True, "1")] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: FloatDistribution(5, 1), "'low' must be <= 'high', got low=5, high=1"),
        (lambda: FloatDistribution(0, 1, log=True), "'low' must be > 0 when log=True"),
        (lambda: FloatDistribution(-1, 1, log=True), "got low=-1"),
        (lambda: FloatDistribution(0, 1, step=0.3), "'step' must divide high - low"),
        (lambda: FloatDistribution(0, 1, step=-0.5), "'step' must be > 0"),
        (lambda: FloatDistribution(1, 2, step=0.5, log=True), "cannot be combined"),
        (lambda: FloatDistribution(math.nan, 1), "low must be a finite number, got low=nan"),
        (lambda: FloatDistribution(0, math.inf), "high must be a finite number, got high=inf"),
        (lambda: IntDistribution(3, 1), "'low' must be <= 'high', got low=3, high=1"),
        (lambda: IntDistribution(0, 10, log=True), "'low' must be >= 1 when log=True"),
        (lambda: IntDistribution(0, 10, step=3), "'step' must divide high - low, got step=3"),
        (lambda: IntDistribution(0, 10, step=0), "'step' must be >= 1"),
        (lambda: CategoricalDistribution([]), "'choices' must not be empty"),
        (lambda: CategoricalDistribution([1.0, math.nan]), "NaN at index 1"),
        (lambda: CategoricalDistribution(["a", "a"]), "must be distinct"),
    ],
)
def test_bad_ranges_are_rejected_with_the_value(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()  # type: ignore[operator]


def test_unhashable_choice_names_its_index() -> None:
    with pytest.raises(TypeError, match=r"\[1, 2\] of type list at index 1"):
        CategoricalDistribution(["a", [1, 2]])  # type: ignore[list-item]


def test_float_bounds_must_be_numbers() -> None:
    with pytest.raises(TypeError, match="low must be a finite number, got low='0'"):
        FloatDistribution("0", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'high' must be an int, got high=1\.5"):
        IntDistribution(0, 1.5)  # type: ignore[arg-type]


def test_decimal_steps_divide_exactly() -> None:
    assert FloatDistribution(0.0, 1.0, step=0.1).n_steps() == 11
    assert FloatDistribution(0.1, 0.7, step=0.2).n_steps() == 4


def test_distributions_are_immutable_and_hashable() -> None:
    dist = FloatDistribution(0, 1)
    with pytest.raises(AttributeError):
        dist.low = 3  # type: ignore[misc]
    assert len({dist, FloatDistribution(0.0, 1.0)}) == 1


def test_malformed_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a serialized distribution"):
        json_to_distribution('{"name": "Nope"}')


# -- priors ------------------------------------------------------------------------------------
confidences = st.floats(min_value=0.01, max_value=0.99)


@st.composite
def distributions_with_priors(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["float", "int", "categorical"]))
    confidence = draw(confidences)
    if kind == "float":
        dist = draw(float_distributions())
        center = draw(st.floats(dist.low, dist.high))
        return FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step,
                                 prior=Prior(center, confidence))
    if kind == "int":
        dist = draw(int_distributions())
        center = draw(st.one_of(st.integers(dist.low, dist.high),
                                st.floats(dist.low, dist.high)))
        return IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step,
                               prior=Prior(center, confidence))
    values = draw(choices)
    return CategoricalDistribution(values, prior=Prior(draw(st.sampled_from(values)),
                                                       confidence))


@given(distributions_with_priors())
def test_priors_survive_the_json_round_trip(dist: object) -> None:
    text = distribution_to_json(dist)  # type: ignore[arg-type]
    assert '"prior":{"center":' in text
    restored = json_to_distribution(text)
    assert restored == dist and hash(restored) == hash(dist)
    assert restored.prior is not None  # type: ignore[attr-defined]
    center = restored.prior.center  # type: ignore[attr-defined]
    assert type(center) is type(dist.prior.center)  # type: ignore[attr-defined]


def test_json_without_a_prior_is_unchanged() -> None:
    # Distributions stored before priors existed read back as they were.
    text = ('{"name":"FloatDistribution",'
            '"attributes":{"low":0.0,"high":1.0,"log":false,"step":null}}')
    assert json_to_distribution(text) == FloatDistribution(0.0, 1.0)
    assert distribution_to_json(FloatDistribution(0.0, 1.0)) == text
    assert "prior" not in CategoricalDistribution(["a"]).to_dict()
    assert FloatDistribution(0, 1, prior=Prior(0.5)).to_dict()["prior"] == {
        "center": 0.5, "confidence": 0.5}


def test_priors_tell_distributions_apart() -> None:
    assert FloatDistribution(0, 1, prior=Prior(0.5)) != FloatDistribution(0, 1)
    assert FloatDistribution(0, 1, prior=Prior(0.5)) != FloatDistribution(0, 1, prior=Prior(0.6))
    assert IntDistribution(1, 5, prior=Prior(2.0)) == IntDistribution(1, 5, prior=Prior(2))
    assert IntDistribution(1, 5, prior=Prior(2.0)).prior.center == 2  # type: ignore[union-attr]
    # Choices 1 and True are distinct, and so are priors on them.
    on_one = CategoricalDistribution([1, True], prior=Prior(1))
    on_true = CategoricalDistribution([1, True], prior=Prior(True))
    assert on_one != on_true and on_true.prior.center is True  # type: ignore[union-attr]
    # The centre is stored as the choice it names.
    center = CategoricalDistribution([1.0, "a"], prior=Prior(1)).prior.center  # type: ignore[union-attr]
    assert type(center) is float


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Prior(0.5, confidence=1.0), ValueError,
         "prior 'confidence' must be in (0, 1), got confidence=1.0"),
        (lambda: Prior(0.5, confidence=0), ValueError, "got confidence=0"),
        (lambda: Prior(0.5, confidence=True), TypeError, "got confidence=True"),
        (lambda: Prior(math.nan), ValueError, "prior 'center' must not be NaN"),
        (lambda: Prior([1]), TypeError, "got [1] of type list"),
        (lambda: FloatDistribution(0, 1, prior=Prior(2.0)), ValueError,
         "prior center must lie in [low, high], got center=2.0 for low=0.0, high=1.0"),
        (lambda: FloatDistribution(1e-4, 1e-1, log=True, prior=Prior(1.0)), ValueError,
         "got center=1.0 for low=0.0001, high=0.1"),
        (lambda: IntDistribution(1, 5, prior=Prior(0.5)), ValueError,
         "got center=0.5 for low=1, high=5"),
        (lambda: IntDistribution(1, 5, prior=Prior("3")), TypeError,
         "prior center must be a number for IntDistribution, got center='3'"),
        (lambda: FloatDistribution(0, 1, prior=0.5), TypeError,
         "'prior' must be a Prior or None, got 0.5"),
        (lambda: CategoricalDistribution(["adam", "sgd"], prior=Prior("adamw")), ValueError,
         "prior center must be one of the choices ['adam', 'sgd'], got center='adamw'"),
        (lambda: CategoricalDistribution(["a"], prior="a"), TypeError,
         "'prior' must be a Prior or None, got 'a'"),
    ],
)
def test_bad_priors_are_rejected_with_the_value(
    build: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        build()  # type: ignore[operator]
    assert message in str(info.value)


def test_malformed_prior_json_is_a_value_error() -> None:
    text = '{"name":"FloatDistribution","attributes":{"low":0,"high":1,"prior":{"centre":0.5}}}'
    with pytest.raises(ValueError, match="not a serialized distribution"):
        json_to_distribution(text)
