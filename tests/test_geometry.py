"""knn_radii, rarity_scores and estimate_k (SPEC sections 1-3) against the references in
reference.py, plus edge cases and exact scaling. (Bad and unusual input: test_validation.py;
thread-count invariance: test_threads.py.)"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import betaincinv

from eap_anomaly import _core, estimate_k, knn_radii, nearest_distances, rarity_scores
from helpers import blobs, normals_and_anomalies
from reference import (
    ref_nearest,
    TAU,
    ref_cover,
    ref_estimate_k,
    ref_knn_radii,
    ref_match_rows,
    ref_rarity,
)

DTYPES = [np.float32, np.float64]
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# (n, d): d = 1, 3 and 40; n around the 8/16-point panel widths and the 64-row blocks.
SHAPES = [(2, 1), (9, 1), (17, 3), (40, 3), (65, 40), (130, 3), (150, 40)]


def ks_for(n):
    """k = 1, 2, ..., n - 1 at a few places (k is often large in practice, SPEC 1)."""
    return sorted(k for k in {1, 2, n // 3, n // 2, n - 2, n - 1} if 1 <= k <= n - 1)


def extreme_exponents(dtype):
    """Powers of two far outside the 'comfortable' range: ~1e-300/1e300 for float64,
    ~1e-30/1e30 for float32."""
    return (-1000, 1000) if np.dtype(dtype) == np.float64 else (-100, 100)


# ---------------------------------------------------------------------------------------------
# The references themselves, on hand-computed examples (so a wrong reference cannot hide a bug)
# ---------------------------------------------------------------------------------------------


def test_reference_hand_examples():
    C = np.array([[0.0], [3.0], [7.0]])
    assert_array_equal(ref_knn_radii(C, 1), [3.0, 3.0, 4.0])
    assert_array_equal(ref_knn_radii(C, 2), [7.0, 4.0, 7.0])
    dup = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [4.0, 5.0]])
    assert_array_equal(ref_knn_radii(dup, 2), [0.0, 0.0, 0.0, 5.0])
    assert_array_equal(ref_knn_radii(dup, 3), [5.0, 5.0, 5.0, 5.0])
    # strict membership: z = 3 is a centre (own ball r = 3 holds it) and lies on the spheres of
    # centres 0 and 2, which therefore do not hold it.
    Z = np.array([[3.0], [0.0], [100.0], [1.0]])
    assert_array_equal(ref_rarity(Z, C, [3.0, 3.0, 4.0]), [3.0, 3.0, 0.0, 3.0])
    # k-hat counts on a line: centres 0, 1, 2, 10; anomaly 5 (not a centre).
    C = np.array([[0.0], [1.0], [2.0], [10.0]])
    A = np.array([[5.0]])
    # c_0 = #{1, 2} = 2, c_1 = #{0, 2} = 2, c_2 = #{0, 1} = 2, c_3 = #{} = 0 -> cover 1
    assert_array_equal(ref_cover(C, A, [-1]), [1])
    # anomaly 10 is centre 3: leave-one-out; c_0 = 3 = n_c - 1 for all others -> uncovered
    assert_array_equal(ref_cover(C, np.array([[10.0]]), [3]), [3])
    assert_array_equal(ref_cover(C, np.array([[10.0]]), [-1]), [1])
    assert_array_equal(ref_match_rows(C, np.array([[10.0], [5.0], [0.0]])), [3, -1, 0])


# ---------------------------------------------------------------------------------------------
# knn_radii
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d", SHAPES)
def test_knn_radii_random_matches_reference(dtype, n, d):
    rng = np.random.default_rng([n, d, 1])
    C = blobs(rng, n, d, dtype)
    for k in ks_for(n):
        got = knn_radii(C, k)
        assert got.dtype == np.float64 and got.shape == (n,)
        assert_allclose(got, ref_knn_radii(C, k), rtol=RTOL[np.dtype(dtype)], atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_radii_duplicates_and_ties(dtype):
    rng = np.random.default_rng(7)
    # integer grid: many exactly tied distances, and duplicate points (3 copies of some rows)
    base = rng.integers(-3, 4, size=(25, 2))
    C = np.vstack([base, base[:5], base[:5], base[10:12]]).astype(dtype)
    n = C.shape[0]
    for k in range(1, n):
        got = knn_radii(C, k)
        assert_array_equal(got, ref_knn_radii(C, k, exact=True))
        assert_allclose(got, ref_knn_radii(C, k), rtol=RTOL[np.dtype(dtype)], atol=0)
    # a row with >= k exact duplicates has radius exactly 0
    dup = np.array([[1.5, -2.0]] * 4 + [[0.0, 0.0], [3.0, 1.0]], dtype=dtype)
    for k in (1, 2, 3):
        assert_array_equal(knn_radii(dup, k)[:4], 0.0)
    r4 = knn_radii(dup, 4)
    assert (r4[:4] > 0).all()
    assert_allclose(r4[:4], math.hypot(1.5, 2.0), rtol=RTOL[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_radii_hand_examples(dtype):
    C = np.array([[0.0], [3.0], [7.0]], dtype=dtype)
    assert_array_equal(knn_radii(C, 1), [3.0, 3.0, 4.0])
    assert_array_equal(knn_radii(C, 2), [7.0, 4.0, 7.0])
    # n = 2: both radii are the one distance; d = 2 (3-4-5 triangle)
    two = np.array([[1.0, 1.0], [4.0, 5.0]], dtype=dtype)
    assert_array_equal(knn_radii(two, 1), [5.0, 5.0])
    # all points identical: every radius 0, for every k
    same = np.full((5, 3), 2.5, dtype=dtype)
    for k in range(1, 5):
        assert_array_equal(knn_radii(same, k), np.zeros(5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_knn_radii_float32_kept_and_consistent(dtype):
    rng = np.random.default_rng(11)
    C = blobs(rng, 50, 6, dtype)
    got = knn_radii(C, 5)
    assert got.dtype == np.float64
    # the float32 result is the distance between float32 points, within float32 rounding
    assert_allclose(got, ref_knn_radii(C, 5), rtol=RTOL[np.dtype(dtype)], atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent_index", [0, 1])
def test_knn_radii_scales_exactly(dtype, exponent_index):
    e = extreme_exponents(dtype)[exponent_index]
    s = 2.0**e
    rng = np.random.default_rng([3, exponent_index])
    # magnitudes in [0.5, 4): scaled values stay normal numbers, so X * s is exact
    C = (rng.uniform(0.5, 4.0, size=(60, 5)) * rng.choice([-1, 1], size=(60, 5))).astype(dtype)
    Cs = C * dtype(s)
    assert np.isfinite(Cs).all() and np.array_equal(Cs / dtype(s), C)
    for k in (1, 7, 59):
        base = knn_radii(C, k)
        scaled = knn_radii(Cs, k)
        assert np.isfinite(scaled).all() and (scaled > 0).all()
        assert_array_equal(scaled, base * s)


def test_knn_radii_float32_no_float64_copy():
    """C-contiguous float32 input is used as float32: no float64 copy of it is made."""
    rng = np.random.default_rng(5)
    C = rng.normal(size=(600, 500)).astype(np.float32)  # 1.2 MB; a float64 copy is 2.4 MB
    knn_radii(C[:10], 1)  # warm-up (imports, caches)
    tracemalloc.start()
    try:
        knn_radii(C, 3, n_jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.9 * C.nbytes, f"peak traced allocation {peak} B vs C {C.nbytes} B"


# ---------------------------------------------------------------------------------------------
# rarity_scores
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d", SHAPES)
def test_rarity_random_matches_reference(dtype, n, d):
    rng = np.random.default_rng([n, d, 2])
    C = blobs(rng, n, d, dtype)
    # queries: near the data, far away, and the centres themselves (own ball included; every
    # k-th neighbour lies exactly on a sphere, which the tau margin keeps outside)
    Z = np.vstack(
        [blobs(rng, 60, d, dtype), (rng.normal(size=(5, d)) * 50).astype(dtype), C[: min(n, 30)]]
    )
    for k in sorted({1, max(1, n // 4), n - 1}):
        radii = knn_radii(C, k)
        got = rarity_scores(Z, C, radii)
        assert got.dtype == np.float64 and got.shape == (Z.shape[0],)
        assert_array_equal(got, ref_rarity(Z, C, radii))
    # arbitrary radii (not k-NN radii), including zeros
    radii = rng.uniform(0, 6, size=n)
    radii[rng.random(n) < 0.2] = 0.0
    assert_array_equal(rarity_scores(Z, C, radii), ref_rarity(Z, C, radii))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rarity_strict_boundary_and_margin(dtype):
    tau = TAU[np.dtype(dtype)]
    C = np.array([[0.0], [10.0]], dtype=dtype)
    radii = np.array([2.0, 5.0])
    Z = np.array(
        [
            [2.0],  # exactly on sphere 0 -> not inside; 8 from centre 1 -> outside -> 0
            [5.0],  # exactly on sphere 1 -> 0
            [15.0],  # exactly on sphere 1, other side -> 0
            [2.0 * (1 - tau / 2)],  # inside the true ball but within the tau margin -> 0
            [2.0 * (1 - 3 * tau)],  # inside beyond the margin -> 2
            [1.0],  # inside 0 -> 2
            [5.5],  # inside 1 only -> 5
            [-100.0],  # outside everything -> 0
            [0.0],  # the centre itself: its own ball holds it -> 2
            [10.0],  # the other centre -> 5
        ],
        dtype=dtype,
    )
    expected = [0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 5.0, 0.0, 2.0, 5.0]
    assert_array_equal(rarity_scores(Z, C, radii), expected)
    assert_array_equal(ref_rarity(Z, C, radii), expected)
    # d = 2, a 3-4-5 triangle: the query is exactly on the sphere of radius 5
    C2 = np.array([[0.0, 0.0], [100.0, 100.0]], dtype=dtype)
    Z2 = np.array([[3.0, 4.0], [3.0, 3.9], [-3.0, -4.0]], dtype=dtype)
    assert_array_equal(rarity_scores(Z2, C2, [5.0, 1.0]), [0.0, 5.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_rarity_smallest_holding_ball_and_zero_radius(dtype):
    C = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0], [0.5, 0.0]], dtype=dtype)
    radii = np.array([5.0, 2.0, 0.0, 3.0])
    Z = np.array([[0.5, 0.0], [0.0, 0.0], [4.0, 0.0], [9.0, 0.0]], dtype=dtype)
    # (0.5, 0): balls 0, 1, 3 hold it (ball 2 has radius 0 and holds nothing) -> 2
    # (0, 0): 0 (d 0 < 5), 1 (d 1 < 2), 3 (d .5 < 3) -> 2
    # (4, 0): 0 (4 < 5) only; 1: d 3 > 2; 3: d 3.5 > 3 -> 5
    # (9, 0): none -> 0
    expected = [2.0, 2.0, 5.0, 0.0]
    assert_array_equal(rarity_scores(Z, C, radii), expected)
    assert_array_equal(ref_rarity(Z, C, radii), expected)
    # all radii zero -> every rarity 0, even for queries equal to centres
    assert_array_equal(rarity_scores(Z, C, np.zeros(4)), np.zeros(4))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rarity_centres_against_their_own_knn_balls(dtype):
    """Querying the centres with their k-NN radii: c_i is inside its own ball whenever r_i > 0,
    and a centre's k-th neighbour (on the sphere) is not inside that ball."""
    C = np.array([[0.0], [3.0], [7.0]], dtype=dtype)
    r1 = knn_radii(C, 1)  # [3, 3, 4]
    # 0: own ball (3); ball of 3: d 3 < 3 no -> 3.   3: own ball 3; ball of 0: 3 < 3 no -> 3
    # 7: own ball 4; ball of 3: 4 < 3 no -> 4
    assert_array_equal(rarity_scores(C, C, r1), [3.0, 3.0, 4.0])
    r2 = knn_radii(C, 2)  # [7, 4, 7]
    # 0: own 7, ball 1 (3 < 4) -> 4; 3: own 4 -> 4; 7: own 7, ball 1 (4 < 4 no) -> 7
    assert_array_equal(rarity_scores(C, C, r2), [4.0, 4.0, 7.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent_index", [0, 1])
def test_rarity_scales_exactly(dtype, exponent_index):
    e = extreme_exponents(dtype)[exponent_index]
    s = 2.0**e
    rng = np.random.default_rng([4, exponent_index])

    def draw(n, high):
        return (rng.uniform(0.5, high, size=(n, 4)) * rng.choice([-1, 1], size=(n, 4))).astype(dtype)

    C, Z = draw(80, 4.0), draw(120, 12.0)
    radii = knn_radii(C, 6)
    base = rarity_scores(Z, C, radii)
    assert (base > 0).any() and (base == 0).any()  # the test exercises both outcomes
    Cs, Zs = C * dtype(s), Z * dtype(s)
    assert np.array_equal(Cs / dtype(s), C) and np.array_equal(Zs / dtype(s), Z)
    assert_array_equal(rarity_scores(Zs, Cs, radii * s), base * s)
    assert_array_equal(knn_radii(Cs, 6), radii * s)


# ---------------------------------------------------------------------------------------------
# nearest_distances (the rarity's extension outside every ball)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d", SHAPES)
def test_nearest_random_matches_reference(dtype, n, d):
    rng = np.random.default_rng([n, d, 7])
    C = blobs(rng, n, d, dtype)
    # near the data, far away, and the centres themselves (distance exactly 0)
    Z = np.vstack([blobs(rng, 60, d, dtype), (rng.normal(size=(5, d)) * 50).astype(dtype), C[:30]])
    got = nearest_distances(Z, C)
    assert got.dtype == np.float64 and got.shape == (Z.shape[0],)
    assert_array_equal(got, ref_nearest(Z, C))
    assert_array_equal(got[65:], 0.0)
    assert_array_equal(nearest_distances(Z, C, n_jobs=2), nearest_distances(Z, C, n_jobs=1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_nearest_edge_cases(dtype):
    one = np.array([[3.0, 4.0]], dtype=dtype)  # a single centre
    Z = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]], dtype=dtype)
    assert_array_equal(nearest_distances(Z, one), [5.0, 0.0, 5.0])
    dup = np.repeat(one, 70, axis=0)  # duplicates across panels, and a ragged last panel
    assert_array_equal(nearest_distances(Z, dup), [5.0, 0.0, 5.0])
    # a tie between two centres, and d = 1
    assert_array_equal(nearest_distances(np.array([[0.0]], dtype=dtype),
                                         np.array([[-2.0], [2.0]], dtype=dtype)), [2.0])
    assert nearest_distances(np.empty((0, 2), dtype=dtype), one).shape == (0,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,d", SHAPES)
def test_kth_nearest_matches_reference(dtype, n, d):
    """k-th nearest centre: k = 1, a middle k, k = 32 and 33 (the running list and the
    selection), k = n; queries on the centres count the centre itself (distance 0)."""
    rng = np.random.default_rng([n, d, 9])
    C = blobs(rng, n, d, dtype)
    Z = np.vstack([blobs(rng, 50, d, dtype), (rng.normal(size=(5, d)) * 50).astype(dtype), C[:20]])
    for k in sorted({1, max(1, n // 2), min(32, n), min(33, n), n}):
        got = nearest_distances(Z, C, k=k)
        assert_array_equal(got, ref_nearest(Z, C, k), err_msg=f"k={k}")
        assert_array_equal(nearest_distances(Z, C, n_jobs=2, k=k), got)


@pytest.mark.parametrize("dtype", DTYPES)
def test_kth_nearest_edge_cases(dtype):
    # duplicates and ties: the k-th counts each copy; a ragged last panel; d = 1
    C = np.array([[0.0], [2.0], [2.0], [-2.0], [5.0]], dtype=dtype)
    Z = np.array([[0.0], [2.0], [10.0]], dtype=dtype)
    assert_array_equal([nearest_distances(Z, C, k=k)[0] for k in range(1, 6)], [0, 2, 2, 2, 5])
    assert_array_equal([nearest_distances(Z, C, k=k)[1] for k in range(1, 6)], [0, 0, 2, 3, 4])
    dup = np.repeat(np.array([[3.0, 4.0]], dtype=dtype), 70, axis=0)
    Z2 = np.array([[0.0, 0.0], [3.0, 4.0]], dtype=dtype)
    for k in (1, 10, 33, 70):
        assert_array_equal(nearest_distances(Z2, dup, k=k), [5.0, 0.0])
    # many centres for the selection (fewer query rows per work item), far-off and huge values
    rng = np.random.default_rng(5)
    big = (rng.normal(size=(3000, 2)) * 1e6 + 1e7).astype(dtype)
    Zb = np.vstack([big[:7], big[:7] + dtype(1.0)])
    for k in (1, 40, 2999, 3000):
        assert_array_equal(nearest_distances(Zb, big, k=k), ref_nearest(Zb, big, k))
    for bad in (0, 6, -1):
        with pytest.raises(ValueError, match="k"):
            nearest_distances(Z, C, k=bad)
    with pytest.raises(TypeError, match="k"):
        nearest_distances(Z, C, k=1.5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent_index", [0, 1])
def test_nearest_scales_exactly(dtype, exponent_index):
    s = 2.0 ** extreme_exponents(dtype)[exponent_index]
    rng = np.random.default_rng([8, exponent_index])
    C, Z = blobs(rng, 50, 4, dtype), blobs(rng, 40, 4, dtype) * dtype(3)
    Cs, Zs = C * dtype(s), Z * dtype(s)
    assert np.array_equal(Cs / dtype(s), C) and np.array_equal(Zs / dtype(s), Z)
    assert_array_equal(nearest_distances(Zs, Cs), nearest_distances(Z, C) * s)


def test_rarity_float32_no_float64_copy():
    rng = np.random.default_rng(6)
    Z = rng.normal(size=(20000, 40)).astype(np.float32)  # 3.2 MB; a float64 copy is 6.4 MB
    C = rng.normal(size=(20, 40)).astype(np.float32)
    radii = knn_radii(C, 3)
    rarity_scores(Z[:10], C, radii)  # warm-up
    tracemalloc.start()
    try:
        rarity_scores(Z, C, radii, n_jobs=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.9 * Z.nbytes, f"peak traced allocation {peak} B vs Z {Z.nbytes} B"


# ---------------------------------------------------------------------------------------------
# estimate_k
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,m,d", [(10, 3, 1), (30, 6, 3), (60, 12, 3), (80, 15, 40), (25, 1, 2)])
@pytest.mark.parametrize("centres", ["all", "normals"])
def test_estimate_k_random_matches_reference(dtype, n, m, d, centres):
    rng = np.random.default_rng([n, m, d, 3])
    normals, A = normals_and_anomalies(rng, n, m, d, dtype)
    if centres == "all":
        C = np.vstack([normals, A])
        index = np.arange(n, n + m)
    else:
        C = normals
        index = np.full(m, -1)
    # the per-anomaly votes (compiled kernel) against the reference counts
    cover = _core.cover_ranks(C, A, index.astype(np.int64), 1)
    assert_array_equal(cover, ref_cover(C, A, index))
    for k_min in (1, 3):
        for quantile in (0.5, 0.95):
            expected = ref_estimate_k(C, A, k_min, quantile, anomaly_index=index)
            got = estimate_k(C, A, k_min, quantile, anomaly_index=index)
            assert isinstance(got, int) and not isinstance(got, bool)
            assert got == expected
            assert k_min <= got <= C.shape[0] - 1
            # auto-detection of which anomalies are centres gives the same answer
            assert estimate_k(C, A, k_min, quantile) == expected


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_k_ties_on_integer_grid(dtype):
    """Many exactly tied distances (d(c_i, c_j) == d(c_i, a)): '<=' counts ties."""
    rng = np.random.default_rng(8)
    for trial in range(6):
        n, m = 30, 8
        grid = rng.integers(-3, 4, size=(n + m, 2))
        normals, A = grid[:n].astype(dtype), grid[n:].astype(dtype)
        for C, index in (
            (np.vstack([normals, A]), np.arange(n, n + m)),
            (normals, ref_match_rows(normals, A)),  # some anomalies may coincide with normals
            (normals, np.full(m, -1)),
        ):
            cover = _core.cover_ranks(C, A, np.asarray(index, dtype=np.int64), 1)
            assert_array_equal(cover, ref_cover(C, A, index))
            for k_min in (1, 4):
                expected = ref_estimate_k(C, A, k_min, 0.95, anomaly_index=index)
                assert estimate_k(C, A, k_min, anomaly_index=index) == expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 15, 16, 63, 64, 65, 130])
def test_cover_ranks_for_every_anomaly_count(dtype, m):
    """Each way of searching the anomalies' distances (lanes of every instruction set for few,
    a branch-free search for many) on tied grid data, some anomalies being centres."""
    rng = np.random.default_rng(m)
    grid = rng.integers(-4, 5, size=(90 + m, 3)).astype(dtype)
    C, A = grid, grid[90:]
    index = np.arange(90, 90 + m, dtype=np.int64)
    try:
        for isa in _core._supported_isas():
            _core._set_isa(isa)
            assert_array_equal(_core.cover_ranks(C, A, index, 2), ref_cover(C, A, index), err_msg=isa)
            assert_array_equal(_core.cover_ranks(C[:90], A, ref_match_rows(C[:90], A), 1),
                               ref_cover(C[:90], A, ref_match_rows(C[:90], A)), err_msg=isa)
    finally:
        _core._set_isa("auto")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [40, 100])
def test_cover_ranks_nearest_screen_and_full_counts(dtype, m):
    """n well above the 32 nearest centres that settle most anomalies: anomalies inside the data
    (covered within the nearest), far outside (counted over whole rows), exact duplicates of
    centres and tied copies; 1 and 2 threads (each thread skips by what it has found)."""
    rng = np.random.default_rng(m)
    normals = rng.normal(size=(300, 4)).astype(dtype)
    A = np.vstack([normals[:m // 4] + 0.01, normals[m // 4:m // 2],           # near, duplicates
                   rng.normal(size=(m - m // 2, 4)) * rng.choice([2.0, 8.0], size=(m - m // 2, 1))
                   ]).astype(dtype)
    A[-2:] = A[-3]  # tied anomalies
    for C in (normals, np.vstack([normals, A])):
        index = ref_match_rows(C, A)
        expected = ref_cover(C, A, index)
        assert (expected <= 33).any() and (expected > 33).any()  # both ways are exercised
        for threads in (1, 2):
            assert_array_equal(_core.cover_ranks(C, A, index, threads), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_k_ties_float32_sequential_distances(dtype):
    """Near-ties on continuous data: exact agreement with the fixed-rounding reference."""
    rng = np.random.default_rng(9)
    normals, A = normals_and_anomalies(rng, 70, 10, 7, dtype)
    # anomalies placed at distance-ties: mirror images of centres through another centre
    mirrors = (2 * normals[:5] - normals[5:10]).astype(dtype)
    A = np.vstack([A, mirrors, normals[20:23]])
    for C in (normals, np.vstack([normals, A])):
        index = ref_match_rows(C, A)
        assert_array_equal(_core.cover_ranks(C, A, index, 1), ref_cover(C, A, index))
        assert estimate_k(C, A) == ref_estimate_k(C, A, anomaly_index=index)


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_k_leave_one_out(dtype):
    """Centres 0..9 and an isolated anomaly at 100 that is itself centre 10."""
    C = np.arange(11, dtype=dtype).reshape(-1, 1)
    C[10, 0] = 100
    A = C[10:].copy()
    # with leave-one-out no other ball holds the anomaly: k_a = k_max = 10, S = 1
    q_loo = float(betaincinv(2.0, 1.0, 0.95))  # = sqrt(0.95)
    expected_loo = math.floor(1 + q_loo * 9)
    # without it (wrongly), its own ball holds it at k = 1: S = 0
    q_own = float(betaincinv(1.0, 2.0, 0.95))  # = 1 - sqrt(0.05)
    expected_own = math.floor(1 + q_own * 9)
    assert expected_loo != expected_own  # the test can tell the two apart
    assert estimate_k(C, A, anomaly_index=[10]) == expected_loo
    assert estimate_k(C, A) == expected_loo  # auto-detected
    assert estimate_k(C, A, anomaly_index=[-1]) == expected_own  # "not a centre": own ball counts
    assert ref_estimate_k(C, A, anomaly_index=[10]) == expected_loo
    assert ref_estimate_k(C, A, anomaly_index=[-1]) == expected_own
    assert_array_equal(_core.cover_ranks(C, A, np.array([10]), 1), [10])


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_k_duplicate_anomaly_centres_interchangeable(dtype):
    rng = np.random.default_rng(10)
    normals = blobs(rng, 30, 3, dtype)
    a = (normals[0] + 7).astype(dtype)
    C = np.vstack([normals[:12], a, normals[12:], a, a])  # the anomaly is centre 12, 31 and 32
    A = np.vstack([a, normals[4] + dtype(0.25)])
    auto = estimate_k(C, A, 1, 0.8)
    for own in (12, 31, 32):
        index = [own, -1]
        assert estimate_k(C, A, 1, 0.8, anomaly_index=index) == auto
        assert ref_estimate_k(C, A, 1, 0.8, anomaly_index=index) == auto


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 4])
@pytest.mark.parametrize("k_min", [1, 3])
def test_estimate_k_uncovered_anomalies_closed_form(dtype, m, k_min):
    """Anomalies far from every centre: k_a = k_max for all, S = m,
    q = quantile ** (1 / (m + 1))."""
    rng = np.random.default_rng(12)
    normals = rng.normal(size=(20, 3)).astype(dtype)
    A = (1000 + rng.normal(size=(m, 3)) * 100).astype(dtype)
    k_max = 19
    for quantile in (0.5, 0.95):
        q = quantile ** (1.0 / (m + 1))
        expected = math.floor(k_min + q * (k_max - k_min))
        assert estimate_k(normals, A, k_min, quantile) == expected
        assert ref_estimate_k(normals, A, k_min, quantile, anomaly_index=np.full(m, -1)) == expected
    assert_array_equal(_core.cover_ranks(normals, A, np.full(m, -1, dtype=np.int64), 1), k_max)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m", [1, 5])
def test_estimate_k_tightly_covered_anomalies_closed_form(dtype, m):
    """Each anomaly next to its own (non-duplicated) normal, nearer than any other centre:
    k_a = 1 = k_min, S = 0, q = 1 - (1 - quantile) ** (1 / (m + 1))."""
    normals = (np.arange(40, dtype=np.float64).reshape(-1, 1) * 10).astype(dtype)
    A = (normals[:m] + 0.5).astype(dtype)
    assert_array_equal(_core.cover_ranks(normals, A, np.full(m, -1, dtype=np.int64), 1), 1)
    q = 1 - (1 - 0.95) ** (1.0 / (m + 1))
    assert estimate_k(normals, A) == math.floor(1 + q * 38)
    assert ref_estimate_k(normals, A, anomaly_index=np.full(m, -1)) == math.floor(1 + q * 38)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("quantile", [0.95, 0.5, 0.3])
@pytest.mark.parametrize("k_min", [1, 5])
def test_estimate_k_no_anomalies_warns_and_returns_prior_quantile(dtype, quantile, k_min):
    C = np.random.default_rng(13).normal(size=(37, 2)).astype(dtype)
    A = np.empty((0, 2), dtype=dtype)
    expected = math.floor(k_min + quantile * (36 - k_min))
    with pytest.warns(UserWarning):
        got = estimate_k(C, A, k_min, quantile)
    assert got == expected
    assert ref_estimate_k(C, A, k_min, quantile) == expected


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_k_default_prior_quantile(dtype):
    C = np.random.default_rng(14).normal(size=(101, 3)).astype(dtype)
    with pytest.warns(UserWarning):
        assert estimate_k(C, np.empty((0, 3), dtype=dtype)) == math.floor(1 + 0.95 * 99)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_c,k_min", [(2, 1), (3, 2), (6, 5), (4, 5), (2, 10)])
def test_estimate_k_few_centres(dtype, n_c, k_min):
    rng = np.random.default_rng(n_c)
    C = rng.normal(size=(n_c, 2)).astype(dtype)
    A = rng.normal(size=(3, 2)).astype(dtype)
    assert estimate_k(C, A, k_min) == n_c - 1
    assert estimate_k(C, A, k_min, anomaly_index=[-1, -1, -1]) == n_c - 1
    assert ref_estimate_k(C, A, k_min, anomaly_index=[-1, -1, -1]) == n_c - 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_estimate_k_two_centres_anomalies_are_centres(dtype):
    C = np.array([[0.0, 0.0], [3.0, 4.0]], dtype=dtype)
    assert estimate_k(C, C.copy()) == 1
    assert estimate_k(C, C[:1].copy(), anomaly_index=[0]) == 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("exponent_index", [0, 1])
def test_estimate_k_scale_invariant(dtype, exponent_index):
    e = extreme_exponents(dtype)[exponent_index]
    s = dtype(2.0**e)
    rng = np.random.default_rng([15, exponent_index])
    normals = (rng.uniform(0.5, 4.0, size=(50, 3)) * rng.choice([-1, 1], size=(50, 3))).astype(dtype)
    A = (rng.uniform(0.5, 8.0, size=(8, 3)) * rng.choice([-1, 1], size=(8, 3))).astype(dtype)
    C = np.vstack([normals, A])
    Cs, As = C * s, A * s
    assert np.array_equal(Cs / s, C) and np.array_equal(As / s, A)
    for k_min, quantile in ((1, 0.95), (2, 0.6)):
        expected = ref_estimate_k(C, A, k_min, quantile, anomaly_index=np.arange(50, 58))
        assert estimate_k(C, A, k_min, quantile) == expected
        assert estimate_k(Cs, As, k_min, quantile) == expected
        assert estimate_k(Cs[:50], As, k_min, quantile) == estimate_k(C[:50], A, k_min, quantile)


# ---------------------------------------------------------------------------------------------
# A large case (thread-count invariance itself: test_threads.py)
# ---------------------------------------------------------------------------------------------


def test_thread_invariance_spot_check_against_reference():
    """A 700-point case also agrees with the reference (not just with itself)."""
    rng = np.random.default_rng(17)
    C = blobs(rng, 700, 2, np.float64)
    Z = blobs(rng, 200, 2, np.float64)
    r = knn_radii(C, 100, n_jobs=2)
    assert_allclose(r, ref_knn_radii(C, 100), rtol=1e-12, atol=0)
    assert_array_equal(rarity_scores(Z, C, r, n_jobs=2), ref_rarity(Z, C, r))
