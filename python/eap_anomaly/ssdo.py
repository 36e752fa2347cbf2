"""SSDO with an Isolation Forest (or k-NN) prior (SPEC section 4): the fitted detector and its
estimator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from . import _core
from ._validation import (
    check_candidates,
    check_choice,
    check_chunk,
    check_float,
    check_int,
    check_labels,
    check_matrix,
    check_n_jobs,
    safe_scale,
    scaled,
    thread_count,
)
from .posterior import THRESHOLDS, class_probability, squash_thresholds
from .prior import PRIORS, IsolationPrior, NeighbourPrior, prior_from_state
from .training_pass import TrainingPass

#: Smallest admissible kernel bandwidth (SPEC section 4.2).
ETA_FLOOR = 1e-10


def bandwidth(X: np.ndarray, k: int, threads: int, scale: float) -> float:
    """eta in the data's units from X scaled by ``scale`` (see :func:`eta_from_distances`)."""
    return eta_from_distances(_core.knn_radii(X, min(k, X.shape[0] - 1), threads), scale)


def eta_from_distances(delta: np.ndarray, scale: float) -> float:
    """eta in the data's units from each point's distance ``delta`` to its k-th nearest other
    point (scaled by ``scale``): their harmonic mean, zeros replaced by the smallest positive
    one, floored at 1e-10 (SPEC section 4.2). Scaling by a power of two commutes with every step
    but the floor."""
    positive = delta[delta > 0]
    if positive.size == 0:
        return ETA_FLOOR
    delta = np.where(delta > 0, delta, positive.min())
    return max(float(delta.shape[0] / np.sum(1.0 / delta)) / scale, ETA_FLOOR)


@dataclass
class Detector:
    """A fitted SSDO, without its training points: what turns an Isolation Forest path length
    and the kernel sums of a :class:`TrainingPass` into f and P(y=1|x)."""

    prior: Union[IsolationPrior, NeighbourPrior]
    prior_min: float  # raw prior scores of the training set span [prior_min, prior_min + prior_span]
    prior_span: float
    eta: float  # kernel bandwidth, in the data's units
    alpha: float
    shift: float  # training minimum of f (SPEC section 5)
    threshold: float  # squashing lambda

    def decision(self, Z: np.ndarray, w_pos: np.ndarray, w_neg: np.ndarray, threads: int,
                 raw: Optional[np.ndarray] = None) -> np.ndarray:
        """f(Z) (see :func:`decision`); ``raw`` = prior raw scores of Z when already known (a
        k-NN prior's always: they need the training rows)."""
        if raw is None:
            if not isinstance(self.prior, IsolationPrior):
                raise TypeError("a k-NN prior's raw scores need the training rows: pass raw")
            raw = self.prior.raw_scores(Z, threads)
        return decision(raw, self.prior_min, self.prior_span, self.alpha, w_pos, w_neg)

    def probability(self, f: np.ndarray) -> np.ndarray:
        return class_probability(f, self.shift, self.threshold)

    def arrays(self) -> Dict[str, Any]:
        """Plain arrays of the fitted state (what a saved model holds)."""
        out: Dict[str, Any] = {f"prior/{k}": v for k, v in self.prior.state().items()}
        out.update({name: getattr(self, name) for name in SCALARS})
        return out

    @classmethod
    def from_arrays(cls, data: Dict[str, Any]) -> "Detector":
        prior = prior_from_state({k[len("prior/"):]: v for k, v in data.items() if k.startswith("prior/")})
        return cls(prior, **{name: float(data[name]) for name in SCALARS})


SCALARS = ("prior_min", "prior_span", "eta", "alpha", "shift", "threshold")


def decision(raw: np.ndarray, prior_min: Any, prior_span: Any, alpha: Any, w_pos: np.ndarray,
             w_neg: np.ndarray) -> np.ndarray:
    """SSDO's f = (p0 + alpha W+) / (1 + alpha (W+ + W-)), p0 the prior's raw score min-max
    scaled over the training set (0 when it spans nothing). The scalars are floats, or arrays
    broadcast against ``raw`` (one value per bagging round)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(np.asarray(prior_span) == 0.0, 0.0,
                      np.clip((raw - prior_min) / prior_span, 0.0, 1.0))
    f: np.ndarray = (p0 + alpha * w_pos) / (1.0 + alpha * (w_pos + w_neg))
    return f


def stacked(detectors: Sequence[Detector], field: str) -> np.ndarray:
    """A column of each detector's scalar ``field``, to broadcast against (rounds, rows) arrays."""
    return np.array([getattr(d, field) for d in detectors], dtype=np.float64)[:, None]


