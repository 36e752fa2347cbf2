"""The fused training pass (SPEC sections 2 and 4.3): candidates against the training points once,
giving the SSDO kernel sums W+ and W- and the rarity against the centre balls from the same
distances. Both the SSDO detector and every EAP round score through one of these."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from . import _core
from ._validation import TAU


class TrainingPass:
    """Training points packed in the core. Its owners build it when they are fitted, loaded or
    unpickled (never lazily), so concurrent first use needs no lock; it does not pickle itself.

    All lengths are in the caller's scaled units (see :func:`._validation.safe_scale`).

    Parameters
    ----------
    X : (n, d) float32/float64, C-contiguous
    is_anomaly : (n,) bool
    radius : (n,) float64
        Ball radius of each training point, 0 for a point that is not a centre (it holds nothing).
    eta : float
        Kernel bandwidth.
    """

    def __init__(self, X: np.ndarray, is_anomaly: np.ndarray, radius: np.ndarray, eta: float) -> None:
        make = _core.TrainingPassF32 if X.dtype == np.float32 else _core.TrainingPassF64
        self._core = make(X, is_anomaly.astype(np.uint8), radius, TAU[X.dtype], eta)

    def score(self, Z: np.ndarray, threads: int,
              exact: bool = False) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w_pos, w_neg, rarity)`` of each row of Z (same dtype and units as X), float64.
        From d = 24 on, distances come from the GEMM expansion, with kernel sums within its
        bound of the exact ones and the same rarity (README); ``exact=True`` computes every
        distance as an exact sum (a fit scoring its own training points)."""
        w_pos, w_neg, rarity = self._core.score(Z, threads, exact=exact)
        return w_pos, w_neg, rarity


class RoundsPass:
    """The training passes of several rounds (bagging) over one packed copy of the training
    points: a candidate's distances are computed once and shared by every round, and each round
    gets exactly what a :class:`TrainingPass` of its own points would give with ``exact=True``.
    Built like it.

    Parameters
    ----------
    X : (n, d) float32/float64, C-contiguous
    is_anomaly : (n,) bool
    rows : each round's training points, increasing indices into X
    radius : each round's ball radius per point of ``rows`` (0: not a centre)
    eta : each round's kernel bandwidth
    threads : threads to build the rounds' lanes on
    """

    def __init__(self, X: np.ndarray, is_anomaly: np.ndarray, rows: Sequence[np.ndarray],
                 radius: Sequence[np.ndarray], eta: Sequence[float], threads: int) -> None:
        make = _core.RoundsPassF32 if X.dtype == np.float32 else _core.RoundsPassF64
        self._core = make(X, is_anomaly.astype(np.uint8), *concatenated(rows),
                          np.concatenate(radius).astype(np.float64), TAU[X.dtype],
                          np.asarray(eta, dtype=np.float64), threads)

    def score(self, Z: np.ndarray, threads: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w_pos, w_neg, rarity)``, float64 (rounds, rows of Z)."""
        w_pos, w_neg, rarity = self._core.score(Z, threads)
        return w_pos, w_neg, rarity


def concatenated(rows: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """(offsets, rows) of the core's round layout: round r's rows at offsets[r]:offsets[r + 1]."""
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([r.size for r in rows])
    return offsets, np.concatenate(rows).astype(np.int64)
