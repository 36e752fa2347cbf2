"""Class probability, density and the Expected Anomaly Posterior (SPEC sections 5-7)."""

from __future__ import annotations

import warnings
from typing import Any, Tuple, Union

import numpy as np

from ._validation import check_float, check_int, check_probabilities

THRESHOLDS = ("exact", "percentile")

#: What P_x is outside every ball: "zero" (SPEC section 6, the paper) or "tail" (see
#: :func:`tail_density`).
OUTSIDE = ("zero", "tail")

#: Weight of the vanishing density tail outside every ball: small enough that no comparison the
#: paper's EAP decides changes (phi moves by less than 1e-12), large enough for float64 to resolve
#: the order it adds among the candidates the paper ties at the prior mean.
TAIL = 1e-12


def squash_threshold(train_scores: np.ndarray, n_anomalies: int, method: str = "exact") -> Tuple[float, float]:
    """Shift and threshold lambda of the squashing scaler (SPEC section 5).

    Returns ``(shift, lam)``: ``shift`` is the training minimum; ``lam`` is, for "exact", the
    (n - m)-th smallest shifted training score (the maximum when m = 0); for "percentile" (the
    authors' code) the ``floor(100 (1 - m/n))``-th percentile of the shifted training scores with
    linear interpolation. A non-positive lambda falls back to the smallest positive shifted score;
    ``lam = 0`` (every shifted score is 0) means P(y=1|x) = 0 everywhere, with a warning.
    """
    n = train_scores.shape[0]
    shift, lam = squash_thresholds(train_scores, np.array([0, n]), np.array([n_anomalies]), method)
    return float(shift[0]), float(lam[0])


def squash_thresholds(scores: np.ndarray, offsets: np.ndarray, n_anomalies: np.ndarray,
                      method: str = "exact") -> Tuple[np.ndarray, np.ndarray]:
    """:func:`squash_threshold` of several training sets at once (bagging rounds): set r is
    ``scores[offsets[r]:offsets[r + 1]]`` (at least one score) with ``n_anomalies[r]``
    anomalies. Returns arrays ``(shift, lam)``, one value per set. The percentile is
    interpolated as ``np.percentile``'s "linear" method does it, bit for bit (tested)."""
    starts, sizes = offsets[:-1], np.diff(offsets)
    shift = np.minimum.reduceat(scores, starts)
    shifted = np.maximum(scores - np.repeat(shift, sizes), 0.0)
    if method == "exact":
        low = high = sizes - n_anomalies - 1
        gamma = np.zeros(sizes.shape[0])
    else:
        virtual = (sizes - 1) * (np.floor(100.0 * (1.0 - n_anomalies / sizes)) / 100)
        low = np.floor(virtual).astype(np.int64)
        high = low + 1
        top = virtual >= sizes - 1  # the largest value (numpy's bounds rule)
        low[top] = high[top] = sizes[top] - 1
        gamma = virtual - low
    below, above = np.empty(sizes.shape[0]), np.empty(sizes.shape[0])
    for r, (start, stop) in enumerate(zip(starts, offsets[1:])):
        ordered = np.sort(shifted[start:stop])
        below[r], above[r] = ordered[low[r]], ordered[high[r]]
    step = above - below
    lam = np.where(gamma >= 0.5, above - step * (1 - gamma), below + step * gamma)
    for index in np.flatnonzero(lam <= 0.0):
        own = shifted[starts[index]:offsets[index + 1]]
        positive = own[own > 0]
        lam[index] = positive.min() if positive.size else 0.0
        if lam[index] == 0.0:
            warnings.warn("all training scores are equal: P(y=1|x) is 0 everywhere", UserWarning,
                          stacklevel=4)
    return shift, lam


