"""Pareto math against brute force: O(n^2) dominance for masks and ranks, inclusion-exclusion,
grid counts and Monte Carlo for hypervolumes, HV(all) - HV(all - i) for contributions and an
explicit greedy loop for subset selection.

Integer-valued losses keep hypervolumes exact in floating point, so ties (duplicates, equal
gains) are compared exactly.

Timing sanity check (not a test; run by hand, expect a few milliseconds each):

    .venv/bin/python -c "import time, numpy as np; from hyperknob._pareto import hypervolume
    rng = np.random.default_rng(0)
    for n, m in ((200, 3), (50, 4)):
        x = np.abs(rng.normal(size=(n, m))); x /= np.linalg.norm(x, axis=1, keepdims=True)
        t = time.perf_counter(); hypervolume(x, np.full(m, 1.1))
        print(n, m, time.perf_counter() - t)"
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hyperknob._pareto import (
    crowding_distance,
    hypervolume,
    hypervolume_contributions,
    nondominated_mask,
    nondominated_ranks,
    pareto_front_indices,
    select_by_hypervolume,
    total_violation,
)

Array = np.ndarray[Any, Any]

# --- brute-force references ----------------------------------------------------------------


def brute_mask(loss: Array) -> Array:
    """O(n^2 m) dominance by broadcasting."""
    weakly = np.all(loss[None, :, :] <= loss[:, None, :], axis=2)
    strictly = np.any(loss[None, :, :] < loss[:, None, :], axis=2)
    dominated: Array = np.any(weakly & strictly, axis=1)
    return ~dominated


def brute_ranks(loss: Array) -> Array:
    ranks, left, rank = np.full(len(loss), -1), np.arange(len(loss)), 0
    while len(left):
        front = brute_mask(loss[left])
        ranks[left[front]] = rank
        left, rank = left[~front], rank + 1
    return ranks


def brute_crowding(loss: Array) -> Array:
    n, m = loss.shape
    distance = np.zeros(n)
    for j in range(m):
        values = loss[:, j]
        span = values.max() - values.min() if n else 0.0
        if span == 0:
            continue
        order = sorted(range(n), key=lambda i: (values[i], i))
        for a in range(1, n - 1):
            distance[order[a]] += (values[order[a + 1]] - values[order[a - 1]]) / span
        distance[order[0]] = distance[order[-1]] = np.inf
    return distance


def inclusion_exclusion(loss: Array, reference: Array) -> float:
    """HV = sum over non-empty subsets S of (-1)^(|S|+1) box(max(S))."""
    total = 0.0
    for size in range(1, len(loss) + 1):
        for subset in itertools.combinations(range(len(loss)), size):
            corner = loss[list(subset)].max(axis=0)
            total += (-1) ** (size + 1) * np.prod(np.clip(reference - corner, 0, None))
    return total


def grid_count(loss: Array, reference: Array) -> float:
    """Exact for integer losses >= 0 and an integer reference: count the covered unit cells."""
    axes = [np.arange(int(r)) for r in reference]
    cells = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(reference))
    covered = np.any(np.all(loss[None, :, :] <= cells[:, None, :], axis=2), axis=1)
    return float(covered.sum())


def greedy_loop(loss: Array, k: int, reference: Array) -> list[int]:
    chosen: list[int] = []
    for _ in range(min(k, len(loss))):
        base = hypervolume(loss[chosen], reference)
        gains = [hypervolume(loss[[*chosen, j]], reference) - base if j not in chosen
                 else -np.inf for j in range(len(loss))]
        chosen.append(int(np.argmax(gains)))  # argmax: the lowest index among ties
    return chosen


def on_sphere(n: int, m: int, seed: int) -> Array:
    """n mutually non-dominated points: |N(0, 1)| directions on the unit sphere."""
    x = np.abs(np.random.default_rng(seed).normal(size=(n, m)))
    points: Array = x / np.linalg.norm(x, axis=1, keepdims=True)
    return points


@st.composite
def integer_losses(draw: st.DrawFn, max_n: int = 8, high: int = 4, m: int | None = None) -> Array:
    """Small integer-valued losses (float dtype): many ties and duplicates."""
    m = draw(st.integers(1, 4)) if m is None else m
    n = draw(st.integers(0, max_n))
    loss: Array = draw(hnp.arrays(np.float64, (n, m), elements=st.integers(0, high).map(float)))
    return loss


SETTINGS = settings(max_examples=80, deadline=None)

# --- dominance -------------------------------------------------------------------------------


@SETTINGS
@given(integer_losses(max_n=12))
def test_mask_and_front_indices_match_brute_force(loss: Array) -> None:
    expected = brute_mask(loss)
    np.testing.assert_array_equal(nondominated_mask(loss), expected)
    np.testing.assert_array_equal(pareto_front_indices(loss), np.flatnonzero(expected))


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("kind", ["ties", "uniform", "sphere"])
def test_mask_matches_brute_force_across_blocks(m: int, kind: str) -> None:
    rng = np.random.default_rng(m)
    loss = {"ties": rng.integers(0, 6, (700, m)).astype(float),
            "uniform": rng.random((700, m)), "sphere": on_sphere(700, m, m)}[kind]
    np.testing.assert_array_equal(nondominated_mask(loss), brute_mask(loss))


def test_mask_keeps_identical_points_and_handles_infinities() -> None:
    loss = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, np.inf], [np.inf, 0.0], [2.0, np.inf]])
    np.testing.assert_array_equal(nondominated_mask(loss), [True, True, True, True, False])
    np.testing.assert_array_equal(nondominated_mask([[0.0, np.inf]]), [True])
    chain = np.array([[0.0, 0.0, np.inf], [0.0, 0.0, np.inf], [-np.inf, 1.0, 1.0]])
    np.testing.assert_array_equal(nondominated_mask(chain), brute_mask(chain))


@SETTINGS
@given(integer_losses(max_n=12), st.integers(0, 14))
def test_ranks_match_repeated_brute_force_fronts(loss: Array, n_below: int) -> None:
    full = brute_ranks(loss)
    ranks = nondominated_ranks(loss)
    np.testing.assert_array_equal(ranks, full)
    np.testing.assert_array_equal(ranks == 0, nondominated_mask(loss))
    for rank in range(int(ranks.max(initial=-1)) + 1):  # front r: non-dominated among >= r
        rest = ranks >= rank
        np.testing.assert_array_equal(ranks[rest] == rank, nondominated_mask(loss[rest]))
    # n_below: whole fronts until at least n_below points are ranked, then last + 1.
    last = next((r for r in range(int(full.max(initial=-1)) + 1)
                 if (full <= r).sum() >= n_below), int(full.max(initial=-1))) if n_below else -1
    np.testing.assert_array_equal(nondominated_ranks(loss, n_below=n_below),
                                  np.minimum(full, last + 1))


@pytest.mark.parametrize("m", [2, 3, 4])
def test_ranks_match_brute_force_on_larger_sets(m: int) -> None:
    rng = np.random.default_rng(10 + m)
    for loss in (rng.integers(0, 8, (600, m)).astype(float), rng.random((600, m))):
        np.testing.assert_array_equal(nondominated_ranks(loss), brute_ranks(loss))
    chain = np.repeat(np.arange(300.0)[::-1, None], m, axis=1)  # 300 fronts of one point
    np.testing.assert_array_equal(nondominated_ranks(chain), np.arange(300)[::-1])


def test_ranks_n_below_gives_the_remaining_points_one_more_rank() -> None:
    loss = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    np.testing.assert_array_equal(nondominated_ranks(loss, n_below=2), [0, 1, 1, 2, 2])
    np.testing.assert_array_equal(nondominated_ranks(loss, n_below=1), [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(nondominated_ranks(loss, n_below=0), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(nondominated_ranks(loss, n_below=99), [0, 1, 1, 2, 3])


@SETTINGS
@given(st.one_of(integer_losses(max_n=10), hnp.arrays(
    np.float64, st.tuples(st.integers(0, 10), st.integers(1, 3)),
    elements=st.floats(-1e3, 1e3, allow_nan=False))))
def test_crowding_distance_matches_the_definition(loss: Array) -> None:
    np.testing.assert_allclose(crowding_distance(loss), brute_crowding(loss), rtol=1e-12)


def test_crowding_distance_closed_form() -> None:
    loss = np.array([[0.0, 4.0], [1.0, 3.0], [3.0, 1.0], [4.0, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(crowding_distance(loss), [np.inf, 1.0, 1.0, np.inf, 1.0])
    np.testing.assert_array_equal(crowding_distance([[1.0, 2.0]]), [0.0])  # nothing to span
    np.testing.assert_array_equal(crowding_distance([[0.0, 5.0], [0.0, 5.0]]), [0.0, 0.0])


def test_total_violation() -> None:
    constraints = np.array([[-1.0, 2.0, np.nan], [0.0, -3.0, 0.5], [-1.0, -1.0, -1.0]])
    np.testing.assert_array_equal(total_violation(constraints), [np.inf, 0.5, 0.0])
    np.testing.assert_array_equal(total_violation(np.zeros((3, 0))), np.zeros(3))
    assert total_violation(np.zeros((0, 2))).shape == (0,)


# --- hypervolume -------------------------------------------------------------------------------


@SETTINGS
@given(integer_losses(), st.data())
def test_hypervolume_matches_inclusion_exclusion(loss: Array, data: st.DataObject) -> None:
    reference = np.array(data.draw(st.lists(st.integers(1, 5), min_size=loss.shape[1],
                                            max_size=loss.shape[1])), dtype=float)
    expected = inclusion_exclusion(loss, reference)
    assert hypervolume(loss, reference) == pytest.approx(expected, abs=1e-9)
    assert hypervolume(loss, reference) == grid_count(loss, reference)


@pytest.mark.parametrize(("m", "n", "high"), [(2, 80, 40), (3, 60, 12), (4, 40, 7)])
def test_hypervolume_matches_a_grid_count_on_larger_sets(m: int, n: int, high: int) -> None:
    rng = np.random.default_rng(m)
    for _ in range(3):
        loss = rng.integers(0, high + 2, (n, m)).astype(float)  # some beyond the reference
        reference = np.full(m, float(high))
        assert hypervolume(loss, reference) == grid_count(loss, reference)


@pytest.mark.parametrize(("m", "n"), [(2, 60), (3, 80), (4, 40)])
def test_hypervolume_matches_monte_carlo_on_continuous_fronts(m: int, n: int) -> None:
    loss, reference = on_sphere(n, m, seed=m), np.full(m, 1.1)
    rng, samples = np.random.default_rng(0), 100_000
    z = rng.random((samples, m)) * reference
    covered = np.zeros(samples, dtype=bool)
    for point in loss:
        covered |= (z >= point).all(axis=1)
    volume, fraction = np.prod(reference), covered.mean()
    tolerance = 5 * volume * np.sqrt(fraction * (1 - fraction) / samples)
    assert abs(hypervolume(loss, reference) - volume * fraction) < tolerance


def test_hypervolume_closed_forms() -> None:
    assert hypervolume([[1.0, 2.0, 3.0]], [2.0, 4.0, 7.0]) == 1.0 * 2.0 * 4.0
    assert hypervolume([[3.0], [1.0], [2.0]], [5.0]) == 4.0
    n = 10  # staircase (i, n - 1 - i): columns of width 1 and heights 1..n
    staircase = np.array([[i, n - 1 - i] for i in range(n)], dtype=float)
    assert hypervolume(staircase, [n, n]) == n * (n + 1) / 2
    diagonal = np.linspace(0.2, 0.9, 7)[:, None].repeat(3, axis=1)  # a line: one box
    assert hypervolume(diagonal, [1.0, 1.0, 1.0]) == pytest.approx(0.8**3)
    axes = [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    assert hypervolume(axes, [2.0, 2.0, 2.0]) == 3 * 2 - 3 * 1 + 1
    assert hypervolume([[1.0, 0.0], [0.0, 5.0]], [1.0, 5.0]) == 0.0  # on the boundary
    assert hypervolume([[0.0, np.inf], [1.0, 1.0]], [2.0, 2.0]) == 1.0
    assert hypervolume(np.zeros((0, 4)), np.ones(4)) == 0.0


@SETTINGS
@given(integer_losses(), integer_losses(), st.permutations(range(8)))
def test_hypervolume_is_monotone_permutation_and_dominance_invariant(
        loss: Array, more: Array, permutation: list[int]) -> None:
    reference = np.full(loss.shape[1], 4.5)
    volume = hypervolume(loss, reference)
    assert hypervolume(loss[[i for i in permutation if i < len(loss)]], reference) == volume
    if more.shape[1] == loss.shape[1]:
        assert hypervolume(np.concatenate([loss, more]), reference) >= volume
    if len(loss):
        dominated = loss[:3] + np.arange(1, loss.shape[1] + 1) % 2  # each >= some point
        assert hypervolume(np.concatenate([dominated, loss]), reference) == volume


# --- contributions and subset selection ----------------------------------------------------


def leave_one_out(loss: Array, reference: Array) -> Array:
    total = hypervolume(loss, reference)
    return np.array([total - hypervolume(np.delete(loss, i, axis=0), reference)
                     for i in range(len(loss))])


@SETTINGS
@given(integer_losses(max_n=9))
def test_contributions_match_leave_one_out_exactly(loss: Array) -> None:
    reference = np.full(loss.shape[1], 4.0)  # some points at 4 touch it and count for nothing
    contributions = hypervolume_contributions(loss, reference)
    np.testing.assert_array_equal(contributions, leave_one_out(loss, reference))
    total = inclusion_exclusion(loss, reference)
    for i in range(len(loss)):
        assert contributions[i] == total - inclusion_exclusion(np.delete(loss, i, 0), reference)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_contributions_match_leave_one_out_on_continuous_sets(m: int) -> None:
    rng = np.random.default_rng(m)
    front = on_sphere(30, m, seed=m)
    loss = np.concatenate([front, front[:3], front[:10] + rng.random((10, m)) * 0.2])
    reference = np.full(m, 1.2)
    np.testing.assert_allclose(hypervolume_contributions(loss, reference),
                               leave_one_out(loss, reference), atol=1e-12)


def test_contributions_closed_forms() -> None:
    n = 6
    staircase = np.array([[i, n - 1 - i] for i in range(n)], dtype=float)
    np.testing.assert_array_equal(hypervolume_contributions(staircase, [n, n]), np.ones(n))
    # a alone dominates b: without a, b's square still counts.
    np.testing.assert_array_equal(hypervolume_contributions([[1.0, 1.0], [2.0, 2.0]],
                                                            [3.0, 3.0]), [3.0, 0.0])
    np.testing.assert_array_equal(
        hypervolume_contributions([[0.0, 1.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]],
                                  [2.0, 2.0, 2.0]), [0.0, 0.0, 1.0])


@SETTINGS
@given(integer_losses(max_n=9, m=None), st.integers(0, 10))
def test_greedy_selection_matches_an_explicit_greedy_loop(loss: Array, k: int) -> None:
    reference = np.full(loss.shape[1], 4.0)
    selected = select_by_hypervolume(loss, k, reference)
    if k >= len(loss):
        np.testing.assert_array_equal(selected, np.arange(len(loss)))
    else:
        assert selected.tolist() == greedy_loop(loss, k, reference)


@pytest.mark.parametrize("m", [2, 3, 4])
def test_greedy_selection_on_continuous_sets(m: int) -> None:
    rng = np.random.default_rng(m)
    loss = np.concatenate([on_sphere(25, m, seed=m), rng.random((10, m)) + 0.5])
    reference = np.full(m, 1.2)
    assert select_by_hypervolume(loss, 12, reference).tolist() == greedy_loop(loss, 12,
                                                                              reference)


def test_greedy_selection_adds_zero_gain_points_in_index_order() -> None:
    loss = np.array([[5.0, 5.0], [1.0, 1.0], [2.0, 2.0], [0.5, 3.0], [1.0, 1.0]])
    np.testing.assert_array_equal(select_by_hypervolume(loss, 4, [4.0, 4.0]), [1, 3, 0, 2])
    np.testing.assert_array_equal(select_by_hypervolume(loss, 9, [4.0, 4.0]), np.arange(5))
    assert select_by_hypervolume(loss, 0, [4.0, 4.0]).shape == (0,)


# --- validation --------------------------------------------------------------------------------


def test_empty_inputs() -> None:
    empty = np.zeros((0, 3))
    for function in (nondominated_mask, nondominated_ranks, crowding_distance,
                     pareto_front_indices):
        assert function(empty).shape == (0,)
    assert hypervolume_contributions(empty, np.ones(3)).shape == (0,)
    assert select_by_hypervolume(empty, 2, np.ones(3)).shape == (0,)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: nondominated_mask(np.zeros(3)), r"loss must be a 2-D array of shape \(n, m\) with "
                                             r"m >= 1, got an array of shape \(3,\)"),
    (lambda: nondominated_ranks(np.zeros((2, 0))), r"got an array of shape \(2, 0\)"),
    (lambda: nondominated_mask([[0.0, np.nan]]), r"loss must be free of NaN, got loss\[0, 1\]"),
    (lambda: nondominated_ranks([[0.0]], n_below=-1), r"n_below must be an int >= 0 or None, "
                                                      r"got n_below=-1"),
    (lambda: crowding_distance([[0.0, np.inf]]), r"loss must be finite, got loss\[0, 1\]=inf"),
    (lambda: hypervolume([[0.0, -np.inf]], [1.0, 1.0]), r"free of NaN and -inf"),
    (lambda: hypervolume([[0.0, 0.0]], [1.0]), r"reference must be a 1-D array of length m=2"),
    (lambda: hypervolume_contributions([[0.0]], [np.nan]), r"reference must be finite"),
    (lambda: select_by_hypervolume([[0.0]], -1, [1.0]), r"k must be an int >= 0, got k=-1"),
    (lambda: total_violation(np.zeros(3)), r"constraints must be a 2-D array"),
])
def test_errors_name_the_value_and_the_expectation(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
