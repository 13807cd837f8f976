"""Pareto dominance, non-dominated sorting, crowding and hypervolume: pure numpy.

Everything minimizes. Shapes: ``loss`` (n, m), n points and m objectives, lower is better in
every column (callers negate maximized objectives); ``reference`` (m,); ``constraints`` (n, c),
feasible where every value is <= 0. Point ``a`` dominates ``b`` when ``a <= b`` in every
objective and ``a < b`` in at least one, so identical points never dominate each other.

References:
    [D02] Deb, Pratap, Agarwal and Meyarivan, "A Fast and Elitist Multiobjective Genetic
    Algorithm: NSGA-II", IEEE Trans. Evol. Comput. 2002 (non-dominated sorting, sec. III-A;
    crowding distance, sec. III-B).
    [J03] Jensen, "Reducing the Run-Time Complexity of Multiobjective EAs: The NSGA-II and
    Other Algorithms", IEEE Trans. Evol. Comput. 2003 (2-D sorting by sweeping front tails).
    [W12] While, Bradstreet and Barone, "A Fast Way of Calculating Exact Hypervolumes", IEEE
    Trans. Evol. Comput. 2012 (WFG: exclusive hypervolumes of limit sets).
    [W06] While, Hingston, Barone and Huband, "A Faster Algorithm for Calculating
    Hypervolume", IEEE Trans. Evol. Comput. 2006 (HSO: slicing one objective at a time).
    [G16] Guerreiro, Fonseca and Paquete, "Greedy Hypervolume Subset Selection in Low
    Dimensions", Evol. Comput. 2016.
    [O20] Ozaki, Tanigaki, Watanabe and Onishi, "Multiobjective Tree-Structured Parzen
    Estimator for Computationally Expensive Optimization Problems", GECCO 2020 (greedy HSSP).
    [M78] Minoux, "Accelerated Greedy Algorithms for Maximizing Submodular Set Functions",
    1978 (lazy re-evaluation of gains that can only shrink).
    [Y19] Yang, Emmerich, Deutz and Bäck, "Efficient Computation of Expected Hypervolume
    Improvement Using Box Decomposition Algorithms", J. Global Optim. 2019.
"""

from __future__ import annotations

import bisect
import heapq

import numpy as np
import numpy.typing as npt

from hyperknob._checks import check_int
from hyperknob.exceptions import InvalidArgumentError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Points compared at once by the blocked dominance check (block x front x m booleans).
_BLOCK = 256


# --- validation ----------------------------------------------------------------------------


