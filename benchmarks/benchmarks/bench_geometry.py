"""asv: k-NN radii, rarity scores and k-hat (SPEC sections 1-3)."""

import numpy as np

import eap_anomaly as eap

from .common import candidates, training_data


class KnnRadii:
    params = ([2000, 10000], [8, 64], ["float32", "float64"], [10, 64, "0.4n"], [1, -1])
    param_names = ["n", "d", "dtype", "k", "n_jobs"]

    def setup(self, n, d, dtype, k, n_jobs):
        self.C, _ = training_data(n, d, np.dtype(dtype))
        self.k = int(0.4 * n) if k == "0.4n" else k

    def time_knn_radii(self, n, d, dtype, k, n_jobs):
        eap.knn_radii(self.C, self.k, n_jobs=n_jobs)

    def peakmem_knn_radii(self, n, d, dtype, k, n_jobs):
        eap.knn_radii(self.C, self.k, n_jobs=n_jobs)


class RarityScores:
    params = ([8, 64], ["float32", "float64"], [1, -1])
    param_names = ["d", "dtype", "n_jobs"]

    def setup(self, d, dtype, n_jobs):
        self.C, _ = training_data(5000, d, np.dtype(dtype))
        self.Z, _ = candidates(30000, d, np.dtype(dtype))
        self.radii = eap.knn_radii(self.C, 1000)

    def time_rarity_scores(self, d, dtype, n_jobs):
        eap.rarity_scores(self.Z, self.C, self.radii, n_jobs=n_jobs)


class EstimateK:
    params = ([2000, 8000], [8, 64], [1, -1])
    param_names = ["n", "d", "n_jobs"]

    def setup(self, n, d, n_jobs):
        self.X, y = training_data(n, d)
        self.anomaly_index = np.flatnonzero(y == 1)

    def time_estimate_k(self, n, d, n_jobs):
        eap.estimate_k(self.X, self.X[self.anomaly_index], anomaly_index=self.anomaly_index, n_jobs=n_jobs)
