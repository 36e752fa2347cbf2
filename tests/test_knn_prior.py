"""SSDO's k-NN prior (``prior="knn"``, not SPEC; docs/quality.md): the distance to the k-th nearest
training row (a training row's: to the k-th nearest other row) in place of the Isolation Forest.
Compared with the slow references of ``tests/reference_pipeline.py`` (``prior_kind="knn"``)
within the tolerances of tests/test_pipeline.py; across threads, paths, saving and pickling,
bit for bit.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from eap_anomaly import EAPScorer, SSDO, score_auxiliary
from eap_anomaly.prior import NeighbourPrior

from helpers import DETAIL_FIELDS, RTOL, assert_details_match, assert_same_details, kernel_cut_atol, p_atol_of
from reference_pipeline import ref_round, ref_score_auxiliary, ref_ssdo
from test_pipeline import make_data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 10, 40, 199])  # 1, SSDO's default, past the running list, n - 1
def test_ssdo_knn_prior_matches_reference(dtype, k):
    X, y, Z = (a.astype(dtype) if a.dtype.kind == "f" else a for a in make_data())
    det = SSDO(prior="knn", k=k).fit(X, y)
    ref = ref_ssdo(X, y, Z, k=k, prior_kind="knn")
    rtol, atol = RTOL[np.dtype(dtype)], kernel_cut_atol(2.3, X.shape[0])
    assert isinstance(det.detector_.prior, NeighbourPrior) and det.detector_.prior.k == k
    assert_allclose(det.decision_scores_, ref["train"], rtol=rtol, atol=atol)
    assert_allclose(det.decision_function(Z), ref["z"], rtol=rtol, atol=atol)
    # the training rows scored as candidates count themselves (distance 0), unlike their own
    # leave-one-out f: the reference's candidate formula, not decision_scores_
    as_candidates = det.decision_function(X)
    assert_allclose(as_candidates, ref_ssdo(X, y, X, k=k, prior_kind="knn")["z"], rtol=rtol, atol=atol)
    assert not np.allclose(as_candidates, det.decision_scores_)
    # the same bits on two threads
    assert_array_equal(SSDO(prior="knn", k=k, n_jobs=2).fit(X, y).decision_function(Z), det.decision_function(Z))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("centres", ["all", "normals"])
@pytest.mark.parametrize("ssdo_k", [1, 10, 40])
def test_scorer_knn_prior_matches_reference(dtype, centres, ssdo_k):
    X, y, Z = (a.astype(dtype) if a.dtype.kind == "f" else a for a in make_data())
    ref = ref_score_auxiliary(X, y, Z, centres=centres, ssdo_k=ssdo_k, prior_kind="knn")
    res = score_auxiliary(X, y, Z, centres=centres, prior="knn", return_details=True, random_state=0) \
        if ssdo_k == 10 else \
        EAPScorer(centres=centres, ssdo_k=ssdo_k, prior="knn").fit(X, y).score_samples(Z, return_details=True)
    assert_details_match(res, ref, dtype)
    # the priors really differ: the forest's quality is another one
    forest = EAPScorer(centres=centres, ssdo_k=ssdo_k, prior="sklearn", random_state=0).fit(X, y)
    assert not np.allclose(forest.score_samples(Z, return_details=True).p_anomaly, res.p_anomaly)


def test_knn_prior_with_duplicates_matches_reference():
    """Repeated training rows (delta 0 for k below the copies) and candidates on them."""
    X, y, Z = make_data(seed=3, n_normal=60, m=8)
    X = np.vstack([X, np.repeat(X[:3], 4, axis=0)])
    y = np.r_[y, np.repeat(y[:3], 4)]
    Z = np.vstack([Z, X[:5]])
    for ssdo_k in (2, 6):
        ref = ref_score_auxiliary(X, y, Z, ssdo_k=ssdo_k, prior_kind="knn")
        res = EAPScorer(ssdo_k=ssdo_k, prior="knn").fit(X, y).score_samples(Z, return_details=True)
        assert_details_match(res, ref, np.float64)


def test_knn_prior_bagging_matches_reference_per_round():
    X, y, Z = make_data()
    scorer = EAPScorer(prior="knn", n_bags=3, random_state=0).fit(X, y)
    res = scorer.score_samples(Z, return_details=True)
    anomaly = y == 1
    n, m = y.size, int(anomaly.sum())
    rounds = []
    for r in scorer.rounds_:
        position = np.full(n, -1, np.int64)
        position[r.rows] = np.arange(r.rows.size)
        rounds.append(ref_round(X[r.rows], anomaly[r.rows], Z, X[anomaly], centres="all", k=None, k_min=1,
                                quantile=0.95, alpha0=m / n, beta0=1 - m / n, seed=None, ssdo_k=10,
                                alpha=2.3, threshold="exact", query_is_centre=position[anomaly],
                                prior_kind="knn"))
    p_atol = max(p_atol_of(ref) for ref in rounds)
    atol = {"quality": p_atol, "p_anomaly": p_atol, "density": 0.0, "rarity": 0.0}
    for field in DETAIL_FIELDS:
        assert_allclose(getattr(res, field), np.mean([ref[field] for ref in rounds], axis=0),
                        rtol=1e-9, atol=atol[field], err_msg=field)


@pytest.mark.parametrize("n_bags", [0, 3])
def test_knn_prior_same_bits_across_threads_paths_saving_and_pickling(n_bags, tmp_path, monkeypatch):
    X, y, Z = make_data(seed=1)
    one = EAPScorer(prior="knn", n_bags=n_bags, random_state=4, n_jobs=1).fit(X, y)
    expected = one.score_samples(Z, return_details=True)
    two = EAPScorer(prior="knn", n_bags=n_bags, random_state=4, n_jobs=2).fit(X, y)
    assert_same_details(two.score_samples(Z, return_details=True), expected)
    chunked = EAPScorer(prior="knn", n_bags=n_bags, random_state=4, chunk_size=7).fit(X, y)
    assert_same_details(chunked.score_samples(Z, return_details=True), expected)
    monkeypatch.setattr(EAPScorer, "_per_round", True)  # each round on its own distances
    per_round = EAPScorer(prior="knn", n_bags=n_bags, random_state=4).fit(X, y)
    assert_same_details(per_round.score_samples(Z, return_details=True), expected)
    one.save(tmp_path / "m.npz")
    assert_same_details(EAPScorer.load(tmp_path / "m.npz").score_samples(Z, return_details=True), expected)
    assert_same_details(pickle.loads(pickle.dumps(one)).score_samples(Z, return_details=True), expected)
    ssdo = SSDO(prior="knn").fit(X, y)
    assert_array_equal(pickle.loads(pickle.dumps(ssdo)).decision_function(Z), ssdo.decision_function(Z))


def test_knn_prior_raw_scores_need_the_training_rows():
    X, y, Z = make_data()
    detector = SSDO(prior="knn").fit(X, y).detector_
    with pytest.raises(TypeError, match="training rows"):
        detector.decision(Z, np.zeros(len(Z)), np.zeros(len(Z)), 1)


def test_a_saved_model_with_an_unknown_prior_kind_is_refused(tmp_path):
    X, y, _ = make_data()
    EAPScorer(prior="knn").fit(X, y).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    assert str(arrays["round0/detector/prior/kind"]) == "knn"
    arrays["round0/detector/prior/kind"] = np.array("forest")
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="unknown prior kind 'forest'"):
        EAPScorer.load(tmp_path / "bad.npz")
