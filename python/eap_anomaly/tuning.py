"""Choosing a scorer's options from the training set alone (``EAPScorer(choose_from=...)``,
docs/quality.md): an internal validation in which held-out training anomalies are the realistic
candidates, held-out normals the indistinguishable ones, and training rows with every feature
shuffled independently the off-manifold ones. No candidate and no test row is looked at."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence

import numpy as np
from sklearn.metrics import roc_auc_score

#: Options that ``choose_from`` may vary (they change the fit, not the candidates' checks).
CHOOSABLE = ("ssdo_k", "alpha", "whiten")

#: Folds of the internal validation.
N_FOLDS = 5


def check_choose_from(value: Any) -> Any:
    """None, or a non-empty sequence of dicts whose keys are among :data:`CHOOSABLE`."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence) or len(value) == 0:
        raise TypeError(f"choose_from must be None or a non-empty list of dicts of options, got {value!r}")
    for option in value:
        if not isinstance(option, dict):
            raise TypeError(f"choose_from must hold dicts of options, got {option!r}")
        unknown = sorted(set(option) - set(CHOOSABLE))
        if unknown:
            raise ValueError(f"choose_from: options {unknown} cannot be chosen; only {CHOOSABLE}")
    return value


def shuffled_rows(X: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` rows whose features are drawn independently from X's rows (every column
    resampled on its own): the right marginals, none of the joint structure."""
    # One draw of (columns, size) is the stream of one draw of `size` per column in turn.
    rows = rng.integers(0, X.shape[0], (X.shape[1], size))
    return np.ascontiguousarray(X[rows.T, np.arange(X.shape[1])])


def validation_folds(y: np.ndarray, n_folds: int, rng: np.random.Generator) -> List[np.ndarray]:
    """Stratified folds of the training rows: each holds out about 1/n_folds of the anomalies
    and as many normals; folds without an anomaly are dropped."""
    anomalies = rng.permutation(np.flatnonzero(y == 1))
    normals = rng.permutation(np.flatnonzero(y == 0))
    folds = []
    for f in range(n_folds):
        a = anomalies[f::n_folds]
        folds.append(np.concatenate([a, normals[f::n_folds][:max(a.size, 1)]]))
    return [f for f in folds if np.any(y[f] == 1)]


def validation_auc(score_fold: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
                   X: np.ndarray, y: np.ndarray, seed: int, n_folds: int = N_FOLDS) -> float:
    """Mean over folds of the AUC_QLT of the held-out candidates: held-out anomalies are good;
    held-out normals and as many shuffled rows of the fitted part (at least as many as the
    held-out anomalies) are poor. ``score_fold(X_fit, y_fit, Z)`` fits on the rest and returns
    the candidates' quality. The folds and shuffled rows depend on ``seed`` only, so every
    option is validated on the same candidates."""
    rng = np.random.default_rng(seed)
    aucs = []
    for held in validation_folds(y, n_folds, rng):
        keep = np.setdiff1d(np.arange(y.size), held)
        n_held_anomalies = int(np.sum(y[held] == 1))
        off = shuffled_rows(X[keep], max(n_held_anomalies, held.size - n_held_anomalies), rng)
        good = np.r_[y[held] == 1, np.zeros(off.shape[0], bool)]
        quality = score_fold(X[keep], y[keep], np.vstack([X[held], off]))
        aucs.append(roc_auc_score(good, quality))
    return float(np.mean(aucs))


def option_label(option: Dict[str, Any]) -> str:
    """A short name of one option set, e.g. ``ssdo_k=30`` (``default`` for {})."""
    return ", ".join(f"{k}={v}" for k, v in option.items()) or "default"
