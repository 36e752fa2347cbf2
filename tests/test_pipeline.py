"""The EAP pipeline (SPEC sections 4-7): SSDO, the squashing scaler, the density, the Expected
Anomaly Posterior, EAPScorer / score_auxiliary, chunking, threads, labels and bagging.

The package is compared with the slow references of ``tests/reference_pipeline.py`` (written
from the SPEC) within 1e-9 relative for float64 data and 1e-4 for float32 data.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

import eap_anomaly as eap
from eap_anomaly import EAPScorer, SSDO, expected_anomaly_posterior
from helpers import (
    DETAIL_FIELDS,
    RTOL,
    assert_details_match,
    assert_same_details,
    cut_atol_p,
    kernel_cut_atol,
    p_atol_of,
)
from reference_pipeline import (
    ref_class_probability,
    ref_eap,
    ref_round,
    ref_score_auxiliary,
    ref_squash,
    ref_ssdo,
)



def score_auxiliary(*args, **kwargs):
    """The package's one call with scikit-learn's forest, as the references fit it."""
    return eap.score_auxiliary(*args, prior="sklearn", **kwargs)


GROUP = 30  # candidates per group in make_data


def make_data(seed: int = 0, n_normal: int = 180, m: int = 20, d: int = 3):
    """Normals ~ N(0, I); training anomalies a tight cluster around 3.5 (all coordinates).

    Candidates Z, GROUP rows each: realistic (drawn like the training anomalies),
    indistinguishable (drawn like the normals), unrealistic (far away, around 25)."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n_normal, d)), rng.normal(3.5, 0.5, size=(m, d))])
    y = np.r_[np.zeros(n_normal, np.int64), np.ones(m, np.int64)]
    order = rng.permutation(y.size)
    X, y = X[order], y[order]
    Z = np.vstack([
        rng.normal(3.5, 0.5, size=(GROUP, d)),
        rng.normal(size=(GROUP, d)),
        rng.normal(25.0, 3.0, size=(GROUP, d)),
    ])
    return X, y, Z


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def fitted(data):
    """EAPScorer with the defaults (random_state=0) fitted on ``data``. Tests must not refit it."""
    X, y, _ = data
    return EAPScorer(prior="sklearn", random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def ref_default(data):
    X, y, Z = data
    return ref_score_auxiliary(X, y, Z, random_state=0)


# =========================================================================== SSDO (SPEC 4-5)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ssdo_matches_reference(data, dtype):
    X, y, Z = (a.astype(dtype) if a.dtype.kind == "f" else a for a in data)
    det = SSDO(prior="sklearn", random_state=0).fit(X, y)
    ref = ref_ssdo(X, y, Z, k=10, alpha=2.3, seed=0)
    rtol, atol = RTOL[np.dtype(dtype)], kernel_cut_atol(2.3, X.shape[0])
    assert_allclose(det.detector_.eta, ref["eta"], rtol=rtol)
    assert det.decision_scores_.shape == (X.shape[0],)
    assert_allclose(det.decision_scores_, ref["train"], rtol=rtol, atol=atol)
    scores = det.decision_function(Z)
    assert scores.shape == (Z.shape[0],) and scores.dtype == np.float64
    assert_allclose(scores, ref["z"], rtol=rtol, atol=atol)
    # Training points scored again through decision_function equal decision_scores_.
    assert_allclose(det.decision_function(X), det.decision_scores_, rtol=1e-12, atol=0)


def test_ssdo_non_default_parameters_match_reference(data):
    X, y, Z = data
    det = SSDO(prior="sklearn", k=4, alpha=0.7, n_estimators=30, random_state=5).fit(X, y)
    ref = ref_ssdo(X, y, Z, k=4, alpha=0.7, seed=5, n_estimators=30)
    atol = kernel_cut_atol(0.7, X.shape[0])
    assert_allclose(det.detector_.eta, ref["eta"], rtol=1e-9)
    assert_allclose(det.decision_scores_, ref["train"], rtol=1e-9, atol=atol)
    assert_allclose(det.decision_function(Z), ref["z"], rtol=1e-9, atol=atol)


@pytest.mark.parametrize("threshold", ["exact", "percentile"])
def test_ssdo_predict_proba_matches_reference(data, threshold):
    X, y, Z = data
    det = SSDO(prior="sklearn", random_state=0, threshold=threshold).fit(X, y)
    ref = ref_ssdo(X, y, Z, seed=0)
    offset, lam = ref_squash(ref["train"], int(y.sum()), threshold)
    assert_allclose(det.detector_.threshold, lam, rtol=1e-9)
    assert_allclose(det.detector_.shift, offset, rtol=1e-9, atol=kernel_cut_atol(2.3, X.shape[0]))
    proba = det.predict_proba(Z)
    assert proba.shape == (Z.shape[0], 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert_allclose(proba[:, 1], ref_class_probability(ref["z"], offset, lam), rtol=1e-9,
                    atol=cut_atol_p(2.3, X.shape[0], lam))


def test_ssdo_exact_threshold_separates_the_m_largest_training_scores(data):
    X, y, _ = data
    det = SSDO(prior="sklearn", random_state=0).fit(X, y)
    shifted = det.decision_scores_ - det.decision_scores_.min()
    # No ties here, so exactly m training scores lie above lambda (SPEC 5).
    assert np.unique(shifted).size == shifted.size
    assert int(np.sum(shifted > det.detector_.threshold)) == int(y.sum())


def test_ssdo_percentile_and_exact_thresholds_differ(data):
    """The two variants are different choices (guards against one silently aliasing the other)."""
    X, y, _ = data
    exact = SSDO(prior="sklearn", random_state=0, threshold="exact").fit(X, y).detector_.threshold
    pct = SSDO(prior="sklearn", random_state=0, threshold="percentile").fit(X, y).detector_.threshold
    assert exact != pct


@pytest.mark.parametrize("n_normal", [180, 300])
def test_ssdo_alpha_zero_is_the_isolation_forest_prior(n_normal):
    """With alpha = 0, f = p0: the min-max scaled -IsolationForest.score_samples (SPEC 4.1).
    n = 320 > 256 makes max_samples="auto" subsample."""
    X, y, Z = make_data(n_normal=n_normal)
    det = SSDO(prior="sklearn", alpha=0.0, random_state=3).fit(X, y)
    ref = ref_ssdo(X, y, Z, alpha=0.0, seed=3)
    assert_allclose(ref["z"], ref["prior_z"], rtol=0, atol=0)
    assert_allclose(det.decision_function(Z), ref["prior_z"], rtol=1e-12, atol=0)
    assert_allclose(det.decision_scores_, ref["prior_train"], rtol=1e-12, atol=0)
    assert det.decision_scores_.min() == 0.0 and det.decision_scores_.max() == 1.0
    # Far-away candidates are more anomalous than every training point: clipped to 1.
    assert_array_equal(det.decision_function(Z[2 * GROUP:]), 1.0)


def test_percentile_threshold_is_taken_on_shifted_scores():
    """The percentile variant takes np.percentile of the SHIFTED training scores f - min f (the
    package's documented reading of SPEC 5's "percentile(f, ...)"). Data where min f is far
    from 0 (normals on an annulus, anomalies at its centre), so that the two readings differ."""
    rng = np.random.default_rng(0)
    angle, radius = rng.uniform(0, 2 * np.pi, 150), rng.uniform(2, 4, 150)
    normals = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    X = np.vstack([normals, rng.normal(0, 0.1, size=(12, 2))])
    y = np.r_[np.zeros(150, np.int64), np.ones(12, np.int64)]
    Z = np.vstack([rng.normal(0, 0.1, size=(10, 2)), normals[:10] + 0.05])
    det = SSDO(prior="sklearn", random_state=0, threshold="percentile").fit(X, y)
    ref = ref_ssdo(X, y, Z, seed=0)
    offset, lam = ref_squash(ref["train"], 12, "percentile")
    unshifted = np.percentile(ref["train"], np.floor(100 * (1 - 12 / 162)))
    assert abs(unshifted - lam) > 1e-3 * lam  # the data tells the two readings apart
    assert_allclose(det.detector_.threshold, lam, rtol=1e-9)
    assert_allclose(det.predict_proba(Z)[:, 1], ref_class_probability(ref["z"], offset, lam),
                    rtol=1e-9, atol=cut_atol_p(2.3, X.shape[0], lam))


@pytest.mark.parametrize("method", ["exact", "percentile"])
def test_squash_thresholds_of_many_sets_equal_the_reference_of_each(method):
    """squash_thresholds (the bagging rounds' lambdas, computed together) gives each set's
    (offset, lambda) exactly as ref_squash (np.sort / np.percentile) gives it: sizes 1 to 1001,
    m from 0 to n - 1, ties, all-equal sets (lambda 0, with the warning), huge and tiny values."""
    from eap_anomaly.posterior import squash_thresholds
    rng = np.random.default_rng(11)
    sets, counts = [], []
    for n in (1, 2, 3, 7, 10, 99, 100, 101, 1001):
        for m in sorted({0, 1, n // 3, n // 2, n - 1} & set(range(n))):
            for kind in ("plain", "ties", "huge", "tiny"):
                f = rng.normal(size=n)
                f = {"plain": f, "ties": np.round(f), "huge": f * 1e300, "tiny": f * 1e-300}[kind]
                sets.append(f)
                counts.append(m)
    # n = 100, m = 50: the percentile lies halfway between 0.1 and 0.7, where numpy's two
    # interpolation formulas (by gamma < 0.5 or not) differ in the last bit
    sets.append(np.r_[np.zeros(49), 0.1, 0.7, np.ones(49)])
    counts.append(50)
    sets.append(np.full(5, 0.25))  # every shifted score 0: lambda 0
    counts.append(2)
    offsets = np.r_[0, np.cumsum([f.size for f in sets])].astype(np.int64)
    with pytest.warns(UserWarning, match="all training scores are equal"):
        shift, lam = squash_thresholds(np.concatenate(sets), offsets, np.array(counts), method)
    assert shift.shape == lam.shape == (len(sets),)
    for f, m, got_shift, got_lam in zip(sets, counts, shift, lam):
        want_shift, want_lam = ref_squash(f, m, method)
        assert (got_shift, got_lam) == (want_shift, want_lam), (f.size, m)
    assert lam[-1] == 0.0


def test_ssdo_same_seed_same_prior(data):
    X, y, Z = data
    # alpha = 0 exposes the prior alone (f = p0).
    a = SSDO(prior="sklearn", alpha=0.0, random_state=3).fit(X, y)
    b = SSDO(prior="sklearn", alpha=0.0, random_state=3).fit(X, y)
    assert_array_equal(a.decision_function(Z), b.decision_function(Z))
    assert_array_equal(a.decision_scores_, b.decision_scores_)
    c = SSDO(prior="sklearn", alpha=0.0, random_state=4).fit(X, y)
    assert not np.array_equal(a.decision_function(Z), c.decision_function(Z))
    # Fresh RandomState objects of one seed also give one prior (as in scikit-learn, an int
    # seed and a RandomState instance of that seed need not agree with each other).
    d = SSDO(prior="sklearn", alpha=0.0, random_state=np.random.RandomState(3)).fit(X, y)
    e = SSDO(prior="sklearn", alpha=0.0, random_state=np.random.RandomState(3)).fit(X, y)
    assert_array_equal(d.decision_function(Z), e.decision_function(Z))
    ref = ref_ssdo(X, y, Z, alpha=0.0, seed=np.random.RandomState(3))
    assert_allclose(d.decision_function(Z), ref["prior_z"], rtol=1e-12, atol=0)


def test_ssdo_sklearn_params_and_clone(data):
    X, y, Z = data
    det = SSDO(prior="sklearn", random_state=0)
    assert det.get_params() == dict(k=10, alpha=2.3, n_estimators=100, prior="sklearn",
                                    threshold="exact", random_state=0, n_jobs=None)
    assert det.set_params(k=7, alpha=1.5) is det
    assert det.k == 7 and det.alpha == 1.5
    det.fit(X, y)
    twin = clone(det)
    assert twin.get_params() == det.get_params()
    assert not hasattr(twin, "detector_")  # clone is unfitted
    assert_array_equal(twin.fit(X, y).decision_function(Z), det.decision_function(Z))
    ref = ref_ssdo(X, y, Z, k=7, alpha=1.5, seed=0)
    assert_allclose(det.decision_function(Z), ref["z"], rtol=1e-9,
                    atol=kernel_cut_atol(1.5, X.shape[0]))


# ======================================================================= posterior (SPEC 7)


def test_eap_matches_direct_formula():
    rng = np.random.default_rng(7)
    p = rng.uniform(size=200)
    px = rng.uniform(size=200)
    px[:20] = 0.0
    p[20:40] = 0.0
    p[40:60] = 1.0
    for n_centres, a0, b0 in [(50, 0.3, 2.0), (1, 0.1, 0.9), (400, 0.0, 1.0), (17, 2.0, 0.0)]:
        phi = expected_anomaly_posterior(p, px, n_centres, a0, b0)
        assert phi.dtype == np.float64 and phi.shape == p.shape
        expected = (a0 + n_centres * p * px) / (a0 + b0 + n_centres * px)
        assert_allclose(phi, expected, rtol=1e-14, atol=0)
        assert_allclose(phi, ref_eap(p, px, n_centres, a0, b0), rtol=1e-14, atol=0)


def test_eap_zero_density_gives_prior_mean():
    """Property P2: P_x = 0 -> phi = alpha0 / (alpha0 + beta0), whatever P(y=1|x)."""
    p = np.linspace(0.0, 1.0, 11)
    for a0, b0 in [(0.1, 0.9), (0.0, 1.0), (3.0, 0.5), (1.0, 0.0)]:
        phi = expected_anomaly_posterior(p, np.zeros_like(p), 123, a0, b0)
        assert_allclose(phi, a0 / (a0 + b0), rtol=1e-15, atol=0)


def test_eap_property_p3_monotone_and_between():
    """Property P3, as stated here: phi is the weighted average of the prior mean (weight
    alpha0 + beta0) and P(y=1|x) (weight N P_x). Hence for P_x > 0 it is strictly increasing in
    P(y=1|x), lies between the prior mean and P(y=1|x), moves towards P(y=1|x) as P_x grows,
    and tends to P(y=1|x) when N P_x -> infinity."""
    a0, b0, N = 0.1, 0.9, 200
    prior_mean = a0 / (a0 + b0)
    p = np.linspace(0.0, 1.0, 101)
    for px_value in [1e-6, 1e-3, 0.05, 0.5, 1.0]:
        phi = expected_anomaly_posterior(p, np.full_like(p, px_value), N, a0, b0)
        assert (np.diff(phi) > 0).all()
        lo, hi = np.minimum(p, prior_mean), np.maximum(p, prior_mean)
        assert ((phi >= lo - 1e-15) & (phi <= hi + 1e-15)).all()
    px = np.logspace(-8, 0, 50)
    for p_value in [0.0, 0.05, 0.3, 0.9, 1.0]:
        phi = expected_anomaly_posterior(np.full_like(px, p_value), px, N, a0, b0)
        gap = np.abs(phi - p_value)
        if p_value != prior_mean:
            assert (np.diff(gap) < 0).all()
    phi = expected_anomaly_posterior(np.array([0.8]), np.array([1.0]), 10**12, a0, b0)
    assert_allclose(phi, 0.8, rtol=1e-10)


# ================================================================ score_auxiliary (SPEC 4-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [None, 7])
@pytest.mark.parametrize("centres", ["all", "normals"])
def test_score_auxiliary_matches_reference(data, centres, k, dtype):
    X, y, Z = data
    X, Z = X.astype(dtype), Z.astype(dtype)
    ref = ref_score_auxiliary(X, y, Z, centres=centres, k=k, random_state=0)
    q = score_auxiliary(X, y, Z, centres=centres, k=k, random_state=0)
    assert q.shape == (Z.shape[0],) and q.dtype == np.float64
    assert_allclose(q, ref["quality"], rtol=RTOL[np.dtype(dtype)], atol=p_atol_of(ref))
    res = score_auxiliary(X, y, Z, centres=centres, k=k, random_state=0, return_details=True)
    assert_details_match(res, ref, dtype)
    assert_array_equal(res.quality, q)
    if k is None:
        assert ref["k"] != 7  # the explicit k really is another choice
    # Some candidates are inside a ball and some are not: both branches of P_x are exercised.
    assert (ref["density"] > 0).any() and (ref["density"] == 0).any()


@pytest.mark.parametrize("threshold", ["exact", "percentile"])
def test_scorer_non_default_options_match_reference(data, threshold):
    X, y, Z = data
    kw = dict(centres="all", k=None, k_min=3, alpha0=0.4, beta0=1.7, random_state=2,
              ssdo_k=6, alpha=1.1, threshold=threshold, quantile=0.8)
    ref = ref_score_auxiliary(X, y, Z, **kw)
    res = EAPScorer(prior="sklearn", **kw).fit(X, y).score_samples(Z, return_details=True)
    assert_details_match(res, ref, np.float64, alpha=1.1)


def test_quality_between_prior_mean_and_class_probability(data, fitted, ref_default):
    X, y, Z = data
    res = fitted.score_samples(Z, return_details=True)
    assert_details_match(res, ref_default, np.float64)
    prior_mean = y.mean()
    lo = np.minimum(prior_mean, res.p_anomaly)
    hi = np.maximum(prior_mean, res.p_anomaly)
    assert ((res.quality >= lo - 1e-12) & (res.quality <= hi + 1e-12)).all()
    assert ((res.quality >= 0) & (res.quality <= 1)).all()
    outside = res.density == 0
    assert outside.any()
    assert_allclose(res.quality[outside], prior_mean, rtol=1e-15)


@pytest.mark.parametrize("centres", ["all", "normals"])
def test_theorem_4_1_ordering(centres):
    """Theorem 4.1 (alpha0/(alpha0+beta0) < 0.5): realistic > unrealistic > indistinguishable."""
    for seed in range(3):
        X, y, Z = make_data(seed)
        res = score_auxiliary(X, y, Z, centres=centres, random_state=seed, return_details=True)
        prior_mean = y.mean()
        assert prior_mean < 0.5
        realistic, indistinguishable, unrealistic = (res.quality[i * GROUP:(i + 1) * GROUP]
                                                     for i in range(3))
        assert realistic.mean() > unrealistic.mean() > indistinguishable.mean()
        # Off-manifold points lie in no ball: exactly the prior mean.
        assert (res.density[2 * GROUP:] == 0).all()
        assert_allclose(unrealistic, prior_mean, rtol=1e-15)


@pytest.mark.parametrize("threshold, centres", [("exact", "all"), ("percentile", "normals")])
def test_degenerate_lambda_falls_back_to_smallest_positive(threshold, centres):
    """All normals are one repeated point: the (n-m)-th smallest shifted training score (and the
    percentile) is 0, so lambda is the smallest positive shifted score (SPEC 5)."""
    rng = np.random.default_rng(1)
    X = np.vstack([np.zeros((50, 2)), rng.normal(4, 0.5, size=(6, 2))])
    y = np.r_[np.zeros(50, np.int64), np.ones(6, np.int64)]
    Z = np.vstack([np.zeros((3, 2)), rng.normal(size=(10, 2)), rng.normal(4, 0.5, size=(10, 2))])
    ref = ref_score_auxiliary(X, y, Z, centres=centres, random_state=0, threshold=threshold)
    shifted = ref["ssdo"]["train"] - ref["offset"]
    assert ref["threshold"] == shifted[shifted > 0].min()  # the fallback is exercised
    res = EAPScorer(prior="sklearn", centres=centres, random_state=0, threshold=threshold).fit(X, y).score_samples(
        Z, return_details=True)
    assert_details_match(res, ref, np.float64)


def test_all_training_points_identical_warns_and_gives_prior_mean():
    X = np.ones((30, 2))
    y = np.r_[np.zeros(25, np.int64), np.ones(5, np.int64)]
    Z = np.vstack([np.ones((2, 2)), np.random.default_rng(0).normal(size=(5, 2))])
    with pytest.warns(UserWarning, match="P\\(y=1\\|x\\) is 0"):
        res = score_auxiliary(X, y, Z, random_state=0, return_details=True)
    assert_array_equal(res.p_anomaly, 0.0)
    assert_allclose(res.quality, 5 / 30, rtol=1e-15)


# ======================================================================== chunking, mmap


def test_chunked_scoring_equals_one_pass(data, fitted):
    X, y, Z = data
    small = EAPScorer(prior="sklearn", chunk_size=7, random_state=0).fit(X, y)
    large = fitted  # chunk_size 65536 > len(Z): one pass
    assert Z.shape[0] % 7 != 0  # a ragged last chunk
    a = small.score_samples(Z, return_details=True)
    b = large.score_samples(Z, return_details=True)
    assert_same_details(a, b)
    # A fitted scorer scores repeatedly and in pieces with the same result.
    assert_array_equal(small.score_samples(Z[:40]), a.quality[:40])
    assert_array_equal(small.score_samples(Z[40:]), a.quality[40:])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_memory_mapped_candidates(data, dtype, tmp_path):
    X, y, Z = data
    X, Z = X.astype(dtype), Z.astype(dtype)
    path = tmp_path / "candidates.npy"
    np.save(path, Z)
    Zm = np.load(path, mmap_mode="r")
    assert isinstance(Zm, np.memmap)
    scorer = EAPScorer(prior="sklearn", chunk_size=7, random_state=0).fit(X, y)
    expected = scorer.score_samples(Z, return_details=True)
    for chunk in (7, 10**6):
        scorer.set_params(chunk_size=chunk)
        assert_same_details(scorer.score_samples(Zm, return_details=True), expected, f"chunk_size={chunk}")
    assert_array_equal(Zm, Z)  # read-only map untouched


# ============================================================================ labels, inputs


def test_no_training_anomalies(data):
    X, _, Z = data
    y = np.zeros(X.shape[0], np.int64)
    with pytest.warns(UserWarning, match="k-hat"):
        res = score_auxiliary(X, y, Z, random_state=0, return_details=True)
    assert ((res.quality >= 0) & (res.quality <= 1)).all()
    ref = ref_score_auxiliary(X, y, Z, random_state=0)
    # m = 0: alpha0 = 0, lambda = the largest shifted training score, k-hat = prior quantile.
    assert_allclose(res.threshold, ref["threshold"], rtol=1e-9)
    assert res.k == ref["k"]
    assert_allclose(res.quality, ref["quality"], rtol=1e-9, atol=p_atol_of(ref))
    assert_allclose(res.p_anomaly, ref["p_anomaly"], rtol=1e-9, atol=p_atol_of(ref))
    assert_array_equal(res.quality[res.density == 0], 0.0)
    # the estimator warns the same, and its fitted prior has alpha0 = 0
    with pytest.warns(UserWarning, match="no training anomalies"):
        scorer = EAPScorer(prior="sklearn", random_state=0).fit(X, y)
    assert scorer.alpha0_ == 0.0
    assert_array_equal(scorer.score_samples(Z), res.quality)
    # An explicit k skips k-hat: no warning (filterwarnings=error would turn one into a failure).
    q = score_auxiliary(X, y, Z, k=9, random_state=0)
    ref9 = ref_score_auxiliary(X, y, Z, k=9, random_state=0)
    assert_allclose(q, ref9["quality"], rtol=1e-9, atol=p_atol_of(ref9))


@pytest.mark.parametrize("centres", ["all", "normals"])
def test_single_training_anomaly(data, centres):
    X, y, Z = data
    y1 = np.zeros_like(y)
    y1[np.flatnonzero(y)[0]] = 1
    res = score_auxiliary(X, y1, Z, centres=centres, random_state=0, return_details=True)
    assert ((res.quality >= 0) & (res.quality <= 1)).all()
    ref = ref_score_auxiliary(X, y1, Z, centres=centres, random_state=0)
    assert_details_match(res, ref, np.float64)


# ================================================================================== bagging


def test_bagging_is_deterministic_and_bounded(data):
    X, y, Z = data
    a = EAPScorer(prior="sklearn", n_bags=3, random_state=0).fit(X, y).score_samples(Z, return_details=True)
    b = EAPScorer(prior="sklearn", n_bags=3, random_state=0).fit(X, y).score_samples(Z, return_details=True)
    assert_same_details(a, b)
    assert ((a.quality >= 0) & (a.quality <= 1)).all()
    assert np.shape(a.k) == (3,) and np.shape(a.threshold) == (3,)
    c = EAPScorer(prior="sklearn", n_bags=1, random_state=1).fit(X, y).score_samples(Z)
    assert not np.array_equal(a.quality, c)


@pytest.mark.parametrize("preset", ["default", "authors"])
def test_bagging_matches_reference_per_round(data, preset):
    """SPEC 7 bagging: each round refits SSDO on its rows, uses its rows as centres (per the
    option) and N = its number of centres, estimates k-hat with ALL training anomalies as
    queries (leave-one-out for those that are centres of the round), keeps alpha0, beta0
    global, and phi is averaged over rounds. The rows each round kept are read back from the
    fitted rounds; everything else is recomputed by the reference."""
    X, y, Z = data
    if preset == "authors":
        scorer = EAPScorer.authors_code(prior="sklearn", n_bags=3, random_state=0)
        kw = dict(centres="normals", k_min=5, ssdo_k=5, threshold="percentile")
    else:
        scorer = EAPScorer(prior="sklearn", n_bags=3, random_state=0, centres="all")
        kw = dict(centres="all", k_min=1, ssdo_k=10, threshold="exact")
    res = scorer.fit(X, y).score_samples(Z, return_details=True)
    anomaly = y == 1
    n, m = y.size, int(anomaly.sum())
    A_all = X[anomaly]
    a_idx = np.flatnonzero(anomaly)
    rounds = []
    anomalies_kept = []
    for r in scorer.rounds_:
        rows = r.rows
        assert_array_equal(np.sort(rows), rows)
        assert 0 < rows.size < n  # bagging really subsamples
        anomaly_r = anomaly[rows]
        centre_rows = rows if kw["centres"] == "all" else rows[~anomaly_r]
        position = np.full(n, -1, np.int64)
        position[centre_rows] = np.arange(centre_rows.size)
        ref = ref_round(X[rows], anomaly_r, Z, A_all, centres=kw["centres"], k=None,
                        k_min=kw["k_min"], quantile=0.95, alpha0=m / n, beta0=1 - m / n,
                        seed=r.seed, ssdo_k=kw["ssdo_k"], alpha=2.3,
                        threshold=kw["threshold"], query_is_centre=position[a_idx])
        assert r.n_centres == ref["n_centres"]
        rounds.append(ref)
        anomalies_kept.append(int(anomaly_r.sum()))
    # Some round left training anomalies out, so k-hat mixes in-round (leave-one-out when they
    # are centres) and out-of-round queries; every round kept at least one anomaly.
    assert min(anomalies_kept) < m and min(anomalies_kept) > 0
    assert_array_equal(res.k, [ref["k"] for ref in rounds])
    assert_allclose(res.threshold, [ref["threshold"] for ref in rounds], rtol=1e-9)
    p_atol = max(p_atol_of(ref) for ref in rounds)
    atol = {"quality": p_atol, "p_anomaly": p_atol, "density": 0.0, "rarity": 0.0}
    for field in DETAIL_FIELDS:
        expected = np.mean([ref[field] for ref in rounds], axis=0)
        assert_allclose(getattr(res, field), expected, rtol=1e-9, atol=atol[field],
                        err_msg=field)


def test_authors_code_preset():
    s = EAPScorer.authors_code(prior="sklearn")
    assert s.centres == "normals"
    assert s.k_min == 5
    assert s.ssdo_k == 5
    assert s.threshold == "percentile"
    assert s.n_bags == 100
    # Everything else keeps the defaults, and overrides win.
    defaults = EAPScorer(prior="sklearn").get_params()
    for name, value in s.get_params().items():
        if name not in ("centres", "k_min", "ssdo_k", "threshold", "n_bags"):
            assert value == defaults[name], name
    assert EAPScorer.authors_code(prior="sklearn", n_bags=4, random_state=3).get_params()["n_bags"] == 4
    assert isinstance(EAPScorer.authors_code(prior="sklearn"), EAPScorer)


def test_scorer_sklearn_params_and_clone(data):
    X, y, Z = data
    scorer = EAPScorer(prior="sklearn", centres="normals", k=5, random_state=0)
    assert scorer.get_params()["centres"] == "normals" and scorer.get_params()["k"] == 5
    assert scorer.set_params(k=6) is scorer and scorer.k == 6
    twin = clone(scorer)
    assert twin.get_params() == scorer.get_params()
    assert not hasattr(twin, "rounds_")
    assert_array_equal(twin.fit(X, y).score_samples(Z),
                       score_auxiliary(X, y, Z, centres="normals", k=6, random_state=0))


def test_public_api_names():
    for name in ("EAPScorer", "EAPResult", "SSDO", "score_auxiliary",
                 "expected_anomaly_posterior", "knn_radii", "rarity_scores", "estimate_k"):
        assert name in eap.__all__
