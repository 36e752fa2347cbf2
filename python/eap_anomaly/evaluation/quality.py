"""Pieces of the quality study (docs/quality.md, issue 14): a second kind of unrealistic
candidates, the graded treatment of candidates outside every ball, the posterior with a chosen
prior mean, and the internal validation that chooses that prior from the training set alone.

Everything here composes the package's scoring pieces (``EAPScorer``, ``nearest_distances``,
``tail_density``, the validation folds of ``eap_anomaly.tuning``) so that the study can vary the
posterior on cached fits; ``EAPScorer.tuned()`` is the preset it recommends.
Quality is "higher = better auxiliary anomaly" throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.metrics import roc_auc_score

from ..geometry import nearest_distances
from ..posterior import expected_anomaly_posterior, tail_density
from ..tuning import shuffled_rows, validation_folds
from ..whitening import fit_whitening


# --------------------------------------------------------------------------------------------
# A second kind of unrealistic candidates (the third, shuffled rows, is the package's: tuning)
# --------------------------------------------------------------------------------------------
def uniform_box(X: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` rows drawn uniformly in the bounding box of the training rows X."""
    low, high = X.min(0), X.max(0)
    rows: np.ndarray = low + rng.random((size, X.shape[1])) * (high - low)
    return rows


def posterior(p: np.ndarray, px: np.ndarray, n_centres: int, alpha0: float, beta0: float) -> np.ndarray:
    """Eq. 5 (the package's function; kept as the one place the study computes phi)."""
    return expected_anomaly_posterior(np.clip(p, 0, 1), np.clip(px, 0, 1), n_centres, alpha0, beta0)


# --------------------------------------------------------------------------------------------
# One fit, everything the posterior variants need
# --------------------------------------------------------------------------------------------
@dataclass
class Parts:
    """Per-round pieces of a fitted scorer on candidates Z (rounds x rows): P(y=1|z), the
    paper's P_x, the rarity, the outside rarity; and per round N and sum rho(c)."""

    p: np.ndarray
    px: np.ndarray
    rarity: np.ndarray
    rarity_out: np.ndarray
    n_centres: np.ndarray
    rho_sum: np.ndarray
    m: int
    n: int

    def quality(self, alpha0: float, beta0: float, tail: Optional[float] = None) -> np.ndarray:
        """EAP averaged over rounds; ``tail`` (None = the paper) grades P_x outside the balls."""
        out = []
        for r in range(self.p.shape[0]):
            px = self.px[r] if tail is None else tail_density(self.rarity[r], self.rarity_out[r],
                                                               float(self.rho_sum[r]), tail)
            out.append(posterior(self.p[r], px, int(self.n_centres[r]), alpha0, beta0))
        q: np.ndarray = np.mean(out, axis=0)
        return q

    def save(self) -> Dict[str, Any]:
        return {f: getattr(self, f) for f in ("p", "px", "rarity", "rarity_out", "n_centres",
                                               "rho_sum", "m", "n")}


def fitted_parts(scorer: Any, X: np.ndarray, y: np.ndarray, Z: np.ndarray) -> Parts:
    """Fit ``scorer`` (an EAPScorer) on X, y and collect :class:`Parts` on Z, per bagging round.

    Reads each round's centres from the fitted scorer (its ``rounds_``)."""
    scorer.fit(X, y)
    m, n = int(np.sum(y == 1)), X.shape[0]
    keys = ("p", "px", "rarity", "rarity_out", "n_centres", "rho_sum")
    acc: Dict[str, List[Any]] = {k: [] for k in keys}
    threads = 1 if scorer.n_jobs is None else scorer.n_jobs
    _, ps, pxs, rarities = scorer._score_rounds(np.ascontiguousarray(Z, dtype=X.dtype), threads)
    for r, p, px, rarity in zip(scorer.rounds_, ps, pxs, rarities):
        X_round = scorer.X_train_[r.rows]
        centre = ~scorer.is_anomaly_[r.rows] if scorer.centres == "normals" else np.ones(r.rows.size, bool)
        C = X_round[centre]
        out = np.zeros(Z.shape[0])
        outside = rarity == 0
        if outside.any():
            out[outside] = nearest_distances(np.ascontiguousarray(Z[outside], dtype=X.dtype), C)
        for k, v in zip(keys, (p, px, rarity, out, r.n_centres, r.rho_sum)):
            acc[k].append(v)
    a = {k: np.asarray(acc[k]) for k in keys}
    return Parts(a["p"], a["px"], a["rarity"], a["rarity_out"], a["n_centres"], a["rho_sum"], m=m, n=n)


