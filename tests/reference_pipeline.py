"""Slow, obviously-right NumPy / scikit-learn references for SPEC sections 4-7: the SSDO
detector with an Isolation Forest prior, the squashing scaler P(y=1|x), the density P_x and the
Expected Anomaly Posterior.

Written from /work/shared/SPEC.md, not from the package code. Dense (l x n) matrices and Python
loops: meant for small inputs only (a few hundred points). Sections 1-3 (k-NN radii, rarity,
k-hat) come from ``tests/reference.py``.

Every function works in float64. float32 data is accepted: its values are used as they are
(cast to float64 for the kernel sums); the Isolation Forest sees the original array.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

import numpy as np
from sklearn.ensemble import IsolationForest

from reference import ref_dists, ref_estimate_k, ref_knn_radii, ref_rarity

#: SPEC section 4.2: floor of the kernel bandwidth.
ETA_FLOOR = 1e-10


def ref_labels(y) -> np.ndarray:
    """SPEC section 0: boolean anomaly mask from labels 0/1 or -1/+1 (1 = anomaly)."""
    y = np.asarray(y)
    values = set(np.unique(y).tolist())
    assert values <= {0, 1} or values <= {-1, 1}, values
    return y == 1


# --------------------------------------------------------------------------- SPEC section 4


def ref_iforest_prior(X, Z, seed, n_estimators: int = 100) -> Dict[str, np.ndarray]:
    """SPEC 4.1: Isolation Forest on all of X, raw score s = -score_samples, prior = min-max
    scaled with the training minimum and span, clipped to [0, 1] (0 when the span is 0)."""
    forest = IsolationForest(n_estimators=n_estimators, max_samples="auto", random_state=seed)
    forest.fit(X)
    s_train = -forest.score_samples(X)
    s_z = -forest.score_samples(Z)
    lo, hi = float(np.min(s_train)), float(np.max(s_train))
    span = hi - lo

    def scale(s):
        if span == 0.0:
            return np.zeros(len(s))
        return np.clip((s - lo) / span, 0.0, 1.0)

    return {"train": scale(s_train), "z": scale(s_z)}


def ref_knn_prior(X, Z, k: int) -> Dict[str, np.ndarray]:
    """The k-NN prior (``prior="knn"``, not SPEC): raw score = distance to the k-th nearest
    training row (a training row: the k-th nearest *other* row), min-max scaled like the forest's."""
    X, Z = np.asarray(X, dtype=np.float64), np.asarray(Z, dtype=np.float64)
    D = ref_dists(X, X)
    s_train = np.array([np.sort(np.delete(D[i], i))[k - 1] for i in range(X.shape[0])])
    s_z = np.sort(ref_dists(Z, X), axis=1)[:, k - 1]
    lo, span = float(s_train.min()), float(s_train.max() - s_train.min())
    scale = (lambda s: np.zeros(len(s))) if span == 0.0 else (lambda s: np.clip((s - lo) / span, 0.0, 1.0))
    return {"train": scale(s_train), "z": scale(s_z)}


