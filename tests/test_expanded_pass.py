"""The scoring pass by the GEMM expansion (cpp/eap/expanded_distances.hpp, from d = 24 on), against
a NumPy pass over the exact-form squared distances (tests/reference.py): ball tests decide
exactly as on the exact distances, kernel sums stay within 1e-6 (float32) / 1e-12 (float64)
relative, on Gaussian data, near-duplicates, data far from the origin, balls whose thresholds
sit within a few ulp of candidates' distances, and rows too far from the training mean for the
expansion's bound (exact tiles). Instruction sets with FMA agree bit for bit, the baseline
within the same bounds and with the same ball tests (threads and chunks:
test_kernel_precision.py).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from eap_anomaly import _core, knn_radii
from eap_anomaly.ssdo import bandwidth
from reference import TAU, ref_sq_dists, ref_training_pass

PASS = {np.dtype(np.float32): _core.TrainingPassF32, np.dtype(np.float64): _core.TrainingPassF64}
RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
DTYPES = [np.float32, np.float64]


@pytest.fixture
def isa() -> Iterator[None]:
    yield
    _core._set_isa("auto")


def training_set(dtype, d: int, n: int = 1200, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:30] += 2.0
    anomaly = np.zeros(n, np.uint8)
    anomaly[:30] = 1
    return X.astype(dtype), anomaly, rng


def run_and_check(X, anomaly, radius, Z, eta=None):
    """Scores Z with the core and the reference; returns the core's pass and result."""
    dtype = X.dtype
    eta = float(bandwidth(X, 10, 1, 1.0)) if eta is None else eta
    tau = TAU[dtype]
    index = PASS[dtype](X, anomaly, radius, tau, eta)
    got = index.score(Z, 2)
    want = ref_training_pass(X, anomaly, radius, tau, eta, Z)
    assert_array_equal(got[2], want[2])
    for g, w in zip(got[:2], want[:2]):
        assert (w > 0).all()  # every sum far above the cut-off's 2^-60 terms
        rel = np.abs((g - w) / w).astype(np.float64)
        assert float(rel.max()) <= RTOL[dtype], float(rel.max())
    return index, got


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [32, 64])
@pytest.mark.parametrize("case", ["gaussian", "near duplicates", "far from the origin"])
def test_expanded_pass_matches_exact_distances(dtype, d: int, case: str) -> None:
    X, anomaly, rng = training_set(dtype, d)
    Z = rng.normal(scale=1.3, size=(300, d))
    if case == "near duplicates":
        dup = X[30:130].astype(np.float64)
        Z = np.vstack([dup, dup + 1e-3 * rng.normal(size=dup.shape), Z[:100]])
    if case == "far from the origin":
        offset = 1e4 if dtype == np.float32 else 1e9
        X = (X.astype(np.float64) + offset).astype(dtype)
        Z = Z + offset
    Z = Z.astype(dtype)
    radius = knn_radii(X, 10)
    radius[anomaly == 1] = 0.0  # anomalies are not centres (centres="normals")
    index, got = run_and_check(X, anomaly, radius, Z)
    assert index._expanded_rows(Z).mean() > 0.9  # the expansion, not the exact tiles, is tested
    assert 0 < (got[2] > 0).sum() < Z.shape[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(3))
def test_ball_tests_exact_at_thresholds_within_ulps(dtype, seed: int) -> None:
    """Each candidate's own centre gets the ball whose threshold lies a few ulp (of the data type)
    below or above their exact squared distance: every decision sits inside the expansion's
    error band and must be recomputed exactly."""
    d, l = 32, 300
    X, anomaly, rng = training_set(dtype, d, seed=seed)
    Z = rng.normal(size=(l, d)).astype(dtype)
    own = np.arange(30, 30 + l)
    d2 = ref_sq_dists(Z, X, exact=True)[np.arange(l), own]
    steps = rng.integers(-4, 5, size=l)
    target = d2.copy()
    for i, m in enumerate(steps):
        for _ in range(abs(int(m))):
            target[i] = np.nextafter(target[i], np.inf if m > 0 else -np.inf, dtype=dtype)
    tau = TAU[np.dtype(dtype)]
    radius = np.zeros(X.shape[0])
    radius[own] = np.sqrt(target.astype(np.float64)) / (1 - tau)
    inside_own = d2.astype(np.float64) < (radius[own] * (1 - tau)) ** 2
    assert 0 < inside_own.sum() < l
    index, got = run_and_check(X, anomaly, radius, Z)
    assert index._expanded_rows(Z).all()
    assert (got[2] > 0).sum() >= inside_own.sum()


@pytest.mark.parametrize("dtype", DTYPES)
def test_rows_far_from_the_training_mean_take_exact_tiles(dtype) -> None:
    d = 64
    X, anomaly, rng = training_set(dtype, d)
    eta = float(bandwidth(X, 10, 1, 1.0))
    directions = rng.normal(size=(60, d))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    far = X.astype(np.float64).mean(axis=0) + 5 * eta * directions  # inside the kernel's reach
    Z = np.vstack([rng.normal(size=(60, d)), far]).astype(dtype)
    radius = knn_radii(X, 10)
    index, _ = run_and_check(X, anomaly, radius, Z, eta)
    expanded = index._expanded_rows(Z)
    assert expanded[:60].all() and not expanded[60:].any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [23, 24])
def test_the_expansion_starts_at_d_24(dtype, d: int) -> None:
    X, anomaly, rng = training_set(dtype, d)
    index = PASS[np.dtype(dtype)](X, anomaly, knn_radii(X, 10), TAU[np.dtype(dtype)], 8.0)
    assert index._expanded_rows(X[30:80]).all() == (d == 24)
    assert index._expanded_rows(X[30:80]).any() == (d == 24)


@pytest.mark.parametrize("dtype", DTYPES)
def test_expanded_pass_on_every_isa(dtype, isa) -> None:
    """FMA instruction sets give the same bits; the baseline's kernel sums stay within the
    bound of the exact-distance result, its ball tests identical."""
    X, anomaly, rng = training_set(dtype, 64, n=700)
    Z = rng.normal(scale=1.3, size=(400, 64)).astype(dtype)
    radius = knn_radii(X, 10)
    results = {}
    for name in _core._supported_isas():
        _core._set_isa(name)
        results[name] = run_and_check(X, anomaly, radius, Z)[1]
    fma = [name for name in results if name != "baseline"]
    for name in fma[1:]:
        for got, want in zip(results[name], results[fma[0]]):
            assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES)
def test_no_training_points_score_nothing(dtype) -> None:
    index = PASS[np.dtype(dtype)](np.zeros((0, 32), dtype), np.zeros(0, np.uint8), np.zeros(0),
                                  TAU[np.dtype(dtype)], 1.0)
    Z = np.ones((5, 32), dtype)
    assert not index._expanded_rows(Z).any()
    for got in index.score(Z, 2):
        assert_array_equal(got, np.zeros(5))
