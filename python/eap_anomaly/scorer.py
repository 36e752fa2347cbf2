"""The fitted EAP scorer and the one-call ``score_auxiliary`` (SPEC sections 6-7)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Literal, Optional, Tuple, Union, overload

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _core
from . import tuning
from ._validation import (TAU, check_candidates, check_choice, check_chunk, check_float, check_int,
                          check_labels, check_matrix, check_n_jobs, check_rank, resolve_rank,
                          safe_scale, scaled, thread_count)
from .geometry import bayesian_k, k_from_cover, k_without_ranks
from .persistence import PathLike, jsonable, read_archive, write_archive
from .posterior import (OUTSIDE, THRESHOLDS, check_prior, class_probability, density,
                        inverse_rarity, posterior_mean, tail_density)
from .prior import (MAX_SAMPLES, PRIORS, IsolationPrior, NeighbourPrior, native_forest_input, native_rounds,
                    raw_scores_of_rounds)
from .selection import TopSelection, check_min_quality, check_top
from .ssdo import (Detector, check_rows, decision, eta_from_distances, finish_detectors,
                   fit_detector, semi_supervised_tags, stacked)
from .training_pass import RoundsPass, TrainingPass, concatenated
from .whitening import Whitening, check_whiten, fit_whitening

CENTRES = ("all", "normals")

#: Largest n x n matrix of squared distances that a fit computes once for all rounds; beyond
#: it each round computes its own distances (same results).
SHARED_DISTANCES_BYTES = 256 << 20
#: Trees of each round's Isolation Forest (SPEC section 4.1: scikit-learn's default).
N_ESTIMATORS = 100

#: Saved-model format (see :meth:`EAPScorer.save`).
FORMAT = "eap-anomaly-scorer"
FORMAT_VERSION = 3
#: Versions :meth:`EAPScorer.load` reads (2: before whitening and chosen options were saved).
READABLE_VERSIONS = (2, 3)

#: The options among which :meth:`EAPScorer.tuned` chooses per dataset (docs/quality.md).
TUNED_CHOICES: Tuple[Dict[str, Any], ...] = ({}, {"ssdo_k": 30}, {"whiten": 0.95})


@dataclass
class EAPResult:
    """Per-candidate details of a scoring run (means over rounds when bagging).

    quality : EAP, higher = better auxiliary anomaly. p_anomaly : P(y=1|z). density : P_x(z)
    (with ``outside="tail"``, the tail's tiny value outside every ball).
    rarity : rarity of z at k-hat (0 = outside every ball). k : k-hat (an array of one value per
    round when bagging). threshold : squashing lambda (likewise).
    """

    quality: np.ndarray
    p_anomaly: np.ndarray
    density: np.ndarray
    rarity: np.ndarray
    k: Union[int, np.ndarray]
    threshold: Union[float, np.ndarray]


class _Round:
    """One fitted detector + density: the whole training set, or one bagging round.

    ``rows`` index the scorer's training points; ``radius`` is the ball radius of each of them in
    scaled units (0 = not a centre); ``seed`` seeded a bagging round's Isolation Forest (None:
    the scorer's ``random_state`` did). The scorer's one :class:`RoundsPass` over its training
    points scores every round: a round holds O(n) numbers, not O(n d).
    """

    def __init__(self, rows: np.ndarray, radius: np.ndarray, detector: Detector, k: int,
                 n_centres: int, rho_sum: float, seed: Optional[int]) -> None:
        self.rows, self.radius, self.detector, self.seed = rows, radius, detector, seed
        self.k, self.n_centres, self.rho_sum = k, n_centres, rho_sum

    def centre_rows(self, anomaly: np.ndarray, centres: str) -> np.ndarray:
        """Training-point indices of the round's sphere centres."""
        return self.rows if centres == "all" else self.rows[~anomaly[self.rows]]

    def arrays(self) -> Dict[str, Any]:
        out = {f"detector/{k}": v for k, v in self.detector.arrays().items()}
        out.update(rows=self.rows, radius=self.radius, k=self.k, n_centres=self.n_centres,
                   rho_sum=self.rho_sum, seed=-1 if self.seed is None else self.seed)
        return out

    @classmethod
    def from_arrays(cls, data: Dict[str, Any]) -> "_Round":
        detector = Detector.from_arrays({k[len("detector/"):]: v for k, v in data.items()
                                         if k.startswith("detector/")})
        return cls(np.asarray(data["rows"], dtype=np.int64), np.asarray(data["radius"], dtype=np.float64),
                   detector, int(data["k"]), int(data["n_centres"]), float(data["rho_sum"]),
                   None if int(data["seed"]) < 0 else int(data["seed"]))


class EAPScorer(BaseEstimator):
    """Expected Anomaly Posterior: fit once on labelled training data, score many candidates.

    Quality is "higher = better auxiliary anomaly": realistic anomalies score highest, then
    unrealistic (off-manifold) ones, then indistinguishable ones that look normal.
    :meth:`score_samples` gives each candidate's quality, :meth:`score` the mean over a set
    (scikit-learn's names), :meth:`select` the best rows. A semi-supervised estimator: ``fit``
    needs binary labels (scikit-learn tags say so; it is not a classifier).

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
    prior : {"native", "sklearn", "knn"}, default "native"
        Who builds SSDO's Isolation Forest prior: the C++ core (fast; equal to scikit-learn's in
        distribution) or scikit-learn (bit-exact, for comparisons with other implementations).
        ``"knn"`` (not SPEC; docs/quality.md) replaces the forest by the distance to the
        ``ssdo_k``-th nearest training row of the round: the delta that sets the bandwidth.
    ssdo_k : int or float, default 10
        Neighbour rank of the SSDO bandwidth; a float in (0, 1] is a fraction of the training
        rows, k = round(ssdo_k * n) (at least 1; at most n - 1, as every rank is).
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
    outside : {"zero", "tail"}, default "zero"
        P_x outside every ball: 0, so such candidates tie at the prior mean (SPEC section 6, the
        paper), or a vanishing tail ``1e-12 * rho'/(rho' + sum rho(c))`` with ``rho'`` the
        inverse distance to the nearest centre, which keeps every comparison the paper makes
        and breaks only those ties, by the posterior's own rule (docs/quality.md). Costs one
        more pass over the centres for the candidates outside every ball.
    whiten : float in (0, 1] or None, default None
        PCA whitening fitted on the training rows, keeping the leading components that explain
        this share of the variance (docs/quality.md); candidates are mapped the same way. None:
        the features as given.
    choose_from : list of dicts or None, default None
        Options to choose among per dataset (keys ``ssdo_k``, ``alpha``, ``whiten``), by an
        internal 5-fold validation on the training set alone (:mod:`eap_anomaly.tuning`); the
        chosen one overrides the corresponding parameters. See :meth:`tuned`.

    Attributes
    ----------
    chosen_ : dict
        The options the fit used (from ``choose_from``, or the parameters' own values).
    validation_scores_ : ndarray or None
        Internal validation AUC of each entry of ``choose_from`` (None without it).
    X_train_ : ndarray (n, d')
        The training points in the model's features (whitened when ``whiten`` is set).
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
        prior: str = "native",
        ssdo_k: Union[int, float] = 10,
        alpha: float = 2.3,
        threshold: str = "exact",
        quantile: float = 0.95,
        chunk_size: Optional[int] = None,
        outside: str = "zero",
        whiten: Optional[float] = None,
        choose_from: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        self.centres = centres
        self.k = k
        self.k_min = k_min
        self.alpha0 = alpha0
        self.beta0 = beta0
        self.n_bags = n_bags
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.prior = prior
        self.ssdo_k = ssdo_k
        self.alpha = alpha
        self.threshold = threshold
        self.quantile = quantile
        self.chunk_size = chunk_size
        self.outside = outside
        self.whiten = whiten
        self.choose_from = choose_from

    @classmethod
    def authors_code(cls, **overrides: Any) -> "EAPScorer":
        """The choices of the authors' published code: centres "normals", k_min 5, SSDO k 5,
        percentile lambda, 100 bagging rounds (SPEC section 7)."""
        params: Dict[str, Any] = dict(centres="normals", k_min=5, ssdo_k=5, threshold="percentile",
                                      n_bags=100)
        params.update(overrides)
        return cls(**params)

    @classmethod
    def tuned(cls, **overrides: Any) -> "EAPScorer":
        """The quality preset of docs/quality.md (not the paper's method): SSDO's k-NN prior in
        place of the Isolation Forest, the tail outside the balls, and per dataset one of
        {SSDO k = 10, SSDO k = 30, whitening to 95 % of the variance} chosen by internal
        validation on the training set. About 15x the cost of the default fit; keeps the
        paper's order realistic > unrealistic > indistinguishable at the prior mean."""
        params: Dict[str, Any] = dict(outside="tail", prior="knn",
                                      choose_from=[dict(c) for c in TUNED_CHOICES])
        params.update(overrides)
        return cls(**params)

    def fit(self, X: Any, y: Any) -> "EAPScorer":
        """Fit the detector(s), k-hat, the centre radii and rarities on training data.

        X : (n, d) float32/float64; y : labels 1/+1 = anomaly, 0/-1 = normal.
        """
        X = check_matrix(X, "X")
        check_rows(X)
        anomaly = check_labels(y, X.shape[0])
        self._check_params()
        threads = check_n_jobs(self.n_jobs)
        n, m = X.shape[0], int(anomaly.sum())
        alpha0 = m / n if self.alpha0 is None else self.alpha0
        beta0 = 1.0 - m / n if self.beta0 is None else self.beta0
        self.alpha0_, self.beta0_ = check_prior(alpha0, beta0)
        self.validation_scores_: Optional[np.ndarray] = None
        self.chosen_ = self._own_options()
        if self.choose_from is not None:
            self.validation_scores_ = self._validate(X, anomaly)
            self.chosen_.update(self.choose_from[int(np.argmax(self.validation_scores_))])
        whiten = check_whiten(self.chosen_["whiten"])
        self.whitening_ = None if whiten is None else fit_whitening(X, whiten)
        self.X_train_ = X.copy() if self.whitening_ is None else self.whitening_.transform(X, X.dtype)
        self.is_anomaly_ = anomaly
        self.scale_ = safe_scale(self.X_train_)  # of the model's features (whitened: not X's)
        Xs = scaled(self.X_train_, self.scale_)
        n_bags = int(self.n_bags)
        if n_bags == 0 or not self._round_is_usable(anomaly, np.arange(n)):
            # the whole training set; one that cannot be fitted raises the precise error here
            draws: List[Tuple[np.ndarray, Optional[int]]] = [(np.arange(n), None)]
        else:
            draws = self._draw_rounds(anomaly, n_bags)
        shared = n * n * X.dtype.itemsize <= SHARED_DISTANCES_BYTES and not self._per_round
        self.rounds_ = (self._fit_shared(Xs, draws, threads) if shared else
                        [self._fit_round(Xs, rows, seed, threads) for rows, seed in draws])
        self._build_passes()
        self.n_features_in_ = X.shape[1]
        self.dtype_ = X.dtype
        return self

    #: Private switch (tests): fit each round on its own distances even when n is small.
    _per_round = False

    def _draw_rounds(self, anomaly: np.ndarray, n_bags: int) -> List[Tuple[np.ndarray, Optional[int]]]:
        """Each bagging round's rows and forest seed, all drawn before any round is fitted."""
        n, m = anomaly.shape[0], int(anomaly.sum())
        rng = check_random_state(self.random_state)
        low = min((int(self.k_min) + 1 + m) / n, 0.99)
        draws: List[Tuple[np.ndarray, Optional[int]]] = []
        for _ in range(100 * n_bags):  # unusable draws are redrawn, a bounded number of times
            keep = np.flatnonzero(rng.random_sample(n) < rng.uniform(low, 0.99))
            if self._round_is_usable(anomaly, keep):
                draws.append((keep, int(rng.randint(np.iinfo(np.int32).max))))
                if len(draws) == n_bags:
                    return draws
        raise ValueError(f"n_bags: only {len(draws)} of {n_bags} bagging rounds could "
                         f"be drawn with enough rows; use fewer rounds or n_bags=0")

    def _validate(self, X: np.ndarray, anomaly: np.ndarray) -> np.ndarray:
        """Internal validation AUC of each entry of ``choose_from`` (:mod:`.tuning`); ties go
        to the first. A whitening is fitted once on the whole training set and the folds run in
        its features (a leak within the training set only)."""
        if int(anomaly.sum()) < 2:
            raise ValueError(f"choose_from: the internal validation needs at least 2 training "
                             f"anomalies, got {int(anomaly.sum())}")
        rs = self.random_state
        seed = rs if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) else \
            int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        labels = anomaly.astype(np.int64)
        scores = []
        for option in self.choose_from or []:
            settings = {**self._own_options(), **option}
            whiten = check_whiten(settings.pop("whiten"))
            Xv = X if whiten is None else fit_whitening(X, whiten).transform(X, X.dtype)
            fold = clone(self).set_params(choose_from=None, whiten=None, random_state=int(seed),
                                          **settings)
            scores.append(tuning.validation_auc(
                lambda Xf, yf, Z: fold.fit(Xf, yf).score_samples(Z), Xv, labels, int(seed)))
        return np.array(scores)

    def _own_options(self) -> Dict[str, Any]:
        """The parameters ``choose_from`` may override, as set."""
        return {key: getattr(self, key) for key in tuning.CHOOSABLE}

    def _check_params(self) -> None:
        check_choice(self.centres, "centres", CENTRES)
        check_int(self.k_min, "k_min", low=1)
        check_int(self.n_bags, "n_bags", low=0)
        check_float(self.quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True)
        if self.chunk_size is not None:
            check_int(self.chunk_size, "chunk_size", low=1)
        check_n_jobs(self.n_jobs)
        if self.k is not None:
            check_int(self.k, "k", low=1)
        check_rank(self.ssdo_k, "ssdo_k")
        check_float(self.alpha, "alpha", low=0.0, high=np.inf, high_open=True)
        check_choice(self.threshold, "threshold", THRESHOLDS)
        check_choice(self.prior, "prior", PRIORS)
        check_choice(self.outside, "outside", OUTSIDE)
        check_whiten(self.whiten)
        for option in tuning.check_choose_from(self.choose_from) or []:
            clone(self).set_params(choose_from=None, **option)._check_params()

    def _round_is_usable(self, anomaly: np.ndarray, rows: np.ndarray) -> bool:
        normals = int((~anomaly[rows]).sum())
        n_centres = rows.size if self.centres == "all" else normals
        return normals >= 1 and rows.size >= 2 and n_centres >= 2 and (
            self.k is None or self.k <= n_centres - 1
        )

    def _fit_round(self, Xs: np.ndarray, rows: np.ndarray, seed: Optional[int], threads: int) -> _Round:
        """Detector and density on the training rows ``rows`` (``Xs``: all training points,
        scaled); k-hat queries are all training anomalies (leave-one-out for those that are
        centres of the round)."""
        anomaly, scale = self.is_anomaly_, self.scale_
        ar = anomaly[rows]
        centre_rows = np.flatnonzero(self._is_centre(ar))
        n_centres = self._check_centres(centre_rows.size)
        Xr, Xsr = self.X_train_[rows], Xs[rows]
        C = Xsr[centre_rows]
        if self.k is None:
            position = np.full(anomaly.shape[0], -1, dtype=np.int64)
            position[rows[centre_rows]] = np.arange(n_centres)
            k = bayesian_k(C, Xs[anomaly], position[anomaly], int(self.k_min), float(self.quantile),
                           threads)
        else:
            k = self._explicit_k(n_centres)
        radius = np.zeros(rows.size)
        radius[centre_rows] = _core.knn_radii(C, k, threads)
        detector, _, _, rarity = fit_detector(
            Xr, Xsr, ar, scale, radius, self._ssdo_k(), float(self.chosen_["alpha"]),
            N_ESTIMATORS, str(self.prior),
            str(self.threshold), self.random_state if seed is None else seed, threads)
        return self._round(rows, radius, detector, k, centre_rows, rarity, seed)

    def _fit_shared(self, Xs: np.ndarray, draws: List[Tuple[np.ndarray, Optional[int]]],
                    threads: int) -> List[_Round]:
        """Every round of ``draws`` as :meth:`_fit_round` fits it, bit for bit, from one matrix of
        the training points' squared distances, in two calls of the core for all rounds: the
        distances, SSDO bandwidths, k-hat's cover ranks and native forests; then, after the
        k-hat quantile and eta, the radii and the training passes."""
        anomaly, scale = self.is_anomaly_, self.scale_
        rows = [r for r, _ in draws]
        offsets, flat = concatenated(rows)
        is_centre = self._is_centre(anomaly[flat])
        n_centres = [self._check_centres(int(is_centre[a:b].sum()))
                     for a, b in zip(offsets[:-1], offsets[1:])]
        centre_flags = is_centre.astype(np.uint8)
        anomalies = np.flatnonzero(anomaly) if self.k is None else np.empty(0, np.int64)
        states = [self.random_state if seed is None else seed for _, seed in draws]
        forest_input = (native_forest_input(self.X_train_, offsets, flat, states)
                        if self.prior == "native" else None)
        X32, seeds, forest_scale = forest_input or (None, None, 1.0)
        pairwise, delta, cover, built = _core.neighbours_and_forests(
            Xs, offsets, flat, centre_flags, self._ssdo_k(), anomalies, threads, forest_X=X32,
            seeds=seeds, n_estimators=N_ESTIMATORS, max_samples=MAX_SAMPLES)
        ks = [self._k_hat(nc, cover[i]) if self.k is None else self._explicit_k(nc)
              for i, nc in enumerate(n_centres)]
        bounds = list(zip(offsets[:-1], offsets[1:]))
        etas = [eta_from_distances(delta[a:b], scale) for a, b in bounds]
        radius, w_pos, w_neg, rarity = pairwise.balls_and_kernels(
            offsets, flat, centre_flags, np.array(ks, dtype=np.int64), anomaly.astype(np.uint8),
            np.array([eta * scale for eta in etas]), TAU[Xs.dtype], threads)
        forests: List[Tuple[Any, np.ndarray]]
        if self.prior == "knn":  # each round point's delta is its raw score
            forests = [(NeighbourPrior(min(self._ssdo_k(), int(b - a) - 1)), delta[a:b]) for a, b in bounds]
        elif built is not None:
            forests = native_rounds(built, np.diff(offsets), Xs.shape[1], N_ESTIMATORS, forest_scale)
        else:  # scikit-learn's forests, or native ones whose rounds need different rescalings
            forests = []
            for r, state in zip(rows, states):
                prior = IsolationPrior.fit(self.X_train_[r], N_ESTIMATORS, state, thread_count(threads),
                                           str(self.prior))
                forests.append((prior, prior.raw_scores(self.X_train_[r], threads)))
        detectors, _ = finish_detectors([p for p, _ in forests], np.concatenate([raw for _, raw in forests]),
                                        offsets, etas, float(self.chosen_["alpha"]), w_pos, w_neg,
                                        np.add.reduceat(anomaly[flat].astype(np.int64), offsets[:-1]),
                                        str(self.threshold))
        return [self._round(r, radius[a:b], detector, k, np.flatnonzero(is_centre[a:b]), rarity[a:b], seed)
                for (r, seed), detector, k, (a, b) in zip(draws, detectors, ks, bounds)]

    def _ssdo_k(self) -> int:
        """SSDO's neighbour rank, a fraction resolved against the training rows (each round
        caps it at its own rows - 1)."""
        return resolve_rank(self.chosen_["ssdo_k"], self.is_anomaly_.shape[0])

    def _is_centre(self, anomaly: np.ndarray) -> np.ndarray:
        return np.ones(anomaly.shape[0], bool) if self.centres == "all" else ~anomaly

    def _check_centres(self, n_centres: int) -> int:
        if n_centres < 2:
            raise ValueError(f"at least 2 centres are needed (centres={self.centres!r}), got {n_centres}")
        return n_centres

    def _explicit_k(self, n_centres: int) -> int:
        return check_int(self.k, "k", low=1, high=n_centres - 1)

    def _k_hat(self, n_centres: int, cover: np.ndarray) -> int:
        k = k_without_ranks(n_centres, cover.shape[0], int(self.k_min), float(self.quantile))
        return k_from_cover(cover, n_centres, int(self.k_min), float(self.quantile)) if k is None else k

    def _round(self, rows: np.ndarray, radius: np.ndarray, detector: Detector, k: int,
               centre_rows: np.ndarray, rarity: np.ndarray, seed: Optional[int]) -> _Round:
        """The fitted round, with Sum rho(c) from its centres' rarities (scaled units)."""
        scale = self.scale_
        centre_rarity = rarity[centre_rows] / scale if scale != 1.0 else rarity[centre_rows]
        rho_sum = float(np.sum(inverse_rarity(centre_rarity)[centre_rarity > 0]))
        return _Round(rows, radius, detector, k, centre_rows.size, rho_sum, seed)

    @overload
    def score_samples(self, Z: Any, return_details: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def score_samples(self, Z: Any, return_details: Literal[True]) -> EAPResult: ...

    def score_samples(self, Z: Any, return_details: bool = False) -> Union[np.ndarray, EAPResult]:
        """Quality (EAP) of each candidate row of Z, float64 (l,); higher = better.

        Candidates are processed ``chunk_size`` rows at a time, each chunk in one fused pass of
        the core over the training points, so a memory-mapped ``.npy`` is never loaded whole.
        float32 candidates for a float64 model are converted chunk by chunk (exact); float64
        candidates for a float32 model raise ``TypeError`` (cast them explicitly).
        """
        check_is_fitted(self, "rounds_")
        return self._score(check_candidates(Z, "Z", self.n_features_in_, self.dtype_), return_details, "Z")

    def score(self, Z: Any, y: Any = None) -> float:
        """Mean quality of the set of candidates Z, a float (higher = better set of auxiliary
        anomalies): scikit-learn's ``score``, whose per-row values are :meth:`score_samples`.

        ``y`` is ignored (candidates have no labels; scikit-learn passes one). Streams Z chunk by
        chunk like :meth:`score_samples`; the chunks' sums are added in order, so the value
        does not depend on the thread count. Z with no rows raises ``ValueError``.
        """
        check_is_fitted(self, "rounds_")
        rows = check_candidates(Z, "Z", self.n_features_in_, self.dtype_)
        if rows.shape[0] == 0:
            raise ValueError(f"Z must have at least one row to average, got shape {rows.shape}")
        total = 0.0
        for _, _, (quality,) in self._chunks(rows, 1, "Z"):
            total += float(quality.sum())
        return total / int(rows.shape[0])

    def __sklearn_tags__(self) -> Any:
        return semi_supervised_tags(super().__sklearn_tags__())

    def _score(self, rows: np.ndarray, return_details: bool, name: str) -> Union[np.ndarray, EAPResult]:
        """:meth:`score_samples` of candidates accepted by ``check_candidates``; each chunk's values are
        checked as it is read, errors naming the caller's argument ``name``."""
        fields = ("quality", "p_anomaly", "density", "rarity")[:4 if return_details else 1]
        out = {field: np.empty(rows.shape[0]) for field in fields}
        for start, stop, values in self._chunks(rows, len(fields), name):
            for field, value in zip(fields, values):
                out[field][start:stop] = value
        if not return_details:
            return out["quality"]
        bagged = len(self.rounds_) > 1
        ks = np.array([r.k for r in self.rounds_])
        lams = np.array([r.detector.threshold for r in self.rounds_])
        return EAPResult(**out, k=ks if bagged else int(ks[0]), threshold=lams if bagged else float(lams[0]))

    def _chunks(self, rows: np.ndarray, n_fields: int, name: str) -> Iterator[Tuple[int, int, List[np.ndarray]]]:
        """(start, stop, [quality, p_anomaly, density, rarity][:n_fields]) per chunk of the
        candidates ``rows`` (accepted by ``check_candidates``), means over rounds."""
        chunk = self._chunk_rows()
        threads = check_n_jobs(self.n_jobs)
        for start in range(0, rows.shape[0], chunk):
            block = check_chunk(rows[start:start + chunk], name, self.dtype_)
            if self.whitening_ is not None:
                block = self.whitening_.transform(block, self.dtype_)
            parts = self._score_rounds(block, threads)
            yield start, start + block.shape[0], [np.mean(part, axis=0) for part in parts[:n_fields]]

    def select(self, Z: Any, top: Union[int, float, None] = None, *,
               min_quality: Optional[float] = None) -> np.ndarray:
        """Row indices of the best candidates of Z, best first (higher quality = better).

        Parameters
        ----------
        Z : (l, d) array of candidates (a memory-mapped ``.npy`` is welcome)
            Same dtype policy as :meth:`score_samples`.
        top : int >= 1, float in (0, 1], or None
            An int is a count of rows (all rows when it exceeds l); a float is a fraction of the
            l rows: the nearest integer to ``top * l`` (halves up), at least one.
        min_quality : float or None
            Keep only rows whose quality is at or above it. Alone, every such row is returned.

        Returns
        -------
        indices : int64 (n_selected,), in descending quality; ties go to the lower row index, so
            the result is deterministic.

        Candidates are scored chunk by chunk (as :meth:`score_samples`) and merged into a running
        partial selection of at most ``top`` rows, so memory is O(top + chunk_size): the l
        scores are never held at once (with ``min_quality`` alone, the rows kept are).
        """
        check_is_fitted(self, "rounds_")
        rows = check_candidates(Z, "Z", self.n_features_in_, self.dtype_)
        count = check_top(top, rows.shape[0])
        threshold = check_min_quality(min_quality)
        if count is None and threshold is None:
            raise ValueError("select needs top (a count or a fraction of the rows), min_quality, or both")
        kept = TopSelection(count, threshold)
        for _, _, (quality,) in self._chunks(rows, 1, "Z"):
            kept.add(quality)
        return kept.result()[0]

    def _score_rounds(self, block: np.ndarray, threads: int) -> List[np.ndarray]:
        """[quality, p_anomaly, density, rarity], each (rounds, rows of ``block``), for
        candidates ``block`` (in the model's features): one pass of the core for all rounds,
        one walk through every round's forest, then every round in the same array operations
        (row i of each is what round i alone gives)."""
        Zs = scaled(block, self.scale_)
        sums = self._pass.score(Zs, threads)
        w_pos, w_neg, rarity = (np.atleast_2d(a) for a in sums)  # (rounds, rows)
        if self.scale_ != 1.0:
            rarity = rarity / self.scale_
        detectors = [r.detector for r in self.rounds_]
        raw = self._prior_scores(block, Zs, threads)
        f = decision(raw, stacked(detectors, "prior_min"), stacked(detectors, "prior_span"),
                     stacked(detectors, "alpha"), w_pos, w_neg)
        p = class_probability(f, stacked(detectors, "shift"), stacked(detectors, "threshold"))
        if self.outside == "tail":
            px = np.array([tail_density(rarity[i], self._nearest(r, block, rarity[i] == 0, threads), r.rho_sum)
                           for i, r in enumerate(self.rounds_)])
        else:
            px = density(rarity, np.array([[r.rho_sum] for r in self.rounds_]))
        n_centres = np.array([[r.n_centres] for r in self.rounds_])
        return [posterior_mean(p, px, n_centres, self.alpha0_, self.beta0_), p, px, rarity]

    def _prior_scores(self, block: np.ndarray, Zs: np.ndarray, threads: int) -> np.ndarray:
        """Raw prior scores of ``block`` (``Zs``: scaled) per round (rounds, rows): every round's
        forest walked in one call, or each round's k-NN distances to its training rows (scaled
        units, as its deltas)."""
        forests = [r.detector.prior for r in self.rounds_ if isinstance(r.detector.prior, IsolationPrior)]
        if forests:
            return raw_scores_of_rounds(forests, block, threads)
        Xs = scaled(self.X_train_, self.scale_)
        neighbours = [r.detector.prior for r in self.rounds_ if isinstance(r.detector.prior, NeighbourPrior)]
        return np.array([prior.raw_scores(Zs, Xs if r.rows.size == Xs.shape[0] else Xs[r.rows], threads)
                         for prior, r in zip(neighbours, self.rounds_)])

    def _nearest(self, r: _Round, block: np.ndarray, outside: np.ndarray, threads: int) -> np.ndarray:
        """Distance from each row of ``block`` outside every ball to the round's nearest centre
        (0 elsewhere: :func:`.posterior.tail_density` reads it only outside)."""
        nearest = np.zeros(block.shape[0])
        if outside.any():
            C = scaled(self.X_train_[r.centre_rows(self.is_anomaly_, self.centres)], self.scale_)
            found = _core.nearest_distances(scaled(block[outside], self.scale_), C, 1, threads)
            nearest[outside] = found / self.scale_ if self.scale_ != 1.0 else found
        return nearest

    def _chunk_rows(self) -> int:
        if self.chunk_size is not None:
            return check_int(self.chunk_size, "chunk_size", low=1)
        # Cost of one candidate: its distance terms, once, plus the kernel and ball test per
        # training point of each round (worth about 16 coordinates).
        terms = self.X_train_.size + sum(r.rows.size for r in self.rounds_) * 16
        return int(min(max(2**31 // max(terms, 1), 256), 65536))

    def save(self, path: PathLike) -> None:
        """Save the fitted scorer as a versioned ``.npz`` of plain arrays, loaded without pickle
        (never runs code): the constructor arguments, the training points once, and per round
        its rows, radii, k-hat and detector (O(n d + rounds n) numbers)."""
        check_is_fitted(self, "rounds_")
        arrays: Dict[str, Any] = {
            "params": np.array(json.dumps(jsonable(self.get_params()))),
            "fitted": np.array(json.dumps({
                "alpha0_": self.alpha0_, "beta0_": self.beta0_, "scale_": self.scale_,
                "n_rounds": len(self.rounds_), "n_features_in_": self.n_features_in_,
                "chosen_": {k: None if v is None else v.item() if isinstance(v, np.generic) else v
                            for k, v in self.chosen_.items()},
                "validation_scores_": None if self.validation_scores_ is None
                else self.validation_scores_.tolist()})),
            "X_train": self.X_train_, "is_anomaly": self.is_anomaly_,
        }
        if self.whitening_ is not None:
            arrays.update({f"whitening/{k}": v for k, v in self.whitening_.arrays().items()})
        for i, r in enumerate(self.rounds_):
            arrays.update({f"round{i}/{k}": v for k, v in r.arrays().items()})
        write_archive(path, FORMAT, FORMAT_VERSION, arrays)

    @staticmethod
    def load(path: PathLike) -> "EAPScorer":
        """Load a scorer written by :meth:`save`; anything else raises ``ValueError``."""
        return read_archive(path, FORMAT, READABLE_VERSIONS, "eap-anomaly scorer",
                            EAPScorer._from_archive)

    @staticmethod
    def _from_archive(data: Any, version: int) -> "EAPScorer":
        scorer = EAPScorer(**json.loads(str(data["params"])))
        fitted = json.loads(str(data["fitted"]))
        if version == 2:  # no whitening, options as the parameters, width as X_train's
            fitted.update(n_features_in_=data["X_train"].shape[1], validation_scores_=None,
                          chosen_=scorer._own_options())
        scorer.alpha0_, scorer.beta0_ = float(fitted["alpha0_"]), float(fitted["beta0_"])
        scorer.scale_ = float(fitted["scale_"])
        scorer.X_train_ = check_matrix(data["X_train"], "X_train")
        scorer.is_anomaly_ = np.asarray(data["is_anomaly"], dtype=bool)
        if scorer.is_anomaly_.shape != (scorer.X_train_.shape[0],):
            raise ValueError("is_anomaly does not match X_train")
        scorer.n_features_in_, scorer.dtype_ = int(fitted["n_features_in_"]), scorer.X_train_.dtype
        scorer.chosen_ = dict(fitted["chosen_"])
        scores = fitted["validation_scores_"]
        scorer.validation_scores_ = None if scores is None else np.asarray(scores, dtype=np.float64)
        scorer.whitening_ = (Whitening.from_arrays({k[len("whitening/"):]: data[k] for k in data.files
                                                    if k.startswith("whitening/")})
                             if "whitening/mean" in data.files else None)
        width = scorer.X_train_.shape[1] if scorer.whitening_ is None else scorer.whitening_.mean.size
        if width != scorer.n_features_in_:
            raise ValueError("X_train does not match n_features_in_")
        scorer.rounds_ = []
        for i in range(int(fitted["n_rounds"])):
            prefix = f"round{i}/"
            scorer.rounds_.append(_Round.from_arrays(
                {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}))
        scorer._build_passes()
        return scorer

    def _build_passes(self) -> None:
        """The training pass of every round (at fit, load and unpickling time, never lazily, so
        concurrent first use needs no lock). One round takes the fused pass, whose distances
        stay in registers; bagging shares each distance among the rounds (the same sums)."""
        Xs = scaled(self.X_train_, self.scale_)
        self._pass: Union[TrainingPass, RoundsPass]
        if len(self.rounds_) == 1:
            r = self.rounds_[0]
            points = Xs if r.rows.size == Xs.shape[0] else Xs[r.rows]
            self._pass = TrainingPass(points, self.is_anomaly_[r.rows], r.radius,
                                      r.detector.eta * self.scale_)
        else:
            self._pass = RoundsPass(Xs, self.is_anomaly_, [r.rows for r in self.rounds_],
                                    [r.radius for r in self.rounds_],
                                    [r.detector.eta * self.scale_ for r in self.rounds_],
                                    check_n_jobs(self.n_jobs))

    def __getstate__(self) -> Dict[str, Any]:
        state: Dict[str, Any] = dict(super().__getstate__())
        state.pop("_pass", None)  # the core's packed points: rebuilt from X_train_
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        super().__setstate__(state)
        if hasattr(self, "rounds_"):
            self._build_passes()


@overload
def score_auxiliary(X_train: Any, y_train: Any, X_aux: Any, *, centres: str = ...,
                    k: Optional[int] = ..., k_min: int = ..., alpha0: Optional[float] = ...,
                    beta0: Optional[float] = ..., n_bags: int = ..., random_state: Any = ...,
                    n_jobs: Optional[int] = ..., prior: str = ...,
                    return_details: Literal[False] = ...) -> np.ndarray: ...


@overload
def score_auxiliary(X_train: Any, y_train: Any, X_aux: Any, *, centres: str = ...,
                    k: Optional[int] = ..., k_min: int = ..., alpha0: Optional[float] = ...,
                    beta0: Optional[float] = ..., n_bags: int = ..., random_state: Any = ...,
                    n_jobs: Optional[int] = ..., prior: str = ...,
                    return_details: Literal[True]) -> EAPResult: ...


def score_auxiliary(X_train: Any, y_train: Any, X_aux: Any, *, centres: str = "all",
                    k: Optional[int] = None, k_min: int = 1, alpha0: Optional[float] = None,
                    beta0: Optional[float] = None, n_bags: int = 0, random_state: Any = None,
                    n_jobs: Optional[int] = None, prior: str = "native",
                    return_details: bool = False) -> Union[np.ndarray, EAPResult]:
    """Quality of each auxiliary anomaly (EAP), higher = better: one call of
    ``EAPScorer(...).fit(X_train, y_train).score_samples(X_aux)``. See :class:`EAPScorer`."""
    X = check_matrix(X_train, "X_train")
    check_rows(X, "X_train")
    y = check_labels(y_train, X.shape[0], "y_train", "X_train").astype(np.int64)
    # Shape and dtype of the candidates are checked before the fit; their values chunk by chunk.
    Z = check_candidates(X_aux, "X_aux", X.shape[1], X.dtype)
    scorer = EAPScorer(centres=centres, k=k, k_min=k_min, alpha0=alpha0, beta0=beta0,
                       n_bags=n_bags, random_state=random_state, n_jobs=n_jobs, prior=prior).fit(X, y)
    return scorer._score(Z, return_details, "X_aux")
