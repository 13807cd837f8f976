"""The GP's trust region: its size replayed from the history, its box, and the sampler in it."""

from __future__ import annotations

import numpy as np
import pytest

from hyperknob.samplers.gp import GPSampler
from hyperknob.samplers.gp._acquisition import maximize_log_ei
from hyperknob.samplers.gp._gp import fit_gp
from hyperknob.samplers.gp._maximize import MixedBox
from hyperknob.samplers.gp._trust_region import (
    LENGTH_INIT,
    LENGTH_MAX,
    LENGTH_MIN,
    WHOLE_BOX,
    failure_tolerance,
    region_box,
    region_length,
)
from hyperknob.storages import InMemoryStorage
from hyperknob.study._functions import create_study
from hyperknob.trial._trial import Trial


def test_no_region_until_the_first_run_of_failures() -> None:
    assert region_length(np.array([5.0, 4.0, 3.0]), n_startup=3, dim=2) == WHOLE_BOX
    assert region_length(np.array([]), n_startup=0, dim=2) == WHOLE_BOX
    assert region_length(np.array([5.0, 4.0, 3.0, 2.0]), n_startup=1, dim=2) != WHOLE_BOX
    assert region_length(np.array([5.0, 4.0, 3.0, 9.0]), n_startup=1, dim=2) == WHOLE_BOX


def test_three_successes_in_a_row_open_it_at_the_maximum() -> None:
    assert region_length(np.array([5.0, 4.0, 3.0, 2.0]), n_startup=1, dim=2) == LENGTH_MAX
    improving = 100.0 - np.arange(30.0)
    assert region_length(improving, n_startup=1, dim=2) == LENGTH_MAX


def test_failures_open_then_halve_after_max_4_d_in_a_row() -> None:
    dim = 6
    assert failure_tolerance(2) == 4 and failure_tolerance(dim) == dim
    values = np.array([1.0] + [2.0] * dim)
    assert region_length(values, n_startup=1, dim=dim) == LENGTH_INIT
    assert region_length(values[:-1], n_startup=1, dim=dim) == WHOLE_BOX
    twice = np.array([1.0] + [2.0] * (2 * dim))
    assert region_length(twice, n_startup=1, dim=dim) == LENGTH_INIT / 2
    # A success resets the failure count: 5 failures, a success, 5 failures -> no region.
    mixed = np.array([1.0] + [2.0] * 5 + [0.5] + [2.0] * 5)
    assert region_length(mixed, n_startup=1, dim=dim) == WHOLE_BOX


def test_three_successes_double_up_to_the_maximum() -> None:
    opened = [1.0] + [2.0] * 4  # dim 2: four failures open the region at L_init
    values = np.array([*opened, 0.9, 0.8, 0.7])
    assert region_length(values, n_startup=1, dim=2) == 2 * LENGTH_INIT
    many = np.array([*opened, *(0.9 - 0.01 * np.arange(12))])
    assert region_length(many, n_startup=1, dim=2) == LENGTH_MAX


def test_an_improvement_must_beat_the_best_by_a_relative_margin() -> None:
    tiny = np.array([1.0] + [1.0 - k * 1e-6 for k in range(1, 5)])  # four "improvements"
    assert region_length(tiny, n_startup=1, dim=2) == LENGTH_INIT  # four failures


def test_collapse_below_min_goes_back_to_the_whole_box() -> None:
    halvings = int(np.ceil(np.log2(LENGTH_INIT / LENGTH_MIN)))  # the first to pass below L_min
    values = np.array([0.0] + [1.0] * (4 * (halvings + 1)))  # open, then halve `halvings` times
    assert region_length(values, n_startup=1, dim=2) == WHOLE_BOX
    smallest = LENGTH_INIT * 0.5 ** (halvings - 1)
    assert region_length(values[:-4], n_startup=1, dim=2) == smallest >= LENGTH_MIN
    assert region_length(np.append(values, [1.0] * 4), n_startup=1, dim=2) == LENGTH_INIT


def test_box_is_shaped_by_lengthscales_and_clipped() -> None:
    low, high = region_box(np.array([0.5, 0.5]), np.array([0.1, 0.4]), 0.4)
    # weights: lengthscales / their geometric mean 0.2 -> 0.5 and 2.0; sides 0.2 and 0.8
    np.testing.assert_allclose(high - low, [0.2, 0.8])
    np.testing.assert_allclose((low + high) / 2, [0.5, 0.5])
    low, high = region_box(np.array([0.95, 0.0]), np.array([1.0, 1.0]), 0.4)
    np.testing.assert_allclose(low, [0.75, 0.0])
    np.testing.assert_allclose(high, [1.0, 0.2])


