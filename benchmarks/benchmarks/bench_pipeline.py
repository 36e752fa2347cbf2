"""asv: SSDO, the fitted scorer, bagged fits, the scoring pass per instruction set and
score_auxiliary (SPEC sections 4-7)."""

import time

import numpy as np
from sklearn.metrics import roc_auc_score

import eap_anomaly as eap
from eap_anomaly import _core

from .common import candidates, training_data


class SSDO:
    params = ([2000, 5000], [8, 64], [1, -1])
    param_names = ["n", "d", "n_jobs"]

    def setup(self, n, d, n_jobs):
        self.X, self.y = training_data(n, d)
        self.Z, _ = candidates(20000, d)
        self.fitted = eap.SSDO(random_state=0, n_jobs=n_jobs).fit(self.X, self.y)

    def time_fit(self, n, d, n_jobs):
        eap.SSDO(random_state=0, n_jobs=n_jobs).fit(self.X, self.y)

    def time_decision_function(self, n, d, n_jobs):
        self.fitted.decision_function(self.Z)


class Scorer:
    params = ([5000], [8, 64], ["float32", "float64"], [1, -1])
    param_names = ["n", "d", "dtype", "n_jobs"]

    def setup_cache(self):
        fitted = {}
        for d in self.params[1]:
            for dtype in self.params[2]:
                X, y = training_data(5000, d, np.dtype(dtype))
                fitted[d, dtype] = eap.EAPScorer(random_state=0).fit(X, y)
        return fitted

    def setup(self, fitted, n, d, dtype, n_jobs):
        self.X, self.y = training_data(n, d, np.dtype(dtype))
        self.Z, _ = candidates(50000, d, np.dtype(dtype))
        self.scorer = fitted[d, dtype].set_params(n_jobs=n_jobs)

    def time_fit(self, fitted, n, d, dtype, n_jobs):
        eap.EAPScorer(random_state=0, n_jobs=n_jobs).fit(self.X, self.y)

    def time_score(self, fitted, n, d, dtype, n_jobs):
        self.scorer.score_samples(self.Z)

    def peakmem_score(self, fitted, n, d, dtype, n_jobs):
        self.scorer.score_samples(self.Z)


class Bagging:
    """Fit + score at the protocol's split sizes (n = 1000, d = 36, l = 750; issue 11), on one
    and two threads: one round, and the authors' preset (100 bags)."""

    params = (["one round", "authors_code"], [1, 2])
    param_names = ["preset", "n_jobs"]

    def setup(self, preset, n_jobs):
        self.X, self.y = training_data(1000, 36, anomaly_fraction=0.05)
        self.Z, _ = candidates(750, 36)
        self.make = {"one round": lambda: eap.EAPScorer(random_state=0, n_jobs=n_jobs),
                     "authors_code": lambda: eap.EAPScorer.authors_code(random_state=0,
                                                                        n_jobs=n_jobs)}[preset]

    def time_fit_score(self, preset, n_jobs):
        self.make().fit(self.X, self.y).score_samples(self.Z)


class ScoringPass:
    """The fused scoring pass alone (kernel sums and rarity), one thread, under each instruction
    set (forced with the core's private switch; results are the same bits on all of them)."""

    params = (["baseline", "avx2", "avx512"], [8, 64], ["float32", "float64"])
    param_names = ["isa", "d", "dtype"]
    n, l = 4000, 20000

    def setup(self, isa, d, dtype):
        if isa not in _core._supported_isas():
            raise NotImplementedError(f"this CPU lacks {isa}")
        _core._set_isa(isa)
        X, y = training_data(self.n, d, np.dtype(dtype))
        self.Z, _ = candidates(self.l, d, np.dtype(dtype))
        make = _core.TrainingPassF32 if dtype == "float32" else _core.TrainingPassF64
        tau = 1e-5 if dtype == "float32" else 1e-9
        self.index = make(X, y.astype(np.uint8), np.full(self.n, np.sqrt(2.0 * d)), tau, 1.0)

    def teardown(self, isa, d, dtype):
        _core._set_isa("auto")

    def time_score(self, isa, d, dtype):
        self.index.score(self.Z, 1)

    def track_pairs_per_second_per_core(self, isa, d, dtype):
        start = time.perf_counter()
        self.index.score(self.Z, 1)
        return self.n * self.l / (time.perf_counter() - start)

    track_pairs_per_second_per_core.unit = "pairs/s"


class ScoreAuxiliary:
    params = ([1000, 5000], [16, 64])
    param_names = ["n", "d"]
    timeout = 300

    def setup(self, n, d):
        self.X, self.y = training_data(n, d)
        self.Z, self.good = candidates(30000, d)

    def time_score_auxiliary(self, n, d):
        eap.score_auxiliary(self.X, self.y, self.Z, random_state=0)

    def peakmem_score_auxiliary(self, n, d):
        eap.score_auxiliary(self.X, self.y, self.Z, random_state=0)

    def track_auc_qlt(self, n, d):
        """AUC_QLT on the fixed synthetic split: realistic = good, the rest = poor."""
        quality = eap.score_auxiliary(self.X, self.y, self.Z, random_state=0)
        return roc_auc_score(self.good, quality)

    track_auc_qlt.unit = "AUC"