def ref_bandwidth(X, k: int = 10) -> float:
    """SPEC 4.2: eta = harmonic mean of each training point's distance to its k-th nearest other
    training point, zeros replaced by the smallest positive distance, floored at 1e-10."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    assert 1 <= k <= n - 1, (k, n)
    D = ref_dists(X, X)
    delta = np.empty(n)
    for i in range(n):
        delta[i] = np.sort(np.delete(D[i], i))[k - 1]
    positive = delta[delta > 0]
    if positive.size == 0:
        return ETA_FLOOR
    delta[delta == 0] = positive.min()
    harmonic = n / np.sum(1.0 / delta)
    return max(float(harmonic), ETA_FLOOR)


def ref_kernel_sums(X, anomaly, Z, eta: float):
    """SPEC 4.3: W+(z) = sum over training anomalies of 2^-(d/eta)^2, W-(z) the same over
    normals. Dense, no cut-off."""
    D = ref_dists(np.asarray(Z, dtype=np.float64), np.asarray(X, dtype=np.float64))
    W = np.exp2(-((D / eta) ** 2))
    return W[:, anomaly].sum(axis=1), W[:, ~anomaly].sum(axis=1)


def ref_ssdo(X, y, Z, *, k: int = 10, alpha: float = 2.3, seed: Any = 0,
             n_estimators: int = 100, prior_kind: str = "forest") -> Dict[str, Any]:
    """SPEC 4: SSDO scores f on the training points (each with its own weight-1 term) and on Z;
    ``prior_kind="knn"``: the k-NN prior instead of the forest."""
    anomaly = ref_labels(y)
    prior = ref_knn_prior(X, Z, k) if prior_kind == "knn" else ref_iforest_prior(X, Z, seed, n_estimators)
    eta = ref_bandwidth(X, k)

    def f(P, p0):
        w_pos, w_neg = ref_kernel_sums(X, anomaly, P, eta)
        return (p0 + alpha * w_pos) / (1.0 + alpha * (w_pos + w_neg))

    return {
        "eta": eta,
        "prior_train": prior["train"],
        "prior_z": prior["z"],
        "train": f(X, prior["train"]),
        "z": f(Z, prior["z"]),
    }


# --------------------------------------------------------------------------- SPEC section 5


def ref_squash(train_scores, m: int, method: str = "exact"):
    """SPEC 5: returns (offset, lambda).

    offset = training minimum; shifted = max(f - offset, 0).
    exact: lambda = (n - m)-th smallest shifted training score (1-based); m = 0 -> the maximum.
    percentile (authors' code): np.percentile of the *shifted* training scores at
    floor(100 (1 - m/n)), linear interpolation.
    lambda <= 0 -> smallest positive shifted score; none -> 0 (P = 0 everywhere)."""
    f = np.asarray(train_scores, dtype=np.float64)
    n = f.shape[0]
    offset = float(f.min())
    shifted = np.maximum(f - offset, 0.0)
    ordered = np.sort(shifted)
    if method == "exact":
        lam = float(ordered[n - m - 1])  # (n - m)-th smallest, 1-based
    elif method == "percentile":
        lam = float(np.percentile(shifted, math.floor(100.0 * (1.0 - m / n))))
    else:
        raise AssertionError(method)
    if lam <= 0.0:
        positive = ordered[ordered > 0]
        lam = float(positive[0]) if positive.size else 0.0
    return offset, lam


def ref_class_probability(scores, offset: float, lam: float) -> np.ndarray:
    """SPEC 5: P(y=1|x) = 1 - 2^-((f - offset)_+ / lambda)^2, clipped to [0, 1]; 0 if lambda = 0."""
    scores = np.asarray(scores, dtype=np.float64)
    if lam == 0.0:
        return np.zeros_like(scores)
    shifted = np.maximum(scores - offset, 0.0)
    return np.clip(1.0 - 2.0 ** (-((shifted / lam) ** 2)), 0.0, 1.0)


# --------------------------------------------------------------------------- SPEC section 6-7


def ref_rho(rarity) -> np.ndarray:
    rarity = np.asarray(rarity, dtype=np.float64)
    return np.array([1.0 / r if r > 0 else 0.0 for r in rarity])


def ref_density(rarity_z, rho_centres_sum: float) -> np.ndarray:
    """SPEC 6: P_x(z) = rho(z) / (rho(z) + sum_c rho(c)); zero denominator -> 0."""
    rho = ref_rho(rarity_z)
    out = np.zeros_like(rho)
    for i, r in enumerate(rho):
        den = r + rho_centres_sum
        out[i] = r / den if den > 0 else 0.0
    return out


def ref_eap(p_anomaly, density, n_centres: int, alpha0: float, beta0: float) -> np.ndarray:
    """SPEC 7 (Eq. 5), written out element by element."""
    p = np.asarray(p_anomaly, dtype=np.float64)
    px = np.asarray(density, dtype=np.float64)
    out = np.empty(p.shape)
    for i in np.ndindex(p.shape):
        out[i] = (alpha0 + n_centres * p[i] * px[i]) / (alpha0 + beta0 + n_centres * px[i])
    return out


def ref_round(X, anomaly, Z, A_all, *, centres: str, k: Optional[int], k_min: int,
              quantile: float, alpha0: float, beta0: float, seed: Any, ssdo_k: int,
              alpha: float, threshold: str, query_is_centre=None,
              prior_kind: str = "forest") -> Dict[str, Any]:
    """One fit of SPEC 4-7 on the rows X (anomaly mask ``anomaly``).

    ``A_all``: the k-hat queries (all training anomalies); ``query_is_centre[a]``: the row of
    this round's centre array that query a *is* (-1: not a centre). None: the anomalies of X,
    which are centres exactly when centres == "all"."""
    X = np.asarray(X)
    n = X.shape[0]
    m = int(anomaly.sum())
    # Detector (SPEC 4-5), fitted on this round's rows.
    y01 = anomaly.astype(np.int64)
    det = ref_ssdo(X, y01, Z, k=ssdo_k, alpha=alpha, seed=seed, prior_kind=prior_kind)
    offset, lam = ref_squash(det["train"], m, threshold)
    p = ref_class_probability(det["z"], offset, lam)
    # Centres, k, radii (SPEC 1-3).
    centre_rows = np.arange(n) if centres == "all" else np.flatnonzero(~anomaly)
    C = X[centre_rows]
    n_c = C.shape[0]
    if query_is_centre is None:
        A_all = X[anomaly]
        if centres == "all":
            query_is_centre = np.flatnonzero(anomaly)  # row i of X is row i of C
        else:
            query_is_centre = np.full(m, -1, dtype=np.int64)
    if k is None:
        k_used = ref_estimate_k(C, A_all, k_min=k_min, quantile=quantile,
                                anomaly_index=np.asarray(query_is_centre, dtype=np.int64))
    else:
        k_used = int(k)
    radii = ref_knn_radii(C, k_used)
    # Density (SPEC 6): every centre against all balls, its own included.
    rarity_c = ref_rarity(C, C, radii)
    rho_sum = float(math.fsum(ref_rho(rarity_c)))
    rarity_z = ref_rarity(Z, C, radii)
    px = ref_density(rarity_z, rho_sum)
    # EAP (SPEC 7).
    phi = ref_eap(p, px, n_c, alpha0, beta0)
    return {
        "quality": phi,
        "p_anomaly": p,
        "density": px,
        "rarity": rarity_z,
        "k": k_used,
        "threshold": lam,
        "offset": offset,
        "n_centres": n_c,
        "rho_sum": rho_sum,
        "ssdo": det,
    }


def ref_score_auxiliary(X, y, Z, *, centres: str = "all", k: Optional[int] = None,
                        k_min: int = 1, alpha0: Optional[float] = None,
                        beta0: Optional[float] = None, random_state: Any = None,
                        ssdo_k: int = 10, alpha: float = 2.3, threshold: str = "exact",
                        quantile: float = 0.95, prior_kind: str = "forest") -> Dict[str, Any]:
    """SPEC 4-7 without bagging: the quality of each row of Z and its parts.

    ``random_state`` must be an int (or None only if the caller does not compare forests)."""
    anomaly = ref_labels(y)
    n, m = anomaly.shape[0], int(anomaly.sum())
    a0 = m / n if alpha0 is None else float(alpha0)
    b0 = 1.0 - m / n if beta0 is None else float(beta0)
    return ref_round(np.asarray(X), anomaly, np.asarray(Z), None, centres=centres, k=k,
                     k_min=k_min, quantile=quantile, alpha0=a0, beta0=b0, seed=random_state,
                     ssdo_k=ssdo_k, alpha=alpha, threshold=threshold, prior_kind=prior_kind)
