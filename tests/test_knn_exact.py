"""knn_radii equals the exact reference bit for bit (SPEC section 1).

The core filters pairs with the GEMM expansion |a|^2 - 2ab + |b|^2 and a proven error margin,
then recomputes sum (a - b)^2 for the pairs near the k-th neighbour. Whatever the filter does,
the radii must EQUAL those of the slow reference that sums (a - b)^2 in the data's dtype in
increasing feature order (reference.ref_knn_radii(..., exact=True)): these tests use ==.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from eap_anomaly import _core, knn_radii
from reference import ref_knn_radii

DTYPES = [np.float32, np.float64]


def ks(n):
    """k = 1, 10, 16/17 (the running/whole-row switch), 64/65 (the kd-tree's limit), 129,
    0.4 n and n - 1, where valid."""
    return sorted(k for k in {1, 10, 16, 17, 64, 65, 129, int(0.4 * n), n - 1} if 1 <= k <= n - 1)


def check(C, k_values=None, threads=(1, 2)):
    """Core result == exact reference for every k, and identical for every thread count."""
    for k in k_values or ks(C.shape[0]):
        want = ref_knn_radii(C, k, exact=True)
        got = [_core.knn_radii(C, k, t) for t in threads]
        for g in got:
            assert_array_equal(g, want, err_msg=f"k={k}")
        assert all(g.tobytes() == got[0].tobytes() for g in got)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [1, 2, 8, 64, 300])
def test_random(dtype, d):
    rng = np.random.default_rng([1, d])
    n = 180 if d < 300 else 90
    check(rng.normal(size=(n, d)).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_clustered_wide(dtype):
    """Several tiles per row and several row blocks: n above the panel and block sizes."""
    rng = np.random.default_rng(2)
    centres = rng.normal(scale=3.0, size=(5, 16))
    C = (centres[rng.integers(0, 5, size=700)] + rng.normal(size=(700, 16))).astype(dtype)
    check(C, [1, 10, 64, 65, 200, 280, 699])


def exact_radii_blocked(C, k):
    """ref_knn_radii(C, k, exact=True) for larger n: same sequential sum, blocks of rows."""
    n = C.shape[0]
    out = np.empty(n)
    for start in range(0, n, 500):
        rows = C[start:start + 500]
        acc = np.zeros((rows.shape[0], n), dtype=C.dtype)
        for f in range(C.shape[1]):
            t = rows[:, f][:, None] - C[:, f][None, :]
            acc = acc + t * t
        acc[np.arange(rows.shape[0]), np.arange(start, start + rows.shape[0])] = np.inf
        out[start:start + 500] = np.sqrt(np.partition(acc, k - 1, axis=1)[:, k - 1].astype(np.float64))
    return out


@pytest.mark.parametrize("isa", _core._supported_isas())
@pytest.mark.parametrize("dtype", DTYPES)
def test_large_rows(dtype, isa):
    """n large enough for the sampled bracket of the whole-row selection (n > 4096), random
    data and a coarse grid full of exact ties, on each instruction set the CPU has (each
    gathers and selects with its own vector compress)."""
    rng = np.random.default_rng(10)
    n = 4500
    try:
        _core._set_isa(isa)
        for C in (rng.normal(size=(n, 3)), rng.integers(0, 6, size=(n, 3)) * 0.5):
            C = C.astype(dtype)
            for k in (10, 700, int(0.4 * n), n - 1):
                want = exact_radii_blocked(C, k)
                assert_array_equal(_core.knn_radii(C, k, 2), want, err_msg=f"k={k}")
    finally:
        _core._set_isa("auto")


def test_blocked_reference_equals_reference():
    """exact_radii_blocked (test_large_rows' reference) is ref_knn_radii's sum, in blocks."""
    C = np.random.default_rng(10).integers(0, 6, size=(300, 3)) * 0.5
    for dtype in DTYPES:
        assert_array_equal(ref_knn_radii(C.astype(dtype), 120, exact=True),
                           exact_radii_blocked(C.astype(dtype), 120))


@pytest.mark.parametrize("dtype", DTYPES)
def test_duplicates(dtype):
    """>= k exact duplicates give radius 0; duplicates count with multiplicity."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(40, 5)).astype(dtype)
    C = np.concatenate([np.repeat(base[:10], 12, axis=0), base[10:]])
    check(C, [1, 5, 11, 12, 13, 64, 65, 100, C.shape[0] - 1])
    assert (_core.knn_radii(C, 11, 2)[:120] == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_near_duplicates(dtype):
    """Differences ~1e-7 relative: the expansion cannot tell these pairs apart."""
    rng = np.random.default_rng(4)
    base = rng.normal(size=(30, 8))
    C = np.repeat(base, 6, axis=0)
    C = (C * (1 + 1e-7 * rng.standard_normal(C.shape))).astype(dtype)
    check(C)


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_offset(dtype):
    """|x| ~ 1e6 with differences ~ 1: the expansion's cancellation is what centring removes."""
    rng = np.random.default_rng(5)
    C = (1e6 + rng.normal(size=(150, 6))).astype(dtype)
    check(C)
    C2 = (rng.choice([-1e6, 1e6], size=(1, 6)) + rng.normal(size=(150, 6))).astype(dtype)
    check(C2, [1, 10, 65, 149])


@pytest.mark.parametrize("dtype", DTYPES)
def test_many_exact_ties(dtype):
    """Integer grid: many pairs at exactly the same distance."""
    rng = np.random.default_rng(6)
    C = rng.integers(0, 4, size=(200, 3)).astype(dtype)
    check(C)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tiny_values(dtype):
    """Values near the bottom of the range: squares underflow, subnormals appear."""
    rng = np.random.default_rng(7)
    tiny = np.finfo(dtype).tiny
    C = (rng.normal(size=(120, 4)) * (tiny * 2.0**20)).astype(dtype)
    check(C, [1, 10, 65, 119])
    C2 = (rng.normal(size=(100, 3)) * np.sqrt(tiny)).astype(dtype)
    check(C2, [1, 10, 65, 99])


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_values_core(dtype):
    """Values whose squared distances overflow in the dtype, straight into the core."""
    rng = np.random.default_rng(8)
    big = np.finfo(dtype).max
    with np.errstate(over="ignore"):
        C = (rng.uniform(-1, 1, size=(60, 3)) * (big / 4)).astype(dtype)
        check(C, [1, 10, 59])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [2, 3])
def test_tiny_n(dtype, n):
    rng = np.random.default_rng(n)
    for d in (1, 2, 8):
        check(rng.normal(size=(n, d)).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_public_function_equals_reference(dtype):
    """Through eap_anomaly.knn_radii (validation and range scaling on top of the core)."""
    rng = np.random.default_rng(9)
    C = rng.normal(size=(150, 10)).astype(dtype)
    for k in (1, 10, 60, 149):
        assert_array_equal(knn_radii(C, k, n_jobs=2), ref_knn_radii(C, k, exact=True))
