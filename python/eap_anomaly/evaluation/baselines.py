"""The cheap quality baselines of the paper (SPEC section 8), next to EAP, from ONE fitted scorer:
P_x, P(y=1|x) and their combination come from the same pass that gives EAP."""

from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from ..geometry import knn_radii, rarity_scores
from ..scorer import EAPScorer

METHODS = ("EAP", "RARITY", "P_x", "P_y|x", "P_y|x + n*P_x", "RANDOM")

#: Neighbour rank of the RARITY baseline (Han et al.).
RARITY_K = 10


def quality_scores(scorer: EAPScorer, X_train: np.ndarray, Z: np.ndarray,
                   methods: Sequence[str] = METHODS, random_state: Any = None) -> Dict[str, np.ndarray]:
    """Quality of each candidate under each method; higher = better auxiliary anomaly.

    ``scorer`` must be fitted on ``X_train``. RARITY uses every training point as a centre with
    k = 10; RANDOM draws i.i.d. Uniform(0, 1) from ``random_state``.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods must be among {METHODS}, got {unknown}")
    out: Dict[str, np.ndarray] = {}
    if {"EAP", "P_x", "P_y|x", "P_y|x + n*P_x"} & set(methods):
        details = scorer.score_samples(Z, return_details=True)
        combined: np.ndarray = X_train.shape[0] * details.density + details.p_anomaly
        derived = {"EAP": details.quality, "P_x": details.density, "P_y|x": details.p_anomaly,
                   "P_y|x + n*P_x": combined}
        out.update({m: derived[m] for m in methods if m in derived})
    if "RARITY" in methods:
        k = min(RARITY_K, X_train.shape[0] - 1)
        Zc = Z.astype(X_train.dtype, copy=False)
        out["RARITY"] = rarity_scores(Zc, X_train, knn_radii(X_train, k, scorer.n_jobs), scorer.n_jobs)
    if "RANDOM" in methods:
        out["RANDOM"] = np.random.default_rng(random_state).random(int(Z.shape[0]))
    return {m: out[m] for m in methods}
