"""Fixed-seed synthetic data shared by the asv benchmarks."""

import numpy as np


def training_data(n, d, dtype=np.float64, anomaly_fraction=0.01, seed=0):
    """n training points (a Gaussian normal class, a shifted anomaly cluster) and labels."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    m = max(1, int(round(anomaly_fraction * n)))
    y = np.zeros(n, dtype=np.int64)
    y[:m] = 1
    X[:m] += 2.0
    return X.astype(dtype), y


def candidates(l, d, dtype=np.float64, seed=1):
    """Thirds: realistic (near the anomaly cluster), indistinguishable (normal), unrealistic (far)."""
    rng = np.random.default_rng(seed)
    third = l // 3
    Z = rng.standard_normal((l, d))
    Z[:third] += 2.0
    Z[2 * third:] = Z[2 * third:] * 0.5 + 12.0
    good = np.zeros(l, dtype=bool)
    good[:third] = True
    return Z.astype(dtype), good