def test_acquisition_stays_in_the_region() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((12, 3))
    y = np.sum((x - 0.9) ** 2, axis=1)  # the optimum lies outside the region below
    model = fit_gp(x, (y - y.mean()) / y.std(), rng)
    box = MixedBox(n_features=3, numeric=np.arange(3), continuous=np.arange(3),
                   categorical=(), snap=lambda p: p)
    low, high = np.array([0.1, 0.2, 0.3]), np.array([0.4, 0.5, 0.6])
    best = float(np.min((y - y.mean()) / y.std()))
    free, _ = maximize_log_ei(model, best, box, np.random.default_rng(1), x[:3],
                              n_candidates=256, n_restarts=3)
    assert not (np.all(free >= low) and np.all(free <= high)), free  # the region binds
    point, _ = maximize_log_ei(model, best, box, np.random.default_rng(1), x[:3],
                               n_candidates=256, n_restarts=3, region=(low, high))
    assert np.all(point >= low) and np.all(point <= high), point


def test_a_region_of_seen_grid_points_gives_way_to_the_whole_box() -> None:
    """On an int grid a narrow region can hold only evaluated points: suggest a new one."""
    grid = (np.arange(11) + 0.5) / 11  # the unit centres of the ints 0..10
    x = grid[[4, 5, 6, 0, 10]][:, None]
    y = np.array([0.0, -1.0, 0.0, 2.0, 2.0])
    rng = np.random.default_rng(0)
    model = fit_gp(x, y, rng)
    box = MixedBox(n_features=1, numeric=np.array([0]), continuous=np.array([], dtype=int),
                   categorical=(),
                   snap=lambda p: (np.clip(np.floor(p * 11), 0, 10) + 0.5) / 11)
    region = (np.array([grid[5] - 0.02]), np.array([grid[5] + 0.02]))  # holds the int 5 only
    point, value = maximize_log_ei(model, -1.0, box, rng, x[:1], seen=x, n_candidates=64,
                                   n_restarts=2, region=region)
    assert np.isfinite(value)
    assert not np.any(np.isclose(point[0], x[:, 0])), point  # not an evaluated int


def _rastrigin(trial: Trial) -> float:
    x = np.array([trial.suggest_float(f"x{i}", -5.12, 5.12) for i in range(4)])
    return float(10 * len(x) + np.sum(x * x - 10 * np.cos(2 * np.pi * x)))


def test_sampler_suggests_inside_the_region_of_the_stored_history() -> None:
    storage = InMemoryStorage()
    study = create_study(storage=storage, study_name="s",
                         sampler=GPSampler(seed=3, n_startup_trials=6, trust_region=True,
                                           n_candidates=256))
    study.optimize(_rastrigin, n_trials=25)
    trials = study.trials
    # Once a region is open, every point lies in it: within L / 2 * (the largest lengthscale
    # weight) of the best point so far; L <= L_max and the weights of 4 lengthscales within
    # the fit's bounds are loose, so check the region the sampler computed instead.
    values = np.array([t.value for t in trials], dtype=float)
    opened = [n for n in range(6, len(trials))
              if region_length(values[:n], n_startup=6, dim=4) != WHOLE_BOX]
    assert opened, "no run of 4 failures in 25 trials of Rastrigin: the test needs one"
    # Two fresh samplers (another worker, a restarted study) on the same stored history
    # suggest the same point: the region's size is replayed from the values.
    pending = study.ask()
    view = study._view
    frozen = next(t for t in view.get_trials() if t.number == pending.number)
    suggestions = []
    for _ in range(2):
        sampler = GPSampler(seed=3, n_startup_trials=6, trust_region=True, n_candidates=256)
        space = sampler.infer_relative_search_space(view, frozen)
        suggestions.append(sampler.sample_relative(view, frozen, space))
    assert suggestions[0] == suggestions[1] and len(suggestions[0]) == 4


def test_rejects_a_non_bool() -> None:
    with pytest.raises(TypeError, match="trust_region must be True or False, got trust_region=1"):
        GPSampler(trust_region=1)  # type: ignore[arg-type]
