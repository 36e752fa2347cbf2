"""The per-pair work of the scoring pass at the data's precision (issue 12): the exp2 of the SSDO
kernel over its whole range, the kernel sums against float64 references (adversarial sizes),
exact ball membership with float32 thresholds, and results that do not depend on the
instruction set, the thread count, the chunking or the call.

Bounds (README, "Scoring auxiliary anomalies" and "Developers"; cpp/eap/exp2.hpp,
cpp/eap/pass_kernel.hpp): exp2 relative error below 2e-7 (float32) and 5e-16 (float64); float32
kernel sums within 1e-6 relative of the exact sums over the same float32 squared distances;
instruction sets with FMA give the same bits, the baseline the same geometry and ball tests and
kernel sums within ISA_RTOL of theirs.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from eap_anomaly import EAPScorer, _core, knn_radii, rarity_scores
from reference import TAU, kernel_reference, ref_sq_dists

ISAS = _core._supported_isas()
PASS = {np.dtype(np.float32): _core.TrainingPassF32, np.dtype(np.float64): _core.TrainingPassF64}
EXP2_BOUND = {np.dtype(np.float32): 2e-7, np.dtype(np.float64): 5e-16}


@pytest.fixture
def isa() -> Iterator[None]:
    """Restores the automatic choice after a test that forces an instruction set."""
    yield
    _core._set_isa("auto")


def exp2_arguments(dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    grid = np.linspace(-70.0, 0.0, 1_400_001)
    near_integers = np.arange(-70, 1)[:, None] + np.array([-0.5, -0.25, 0.0, 0.25, 0.5])[None, :]
    x = np.concatenate([grid, rng.uniform(-70.0, 0.0, 600_000), near_integers.ravel()])
    return np.clip(x, -70.0, 0.0).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ISAS)
def test_exp2_within_bound_over_range(dtype, name: str, isa) -> None:
    _core._set_isa(name)
    x = exp2_arguments(dtype)
    got = _core._exp2_negative(x)
    assert got.dtype == x.dtype
    exact = np.exp2(x.astype(np.longdouble))
    rel = np.abs((got.astype(np.longdouble) - exact) / exact)
    assert float(rel.max()) < EXP2_BOUND[np.dtype(dtype)]
    assert _core._exp2_negative(np.zeros(1, dtype))[0] == 1.0  # a training point's own term


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_sums_of_equal_terms_at_large_n(dtype, rtol) -> None:
    """10^5 training points at one location: all terms equal, every (d/eta)^2 up to the cut."""
    n, eta = 100_000, 0.75
    X = np.zeros((n, 1), dtype)
    anomaly = np.zeros(n, np.uint8)
    anomaly[: n // 2] = 1
    x2 = np.array([0.0, 1e-7, 0.3, 0.5, 0.99, 1.0, 2.5, 7.7, 16.49, 29.9, 30.5, 44.1, 59.9, 60.06])
    Z = (np.sqrt(x2) * eta)[:, None].astype(dtype)
    w_pos, w_neg, rarity = PASS[np.dtype(dtype)](X, anomaly, np.zeros(n), 0.0, eta).score(Z, 2)
    d2 = ref_sq_dists(Z, X[:1], exact=True)
    expected = kernel_reference(d2, eta, dtype) * (n // 2)
    for got in (w_pos, w_neg):
        rel = np.abs((got - expected) / expected).astype(np.float64)
        assert float(rel.max()) <= rtol, rel
    assert_array_equal(rarity, 0.0)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-12)])
def test_sums_of_many_distinct_terms(dtype, rtol) -> None:
    rng = np.random.default_rng(1)
    n, d = 100_000, 3
    X = rng.normal(size=(n, d)).astype(dtype)
    Z = rng.normal(scale=1.5, size=(24, d)).astype(dtype)
    eta = 0.37
    anomaly = (rng.random(n) < 0.3).astype(np.uint8)
    w_pos, w_neg, _ = PASS[np.dtype(dtype)](X, anomaly, np.zeros(n), 0.0, eta).score(Z, 2)
    d2 = ref_sq_dists(Z, X, exact=True)
    for got, members in ((w_pos, anomaly == 1), (w_neg, anomaly == 0)):
        expected = kernel_reference(d2[:, members], eta, dtype)
        rel = np.abs((got - expected) / expected).astype(np.float64)
        assert float(rel.max()) <= rtol


@pytest.mark.parametrize("seed", range(4))
def test_float32_ball_test_exact_at_the_threshold(seed: int) -> None:
    """Queries at computed squared distances a few ulps around each (r (1 - tau))^2: the float32
    pass decides as a float64 comparison of the float32 distance would, as rarity_scores does."""
    rng = np.random.default_rng(seed)
    tau = TAU[np.dtype(np.float32)]
    radii = np.sort(rng.uniform(0.5, 2.0, size=64))
    X = np.zeros((radii.size, 1), np.float32)  # nested balls: the smallest holding one wins
    edges = (radii * (1 - tau)).astype(np.float32)
    steps = np.nextafter(edges, np.float32(np.inf)) - edges
    offsets = np.arange(-40, 41, dtype=np.float32)
    Z = (edges[:, None] + offsets[None, :] * steps[:, None]).reshape(-1, 1).astype(np.float32)
    d2 = (Z[:, 0] * Z[:, 0]).astype(np.float64)  # the core's float32 squared distance, exactly
    inside = d2[:, None] < ((radii * (1 - tau)) ** 2)[None, :]
    expected = np.where(inside.any(axis=1), np.where(inside, radii, np.inf).min(axis=1), 0.0)
    assert 0 < (expected > 0).sum() < expected.size
    index = _core.TrainingPassF32(X, np.zeros(radii.size, np.uint8), radii, tau, 1.0)
    _, _, rarity = index.score(Z, 1)
    assert_array_equal(rarity, expected)
    assert_array_equal(rarity_scores(Z, X, radii), expected)


def scoring_case(dtype, d: int = 5):
    rng = np.random.default_rng(5)
    n, l = 700, 900
    X = rng.normal(size=(n, d)).astype(dtype)
    X[:20] += 3.0
    Z = np.vstack([rng.normal(size=(l - 50, d)), X[:50]]).astype(dtype)  # some exact duplicates
    anomaly = np.zeros(n, np.uint8)
    anomaly[:20] = 1
    radii = knn_radii(X, 60)
    return X, anomaly, radii, Z


FUSED = [name for name in ISAS if name != "baseline"]  # the variants with FMA
# Kernel sums of the baseline (no FMA) against the fused variants': each side's exp2 within its
# bound of 2^x, the same partial sums otherwise.
ISA_RTOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-14}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_isa_gives_the_same_bits(dtype, isa) -> None:
    """Geometry and ball tests: the same bits everywhere. Kernel sums: the same bits on every
    instruction set with FMA, the baseline's within ISA_RTOL of theirs."""
    X, anomaly, radii, Z = scoring_case(dtype)
    tau = TAU[np.dtype(dtype)]
    A = X[:20]
    sums, exact = {}, {}
    for name in ISAS:
        _core._set_isa(name)
        assert _core._isa() == name
        w_pos, w_neg, rarity = PASS[np.dtype(dtype)](X, anomaly, radii, tau, 0.41).score(Z, 2)
        sums[name] = (w_pos, w_neg)
        exact[name] = (
            rarity,
            knn_radii(X, 7),
            knn_radii(X, 300),
            rarity_scores(Z, X, radii),
            _core.cover_ranks(X, A, np.arange(20, dtype=np.int64), 2),
        )
    for name in ISAS[1:]:
        for got, want in zip(exact[name], exact[ISAS[0]]):
            assert_array_equal(got, want, err_msg=name)
    for name in FUSED[1:]:
        for got, want in zip(sums[name], sums[FUSED[0]]):
            assert_array_equal(got, want, err_msg=name)
    if "baseline" in sums and FUSED:
        pairs = list(zip(sums["baseline"], sums[FUSED[0]]))
        assert not all(np.array_equal(g, w) for g, w in pairs)  # they differ: the bound is tested
        for got, want in pairs:
            np.testing.assert_allclose(got, want, rtol=ISA_RTOL[np.dtype(dtype)], atol=0)


