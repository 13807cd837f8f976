"""Sources, the map between spaces, queued configurations and fitted priors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hyperknob
from hyperknob.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
)
from hyperknob.transfer import (
    Source,
    fitted_priors,
    load_sources,
    map_params,
    map_value,
    queued_configurations,
)
from hyperknob.transfer._warm import gain
from hyperknob.trial import FrozenTrial, TrialState, create_trial

LR = FloatDistribution(1e-4, 1e-1, log=True)


def test_values_keep_their_position_in_the_range() -> None:
    assert map_value(32, IntDistribution(16, 48), IntDistribution(4, 8)) == 6
    assert map_value(1e-3, LR, LR) == pytest.approx(1e-3)
    log_wide = FloatDistribution(1e-6, 1.0, log=True)
    assert map_value(1e-3, log_wide, FloatDistribution(1e-4, 1e-2, log=True)) == (
        pytest.approx(1e-3))  # the middle of both log ranges
    assert map_value("adam", CategoricalDistribution(["sgd", "adam"]),
                     CategoricalDistribution(["adam", "rmsprop"])) == "adam"
    assert map_value("sgd", None, CategoricalDistribution(["adam"])) is None
    assert map_value(1, None, CategoricalDistribution([True, False])) is None  # 1 is not True
    assert map_value(0.5, None, FloatDistribution(2, 3)) is None  # outside, no source range
    stepped = map_value(0.26, FloatDistribution(0, 1), FloatDistribution(0, 10, step=2))
    assert stepped == 2.0


def _study(values: list[tuple[float, int, str]], direction: str) -> hyperknob.Study:
    study = hyperknob.create_study(direction=direction)
    for lr, units, opt in values:
        study.add_trial(create_trial(
            params={"lr": lr, "units": units, "opt": opt},
            distributions={"lr": LR, "units": IntDistribution(16, 48),
                           "opt": CategoricalDistribution(["sgd", "adam"])},
            value=math.log10(lr) ** 2 + units / 100))
    return study


def test_a_source_ranks_best_first_in_either_direction() -> None:
    values = [(1e-2, 20, "adam"), (1e-3, 40, "sgd"), (1e-1, 30, "adam")]
    low = Source.from_study(_study(values, "minimize"))
    high = Source.from_study(_study(values, "maximize"))
    assert [t.params["lr"] for t in low.trials] == [1e-1, 1e-2, 1e-3]
    assert [t.params["lr"] for t in high.trials] == [1e-3, 1e-2, 1e-1]
    assert low.loss(low.trials[0]) == pytest.approx(1.3)
    assert high.loss(high.trials[0]) == pytest.approx(-9.4)


def _ruled(values: list[tuple[float, float]], direction: str = "maximize") -> Source:
    """A study of (lr, value) trials; the first one is its rule of thumb."""
    study = hyperknob.create_study(direction=direction)
    for index, (lr, value) in enumerate(values):
        study.add_trial(create_trial(
            params={"lr": lr, "units": 32, "opt": "adam"}, value=value,
            distributions={"lr": LR, "units": IntDistribution(16, 48),
                           "opt": CategoricalDistribution(["sgd", "adam"])},
            user_attrs={"source": "rule of thumb"} if index == 0 else {}))
    return Source.from_study(study)


def test_gain_is_how_far_a_trial_beat_the_rule_of_thumb_in_sd() -> None:
    source = _ruled([(1e-2, 0.90), (1e-3, 0.96), (1e-1, 0.84), (3e-3, 0.94)])
    sd = float(np.std([0.90, 0.96, 0.84, 0.94]))
    assert gain(source, source.trials[0]) == pytest.approx(0.06 / sd)
    assert gain(source, source.trials[-1]) == pytest.approx(-0.06 / sd)
    flat = _ruled([(1e-2, 1.0), (1e-3, 1.0), (1e-1, 1.0)])  # everything scores 100 %
    assert gain(flat, flat.trials[0]) == 0.0
    unruled = _study([(1e-2, 16, "adam"), (1e-3, 48, "sgd"), (1e-1, 32, "adam")], "minimize")
    plain = Source.from_study(unruled)  # no rule of thumb: the median is the reference
    assert gain(plain, plain.trials[1]) == 0.0 and gain(plain, plain.trials[0]) > 0


def test_queued_configurations_take_the_clearest_gains_first_in_rounds() -> None:
    targets = {"lr": LR, "units": IntDistribution(4, 8),
               "opt": CategoricalDistribution(["sgd", "adam"])}
    small = _ruled([(1e-2, 0.90), (2e-3, 0.91), (3e-3, 0.905), (1e-1, 0.80)])
    large = _ruled([(1e-2, 0.90), (5e-3, 0.99), (6e-3, 0.98), (1e-1, 0.70)])
    flat = _ruled([(1e-2, 1.0), (3e-2, 1.0)])  # its best is its rule of thumb: nothing new
    queued = queued_configurations([small, large, flat], targets, per_source=2, limit=3)
    assert [q.params["lr"] for q in queued] == [5e-3, 2e-3, 6e-3]
    assert [q.source for q in queued] == [large.name, small.name, large.name]
    assert queued[0].params["units"] == 6  # moved into the target's range
    assert "of 'study-" in queued[0].describe()
    # What runs anyway is not queued again, nor is a configuration twice.
    again = queued_configurations([small, large], targets,
                                  already=[dict(queued[0].params)])
    assert [q.params["lr"] for q in again] == [2e-3, 6e-3, 3e-3]
    assert len(queued_configurations([large, large], targets)) == 2
    assert map_params(large.trials[0], {"lr": LR}) == {"lr": 5e-3}
    with pytest.raises(ValueError, match="per_source"):
        queued_configurations([large], targets, per_source=0)
    with pytest.raises(ValueError, match="limit"):
        queued_configurations([large], targets, limit=-1)


def test_priors_centre_on_the_sources_optima_and_trust_agreement() -> None:
    agreeing = [_study([(1e-3 * (1 + i / 50), 20 + i % 3, "adam") for i in range(30)],
                       "maximize") for _ in range(2)]
    sources = [Source.from_study(s) for s in agreeing]
    targets = {"lr": LR, "units": IntDistribution(4, 8),
               "opt": CategoricalDistribution(["sgd", "adam"])}
    priors = fitted_priors(sources, targets)
    lr = priors["lr"]
    assert lr.prior.center == pytest.approx(1e-3, rel=0.1) and lr.prior.confidence >= 0.6
    assert priors["opt"].prior == Prior("adam", priors["opt"].prior.confidence)
    assert 4 <= priors["units"].prior.center <= 5  # near the low end, as in the sources
    assert lr.sources == tuple(s.name for s in sources) and lr.n_points == 2 * 6
    scattered = Source.from_study(_study(
        [(10 ** (-4 + 3 * i / 29), 16 + i, "adam" if i % 2 else "sgd") for i in range(30)],
        "minimize"))
    vague = fitted_priors([scattered], {"lr": LR, "opt": targets["opt"]}, top_fraction=1.0)
    assert vague["lr"].prior.confidence < lr.prior.confidence
    assert "opt" not in vague  # no choice stands out


def test_load_sources_names_what_is_missing(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    hyperknob.create_study(study_name="empty", storage=url)
    with pytest.raises(ValueError, match="'empty' has no COMPLETE trial"):
        load_sources(["empty"], url)
    with pytest.raises(hyperknob.StudyNotFoundError, match="nope"):
        load_sources(["nope"], url)


def test_unfinished_and_failed_trials_are_not_sources() -> None:
    study = _study([(1e-2, 20, "adam")], "minimize")
    study.add_trial(FrozenTrial(-1, -1, TrialState.FAIL))
    study.ask()
    assert len(Source.from_study(study).trials) == 1