def _as_loss(loss: npt.ArrayLike, *, allow: str, name: str = "loss") -> FloatArray:
    """Return ``loss`` as a float (n, m) array; ``allow`` is "inf" (no NaN), "+inf" (no NaN
    nor -inf) or "finite"."""
    array = np.asarray(loss, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 1:
        raise InvalidArgumentError(
            f"{name} must be a 2-D array of shape (n, m) with m >= 1, got an array of shape "
            f"{array.shape}")
    bad = {"inf": np.isnan(array), "+inf": np.isnan(array) | (array == -np.inf),
           "finite": ~np.isfinite(array)}[allow]
    if bad.any():
        expected = {"inf": "free of NaN", "+inf": "free of NaN and -inf",
                    "finite": "finite"}[allow]
        row, column = np.argwhere(bad)[0]
        raise InvalidArgumentError(
            f"{name} must be {expected}, got {name}[{row}, {column}]={array[row, column]}")
    return array


def _as_reference(reference: npt.ArrayLike, m: int) -> FloatArray:
    """Return ``reference`` as a finite float (m,) array."""
    array = np.asarray(reference, dtype=np.float64)
    if array.shape != (m,):
        raise InvalidArgumentError(
            f"reference must be a 1-D array of length m={m} (one value per objective), got "
            f"an array of shape {array.shape}")
    if not np.isfinite(array).all():
        raise InvalidArgumentError(f"reference must be finite, got reference={array.tolist()}")
    return array


# --- dominance -----------------------------------------------------------------------------


def _dominators(points: FloatArray, others: FloatArray) -> BoolArray:
    """Return (len(points), len(others)): whether ``others[j]`` dominates ``points[i]``."""
    weakly = np.ones((len(points), len(others)), dtype=bool)
    equal = np.ones_like(weakly)
    for column in range(points.shape[1]):
        a, b = points[:, column, None], others[None, :, column]
        weakly &= b <= a
        equal &= b == a
    dominates: BoolArray = weakly & ~equal
    return dominates


def _dominated_by(points: FloatArray, others: FloatArray) -> BoolArray:
    """Return (len(points),): whether some row of ``others`` dominates each row of points."""
    dominated: BoolArray = np.any(_dominators(points, others), axis=1)
    return dominated


def _mask(loss: FloatArray) -> BoolArray:
    """Return the non-dominated mask of a validated (n, m) loss."""
    n, m = loss.shape
    if n == 0 or m == 1:
        return loss[:, 0] == loss[:, 0].min() if n else np.zeros(0, dtype=bool)
    order = np.lexsort(loss.T[::-1])  # lexicographic: a dominator always sorts first
    points = loss[order]
    keep = np.zeros(n, dtype=bool)
    if m == 2:
        x, y = points[:, 0], points[:, 1]
        # A point survives iff it has the least y of its x group and beats, strictly, the
        # least y of every smaller x. ``first`` is the start of each point's x group.
        first = np.searchsorted(x, x, side="left")
        best_before = np.minimum.accumulate(y)[np.maximum(first - 1, 0)]
        keep = (y == y[first]) & ((first == 0) | (y < best_before))
    else:
        # Dominance is transitive and dominators sort first, so each block need only be
        # checked against the front found so far and against itself.
        front = points[:0]
        for start in range(0, n, _BLOCK):
            block = points[start:start + _BLOCK]
            alive = ~_dominated_by(block, front)
            alive[alive] = ~_dominated_by(block[alive], block)
            keep[start:start + _BLOCK] = alive
            front = np.concatenate([front, block[alive]])
    mask = np.empty(n, dtype=bool)
    mask[order] = keep
    return mask


def nondominated_mask(loss: npt.ArrayLike) -> BoolArray:
    """Return (n,): True for the points of ``loss`` (n, m) that no other point dominates.

    Sort-and-sweep in 2-D (O(n log n)); for m >= 3 blocks of lexicographically sorted points
    are checked against the front found so far (O(n * front * m)). Infinities are allowed.
    """
    return _mask(_as_loss(loss, allow="inf"))


def pareto_front_indices(loss: npt.ArrayLike) -> IntArray:
    """Return the sorted indices of the non-dominated points of ``loss`` (n, m)."""
    return np.flatnonzero(nondominated_mask(loss)).astype(np.int64)


def nondominated_ranks(loss: npt.ArrayLike, *, n_below: int | None = None) -> IntArray:
    """Return (n,): the index of each point's non-dominated front (0 for the first).

    Front r + 1 is the non-dominated set left after removing fronts 0..r ([D02], sec. III-A).

    Args:
        loss: (n, m) losses; infinities are allowed.
        n_below: If given, rank fronts only until at least this many points have a rank;
            every other point gets the last rank assigned plus one (all get 0 when
            ``n_below`` is 0).

    Returns:
        (n,) int64 ranks.
    """
    array = _as_loss(loss, allow="inf")
    n_below = check_int("n_below", n_below, least=0, none_ok=True)
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    # Identical points share a rank; sorting distinct points keeps the 2-D sweep simple.
    unique, inverse, counts = np.unique(array, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    ranks = np.zeros(len(unique), dtype=np.int64)
    if unique.shape[1] == 1:
        ranks[:] = np.arange(len(unique))  # distinct values, ascending
    elif unique.shape[1] == 2:
        # [J03]: in lexicographic order, each earlier point with y <= this y dominates it;
        # tails[r] is the least y on front r so far and is non-decreasing in r.
        tails: list[float] = []
        for i in np.lexsort(unique.T[::-1]):
            y = float(unique[i, 1])
            ranks[i] = rank = bisect.bisect_right(tails, y)
            if rank == len(tails):
                tails.append(y)
            else:
                tails[rank] = y
    else:
        # A point's rank is one more than the largest rank of its dominators ([D02]), and in
        # lexicographic order every dominator comes first: O(n^2 m) whatever the fronts.
        order = np.lexsort(unique.T[::-1])
        points, ordered = unique[order], np.zeros(len(unique), dtype=np.int64)
        for start in range(0, len(points), _BLOCK):
            dominators = _dominators(points[start:start + _BLOCK], points[:start + _BLOCK])
            for i, row in enumerate(dominators, start):
                ordered[i] = np.where(row[:i], ordered[:i], -1).max(initial=-1) + 1
        ranks[order] = ordered
    if n_below is not None:
        # The last front needed to rank n_below points (-1 when none is).
        cumulative = np.cumsum(np.bincount(ranks, weights=counts))
        last = int(np.searchsorted(cumulative, n_below)) if n_below > 0 else -1
        ranks = np.minimum(ranks, last + 1)
    result: IntArray = ranks[inverse]
    return result


def crowding_distance(loss: npt.ArrayLike) -> FloatArray:
    """Return (n,): the NSGA-II crowding distance of each point of a finite ``loss`` (n, m).

    Per objective ([D02], sec. III-B) the points are sorted (stably, so ties resolve by index),
    the two boundary points get ``inf`` and each interior point adds
    ``(next - previous) / (max - min)``. An objective whose max equals its min adds nothing,
    not even ``inf`` at its boundaries: which tied point sits there is arbitrary.
    """
    array = _as_loss(loss, allow="finite")
    distance = np.zeros(len(array))
    for values in array.T:
        span = values.max() - values.min() if len(values) else 0.0
        if span == 0:
            continue
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        distance[order[1:-1]] += (ordered[2:] - ordered[:-2]) / span
        distance[order[[0, -1]]] = np.inf
    return distance


def total_violation(constraints: npt.ArrayLike) -> FloatArray:
    """Return (n,): ``sum_j max(c_ij, 0)`` of ``constraints`` (n, c); NaN counts as ``inf``."""
    array = np.asarray(constraints, dtype=np.float64)
    if array.ndim != 2:
        raise InvalidArgumentError(
            f"constraints must be a 2-D array of shape (n, c), got an array of shape "
            f"{array.shape}")
    violation: FloatArray = np.where(np.isnan(array), np.inf, np.maximum(array, 0.0)).sum(axis=1)
    return violation


# --- hypervolume ---------------------------------------------------------------------------


def _box(point: FloatArray, reference: FloatArray) -> float:
    """Return the volume between ``point`` and ``reference`` (0 unless point < reference)."""
    return float(np.prod(np.clip(reference - point, 0.0, None)))


def _hv2(points: FloatArray, reference: FloatArray) -> float:
    """Return the 2-D hypervolume of points (n, 2) that all strictly dominate the reference."""
    order = np.argsort(points[:, 0], kind="stable")
    x, best_y = points[order, 0], np.minimum.accumulate(points[order, 1])
    widths = np.diff(np.append(x, reference[0]))
    return float(widths @ (reference[1] - best_y))


def _hv3(points: FloatArray, reference: FloatArray) -> float:
    """Return the 3-D hypervolume by slicing along z ([W06]): slab i, between the i-th and the
    next z, has the 2-D area of the points up to i."""
    order = np.argsort(points[:, 2], kind="stable")
    points = points[order]
    heights = np.diff(np.append(points[:, 2], reference[2]))
    return sum(float(h) * _hv2(points[:i + 1, :2], reference[:2])
               for i, h in enumerate(heights) if h > 0)


def _hv(points: FloatArray, reference: FloatArray) -> float:
    """Return the hypervolume of points (n, m) that all strictly dominate the reference."""
    n, m = points.shape
    if n == 0:
        return 0.0
    if m == 1:
        return float(reference[0] - points[:, 0].min())
    if m == 2:
        return _hv2(points, reference)
    points = points[_mask(points)]
    if m == 3:
        return _hv3(points, reference)
    # WFG ([W12], eq. 2-4): HV = sum_k exclhv(p_k, {p_j : j > k}), exclhv(p, S) = box(p) -
    # HV(limit(S, p)), limit(S, p) = {max(s, p) : s in S}. Sorting by the last objective, worst
    # first, gives every point of a limit set the same last value, so its HV is that height
    # times an (m - 1)-D hypervolume.
    points = points[np.argsort(-points[:, -1], kind="stable")]
    total = 0.0
    for k, point in enumerate(points):
        limited = np.maximum(points[k + 1:, :-1], point[:-1])
        exclusive = _box(point[:-1], reference[:-1]) - _hv(limited, reference[:-1])
        total += float(reference[-1] - point[-1]) * exclusive
    return total


def _valid(loss: FloatArray, reference: FloatArray) -> BoolArray:
    """Return (n,): whether each point strictly dominates the reference in every objective."""
    valid: BoolArray = np.all(loss < reference, axis=1)
    return valid


def nadir_reference(points: FloatArray, *, floor: float = 1e-12) -> FloatArray:
    """Return the reference point the model-based samplers use: the nadir of ``points``
    (n, m) moved out by a tenth of their range in each objective (at least ``floor``)."""
    low, high = points.min(axis=0), points.max(axis=0)
    reference: FloatArray = high + 0.1 * np.maximum(high - low, floor)
    return reference


def hypervolume(loss: npt.ArrayLike, reference: npt.ArrayLike) -> float:
    """Return the volume dominated by ``loss`` (n, m) and bounded by ``reference`` (m,).

    Points that are not below the reference in every objective add nothing. Sort-and-sweep in
    2-D, slicing in 3-D ([W06]) and WFG above ([W12]), after dropping dominated points.
    """
    array = _as_loss(loss, allow="+inf")
    ref = _as_reference(reference, array.shape[1])
    return _hv(array[_valid(array, ref)], ref)


def hypervolume_contributions(loss: npt.ArrayLike, reference: npt.ArrayLike) -> FloatArray:
    """Return (n,): each point's exclusive contribution ``HV(all) - HV(all without i)``.

    Dominated points, points not below the reference and every copy of a repeated point get
    0. In 2-D a front point owns the rectangle up to its neighbours on the front, less the
    area there of the points only it dominates; otherwise ``box(p) - HV(limit(others, p))``
    ([W12]).
    """
    array = _as_loss(loss, allow="+inf")
    ref = _as_reference(reference, array.shape[1])
    contribution = np.zeros(len(array))
    valid = np.flatnonzero(_valid(array, ref))
    points = array[valid]
    if len(points) == 0:
        return contribution
    front = np.flatnonzero(_mask(points))
    if array.shape[1] == 2:
        # One representative per distinct front point, by increasing x (and decreasing y).
        _, first = np.unique(points[front], axis=0, return_index=True)
        owners = front[first][np.argsort(points[front[first], 0], kind="stable")]
        x, y = points[owners, 0], points[owners, 1]
        right, up = np.append(x[1:], ref[0]), np.append(ref[1], y[:-1])
        owned = (right - x) * (up - y)
        # Every other point lies in at most one owner's rectangle (the rectangles are
        # disjoint in x); there it is dominated by the owner alone (copies included).
        others = np.setdiff1d(np.arange(len(points)), owners)
        owner = np.searchsorted(x, points[others, 0], side="right") - 1
        inside = (owner >= 0) & (points[others, 1] < up[np.maximum(owner, 0)])
        for k in np.unique(owner[inside]):
            members = points[others[inside & (owner == k)]]
            owned[k] -= _hv2(members, np.array([right[k], up[k]]))
        contribution[valid[owners]] = owned
        return contribution
    _, inverse, counts = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    for i in front[counts[inverse.reshape(-1)[front]] == 1]:
        limited = np.maximum(np.delete(points, i, axis=0), points[i])
        contribution[valid[i]] = _box(points[i], ref) - _hv(limited, ref)
    return contribution


def select_by_hypervolume(loss: npt.ArrayLike, k: int, reference: npt.ArrayLike) -> IntArray:
    """Return (k,) indices, in selection order, of a subset chosen greedily for hypervolume.

    Greedy hypervolume subset selection ([G16], as in MOTPE [O20]): repeatedly add the point
    whose hypervolume gain given the chosen points is largest, the lowest index among ties.
    Once no gain is left the rest are added in index order. Gains only shrink as the subset
    grows (hypervolume is submodular), so stale gains are upper bounds and only the best is
    re-evaluated ([M78]); the result is that of the plain greedy loop.

    Args:
        loss: (n, m) losses, free of NaN and -inf.
        k: The subset size; ``k >= n`` returns ``arange(n)``.
        reference: (m,) the finite reference point.

    Returns:
        (min(k, n),) int64 indices.
    """
    array = _as_loss(loss, allow="+inf")
    ref = _as_reference(reference, array.shape[1])
    k = check_int("k", k, least=0)
    n = len(array)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    if array.shape[1] <= 3:
        return _select_by_boxes(array, k, ref)
    # Heap of (-gain bound, index, size of the subset when the bound was computed).
    heap = [(-_box(point, ref), i, 0) for i, point in enumerate(array)]
    heapq.heapify(heap)
    chosen: list[int] = []
    while len(chosen) < k and heap[0][0] < 0:
        _, i, when = heapq.heappop(heap)
        if when == len(chosen):
            chosen.append(i)
            continue
        limited = np.maximum(array[chosen], array[i])
        limited = limited[_valid(limited, ref)]
        gain = max(_box(array[i], ref) - _hv(limited, ref), 0.0)
        heapq.heappush(heap, (-gain, i, len(chosen)))
    rest = sorted(i for _, i, _ in heap)
    return np.array(chosen + rest[:k - len(chosen)], dtype=np.int64)


def undominated_boxes(front: npt.ArrayLike, reference: npt.ArrayLike
                      ) -> tuple[FloatArray, FloatArray]:
    """Return boxes ``lower``, ``upper`` (B, m) that tile the part of ``{y < reference}`` no
    point of ``front`` (k, m) dominates: grid cells on the first m - 1 axes, cut at every
    front coordinate, each with one interval along the last axis ([Y19] sec. 3: the points at
    or below a cell's lower corner dominate all of it there, so its undominated part ends at
    their smallest last coordinate). (k + 1)^(m - 1) boxes at most: meant for m <= 3. The
    hypervolume a point ``y`` adds is ``sum_b prod_j (upper_bj - max(lower_bj, y_j))^+``.
    """
    ref = np.asarray(reference, dtype=np.float64)
    m = ref.shape[0]
    points = np.asarray(front, dtype=np.float64).reshape(-1, m)
    points = points[np.all(points < ref, axis=1)]
    if m == 1:  # one objective: everything below the best point (or the reference)
        best = min(float(points.min()), float(ref[0])) if len(points) else float(ref[0])
        return np.array([[-np.inf]]), np.array([[best]])
    edges = [np.concatenate([[-np.inf], np.unique(points[:, j]), [ref[j]]])
             for j in range(m - 1)]
    grids = np.meshgrid(*[np.arange(len(e) - 1) for e in edges], indexing="ij")
    cells = np.stack([g.ravel() for g in grids], axis=1).reshape(-1, m - 1)
    low = np.stack([edges[j][cells[:, j]] for j in range(m - 1)], axis=1).reshape(-1, m - 1)
    high = np.stack([edges[j][cells[:, j] + 1] for j in range(m - 1)],
                    axis=1).reshape(-1, m - 1)
    if len(points):
        covers = np.all(points[None, :, : m - 1] <= low[:, None, :], axis=2)  # (C, k)
        top = np.where(covers, points[None, :, m - 1], np.inf).min(axis=1)
    else:
        top = np.full(len(cells), np.inf)
    top = np.minimum(top, ref[m - 1])
    keep = top > -np.inf
    lower = np.column_stack([low[keep], np.full(int(keep.sum()), -np.inf)])
    upper = np.column_stack([high[keep], top[keep]])
    return lower, upper


def _select_by_boxes(array: FloatArray, k: int, ref: FloatArray) -> IntArray:
    """Greedy hypervolume subset selection for m <= 3 objectives: every candidate's gain at
    once, from the boxes the chosen points leave undominated (:func:`undominated_boxes`)."""
    chosen: list[int] = []
    remaining = np.ones(len(array), dtype=bool)
    while len(chosen) < k:
        lower, upper = undominated_boxes(array[chosen], ref)
        candidates = np.flatnonzero(remaining)
        points = array[candidates]
        with np.errstate(invalid="ignore"):
            sides = np.clip(upper[None] - np.maximum(lower[None], points[:, None]), 0.0, None)
        gains = np.nan_to_num(np.prod(sides, axis=2), nan=0.0).sum(axis=1)
        best = int(np.argmax(gains))
        if not gains[best] > 0.0:
            break
        chosen.append(int(candidates[best]))
        remaining[candidates[best]] = False
    rest = np.flatnonzero(remaining)[: k - len(chosen)]
    return np.array(chosen + rest.tolist(), dtype=np.int64)


def constrained_ranks(loss: npt.ArrayLike, violation: npt.ArrayLike) -> IntArray:
    """Return (n,) ranks under constrained domination ([D02] sec. VI): feasible points
    (``violation == 0``) take their non-dominated ranks; infeasible ones rank after every
    feasible one, ordered by total violation (equal violations share a rank)."""
    values = _as_loss(loss, allow="finite")
    bad = np.asarray(violation, dtype=float).reshape(-1)
    if bad.shape[0] != values.shape[0]:
        raise InvalidArgumentError(
            f"violation must hold one value per point ({values.shape[0]}), got "
            f"{bad.shape[0]} values")
    ranks = np.zeros(values.shape[0], dtype=np.int64)
    feasible = bad <= 0.0
    if feasible.any():
        ranks[feasible] = nondominated_ranks(values[feasible])
    start = int(ranks[feasible].max()) + 1 if feasible.any() else 0
    if (~feasible).any():
        _, dense = np.unique(bad[~feasible], return_inverse=True)
        ranks[~feasible] = start + dense.reshape(-1)
    return ranks