def test_scorer_on_every_isa(isa) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 8)).astype(np.float32)
    y = (np.arange(400) < 12).astype(np.int64)
    X[y == 1] += 2.5
    Z = rng.normal(scale=1.5, size=(500, 8)).astype(np.float32)
    quality = {}
    for name in ISAS:
        _core._set_isa(name)
        quality[name] = EAPScorer(random_state=0).fit(X, y).score_samples(Z)
    for name in FUSED[1:]:
        assert_array_equal(quality[name], quality[FUSED[0]], err_msg=name)
    if "baseline" in quality and FUSED:
        np.testing.assert_allclose(quality["baseline"], quality[FUSED[0]], rtol=1e-6, atol=0)


def test_unsupported_or_unknown_isa_is_refused(isa) -> None:
    with pytest.raises(ValueError, match="unknown instruction set"):
        _core._set_isa("sse9")
    for name in {"baseline", "avx2", "avx512"} - set(ISAS):
        with pytest.raises(ValueError, match="lacks"):
            _core._set_isa(name)
    assert _core._isa() == ISAS[-1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d, eta", [(5, 0.41), (64, 12.0)])  # exact tiles; GEMM expansion
def test_same_bits_for_any_threads_chunks_and_calls(dtype, d: int, eta: float) -> None:
    X, anomaly, radii, Z = scoring_case(dtype, d)
    index = PASS[np.dtype(dtype)](X, anomaly, radii, TAU[np.dtype(dtype)], eta)
    assert index._expanded_rows(Z).mean() == (0.0 if d == 5 else 1.0)
    reference = index.score(Z, 1)
    for n_threads in (2, 3, 1):
        for got, want in zip(index.score(Z, n_threads), reference):
            assert_array_equal(got, want)
    bounds = [0, 1, 7, 48, 49, 200, 647, Z.shape[0]]
    pieces = [index.score(np.ascontiguousarray(Z[a:b]), 2) for a, b in zip(bounds, bounds[1:])]
    for k, want in enumerate(reference):
        assert_array_equal(np.concatenate([p[k] for p in pieces]), want)
