"""SSDO with an Isolation Forest prior (SPEC section 4), a scikit-learn style estimator."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._validation import (
    TAU,
    thread_count,
    as_fitted_dtype,
    check_float,
    check_int,
    check_labels,
    check_matrix,
    check_n_jobs,
    safe_scale,
)
from .geometry import knn_radii
from .posterior import THRESHOLDS, class_probability, squash_threshold
from .prior import IsolationPrior

#: Smallest admissible kernel bandwidth (SPEC section 4.2).
ETA_FLOOR = 1e-10

#: Fitted attributes that, with ``prior_``, are the whole fitted state (what a saved model holds).
FITTED_ARRAYS = ("X_train_", "is_anomaly_", "ball_radius_", "decision_scores_")
FITTED_SCALARS = ("eta_", "prior_min_", "prior_span_", "alpha_", "offset_", "threshold_",
                  "n_anomalies_", "n_features_in_")


def bandwidth(X: np.ndarray, k: int, threads: int) -> float:
    """Harmonic mean of the distances to the k-th nearest other point, zeros replaced by the
    smallest positive one, floored at 1e-10 (SPEC section 4.2)."""
    delta = knn_radii(X, min(k, X.shape[0] - 1), threads if threads > 0 else None)
    positive = delta[delta > 0]
    if positive.size == 0:
        return ETA_FLOOR
    delta = np.where(delta > 0, delta, positive.min())
    return max(float(delta.shape[0] / np.sum(1.0 / delta)), ETA_FLOOR)


class SSDO(BaseEstimator):
    """Semi-supervised anomaly detector SSDO (Vercruyssen et al., ICDM 2018).

    An Isolation Forest gives the unsupervised prior; label propagation from every labelled
    training point (kernel ``2^-(d/eta)^2``) moves it towards the labels. Scores are "higher =
    more anomalous".

    Parameters
    ----------
    k : int, default 10
        Neighbour rank for the bandwidth eta (harmonic mean of k-NN distances).
    alpha : float, default 2.3
        Weight of the propagated labels against the prior.
    n_estimators : int, default 100
        Trees of the Isolation Forest prior (``max_samples="auto"``).
    threshold : {"exact", "percentile"}, default "exact"
        Squashing threshold lambda of :meth:`predict_proba` (SPEC section 5); "percentile" is
        the authors' code.
    random_state : int, RandomState or None
        Seeds the Isolation Forest.
    n_jobs : int or None
        Threads of the C++ core (None: OpenMP default; -1: all CPUs). Results do not depend on it.

    Attributes
    ----------
    prior_ : IsolationPrior
        The fitted Isolation Forest as node arrays (scored in the C++ core; equal to
        ``-IsolationForest.score_samples``).
    eta_ : float
        Kernel bandwidth.
    decision_scores_ : ndarray (n,)
        f on the training points (each includes its own weight-1 kernel term).
    offset_, threshold_ : float
        Squashing offset (training minimum of f) and lambda.
    n_anomalies_ : int
    n_features_in_ : int
    """

    def __init__(
        self,
        k: int = 10,
        alpha: float = 2.3,
        n_estimators: int = 100,
        threshold: str = "exact",
        random_state: Any = None,
        n_jobs: Optional[int] = None,
    ) -> None:
        self.k = k
        self.alpha = alpha
        self.n_estimators = n_estimators
        self.threshold = threshold
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> "SSDO":
        """Fit on training points X (n x d) with labels y (1/+1 = anomaly, 0/-1 = normal)."""
        X = check_matrix(X, "X")
        anomaly = check_labels(y, X.shape[0])
        self._fit(X, anomaly, np.zeros(X.shape[0]))
        return self

    def _fit(self, X: np.ndarray, anomaly: np.ndarray, ball_radius: np.ndarray) -> np.ndarray:
        """Fit on validated data; ``ball_radius`` (0 = no ball) makes the training pass also
        return each training point's rarity against those balls (SPEC section 6)."""
        if X.shape[0] < 2:
            raise ValueError(f"X must have at least 2 rows, got {X.shape[0]}")
        if anomaly.all():
            raise ValueError("y must contain at least one normal (label 0 or -1)")
        k = check_int(self.k, "k", low=1)
        alpha = check_float(self.alpha, "alpha", low=0.0, high=np.inf, high_open=True)
        check_int(self.n_estimators, "n_estimators", low=1)
        if self.threshold not in THRESHOLDS:
            raise ValueError(f"threshold must be one of {THRESHOLDS}, got {self.threshold!r}")
        threads = check_n_jobs(self.n_jobs)

        self.prior_ = IsolationPrior.fit(X, self.n_estimators, self.random_state, thread_count(threads))
        raw = self.prior_.raw_scores(X, threads)
        self.prior_min_ = float(raw.min())
        self.prior_span_ = float(raw.max() - raw.min())
        self.eta_ = bandwidth(X, k, threads)
        self.n_features_in_ = X.shape[1]
        self.n_anomalies_ = int(anomaly.sum())
        self.alpha_ = alpha
        # What the core index is rebuilt from after unpickling (the index itself is not pickled).
        self.X_train_ = X.copy()
        self.is_anomaly_ = anomaly.astype(np.uint8)
        self.ball_radius_ = np.ascontiguousarray(ball_radius, dtype=np.float64)
        self._index: Any = None

        scores, rarity = self._score_parts(self.X_train_, threads, raw=raw)
        self.decision_scores_ = scores
        self.offset_, self.threshold_ = squash_threshold(scores, self.n_anomalies_, self.threshold)
        return rarity

    def _core_index(self) -> Any:
        if self._index is None:
            X = self.X_train_
            scale = safe_scale(X)
            make = _core.TrainingPassF32 if X.dtype == np.float32 else _core.TrainingPassF64
            self._index = make(
                X * X.dtype.type(scale) if scale != 1.0 else X,
                self.is_anomaly_,
                self.ball_radius_ * scale,
                TAU[X.dtype],
                self.eta_ * scale,
            )
            self._scale = scale
        return self._index

    def _prior_from_raw(self, raw: np.ndarray) -> np.ndarray:
        if self.prior_span_ == 0.0:
            return np.zeros_like(raw)
        return np.clip((raw - self.prior_min_) / self.prior_span_, 0.0, 1.0)

    def _score_parts(self, Z: np.ndarray, threads: int,
                     raw: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """SSDO scores f(Z) and rarity of Z against the balls, from one pass of the core."""
        index = self._core_index()
        Zs = Z * Z.dtype.type(self._scale) if self._scale != 1.0 else Z
        w_pos, w_neg, rarity = index.score(Zs, threads)
        prior = self._prior_from_raw(self.prior_.raw_scores(Z, threads) if raw is None else raw)
        scores = (prior + self.alpha_ * w_pos) / (1.0 + self.alpha_ * (w_pos + w_neg))
        return scores, rarity / self._scale if self._scale != 1.0 else rarity

    def _check_Z(self, Z: Any) -> np.ndarray:
        check_is_fitted(self, "prior_")
        rows = check_matrix(Z, "Z", allow_empty_rows=True)
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(f"Z has {rows.shape[1]} features but the model was fitted with {self.n_features_in_}")
        return as_fitted_dtype(rows, self.X_train_.dtype)

    def decision_function(self, Z: Any) -> np.ndarray:
        """SSDO score f(Z), float64 (n,); higher = more anomalous."""
        return self._score_parts(self._check_Z(Z), check_n_jobs(self.n_jobs))[0]

    def predict_proba(self, Z: Any) -> np.ndarray:
        """Columns [P(y=0|z), P(y=1|z)] from the squashing scaler (SPEC section 5)."""
        p = class_probability(self.decision_function(Z), self.offset_, self.threshold_)
        return np.column_stack([1.0 - p, p])

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_index"] = None  # rebuilt from X_train_ on first use
        return state
