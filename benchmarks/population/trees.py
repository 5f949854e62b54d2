"""A small gradient-boosted ensemble of regression trees, numpy only (issue 14's second model class).

The reader's first model is a ridge regression. The issue also names a small tree ensemble, which can
find interactions a linear model cannot (e.g. "Adam *and* one-cycle"). This is the plain algorithm:
start from the mean, then fit each tree to the residuals by least squares, with depth-limited
greedy splits on at most ``n_thresholds`` quantiles of each feature and a minimum leaf size, and add
it shrunk by ``shrink``. A fitted ensemble is a list of nested dicts, so it could ship as JSON the way
the ridge coefficients do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _best_split(X: np.ndarray, r: np.ndarray, min_leaf: int, n_thresholds: int) -> tuple[int, float, float] | None:
    """(feature, threshold, gain) of the split of ``r`` that most reduces the squared error, or None."""
    n = len(r)
    total, best = r.sum(), None
    base = total * total / n
    for j in range(X.shape[1]):
        x = X[:, j]
        qs = np.unique(np.quantile(x, np.linspace(0, 1, n_thresholds + 2)[1:-1]))
        for t in qs:
            left = x <= t
            nl = int(left.sum())
            if nl < min_leaf or n - nl < min_leaf:
                continue
            sl = r[left].sum()
            gain = sl * sl / nl + (total - sl) ** 2 / (n - nl) - base
            if best is None or gain > best[2]:
                best = (j, float(t), float(gain))
    return best


def _grow(X: np.ndarray, r: np.ndarray, depth: int, min_leaf: int, n_thresholds: int) -> dict[str, Any]:
    if depth == 0 or len(r) < 2 * min_leaf:
        return {"v": float(r.mean())}
    split = _best_split(X, r, min_leaf, n_thresholds)
    if split is None or split[2] <= 1e-12:
        return {"v": float(r.mean())}
    j, t, _ = split
    left = X[:, j] <= t
    return {"f": j, "t": t, "l": _grow(X[left], r[left], depth - 1, min_leaf, n_thresholds),
            "r": _grow(X[~left], r[~left], depth - 1, min_leaf, n_thresholds)}


def _predict_tree(node: dict[str, Any], X: np.ndarray) -> np.ndarray:
    if "v" in node:
        return np.full(len(X), node["v"])
    left = X[:, node["f"]] <= node["t"]
    out = np.empty(len(X))
    out[left] = _predict_tree(node["l"], X[left])
    out[~left] = _predict_tree(node["r"], X[~left])
    return out


@dataclass
class Boosted:
    """A fitted ensemble over named features; ``offset(features)`` as the ridge reader's (a feature
    missing from ``features`` takes its training mean)."""

    names: list[str]
    fill: list[float]
    base: float
    shrink: float
    trees: list[dict[str, Any]] = field(default_factory=list)

    def predict(self, X: np.ndarray) -> np.ndarray:
        out = np.full(len(X), self.base)
        for tr in self.trees:
            out += self.shrink * _predict_tree(tr, X)
        return out

    def offset(self, features: dict[str, float]) -> float:
        x = np.array([[features.get(n, m) for n, m in zip(self.names, self.fill)]])
        return float(self.predict(x)[0])


def fit_boosted(X: np.ndarray, y: np.ndarray, names: list[str], *, n_trees: int = 100, depth: int = 2,
                shrink: float = 0.05, min_leaf: int = 20, n_thresholds: int = 16) -> Boosted:
    """Fit ``n_trees`` trees of at most ``depth`` levels to ``y`` (least squares)."""
    if X.ndim != 2 or len(X) != len(y) or X.shape[1] != len(names):
        raise ValueError(f"X must be (rows, {len(names)}) and y (rows,); got {X.shape} and {y.shape}")
    m = Boosted(list(names), X.mean(0).tolist(), float(y.mean()), shrink)
    pred = np.full(len(y), m.base)
    for _ in range(n_trees):
        tr = _grow(X, y - pred, depth, min_leaf, n_thresholds)
        m.trees.append(tr)
        pred += shrink * _predict_tree(tr, X)
    return m
