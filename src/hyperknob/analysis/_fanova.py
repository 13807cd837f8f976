"""fANOVA on a random forest: the share of the objective's variance each parameter explains.

[H14] fits a random forest to (parameters -> value) and decomposes each tree's function, a
sum of constants over axis-aligned boxes, into main effects under a product measure on the
space: the main effect of parameter ``i`` is ``f_i(x_i) = E[f | x_i]`` and its importance the
share ``Var(f_i) / Var(f)``, averaged over the trees. For a tree this is exact and cheap: with
``P_l`` the measure of leaf ``l``'s box in every dimension but ``i``, ``f_i`` is the sum of
``v_l P_l`` over the leaves whose box holds ``x_i``, a step function over the leaves'
boundaries on dimension ``i``, added up with one cumulative sum.

References:
    [H14] F. Hutter, H. Hoos, K. Leyton-Brown. An Efficient Approach for Assessing
        Hyperparameter Importance. ICML 2014.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hyperknob.analysis._encoding import Column, Table


@dataclasses.dataclass(frozen=True)
class TreeBoxes:
    """A fitted tree as leaf boxes: ``lo``/``hi`` ``[L, d]`` bounds and ``value`` ``[L]``."""

    lo: np.ndarray
    hi: np.ndarray
    value: np.ndarray


def tree_boxes(tree: object, columns: tuple[Column, ...]) -> TreeBoxes:
    """Return the leaf boxes of a fitted scikit-learn tree (its ``tree_`` structure), the
    root box being the columns' domains."""
    t = tree.tree_  # type: ignore[attr-defined]
    d = len(columns)
    root_lo = np.array([c.low for c in columns])
    root_hi = np.array([c.high for c in columns])
    los, his, values = [], [], []
    stack = [(0, root_lo, root_hi)]
    while stack:
        node, lo, hi = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            los.append(lo)
            his.append(hi)
            values.append(float(t.value[node].ravel()[0]))
            continue
        feature, threshold = int(t.feature[node]), float(t.threshold[node])
        left_hi = hi.copy()
        left_hi[feature] = min(hi[feature], threshold)
        right_lo = lo.copy()
        right_lo[feature] = max(lo[feature], threshold)
        stack.append((left, lo, left_hi))
        stack.append((right, right_lo, hi))
    return TreeBoxes(lo=np.array(los).reshape(-1, d), hi=np.array(his).reshape(-1, d),
                     value=np.array(values))


def _moments(boxes: TreeBoxes, columns: tuple[Column, ...]) -> tuple[np.ndarray, float, float]:
    """Return each leaf's measure per dimension ``[L, d]``, and the tree's mean and variance."""
    measure = np.stack([c.measure(boxes.lo[:, j], boxes.hi[:, j])
                        for j, c in enumerate(columns)], axis=1)
    volume = np.prod(measure, axis=1)
    mean = float(np.sum(boxes.value * volume))
    total = float(np.sum(boxes.value**2 * volume)) - mean**2
    return measure, mean, total


def main_effects(boxes: TreeBoxes, columns: tuple[Column, ...]) -> tuple[np.ndarray, float]:
    """Return ``Var(f_i)`` ``[d]`` of each main effect and ``Var(f)`` of one tree."""
    d = len(columns)
    measure, mean, total = _moments(boxes, columns)
    # Products over every dimension but i, without dividing by a zero measure.
    ones = np.ones((measure.shape[0], 1))
    prefix = np.cumprod(np.hstack([ones, measure[:, :-1]]), axis=1)
    suffix = np.cumprod(np.hstack([ones, measure[:, :0:-1]]),
                        axis=1)[:, ::-1]
    others = prefix * suffix  # [L, d]
    variances = np.zeros(d)
    for i, column in enumerate(columns):
        cuts = np.unique(np.concatenate([boxes.lo[:, i], boxes.hi[:, i],
                                         [column.low, column.high]]))
        weight = boxes.value * others[:, i]
        step = np.zeros(len(cuts))
        np.add.at(step, np.searchsorted(cuts, boxes.lo[:, i]), weight)
        np.add.at(step, np.searchsorted(cuts, boxes.hi[:, i]), -weight)
        f_i = np.cumsum(step)[:-1]  # on each elementary interval [cuts[k], cuts[k + 1])
        mass = column.measure(cuts[:-1], cuts[1:])
        variances[i] = float(np.sum(mass * (f_i - mean) ** 2))
    return variances, max(total, 0.0)


