"""PCA whitening fitted on the training rows: a feature map of ``EAPScorer(whiten=...)``
(docs/quality.md). Distances after it are Mahalanobis distances within the leading principal
subspace, so no direction dominates the k-NN balls or SSDO's kernel because of its scale alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict

import numpy as np

from ._validation import check_float

#: Components whose variance is below this share of the largest are never kept (they are
#: rounding noise, and dividing by their standard deviation would blow it up).
REL_TOL = 1e-9


def check_whiten(value: Any) -> Any:
    """None (off) or the share of the training variance to keep, in (0, 1]."""
    if value is None:
        return None
    return check_float(value, "whiten", low=0.0, high=1.0, low_open=True)


@dataclass
class Whitening:
    """z -> (z - mean) @ projection, in float64, then in the model's dtype."""

    mean: np.ndarray
    projection: np.ndarray

    def transform(self, Z: np.ndarray, dtype: np.dtype) -> np.ndarray:
        out: np.ndarray = np.ascontiguousarray((Z - self.mean) @ self.projection, dtype=dtype)
        return out

    def arrays(self) -> Dict[str, Any]:
        return {"mean": self.mean, "projection": self.projection}

    @classmethod
    def from_arrays(cls, data: Dict[str, Any]) -> "Whitening":
        mean = np.asarray(data["mean"], dtype=np.float64)
        projection = np.asarray(data["projection"], dtype=np.float64)
        if projection.ndim != 2 or mean.shape != (projection.shape[0],):
            raise ValueError("the whitening's mean and projection do not match")
        return cls(mean, projection)


def fit_whitening(X: np.ndarray, variance: float) -> Whitening:
    """Whitening of the leading principal components of the training rows X that explain the
    share ``variance`` of their variance (at least one; none below ``REL_TOL`` of the largest),
    each divided by its standard deviation."""
    X64 = X.astype(np.float64)
    mean = X64.mean(axis=0)
    centred = X64 - mean
    # the SVD and the variances of centred / 2^e, |entries| < 1: exact, and no square of data
    # near 1e±200 overflows or underflows; the projection takes the 2^-e back
    e = int(np.frexp(np.max(np.abs(centred)))[1]) if centred.size else 0
    _, s, vt = np.linalg.svd(np.ldexp(centred, -e), full_matrices=False)
    var = s**2 / max(X.shape[0] - 1, 1)
    if var.size == 0 or not var[0] > 0:
        raise ValueError("X: whitening needs training rows that vary; every row is the same")
    keep = var > REL_TOL * var[0]
    keep &= np.arange(var.size) <= np.searchsorted(np.cumsum(var) / var.sum(), variance)
    return Whitening(mean, np.ldexp(vt[keep].T / np.sqrt(var[keep]), -e))
