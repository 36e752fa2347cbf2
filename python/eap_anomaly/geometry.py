"""k-NN sphere radii, rarity scores, nearest-centre distances and the k-hat estimate (SPEC
sections 1-3)."""

from __future__ import annotations

import math
import warnings
from typing import Any, Optional

import numpy as np
from scipy.special import betaincinv

from . import _core
from ._validation import (
    TAU,
    check_float,
    check_int,
    check_matrix,
    check_n_jobs,
    check_same_dtype,
    check_same_width,
    safe_scale,
    scaled,
)


def knn_radii(C: Any, k: int, n_jobs: Optional[int] = None) -> np.ndarray:
    """Distance from each centre to its k-th nearest *other* centre (SPEC section 1).

    Parameters
    ----------
    C : array of shape (n_c, d), float32 or float64
        Sphere centres. float32 stays float32 in the kernel (no copy when C-contiguous);
        integers are converted to float64.
    k : int
        Neighbour rank, ``1 <= k <= n_c - 1``. Duplicates count with multiplicity, so a centre
        with at least k exact duplicates has radius 0. Any k is fast: a register-blocked
        GEMM-expansion pass filters candidates under a proven rounding margin (a running list
        per row for k <= 16, a sampled bracket over the row above), then the k-th value is
        taken from exact sums of squared differences; low dimension and small k use a kd-tree.
    n_jobs : int or None
        Threads: None uses the OpenMP default (``OMP_NUM_THREADS``), -1 all CPUs.
        Results are identical for every thread count.

    Returns
    -------
    radii : ndarray of shape (n_c,), float64

    Notes
    -----
    Time O(n_c^2 d). Peak memory: two n_c x d copies of C (filter coordinates and packed
    panels) plus, per thread, at most 8 MiB of filter rows (large k) or candidate lists (small k).
    """
    C = check_matrix(C, "C")
    n = int(C.shape[0])
    if n < 2:
        raise ValueError(f"C must have at least 2 rows (centres), got {n}")
    k = check_int(k, "k", low=1, high=n - 1)
    threads = check_n_jobs(n_jobs)
    scale = safe_scale(C)
    radii: np.ndarray = _core.knn_radii(scaled(C, scale), k, threads)
    return radii / scale if scale != 1.0 else radii


def check_radii(radii: Any, n_centres: int) -> np.ndarray:
    given = np.asarray(radii)
    if given.dtype.kind not in "fiu" or given.dtype == np.float16:
        raise TypeError(f"radii must be a float32 or float64 array, got {given.dtype}")
    if given.ndim != 1 or given.shape[0] != n_centres:
        raise ValueError(
            f"radii must have shape ({n_centres},) (one radius per centre), got {given.shape}"
        )
    values = np.ascontiguousarray(given, dtype=np.float64)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("radii must be finite and non-negative")
    return values


def rarity_scores(Z: Any, C: Any, radii: Any, n_jobs: Optional[int] = None) -> np.ndarray:
    """Rarity of each query (SPEC section 2): the smallest radius among the balls that hold it.

    ``rarity(z) = min{ r_i : d(c_i, z) < r_i (1 - tau) }`` (strict membership, tau = 1e-9 for
    float64 and 1e-5 for float32 data), and 0 when no ball holds z. Higher = rarer.

    Parameters
    ----------
    Z : array of shape (l, d)
        Queries; same dtype as C (float32 or float64; no silent promotion).
    C : array of shape (n_c, d)
        Ball centres.
    radii : array of shape (n_c,)
        Ball radii, e.g. from :func:`knn_radii`.
    n_jobs : int or None
        Threads, as in :func:`knn_radii`.

    Returns
    -------
    rarity : ndarray of shape (l,), float64, >= 0

    Notes
    -----
    Exact. Balls are scanned in increasing radius, so the scan stops at the first band of balls
    holding the query; panels of balls are skipped only when the triangle inequality proves they
    cannot hold it. Peak memory O(n_c d) for the index.
    """
    Z = check_matrix(Z, "Z", allow_empty_rows=True)
    C = check_matrix(C, "C")
    dtype = check_same_dtype(Z=Z, C=C)
    check_same_width(("C", C), ("Z", Z))
    radii = check_radii(radii, C.shape[0])
    threads = check_n_jobs(n_jobs)
    scale = safe_scale(Z, C)
    scores: np.ndarray = _core.rarity_scores(scaled(Z, scale), scaled(C, scale), radii * scale,
                                             TAU[dtype], threads)
    return scores / scale if scale != 1.0 else scores


def nearest_distances(Z: Any, C: Any, n_jobs: Optional[int] = None, *, k: int = 1) -> np.ndarray:
    """Distance from each query to its ``k``-th nearest centre (``k = 1``: ``min_i d(c_i, z)``).

    Outside every ball the nearest-centre distance is the continuous extension of the rarity,
    ``min_i max(r_i, d(c_i, z))``: the radius of the smallest ball once each ball is enlarged
    just enough to hold z. The tail density (``EAPScorer(outside="tail")``) uses it; the k-NN
    prior (``EAPScorer(prior="knn")``) uses the k-th.

    Parameters
    ----------
    Z : array of shape (l, d)
        Queries; same dtype as C (float32 or float64; no silent promotion).
    C : array of shape (n_c, d), n_c >= 1
        Centres.
    n_jobs : int or None
        Threads, as in :func:`knn_radii`.
    k : int in [1, n_c]
        Which neighbour: the k-th smallest distance, duplicates of a centre counted (a query
        equal to a centre is at distance 0 from it; nothing is left out).

    Returns
    -------
    distances : ndarray of shape (l,), float64, >= 0

    Notes
    -----
    Exact: squared distances are the sequential sums of squared differences of every other
    kernel (0 for a duplicate), computed in the data's dtype. Time O(l n_c d) (and a selection
    per query when k > 32), memory O(n_c d).
    """
    Z = check_matrix(Z, "Z", allow_empty_rows=True)
    C = check_matrix(C, "C")
    check_same_dtype(Z=Z, C=C)
    check_same_width(("C", C), ("Z", Z))
    k = check_int(k, "k", low=1, high=C.shape[0])
    threads = check_n_jobs(n_jobs)
    scale = safe_scale(Z, C)
    distances: np.ndarray = _core.nearest_distances(scaled(Z, scale), scaled(C, scale), k, threads)
    return distances / scale if scale != 1.0 else distances


