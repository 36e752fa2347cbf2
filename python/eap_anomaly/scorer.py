"""The fitted EAP scorer and the one-call ``score_auxiliary`` (SPEC sections 6-7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional, Union, overload

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import as_fitted_dtype, check_float, check_int, check_labels, check_matrix, check_n_jobs
from .geometry import estimate_k, knn_radii
from .persistence import load_scorer, save_scorer
from .posterior import THRESHOLDS, check_prior, class_probability, density, expected_anomaly_posterior
from .ssdo import SSDO

CENTRES = ("all", "normals")


@dataclass
class EAPResult:
    """Per-candidate details of a scoring run (means over rounds when bagging).

    quality : EAP, higher = better auxiliary anomaly. p_anomaly : P(y=1|z). density : P_x(z).
    rarity : rarity of z at k-hat (0 = outside every ball). k : k-hat (an array of one value per
    round when bagging). threshold : squashing lambda (likewise).
    """

    quality: np.ndarray
    p_anomaly: np.ndarray
    density: np.ndarray
    rarity: np.ndarray
    k: Union[int, np.ndarray]
    threshold: Union[float, np.ndarray]


@dataclass
class _Round:
    """One fitted detector + density: the whole training set, or one bagging round."""

    detector: SSDO
    k: int
    n_centres: int
    rho_sum: float


class EAPScorer(BaseEstimator):
    """Expected Anomaly Posterior: fit once on labelled training data, score many candidates.

    Quality is "higher = better auxiliary anomaly": realistic anomalies score highest, then
    unrealistic (off-manifold) ones, then indistinguishable ones that look normal.

    Parameters
    ----------
    centres : {"all", "normals"}, default "all"
        Sphere centres of the density: all training points (paper) or the normals (authors' code).
    k : int or None
        Neighbour rank of the density; None estimates k-hat (SPEC section 3).
    k_min : int, default 1
    alpha0, beta0 : float or None
        Beta prior; defaults m/n and 1 - m/n.
    n_bags : int, default 0
        Bagging rounds (authors' code: 100); 0 fits once.
    random_state : int, RandomState or None
        Seeds the Isolation Forest and the bagging draws.
    n_jobs : int or None
        Threads of the core (None: OpenMP default; -1: all CPUs). Results do not depend on it.
    ssdo_k : int, default 10
        Neighbour rank of the SSDO bandwidth.
    alpha : float, default 2.3
        SSDO label weight.
    threshold : {"exact", "percentile"}, default "exact"
        Squashing threshold (SPEC section 5).
    quantile : float, default 0.95
        Posterior quantile of k-hat.
    chunk_size : int or None, default None
        Candidates per pass of the core; memory is O(chunk_size) besides the output. None sizes
        chunks to about 2^31 distance terms (a fraction of a second), so that Ctrl-C, checked
        between chunks, interrupts a long ``score`` promptly.
    """

    def __init__(
        self,
        centres: str = "all",
        k: Optional[int] = None,
        k_min: int = 1,
        alpha0: Optional[float] = None,
        beta0: Optional[float] = None,
        n_bags: int = 0,
        random_state: Any = None,
        n_jobs: Optional[int] = None,
        ssdo_k: int = 10,
        alpha: float = 2.3,
        threshold: str = "exact",
        quantile: float = 0.95,
        chunk_size: Optional[int] = None,
    ) -> None:
        self.centres = centres
        self.k = k
        self.k_min = k_min
        self.alpha0 = alpha0
        self.beta0 = beta0
        self.n_bags = n_bags
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.ssdo_k = ssdo_k
        self.alpha = alpha
        self.threshold = threshold
        self.quantile = quantile
        self.chunk_size = chunk_size

    @classmethod
    def authors_code(cls, **overrides: Any) -> "EAPScorer":
        """The choices of the authors' published code: centres "normals", k_min 5, SSDO k 5,
        percentile lambda, 100 bagging rounds (SPEC section 7)."""
        params: Dict[str, Any] = dict(centres="normals", k_min=5, ssdo_k=5, threshold="percentile",
                                      n_bags=100)
        params.update(overrides)
        return cls(**params)

    def fit(self, X: Any, y: Any) -> "EAPScorer":
        """Fit the detector(s), k-hat, the centre radii and rarities on training data.

        X : (n, d) float32/float64; y : labels 1/+1 = anomaly, 0/-1 = normal.
        """
        X = check_matrix(X, "X")
        anomaly = check_labels(y, X.shape[0])
        n, m = X.shape[0], int(anomaly.sum())
        self._check_params()
        k_min, n_bags = int(self.k_min), int(self.n_bags)
        alpha0 = m / n if self.alpha0 is None else self.alpha0
        beta0 = 1.0 - m / n if self.beta0 is None else self.beta0
        self.alpha0_, self.beta0_ = check_prior(alpha0, beta0)

        if n_bags == 0 or not self._round_is_usable(anomaly, np.arange(n)):
            # the whole training set; one that cannot be fitted raises the precise error here
            self.rounds_ = [self._fit_round(X, anomaly, np.arange(n), self.random_state)]
        else:
            rng = check_random_state(self.random_state)
            low = min((k_min + 1 + m) / n, 0.99)
            self.rounds_ = []
            for _ in range(100 * n_bags):  # unusable draws are redrawn, a bounded number of times
                keep = np.flatnonzero(rng.random_sample(n) < rng.uniform(low, 0.99))
                if self._round_is_usable(anomaly, keep):
                    seed = int(rng.randint(np.iinfo(np.int32).max))
                    self.rounds_.append(self._fit_round(X, anomaly, keep, seed))
                    if len(self.rounds_) == n_bags:
                        break
            else:
                raise ValueError(f"n_bags: only {len(self.rounds_)} of {n_bags} bagging rounds could "
                                 f"be drawn with enough rows; use fewer rounds or n_bags=0")
        self.n_features_in_ = X.shape[1]
        self.dtype_ = X.dtype
        return self

    def _check_params(self) -> None:
        if self.centres not in CENTRES:
            raise ValueError(f"centres must be one of {CENTRES}, got {self.centres!r}")
        check_int(self.k_min, "k_min", low=1)
        check_int(self.n_bags, "n_bags", low=0)
        check_float(self.quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True)
        if self.chunk_size is not None:
            check_int(self.chunk_size, "chunk_size", low=1)
        check_n_jobs(self.n_jobs)
        if self.k is not None:
            check_int(self.k, "k", low=1)
        check_int(self.ssdo_k, "ssdo_k", low=1)
        check_float(self.alpha, "alpha", low=0.0, high=np.inf, high_open=True)
        if self.threshold not in THRESHOLDS:
            raise ValueError(f"threshold must be one of {THRESHOLDS}, got {self.threshold!r}")

    def _round_is_usable(self, anomaly: np.ndarray, rows: np.ndarray) -> bool:
        normals = int((~anomaly[rows]).sum())
        n_centres = rows.size if self.centres == "all" else normals
        return normals >= 1 and rows.size >= 2 and n_centres >= 2 and (
            self.k is None or self.k <= n_centres - 1
        )

    def _fit_round(self, X: np.ndarray, anomaly: np.ndarray, rows: np.ndarray, seed: Any) -> _Round:
        """Detector and density on the training rows ``rows``; k-hat queries are all training
        anomalies (leave-one-out for those that are centres of the round)."""
        threads = check_n_jobs(self.n_jobs)
        n_jobs = threads if threads > 0 else None
        Xr, ar = X[rows], anomaly[rows]
        is_centre = np.ones(rows.size, bool) if self.centres == "all" else ~ar
        centre_rows = np.flatnonzero(is_centre)
        n_centres = centre_rows.size
        if n_centres < 2:
            raise ValueError(f"at least 2 centres are needed (centres={self.centres!r}), got {n_centres}")
        C = Xr[centre_rows]
        if self.k is None:
            position = np.full(X.shape[0], -1, dtype=np.int64)
            position[rows[centre_rows]] = np.arange(n_centres)
            k = estimate_k(C, X[anomaly], self.k_min, self.quantile,
                           anomaly_index=position[anomaly], n_jobs=n_jobs)
        else:
            k = check_int(self.k, "k", low=1, high=n_centres - 1)
        ball_radius = np.zeros(rows.size)
        ball_radius[centre_rows] = knn_radii(C, k, n_jobs)
        detector = SSDO(k=self.ssdo_k, alpha=self.alpha, threshold=self.threshold,
                        random_state=seed, n_jobs=self.n_jobs)
        rarity = detector._fit(np.ascontiguousarray(Xr), ar, ball_radius)[centre_rows]
        rho_sum = float(np.sum(1.0 / rarity[rarity > 0]))
        return _Round(detector, k, n_centres, rho_sum)

    @overload
    def score(self, Z: Any, return_details: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def score(self, Z: Any, return_details: Literal[True]) -> EAPResult: ...

    def score(self, Z: Any, return_details: bool = False) -> Union[np.ndarray, EAPResult]:
        """Quality (EAP) of each candidate row of Z, float64 (l,); higher = better.

        Candidates are processed ``chunk_size`` rows at a time, each chunk in one fused pass of
        the core over the training points, so a memory-mapped ``.npy`` is never loaded whole.
        float32 candidates for a float64 model are converted chunk by chunk (exact); float64
        candidates for a float32 model raise ``TypeError`` (cast them explicitly).
        """
        return self._score(Z, return_details, "Z")

    def _score(self, Z: Any, return_details: bool, name: str) -> Union[np.ndarray, EAPResult]:
        """:meth:`score`, with errors naming the caller's argument ``name``. Each chunk is
        validated as it is read, so the candidates are scanned once."""
        check_is_fitted(self, "rounds_")
        if isinstance(Z, np.ndarray) and Z.ndim == 2:
            rows = Z  # sliced lazily: memory maps stay on disk; dtype checked on an empty slice
            as_fitted_dtype(check_matrix(Z[:0], name, allow_empty_rows=True), self.dtype_, name)
        else:
            rows = check_matrix(Z, name, allow_empty_rows=True)
        if rows.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} has {rows.shape[1]} features but the scorer was fitted with "
                             f"{self.n_features_in_}")
        chunk = self._chunk_rows()
        threads = check_n_jobs(self.n_jobs)
        l = rows.shape[0]
        fields = ("quality", "p_anomaly", "density", "rarity")[:4 if return_details else 1]
        out = {name: np.empty(l) for name in fields}
        for start in range(0, l, chunk):
            block = as_fitted_dtype(check_matrix(rows[start:start + chunk], name), self.dtype_, name)
            parts = [self._score_round(r, block, threads) for r in self.rounds_]
            for i, name in enumerate(fields):
                out[name][start:start + chunk] = np.mean([p[i] for p in parts], axis=0)
        if not return_details:
            return out["quality"]
        bagged = len(self.rounds_) > 1
        ks = np.array([r.k for r in self.rounds_])
        lams = np.array([r.detector.threshold_ for r in self.rounds_])
        return EAPResult(**out, k=ks if bagged else int(ks[0]), threshold=lams if bagged else float(lams[0]))

    def _chunk_rows(self) -> int:
        if self.chunk_size is not None:
            return check_int(self.chunk_size, "chunk_size", low=1)
        # Cost of one candidate: its distance terms plus the kernel and ball test per training
        # point (worth about 16 coordinates).
        terms = sum(r.detector.X_train_.shape[0] for r in self.rounds_) * (self.n_features_in_ + 16)
        return int(min(max(2**31 // max(terms, 1), 256), 65536))

    def save(self, path: Any) -> None:
        """Save the fitted scorer as a versioned ``.npz`` of plain arrays (see
        :mod:`eap_anomaly.persistence`); loading it never unpickles or runs code."""
        check_is_fitted(self, "rounds_")
        save_scorer(self, path)

    @staticmethod
    def load(path: Any) -> "EAPScorer":
        """Load a scorer written by :meth:`save`."""
        return load_scorer(path)

    def _score_round(self, r: _Round, block: np.ndarray, threads: int) -> List[np.ndarray]:
        scores, rarity = r.detector._score_parts(block, threads)
        p = class_probability(scores, r.detector.offset_, r.detector.threshold_)
        px = density(rarity, r.rho_sum)
        quality = expected_anomaly_posterior(p, px, r.n_centres, self.alpha0_, self.beta0_)
        return [quality, p, px, rarity]


@overload
def score_auxiliary(X_train: Any, y_train: Any, X_aux: Any, *, centres: str = ...,
                    k: Optional[int] = ..., k_min: int = ..., alpha0: Optional[float] = ...,
                    beta0: Optional[float] = ..., n_bags: int = ..., random_state: Any = ...,
                    n_jobs: Optional[int] = ..., return_details: Literal[False] = ...) -> np.ndarray: ...


@overload
def score_auxiliary(X_train: Any, y_train: Any, X_aux: Any, *, centres: str = ...,
                    k: Optional[int] = ..., k_min: int = ..., alpha0: Optional[float] = ...,
                    beta0: Optional[float] = ..., n_bags: int = ..., random_state: Any = ...,
                    n_jobs: Optional[int] = ..., return_details: Literal[True]) -> EAPResult: ...


def score_auxiliary(
    X_train: Any,
    y_train: Any,
    X_aux: Any,
    *,
    centres: str = "all",
    k: Optional[int] = None,
    k_min: int = 1,
    alpha0: Optional[float] = None,
    beta0: Optional[float] = None,
    n_bags: int = 0,
    random_state: Any = None,
    n_jobs: Optional[int] = None,
    return_details: bool = False,
) -> Union[np.ndarray, EAPResult]:
    """Quality of each auxiliary anomaly (EAP), higher = better: one call of
    ``EAPScorer(...).fit(X_train, y_train).score(X_aux)``. See :class:`EAPScorer`."""
    X = check_matrix(X_train, "X_train")
    y = check_labels(y_train, X.shape[0], "y_train", "X_train").astype(np.int64)
    # Shape and dtype of the candidates are checked before the fit; their values chunk by chunk.
    Z = X_aux if isinstance(X_aux, np.ndarray) and X_aux.ndim == 2 else check_matrix(
        X_aux, "X_aux", allow_empty_rows=True)
    check_matrix(Z[:0], "X_aux", allow_empty_rows=True)
    if Z.shape[1] != X.shape[1]:
        raise ValueError(f"X_aux has {Z.shape[1]} features but X_train has {X.shape[1]}")
    as_fitted_dtype(Z[:0], X.dtype, "X_aux")
    scorer = EAPScorer(centres=centres, k=k, k_min=k_min, alpha0=alpha0, beta0=beta0,
                       n_bags=n_bags, random_state=random_state, n_jobs=n_jobs).fit(X, y)
    return scorer._score(Z, return_details, "X_aux")
