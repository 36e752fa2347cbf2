"""A plain NumPy/scikit-learn implementation of SPEC sections 1-7 (centres = all training
points, exact lambda, no bagging): the yardstick the side-by-side benchmarks compare against.
Vectorised and chunked as a competent NumPy user would write it; not part of the package."""

import numpy as np
from scipy.special import betaincinv
from sklearn.ensemble import IsolationForest
from sklearn.metrics import pairwise_distances


def plain_score_auxiliary(X, y, Z, random_state=0, k_min=1, alpha=2.3, ssdo_k=10, chunk=2000):
    """EAP quality of each row of Z (float64)."""
    X, Z = np.asarray(X, dtype=np.float64), np.asarray(Z, dtype=np.float64)
    anomaly = np.asarray(y) == 1
    n, m = X.shape[0], int(anomaly.sum())
    forest = IsolationForest(n_estimators=100, max_samples="auto", random_state=random_state).fit(X)
    raw = -forest.score_samples(X)
    smin, span = raw.min(), raw.max() - raw.min()

    def prior(s):
        return np.zeros_like(s) if span == 0 else np.clip((s - smin) / span, 0, 1)

    D = pairwise_distances(X)                      # n x n
    others = D.copy()
    np.fill_diagonal(others, np.inf)
    sorted_rows = np.sort(others, axis=1)[:, :-1]  # each row: the n - 1 other distances
    delta = sorted_rows[:, min(ssdo_k, n - 1) - 1]
    delta = np.where(delta > 0, delta, delta[delta > 0].min())
    eta = max(n / np.sum(1 / delta), 1e-10)

    # k-hat (SPEC 3), centres = all, anomalies leave their own ball out
    k_max = n - 1
    votes = []
    for a in np.flatnonzero(anomaly):
        counts = np.array([np.searchsorted(sorted_rows[i], D[i, a], side="right") for i in range(n)])
        counts[a] = n  # its own ball is left out
        covering = counts[counts <= n - 2] + 1
        votes.append(max(k_min, covering.min()) if covering.size else k_max)
    S = np.sum((np.array(votes) - k_min) / (k_max - k_min))
    q = betaincinv(1 + S, 1 + m - S, 0.95)
    k = int(min(max(np.floor(k_min + q * (k_max - k_min)), k_min), k_max))
    radii = sorted_rows[:, k - 1]
    threshold = radii * (1 - 1e-9)

    def pass_over_training(Dq):
        K = np.exp2(-(Dq / eta) ** 2)
        w_pos, w_neg = K[:, anomaly].sum(1), K[:, ~anomaly].sum(1)
        inside = Dq < threshold
        rarity = np.where(inside.any(1), np.where(inside, radii, np.inf).min(1), 0.0)
        return w_pos, w_neg, rarity

    w_pos, w_neg, rarity_c = pass_over_training(D)
    f_train = (prior(raw) + alpha * w_pos) / (1 + alpha * (w_pos + w_neg))
    offset = f_train.min()
    shifted = np.sort(np.maximum(f_train - offset, 0))
    lam = shifted[n - m - 1]
    rho_sum = np.sum(1 / rarity_c[rarity_c > 0])
    alpha0, beta0 = m / n, 1 - m / n

    quality = np.empty(Z.shape[0])
    for start in range(0, Z.shape[0], chunk):
        Zc = Z[start:start + chunk]
        w_pos, w_neg, rarity = pass_over_training(pairwise_distances(Zc, X))
        f = (prior(-forest.score_samples(Zc)) + alpha * w_pos) / (1 + alpha * (w_pos + w_neg))
        p = np.clip(1 - np.exp2(-(np.maximum(f - offset, 0) / lam) ** 2), 0, 1)
        rho = np.where(rarity > 0, 1 / np.where(rarity > 0, rarity, 1), 0)
        px = rho / (rho + rho_sum)
        quality[start:start + chunk] = (alpha0 + n * p * px) / (alpha0 + beta0 + n * px)
    return quality
