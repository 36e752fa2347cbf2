"""Streaming selection of the best candidates: a running partial selection over chunks of scores.

Used by :meth:`EAPScorer.select` and the ``eap-anomaly select`` command; memory is O(top + chunk)
(plus the rows at or above ``min_quality`` when no ``top`` is given), never O(l) twice.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Tuple

import numpy as np

from ._validation import check_float


def check_top(top: Any, n_rows: Optional[int]) -> Optional[int]:
    """The number of rows ``top`` asks for: an int >= 1 is a count, a float in (0, 1] a fraction of
    ``n_rows`` (the nearest integer to ``top * n_rows``, halves up, and at least one row when
    there are rows). ``n_rows`` None (unknown yet) is allowed for counts only."""
    if top is None:
        return None
    if isinstance(top, (bool, np.bool_)) or not isinstance(top, numbers.Real):
        raise TypeError(f"top must be an int >= 1 (a count) or a float in (0, 1] (a fraction), "
                        f"got {type(top).__name__}")
    if isinstance(top, numbers.Integral):
        if int(top) < 1:
            raise ValueError(f"top must be an int >= 1 (a count) or a float in (0, 1] (a fraction), "
                             f"got {int(top)}")
        return int(top)
    fraction = float(top)
    if not (0.0 < fraction <= 1.0):  # NaN fails too
        raise ValueError(f"top as a fraction must be in (0, 1], got {fraction}; pass an int for a count")
    if n_rows is None:
        raise ValueError("top as a fraction needs the number of rows, which is unknown here")
    return min(n_rows, max(1, math.floor(fraction * n_rows + 0.5))) if n_rows > 0 else 0


def check_min_quality(min_quality: Any) -> Optional[float]:
    if min_quality is None:
        return None
    return check_float(min_quality, "min_quality", low=-np.inf, high=np.inf, low_open=True, high_open=True)


class TopSelection:
    """Keeps the ``top`` highest scores seen so far (all of them when ``top`` is None) that are at
    or above ``min_quality``, with their row indices and optional per-row payload (e.g. the rows).

    Order is total and deterministic: higher score first, ties by lower row index. Each
    :meth:`add` merges one chunk with an ``np.partition`` on the kept scores plus the chunk, so a
    pass costs O(l) time overall per chunk size and O(top + chunk) memory.
    """

    def __init__(self, top: Optional[int], min_quality: Optional[float] = None) -> None:
        self.top, self.min_quality = top, min_quality
        self.scores = np.empty(0)
        self.index = np.empty(0, dtype=np.int64)
        self.payload: Optional[np.ndarray] = None
        self.seen = 0

    def add(self, scores: np.ndarray, payload: Optional[np.ndarray] = None) -> None:
        """Scores of the next ``len(scores)`` rows (row indices continue from the last call)."""
        scores = np.asarray(scores, dtype=np.float64)
        index = np.arange(self.seen, self.seen + scores.shape[0], dtype=np.int64)
        self.seen += scores.shape[0]
        if self.top == 0:
            return
        keep = None
        if self.min_quality is not None:
            keep = scores >= self.min_quality
        if self.top is not None and self.scores.shape[0] == self.top:
            # full: a new row (larger index) enters only with a score above the worst kept one
            above = scores > self.scores.min()
            keep = above if keep is None else keep & above
        if keep is not None:
            scores, index = scores[keep], index[keep]
            payload = None if payload is None else payload[keep]
        # kept rows (ascending index) then the chunk's (larger indices): indices stay ascending
        scores = np.concatenate([self.scores, scores])
        index = np.concatenate([self.index, index])
        if payload is not None:
            payload = payload if self.payload is None else np.concatenate([self.payload, payload])
        if self.top is not None and scores.shape[0] > self.top:
            mask = self._best_mask(scores, self.top)
            scores, index = scores[mask], index[mask]
            payload = None if payload is None else payload[mask]
        self.scores, self.index, self.payload = scores, index, payload

    @staticmethod
    def _best_mask(scores: np.ndarray, top: int) -> np.ndarray:
        """The ``top`` best of ``scores`` (whose row indices ascend): every score above the
        top-th largest value, then the lowest-indexed rows equal to it."""
        cut = scores.shape[0] - top
        value = np.partition(scores, cut)[cut]
        mask: np.ndarray = scores > value
        ties = np.flatnonzero(scores == value)
        mask[ties[:top - int(mask.sum())]] = True
        return mask

    def result(self) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Row indices (int64), scores and payload of the kept rows, best first."""
        order = np.lexsort((self.index, -self.scores))
        payload = None if self.payload is None else self.payload[order]
        return self.index[order], self.scores[order], payload
