"""Class probability, density and the Expected Anomaly Posterior (SPEC sections 5-7)."""

from __future__ import annotations

import warnings
from typing import Any, Tuple

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
    shift = float(train_scores.min())
    shifted = np.maximum(train_scores - shift, 0.0)
    n = shifted.shape[0]
    if method == "exact":
        lam = float(np.partition(shifted, n - n_anomalies - 1)[n - n_anomalies - 1])
    else:
        lam = float(np.percentile(shifted, np.floor(100.0 * (1.0 - n_anomalies / n))))
    if lam <= 0.0:
        positive = shifted[shifted > 0]
        lam = float(positive.min()) if positive.size else 0.0
    if lam == 0.0:
        warnings.warn("all training scores are equal: P(y=1|x) is 0 everywhere", UserWarning, stacklevel=3)
    return shift, lam


def class_probability(scores: np.ndarray, shift: float, lam: float) -> np.ndarray:
    """P(y=1|x) = 1 - 2^-((f(x) - shift)_+ / lam)^2, clipped to [0, 1] (SPEC section 5)."""
    if lam == 0.0:
        return np.zeros_like(scores, dtype=np.float64)
    shifted = np.maximum(scores - shift, 0.0)
    probability: np.ndarray = np.clip(1.0 - np.exp2(-np.square(shifted / lam)), 0.0, 1.0)
    return probability


def inverse_rarity(rarity: np.ndarray) -> np.ndarray:
    """rho = 1/rarity, 0 where the rarity is 0 (outside every ball); SPEC section 6."""
    rho: np.ndarray = np.divide(1.0, rarity, out=np.zeros_like(rarity, dtype=np.float64), where=rarity > 0)
    return rho


def density(rarity: np.ndarray, rho_sum: float) -> np.ndarray:
    """P_x(z) = rho(z) / (rho(z) + sum_c rho(c)); SPEC section 6."""
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


def posterior_mean(p: np.ndarray, px: np.ndarray, n: int, alpha0: float, beta0: float) -> np.ndarray:
    """Eq. 5 on validated float64 arrays (the kernel under :func:`expected_anomaly_posterior`)."""
    weight = n * px
    quality: np.ndarray = (alpha0 + weight * p) / (alpha0 + beta0 + weight)
    return quality