def match_rows(C: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Index of a row of C equal to each row of A, or -1. Exact duplicates are interchangeable
    for the k-hat counts, so the first match is as good as any."""
    index = np.full(A.shape[0], -1, dtype=np.int64)
    first = C[:, 0]
    for a, row in enumerate(A):
        candidates = np.flatnonzero(first == row[0])
        if candidates.size:
            hits = candidates[(C[candidates] == row).all(axis=1)]
            if hits.size:
                index[a] = hits[0]
    return index


def k_from_cover(cover: np.ndarray, n_centres: int, k_min: int, quantile: float) -> int:
    """Posterior quantile of k (SPEC section 3) from each anomaly's smallest covering k."""
    k_max = n_centres - 1
    m = cover.shape[0]
    k_a = np.maximum(cover, k_min)
    S = float(np.sum((k_a - k_min) / (k_max - k_min)))
    q = float(betaincinv(1.0 + S, 1.0 + m - S, quantile))
    return int(min(max(math.floor(k_min + q * (k_max - k_min)), k_min), k_max))


def estimate_k(
    C: Any,
    A: Any,
    k_min: int = 1,
    quantile: float = 0.95,
    *,
    anomaly_index: Any = None,
    n_jobs: Optional[int] = None,
) -> int:
    """Bayesian estimate k-hat of the neighbour rank used for the density (SPEC section 3).

    Each anomaly votes with the smallest k for which some centre's k-NN ball holds it; the votes
    form the evidence of a Beta posterior on k, and k-hat is its ``quantile``.

    Parameters
    ----------
    C : array of shape (n_c, d)
        Centres, float32 or float64.
    A : array of shape (m, d)
        Training anomalies, same dtype as C. ``m = 0`` gives the prior's quantile (with a
        ``UserWarning``).
    k_min : int, default 1
        Smallest admissible k (the paper uses 1, the authors' code 5).
    quantile : float in (0, 1), default 0.95
    anomaly_index : array of m ints or None
        Row of C that each anomaly *is* (its own ball is left out of its query), -1 for none.
        None matches rows of A to identical rows of C.
    n_jobs : int or None
        Threads, as in :func:`knn_radii`.

    Returns
    -------
    k_hat : int in [k_min, n_c - 1]; n_c - 1 when n_c <= k_min + 1 (SPEC section 3)

    Notes
    -----
    Time O(n_c^2 d + n_c^2 log m), memory O(threads x n_c): the n_c x n_c distance matrix is
    never stored.
    """
    C = check_matrix(C, "C")
    A = check_matrix(A, "A", allow_empty_rows=True)
    check_same_dtype(C=C, A=A)
    check_same_width(("C", C), ("A", A))
    n = int(C.shape[0])
    if n < 2:
        raise ValueError(f"C must have at least 2 rows (centres), got {n}")
    k_min = check_int(k_min, "k_min", low=1)
    quantile = check_float(quantile, "quantile", low=0.0, high=1.0, low_open=True, high_open=True)
    threads = check_n_jobs(n_jobs)
    m = int(A.shape[0])
    if anomaly_index is None:
        index = match_rows(C, A)
    else:
        index = np.asarray(anomaly_index)
        if index.dtype.kind not in "iu":
            raise TypeError(f"anomaly_index must hold integers, got {index.dtype}")
        if index.shape != (m,):
            raise ValueError(f"anomaly_index must have shape ({m},), got {index.shape}")
        if ((index < -1) | (index >= n)).any():
            raise ValueError(f"anomaly_index entries must be -1 or in [0, {n - 1}]")
        index = np.ascontiguousarray(index, dtype=np.int64)
    scale = safe_scale(C, A)
    return bayesian_k(scaled(C, scale), scaled(A, scale), index, k_min, quantile, threads)


def bayesian_k(C: np.ndarray, A: np.ndarray, anomaly_index: np.ndarray, k_min: int,
               quantile: float, threads: int) -> int:
    """:func:`estimate_k` on validated, scaled arrays (the kernel under the public function)."""
    n = int(C.shape[0])
    k = k_without_ranks(n, int(A.shape[0]), k_min, quantile)
    if k is not None:
        return k
    return k_from_cover(_core.cover_ranks(C, A, anomaly_index, threads), n, k_min, quantile)


def k_without_ranks(n_centres: int, m: int, k_min: int, quantile: float) -> Optional[int]:
    """k-hat of the cases that need no cover ranks (SPEC section 3 guards), else None."""
    if n_centres <= k_min + 1:
        return n_centres - 1
    if m == 0:
        warnings.warn(
            "no training anomalies: k-hat is the prior's quantile; pass k explicitly to choose it",
            UserWarning,
            stacklevel=4,
        )
        return k_from_cover(np.empty(0, dtype=np.int64), n_centres, k_min, quantile)
    return None