# --------------------------------------------------------------------------------------------
# Internal validation: choose from the training set alone
# --------------------------------------------------------------------------------------------
def validation_parts(make_scorer: Any, X: np.ndarray, y: np.ndarray, n_folds: int = 5,
                     seed: int = 0) -> Tuple[List[Parts], List[np.ndarray]]:
    """For each fold: fit on the rest of the training set; candidates are the held-out anomalies
    (good), the held-out normals (poor, indistinguishable) and as many synthesized off-manifold
    rows (poor): rows of the fitted part with every feature shuffled independently. Returns the
    folds' :class:`Parts` and good-masks."""
    rng = np.random.default_rng(seed)
    parts, goods = [], []
    for held in validation_folds(y, n_folds, rng):
        keep = np.setdiff1d(np.arange(y.size), held)
        Xf, yf = X[keep], y[keep]
        n_held_a = int(np.sum(y[held] == 1))
        off = shuffled_rows(Xf, max(n_held_a, int(np.sum(y[held] == 0))), rng)
        Z = np.vstack([X[held], off])
        good = np.r_[y[held] == 1, np.zeros(off.shape[0], bool)]
        parts.append(fitted_parts(make_scorer(), Xf, yf, Z))
        goods.append(good)
    return parts, goods


def validation_auc(parts: Sequence[Parts], goods: Sequence[np.ndarray], alpha0: Any, beta0: Any,
                   tail: Optional[float]) -> float:
    """Mean over folds of AUC_QLT of the held-out candidates. ``alpha0``/``beta0`` may be
    callables of (m, n) so that they follow each fold's training set."""
    aucs = []
    for pt, good in zip(parts, goods):
        a0 = alpha0(pt.m, pt.n) if callable(alpha0) else alpha0
        b0 = beta0(pt.m, pt.n) if callable(beta0) else beta0
        aucs.append(roc_auc_score(good, pt.quality(a0, b0, tail)))
    return float(np.mean(aucs))


# --------------------------------------------------------------------------------------------
# Whitening (a transform of the feature space fitted on the training rows)
# --------------------------------------------------------------------------------------------
def whitener(X: np.ndarray, variance: Optional[float] = None) -> Any:
    """A function mapping rows to PCA-whitened coordinates fitted on the training rows X
    (:func:`eap_anomaly.whitening.fit_whitening`): every component above rounding noise (at most
    n - 1 when n <= d), or, with ``variance`` (e.g. 0.95), the leading ones that explain that
    share of the variance."""
    fitted = fit_whitening(X, 1.0 if variance is None else variance)
    return lambda Z: fitted.transform(Z, np.dtype(np.float64))


# --------------------------------------------------------------------------------------------
# Calibration of P(y=1|x) on out-of-fold training scores
# --------------------------------------------------------------------------------------------
def log_score(p: np.ndarray) -> np.ndarray:
    """log(f'/lambda) recovered from the squashed probability p = 1 - 2^-(f'/lambda)^2:
    ``0.5 log(-log2(1 - p))`` (p clipped to (1e-300, 1 - 2^-52]); -inf where p = 0."""
    p = np.clip(p, 0.0, 1.0 - 2.0**-52)
    with np.errstate(divide="ignore"):
        out: np.ndarray = 0.5 * np.log(-np.log2(1.0 - p))
    return out


@dataclass
class Calibration:
    """P_cal(y=1|z) = sigmoid(a + b log(f'(z)/lambda)): odds a power of the shifted detector
    score, fitted on out-of-fold scores of the training rows with the class prior m/n as base
    rate, so that P_cal > m/n exactly where the detector's out-of-fold evidence favours the
    anomaly class (likelihood ratio > 1). b <= 0 (no evidence that higher scores mean
    anomalies) leaves P(y=1|z) as it is."""

    a: float
    b: float

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.b <= 0:
            return p
        u = log_score(p)
        with np.errstate(over="ignore"):
            out: np.ndarray = np.where(np.isfinite(u), 1.0 / (1.0 + np.exp(-(self.a + self.b * u))), 0.0)
        return out


def fit_calibration(u: np.ndarray, y: np.ndarray, prior: float, floor: float = -30.0) -> Calibration:
    """Weighted logistic regression of labels y on out-of-fold log-scores u (-inf floored at
    ``floor``); classes weighted so that the base rate is ``prior`` (the training m/n)."""
    from sklearn.linear_model import LogisticRegression

    u = np.maximum(u, floor)
    y = y.astype(int)
    if y.min() == y.max():
        return Calibration(0.0, 0.0)
    w = np.where(y == 1, prior / y.sum(), (1 - prior) / (y.size - y.sum())) * y.size
    model = LogisticRegression(C=1.0).fit(u[:, None], y, sample_weight=w)
    return Calibration(float(model.intercept_[0]), float(model.coef_[0, 0]))


def calibration_from_folds(parts: Sequence[Parts], goods: Sequence[np.ndarray], prior: float) -> Calibration:
    """Fit :func:`fit_calibration` on the validation folds: their held-out anomalies (y = 1) and
    held-out normals (y = 0); the synthesized off-manifold rows are not used. Each fold's
    candidates are [held-out rows (anomalies first), synthesized rows]; a held-out normal is a
    poor candidate with P_x > 0 or any row before the synthesized block."""
    us, ys = [], []
    for pt, good in zip(parts, goods):
        n_held = 2 * int(good.sum())  # anomalies + as many normals (fewer only if normals run out)
        held = np.arange(good.size) < n_held
        us.append(log_score(pt.p[0][held]))
        ys.append(good[held])
    return fit_calibration(np.concatenate(us), np.concatenate(ys), prior)