def class_probability(scores: np.ndarray, shift: Any, lam: Any) -> np.ndarray:
    """P(y=1|x) = 1 - 2^-((f(x) - shift)_+ / lam)^2, clipped to [0, 1] (SPEC section 5); 0
    where lam = 0. ``shift`` and ``lam`` are floats, or columns of one value per row of a 2-D
    ``scores`` (one row per bagging round)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        shifted = np.maximum(scores - shift, 0.0)
        probability: np.ndarray = np.clip(1.0 - np.exp2(-np.square(shifted / lam)), 0.0, 1.0)
    return np.where(np.asarray(lam) == 0.0, 0.0, probability)


def inverse_rarity(rarity: np.ndarray) -> np.ndarray:
    """rho = 1/rarity, 0 where the rarity is 0 (outside every ball); SPEC section 6."""
    rho: np.ndarray = np.divide(1.0, rarity, out=np.zeros_like(rarity, dtype=np.float64), where=rarity > 0)
    return rho


def density(rarity: np.ndarray, rho_sum: Union[float, np.ndarray]) -> np.ndarray:
    """P_x(z) = rho(z) / (rho(z) + sum_c rho(c)); SPEC section 6. ``rho_sum`` may be a column
    of one value per row of a 2-D ``rarity`` (one row per bagging round)."""
    rho = inverse_rarity(rarity)
    denominator = rho + rho_sum
    p_x: np.ndarray = np.divide(rho, denominator, out=np.zeros_like(rho), where=denominator > 0)
    return p_x


def tail_density(rarity: np.ndarray, nearest: np.ndarray, rho_sum: float,
                 tail: float = TAIL) -> np.ndarray:
    """P_x with a vanishing tail outside every ball (docs/quality.md): the paper's P_x where
    the rarity is > 0, and ``tail * rho'/(rho' + sum rho(c))`` where it is 0, with
    ``rho' = 1/nearest`` the inverse distance to the nearest centre (the rarity's continuous
    extension, ``min_i max(r_i, d(c_i, z))``, outside every ball).

    As tail -> 0 every strict comparison of the paper's EAP is kept; the tail only orders the
    candidates the paper ties at the prior mean: among them, those with P(y=1|z) above the prior
    mean rank higher the nearer they lie to the data, those below it the farther.
    ``nearest`` is read only where the rarity is 0; where it is 0 too (z on a centre whose ball
    holds nothing), P_x = tail.
    """
    p_x = density(rarity, rho_sum)
    outside = rarity == 0
    rho = 1.0 / np.maximum(nearest[outside], np.finfo(np.float64).tiny)
    p_x[outside] = tail * rho / (rho + rho_sum)
    return p_x


def check_prior(alpha0: Any, beta0: Any) -> Tuple[float, float]:
    alpha0 = check_float(alpha0, "alpha0", low=0.0, high=np.inf, high_open=True)
    beta0 = check_float(beta0, "beta0", low=0.0, high=np.inf, high_open=True)
    if alpha0 + beta0 <= 0.0:
        raise ValueError("alpha0 + beta0 must be positive, got 0")
    return alpha0, beta0


def expected_anomaly_posterior(
    p_anomaly: Any, density: Any, n_centres: int, alpha0: float, beta0: float
) -> np.ndarray:
    """The Expected Anomaly Posterior (SPEC section 7, Eq. 5). Higher = better auxiliary anomaly.

    ``phi = (alpha0 + N P(y=1|z) P_x(z)) / (alpha0 + beta0 + N P_x(z))`` with ``N = n_centres``.
    Where P_x = 0 this is the prior mean ``alpha0 / (alpha0 + beta0)``.

    Parameters
    ----------
    p_anomaly, density : arrays of the same shape, values in [0, 1]
    n_centres : int >= 1
    alpha0, beta0 : float >= 0 with alpha0 + beta0 > 0

    Returns
    -------
    quality : float64 array, values in [0, 1]
    """
    p = check_probabilities(p_anomaly, "p_anomaly")
    px = check_probabilities(density, "density")
    if p.shape != px.shape:
        raise ValueError(f"p_anomaly has shape {p.shape} but density has shape {px.shape}")
    n = check_int(n_centres, "n_centres", low=1)
    a0, b0 = check_prior(alpha0, beta0)
    return posterior_mean(p, px, n, a0, b0)


def posterior_mean(p: np.ndarray, px: np.ndarray, n: Union[int, np.ndarray], alpha0: float,
                   beta0: float) -> np.ndarray:
    """Eq. 5 on validated float64 arrays (the kernel under :func:`expected_anomaly_posterior`);
    ``n`` may be a column of one value per row (bagging rounds)."""
    weight = n * px
    quality: np.ndarray = (alpha0 + weight * p) / (alpha0 + beta0 + weight)
    return quality