def fit_detector(X: np.ndarray, Xs: np.ndarray, anomaly: np.ndarray, scale: float,
                 radius: np.ndarray, k: int, alpha: float, n_estimators: int, prior_kind: str,
                 threshold: str, random_state: Any, threads: int) -> Tuple[Detector, TrainingPass, np.ndarray, np.ndarray]:
    """SSDO on validated training points X (``Xs`` = X scaled by ``scale``) whose training pass
    also tests the balls ``radius`` (scaled units, 0 = none). Returns the detector, the pass,
    f of each training point and its rarity against the balls (scaled units)."""
    delta = _core.knn_radii(Xs, min(k, X.shape[0] - 1), threads)
    eta = eta_from_distances(delta, scale)
    prior: Union[IsolationPrior, NeighbourPrior]
    if prior_kind == "knn":
        prior, raw = NeighbourPrior(min(k, X.shape[0] - 1)), delta
    else:
        prior = IsolationPrior.fit(X, n_estimators, random_state, thread_count(threads), prior_kind)
        raw = prior.raw_scores(X, threads)
    training = TrainingPass(Xs, anomaly, radius, eta * scale)
    # exact: the same bits as the shared fit's pairwise distances (EAPScorer._fit_shared)
    w_pos, w_neg, rarity = training.score(Xs, threads, exact=True)
    detector, f = finish_detector(prior, raw, eta, alpha, w_pos, w_neg, int(anomaly.sum()), threshold)
    return detector, training, f, rarity


def finish_detector(prior: Union[IsolationPrior, NeighbourPrior], raw: np.ndarray, eta: float, alpha: float,
                    w_pos: np.ndarray, w_neg: np.ndarray, n_anomalies: int,
                    threshold: str) -> Tuple[Detector, np.ndarray]:
    """The detector from its training points' raw prior scores ``raw`` and kernel sums, and f
    of each training point."""
    detectors, f = finish_detectors([prior], raw, np.array([0, raw.shape[0]]), [eta], alpha,
                                    w_pos, w_neg, np.array([n_anomalies]), threshold)
    return detectors[0], f


def finish_detectors(priors: Sequence[Union[IsolationPrior, NeighbourPrior]], raw: np.ndarray, offsets: np.ndarray,
                     etas: Sequence[float], alpha: float, w_pos: np.ndarray, w_neg: np.ndarray,
                     n_anomalies: np.ndarray, threshold: str) -> Tuple[List[Detector], np.ndarray]:
    """:func:`finish_detector` of every bagging round at once, the same detectors bit for bit:
    round r's training points are ``raw[offsets[r]:offsets[r + 1]]`` (likewise ``w_pos``,
    ``w_neg``), with prior ``priors[r]``, bandwidth ``etas[r]`` and ``n_anomalies[r]``
    anomalies. Returns the detectors and f of every training point, in that layout."""
    starts, sizes = offsets[:-1], np.diff(offsets)
    low = np.minimum.reduceat(raw, starts)
    span = np.maximum.reduceat(raw, starts) - low
    f = decision(raw, np.repeat(low, sizes), np.repeat(span, sizes), alpha, w_pos, w_neg)
    shift, lam = squash_thresholds(f, offsets, n_anomalies, threshold)
    detectors = [Detector(prior, float(lo), float(sp), float(eta), alpha, float(sh), float(la))
                 for prior, lo, sp, eta, sh, la in zip(priors, low, span, etas, shift, lam)]
    return detectors, f


def check_rows(X: np.ndarray, name: str = "X") -> None:
    """Training data needs two rows (a neighbour, a normal and an anomaly at the very least)."""
    if X.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 rows, got n_samples = {X.shape[0]}")