def forest_boxes(table: Table, *, n_trees: int = 64, max_depth: int = 64,
                 seed: int = 0) -> list[TreeBoxes]:
    """Fit the random forest of [H14] (fully grown trees) and return its trees as boxes."""
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=n_trees, max_depth=max_depth,
                                   min_samples_split=2, min_samples_leaf=1, random_state=seed)
    forest.fit(table.x, table.y)
    return [tree_boxes(tree, table.columns) for tree in forest.estimators_]


def fanova(table: Table, *, n_trees: int = 64, max_depth: int = 64, seed: int = 0,
           boxes: list[TreeBoxes] | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Return each parameter's main-effect share of the variance (mean and standard deviation
    over the trees) and the share all main effects explain together."""
    if boxes is None:
        boxes = forest_boxes(table, n_trees=n_trees, max_depth=max_depth, seed=seed)
    shares = []
    for tree in boxes:
        variances, total = main_effects(tree, table.columns)
        if total > 0.0:
            shares.append(variances / total)
    if not shares:  # every tree constant: nothing explains anything
        zero = np.zeros(len(table.columns))
        return zero, zero, 0.0
    stacked = np.array(shares)
    return stacked.mean(axis=0), stacked.std(axis=0), float(stacked.sum(axis=1).mean())


def pair_interaction(boxes: TreeBoxes, columns: tuple[Column, ...], i: int,
                     j: int) -> tuple[float, float]:
    """Return the pure interaction variance of parameters ``i`` and ``j`` in one tree --
    ``Var(f_ij) - Var(f_i) - Var(f_j)`` with ``f_ij = E[f | x_i, x_j]`` -- and ``Var(f)``."""
    measure, mean, total = _moments(boxes, columns)
    rest = measure.copy()
    rest[:, [i, j]] = 1.0
    weight = boxes.value * np.prod(rest, axis=1)
    grids, masses, spans = [], [], []
    for k in (i, j):
        cuts = np.unique(np.concatenate([boxes.lo[:, k], boxes.hi[:, k],
                                         [columns[k].low, columns[k].high]]))
        grids.append(cuts)
        masses.append(columns[k].measure(cuts[:-1], cuts[1:]))
        spans.append((np.searchsorted(cuts, boxes.lo[:, k]),
                      np.searchsorted(cuts, boxes.hi[:, k])))
    step = np.zeros((len(grids[0]), len(grids[1])))
    (a0, a1), (b0, b1) = spans
    for a, b, sign in ((a0, b0, 1.0), (a1, b0, -1.0), (a0, b1, -1.0), (a1, b1, 1.0)):
        np.add.at(step, (a, b), sign * weight)
    f_ij = np.cumsum(np.cumsum(step, axis=0), axis=1)[:-1, :-1]
    mass = np.outer(masses[0], masses[1])
    joint = float(np.sum(mass * (f_ij - mean) ** 2))
    f_i = np.sum(f_ij * masses[1][None, :], axis=1) / max(float(masses[1].sum()), 1e-300)
    f_j = np.sum(f_ij * masses[0][:, None], axis=0) / max(float(masses[0].sum()), 1e-300)
    var_i = float(np.sum(masses[0] * (f_i - mean) ** 2))
    var_j = float(np.sum(masses[1] * (f_j - mean) ** 2))
    return max(joint - var_i - var_j, 0.0), max(total, 0.0)


def interactions(table: Table, boxes: list[TreeBoxes],
                 pairs: list[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """Return each pair's interaction share of the variance, averaged over the trees."""
    out: dict[tuple[int, int], float] = {}
    for i, j in pairs:
        shares = [v / t for v, t in (pair_interaction(tree, table.columns, i, j)
                                     for tree in boxes) if t > 0.0]
        out[(i, j)] = float(np.mean(shares)) if shares else 0.0
    return out
