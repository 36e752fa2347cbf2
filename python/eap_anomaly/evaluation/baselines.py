"""The cheap quality baselines of the paper (SPEC section 8), next to EAP, from ONE fitted scorer:
P_x, P(y=1|x) and their combination come from the same pass that gives EAP. The data-valuation
baselines (:mod:`.valuation`) and the quality preset ``EAP_TUNED`` (``EAPScorer.tuned()``, about
15x the default's cost) are run on request only."""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np

from ..geometry import knn_radii, rarity_scores
from ..scorer import EAPScorer
from .valuation import VALUATION

#: The default methods (cheap: one fitted scorer).
METHODS = ("EAP", "RARITY", "P_x", "P_y|x", "P_y|x + n*P_x", "RANDOM")
#: The data-valuation baselines, named on request.
VALUATION_METHODS = tuple(VALUATION)
#: Methods that need the training labels (they fit models of their own).
LABELLED_METHODS = ("EAP_TUNED",) + VALUATION_METHODS
ALL_METHODS = METHODS + LABELLED_METHODS

#: Neighbour rank of the RARITY baseline (Han et al.).
RARITY_K = 10


def quality_scores(scorer: EAPScorer, X_train: np.ndarray, Z: np.ndarray,
                   methods: Sequence[str] = METHODS, random_state: Any = None,
                   y_train: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Quality of each candidate under each method; higher = better auxiliary anomaly.

    ``scorer`` must be fitted on ``X_train``. RARITY uses every training point as a centre with
    k = 10; RANDOM draws i.i.d. Uniform(0, 1) from ``random_state``. EAP_TUNED
    (``EAPScorer.tuned()``) and the valuation methods need the training labels ``y_train`` and
    seed with ``random_state``.
    """
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise ValueError(f"methods must be among {ALL_METHODS}, got {unknown}")
    labelled = [m for m in methods if m in LABELLED_METHODS]
    if labelled and y_train is None:
        raise ValueError(f"y_train is needed by {labelled}")
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
    if "EAP_TUNED" in methods:
        tuned = EAPScorer.tuned(random_state=random_state, n_jobs=scorer.n_jobs).fit(X_train, y_train)
        out["EAP_TUNED"] = tuned.score_samples(Z)
    for m in methods:
        if m in VALUATION:
            out[m] = VALUATION[m](X_train, y_train, Z, random_state=random_state, n_jobs=scorer.n_jobs)
    return {m: out[m] for m in methods}