def semi_supervised_tags(tags: Any) -> Any:
    """scikit-learn (>= 1.6) tags of a semi-supervised anomaly detector: it needs labels y, and
    they are binary (1 = anomaly, 0 = normal, or +1/-1). It is neither a classifier (no
    ``predict``) nor an unsupervised outlier detector (its ``fit`` takes y)."""
    from sklearn.utils import ClassifierTags

    tags.target_tags.required = True
    tags.target_tags.single_output = True
    tags.classifier_tags = ClassifierTags(multi_class=False, multi_label=False, poor_score=True)
    return tags


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
    prior : {"native", "sklearn", "knn"}, default "native"
        Who builds the Isolation Forest: the C++ core (fast, equal to scikit-learn's in
        distribution) or ``sklearn.ensemble.IsolationForest`` (bit-exact with scikit-learn, for
        comparisons with other implementations of SPEC). ``"knn"`` (not SPEC) replaces the
        forest by the distance to the k-th nearest training row (``n_estimators`` unused):
        docs/quality.md.
    threshold : {"exact", "percentile"}, default "exact"
        Squashing threshold lambda of :meth:`predict_proba` (SPEC section 5); "percentile" is
        the authors' code.
    random_state : int, RandomState or None
        Seeds the Isolation Forest.
    n_jobs : int or None
        Threads of the C++ core (None: OpenMP default; -1: all CPUs). Results do not depend on it.

    Attributes
    ----------
    detector_ : Detector
        The fitted prior (Isolation Forest node arrays, scored in the C++ core and equal to
        ``-IsolationForest.score_samples``; or, with ``prior="knn"``, the rank k), bandwidth
        ``eta``, squashing ``shift`` and ``threshold``.
    decision_scores_ : ndarray (n,)
        f on the training points (each includes its own weight-1 kernel term).
    X_train_, is_anomaly_ : the training points and their labels (the kernel sums need them).
    scale_ : float
        Power of two applied to the data before the core (1.0 unless magnitudes are extreme).
    n_anomalies_, n_features_in_ : int
    """

    def __init__(
        self,
        k: int = 10,
        alpha: float = 2.3,
        n_estimators: int = 100,
        prior: str = "native",
        threshold: str = "exact",
        random_state: Any = None,
        n_jobs: Optional[int] = None,
    ) -> None:
        self.k = k
        self.alpha = alpha
        self.n_estimators = n_estimators
        self.prior = prior
        self.threshold = threshold
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> "SSDO":
        """Fit on training points X (n x d) with labels y (1/+1 = anomaly, 0/-1 = normal)."""
        X = check_matrix(X, "X")
        check_rows(X)
        anomaly = check_labels(y, X.shape[0])
        k = check_int(self.k, "k", low=1)
        alpha = check_float(self.alpha, "alpha", low=0.0, high=np.inf, high_open=True)
        n_estimators = check_int(self.n_estimators, "n_estimators", low=1)
        threshold = check_choice(self.threshold, "threshold", THRESHOLDS)
        prior = check_choice(self.prior, "prior", PRIORS)
        threads = check_n_jobs(self.n_jobs)
        self.X_train_ = X.copy()
        self.is_anomaly_ = anomaly
        self.scale_ = safe_scale(X)
        self.detector_, self._pass, self.decision_scores_, _ = fit_detector(
            self.X_train_, scaled(self.X_train_, self.scale_), anomaly, self.scale_,
            np.zeros(X.shape[0]), k, alpha, n_estimators, prior, threshold, self.random_state, threads)
        self.n_anomalies_ = int(anomaly.sum())
        self.n_features_in_ = X.shape[1]
        return self

    def __sklearn_tags__(self) -> Any:
        return semi_supervised_tags(super().__sklearn_tags__())

    def __getstate__(self) -> Dict[str, Any]:
        state: Dict[str, Any] = dict(super().__getstate__())
        state.pop("_pass", None)  # the core's packed points: rebuilt from X_train_
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)
        if hasattr(self, "detector_"):
            self._pass = TrainingPass(scaled(self.X_train_, self.scale_), self.is_anomaly_,
                                      np.zeros(self.X_train_.shape[0]), self.detector_.eta * self.scale_)

    def _decision(self, Z: np.ndarray, threads: int) -> np.ndarray:
        Zs = scaled(Z, self.scale_)
        w_pos, w_neg, _ = self._pass.score(Zs, threads)
        prior = self.detector_.prior
        raw = (prior.raw_scores(Zs, scaled(self.X_train_, self.scale_), threads)
               if isinstance(prior, NeighbourPrior) else None)
        return self.detector_.decision(Z, w_pos, w_neg, threads, raw)

    def decision_function(self, Z: Any) -> np.ndarray:
        """SSDO score f(Z), float64 (n,); higher = more anomalous."""
        check_is_fitted(self, "detector_")
        dtype = self.X_train_.dtype
        rows = check_chunk(check_candidates(Z, "Z", self.n_features_in_, dtype), "Z", dtype)
        return self._decision(rows, check_n_jobs(self.n_jobs))

    def predict_proba(self, Z: Any) -> np.ndarray:
        """Columns [P(y=0|z), P(y=1|z)] from the squashing scaler (SPEC section 5)."""
        f = self.decision_function(Z)
        p = self.detector_.probability(f)
        return np.column_stack([1.0 - p, p])
