"""Slow, obviously-right NumPy references for SPEC sections 1-3 (k-NN radii, rarity, k-hat).

Written from /work/shared/SPEC.md, not from the package code. Dense n x n matrices, Python loops:
meant for small inputs only.

Distances
---------
Two flavours:

* ``ref_dists(P, Q)``: plain Euclidean distance in float64, ``sqrt(sum((p - q) ** 2))``.
* ``ref_dists(P, Q, exact=True)``: the squared distance is accumulated feature by feature,
  ``s = s + (p_k - q_k) ** 2`` for k = 0, 1, ..., d - 1, in the *data's* dtype (float32 stays
  float32), and the square root is taken in float64. This is still just the Euclidean
  distance, but with one fixed, documented rounding, so tie-sensitive comparisons (which
  centre is "closer or equal") can be checked exactly rather than up to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betaincinv

#: SPEC section 2 margins, by data dtype.
TAU = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-9}


def _as_data(X) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind in "iu":
        X = X.astype(np.float64)
    assert X.dtype in (np.float32, np.float64), X.dtype
    assert X.ndim == 2, X.shape
    return X


def ref_sq_dists(P, Q, exact: bool = False) -> np.ndarray:
    """Squared distances, shape (len(P), len(Q)).

    exact=False: float64, numpy's own summation. exact=True: sequential sum over the features
    in the common dtype of P and Q (see the module docstring)."""
    P, Q = _as_data(P), _as_data(Q)
    if not exact:
        P64, Q64 = P.astype(np.float64), Q.astype(np.float64)
        diff = P64[:, None, :] - Q64[None, :, :]
        return np.sum(diff**2, axis=2)
    dtype = np.result_type(P.dtype, Q.dtype)
    P, Q = P.astype(dtype), Q.astype(dtype)
    acc = np.zeros((P.shape[0], Q.shape[0]), dtype=dtype)
    for k in range(P.shape[1]):
        t = P[:, k][:, None] - Q[:, k][None, :]
        acc = acc + t * t
        assert acc.dtype == dtype
    return acc


def ref_dists(P, Q, exact: bool = False) -> np.ndarray:
    """Euclidean distances, float64, shape (len(P), len(Q))."""
    return np.sqrt(ref_sq_dists(P, Q, exact=exact).astype(np.float64))


def ref_knn_radii(C, k: int, exact: bool = False) -> np.ndarray:
    """SPEC 1: distance from each centre to its k-th nearest OTHER centre (self excluded,
    duplicates counted with multiplicity)."""
    C = _as_data(C)
    n = C.shape[0]
    assert 1 <= k <= n - 1
    D = ref_dists(C, C, exact=exact)
    radii = np.empty(n, dtype=np.float64)
    for i in range(n):
        others = np.delete(D[i], i)  # drop self only (not duplicates of self)
        radii[i] = np.sort(others)[k - 1]
    return radii


def ref_rarity(Z, C, radii, tau=None) -> np.ndarray:
    """SPEC 2: rarity(z) = min{ r_i : d(c_i, z) < r_i (1 - tau) }, 0 when no ball holds z.

    tau defaults to the SPEC margin of the data dtype. Distances use the exact flavour, so the
    reference and any correct implementation differ only for queries within rounding of
    r_i (1 - tau)."""
    Z, C = _as_data(Z), _as_data(C)
    radii = np.asarray(radii, dtype=np.float64)
    if tau is None:
        tau = TAU[np.result_type(Z.dtype, C.dtype)]
    D = ref_dists(Z, C, exact=True)
    out = np.zeros(Z.shape[0], dtype=np.float64)
    for q in range(Z.shape[0]):
        holding = [radii[i] for i in range(C.shape[0]) if D[q, i] < radii[i] * (1.0 - tau)]
        out[q] = min(holding) if holding else 0.0
    return out


CUT2 = 7.75**2  # (d / eta)^2 beyond which kernel terms are skipped (SPEC 4.3)


def kernel_reference(d2: np.ndarray, eta: float, dtype) -> np.ndarray:
    """Exact (float64, summed in long double) kernel sums per row over the same squared distances
    the core computes (float32 d2 for float32 data), with the SPEC cut-off as the core rounds it."""
    cut = np.asarray(CUT2 * eta * eta, dtype=dtype)
    w = np.where(d2 <= cut, np.exp2(-(d2.astype(np.float64) / (eta * eta))), 0.0)
    return w.astype(np.longdouble).sum(axis=1)


def ref_training_pass(X, is_anomaly, radius, tau: float, eta: float, Z):
    """(w_pos, w_neg, rarity) of a scoring pass from the exact-form squared distances: kernel sums
    as kernel_reference, and the ball test d2 < (r (1 - tau))^2 on the computed d2, exactly as the
    core decides it (a radius of 0 holds nothing)."""
    d2 = ref_sq_dists(Z, X, exact=True)
    members = np.asarray(is_anomaly, bool)
    w_pos = kernel_reference(d2[:, members], eta, d2.dtype)
    w_neg = kernel_reference(d2[:, ~members], eta, d2.dtype)
    radius = np.asarray(radius, np.float64)
    inside = d2.astype(np.float64) < ((radius * (1.0 - tau)) ** 2)[None, :]
    rarity = np.where(inside, radius[None, :], np.inf).min(axis=1)
    return w_pos, w_neg, np.where(np.isinf(rarity), 0.0, rarity)


def ref_nearest(Z, C, k: int = 1) -> np.ndarray:
    """Distance from each query to its k-th nearest centre, duplicates counted (exact flavour)."""
    return np.sort(ref_dists(Z, C, exact=True), axis=1)[:, k - 1]


def ref_match_rows(C, A) -> np.ndarray:
    """Index of the first row of C equal to each row of A, -1 if none."""
    C, A = _as_data(C), _as_data(A)
    index = np.full(A.shape[0], -1, dtype=np.int64)
    for a in range(A.shape[0]):
        for i in range(C.shape[0]):
            if np.array_equal(C[i], A[a]):
                index[a] = i
                break
    return index


def ref_cover(C, A, anomaly_index) -> np.ndarray:
    """SPEC 3, before the k_min floor: for each anomaly a,
    min over centres i != own(a) of { c_i(a) + 1 : c_i(a) <= n_c - 2 }, or n_c - 1 if none,
    where c_i(a) = #{ j != i : d(c_i, c_j) <= d(c_i, a) }.

    Compares squared distances from the exact flavour (sqrt is monotone, so <= is the same
    relation on the true distances; working on squares avoids sqrt merging distinct values)."""
    C, A = _as_data(C), _as_data(A)
    n, m = C.shape[0], A.shape[0]
    anomaly_index = np.asarray(anomaly_index, dtype=np.int64)
    assert anomaly_index.shape == (m,)
    DCC = ref_sq_dists(C, C, exact=True)
    DCA = ref_sq_dists(C, A, exact=True)
    cover = np.full(m, n - 1, dtype=np.int64)
    for a in range(m):
        for i in range(n):
            if i == anomaly_index[a]:
                continue  # leave-one-out: the anomaly's own ball
            others = np.delete(DCC[i], i)
            c = int(np.count_nonzero(others <= DCA[i, a]))
            if c <= n - 2:
                cover[a] = min(cover[a], c + 1)
    return cover


def ref_k_from_votes(k_a, n_c: int, k_min: int, quantile: float) -> int:
    """Posterior quantile of SPEC 3 from the per-anomaly k_a (already >= k_min)."""
    k_max = n_c - 1
    m = len(k_a)
    S = math.fsum((int(k) - k_min) / (k_max - k_min) for k in k_a)
    q = float(betaincinv(1.0 + S, 1.0 + m - S, quantile))
    return int(min(max(math.floor(k_min + q * (k_max - k_min)), k_min), k_max))


def ref_estimate_k(C, A, k_min: int = 1, quantile: float = 0.95, anomaly_index=None) -> int:
    """SPEC 3 k-hat. anomaly_index: row of C each anomaly is (-1: none); None means
    ``ref_match_rows(C, A)``."""
    C, A = _as_data(C), _as_data(A)
    n_c, m = C.shape[0], A.shape[0]
    if n_c < 2:
        raise ValueError("n_c < 2")
    if n_c <= k_min + 1:
        return n_c - 1
    if anomaly_index is None:
        anomaly_index = ref_match_rows(C, A)
    if m == 0:
        k_a = []
    else:
        k_a = np.maximum(ref_cover(C, A, anomaly_index), k_min)
    return ref_k_from_votes(k_a, n_c, k_min, quantile)
