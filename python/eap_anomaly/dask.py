"""Scoring with Dask: a Dask array (or DataFrame) of candidates scored block by block.

The fitted scorer enters the task graph once, as a single delayed object, so the distributed
scheduler ships it to each worker once and every block task on that worker reuses it.

Threads: each block is scored with the scorer's OpenMP threads. With several worker processes
per machine, give each the share of cores it owns, e.g. ``LocalCluster(n_workers=4,
threads_per_worker=1)`` with ``n_jobs=cores // 4`` here (or ``OMP_NUM_THREADS`` in the worker
environment), so that workers x threads never exceeds the cores. Dask is an optional extra:
``pip install 'eap-anomaly[dask]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    from .scorer import EAPScorer

try:
    import dask.array as da
    from dask.delayed import delayed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("eap_anomaly.dask needs Dask: pip install 'eap-anomaly[dask]'") from exc


def _score_block(block: np.ndarray, scorer: "EAPScorer") -> np.ndarray:
    return scorer.score_samples(block, return_details=False)


def score_samples(scorer: "EAPScorer", candidates: Any, *, n_jobs: Optional[int] = None) -> "da.Array":
    """EAP quality of each candidate row, as a lazy Dask array (float64, one chunk per row block).

    Parameters
    ----------
    scorer : EAPScorer
        A fitted scorer.
    candidates : dask.array.Array of shape (l, d), or dask.dataframe.DataFrame
        Row blocks of any size; a DataFrame's partitions become row blocks.
    n_jobs : int or None
        OpenMP threads per block task; None keeps the scorer's setting.

    Returns
    -------
    quality : dask.array.Array of shape (l,), equal to ``scorer.score_samples(candidates.compute())``.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(scorer, "rounds_")
    if hasattr(candidates, "to_dask_array"):  # a Dask DataFrame
        candidates = candidates.to_dask_array(lengths=True)
    if not isinstance(candidates, da.Array):
        raise TypeError(f"candidates must be a Dask array or DataFrame, got {type(candidates).__name__}")
    if candidates.ndim != 2:
        raise ValueError(f"candidates must be 2-D (rows x features), got {candidates.ndim}-D")
    if candidates.shape[1] != scorer.n_features_in_:
        raise ValueError(f"candidates have {candidates.shape[1]} features but the scorer was "
                         f"fitted with {scorer.n_features_in_}")
    if n_jobs is not None:
        scorer = _with_threads(scorer, n_jobs)
    if candidates.numblocks[1] != 1:
        candidates = candidates.rechunk({1: -1})  # type: ignore[no-untyped-call]  # whole rows per task
    shared = delayed(scorer, pure=True)
    quality: da.Array = da.map_blocks(  # type: ignore[no-untyped-call]
        _score_block, candidates, shared, drop_axis=1, dtype=np.float64,
        meta=np.empty((0,), dtype=np.float64))
    return quality


def _with_threads(scorer: "EAPScorer", n_jobs: int) -> "EAPScorer":
    import copy

    from ._validation import check_n_jobs

    check_n_jobs(n_jobs)
    scorer = copy.copy(scorer)  # shallow: the fitted rounds are shared, not copied
    scorer.n_jobs = n_jobs
    return scorer
