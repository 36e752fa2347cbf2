"""The quality preset's pieces (docs/quality.md): the tail outside the balls, the whitening, the
choice among options by internal validation, and EAPScorer.tuned()."""

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from eap_anomaly import EAPScorer, compare_sets, knn_radii, rarity_scores
from eap_anomaly.evaluation.baselines import quality_scores
from eap_anomaly.posterior import TAIL
from eap_anomaly.tuning import validation_folds
from helpers import labelled_data
from reference import ref_dists, ref_nearest

DTYPES = [np.float32, np.float64]


@pytest.fixture(scope="module")
def data():
    # wide candidates: many of them lie outside every ball
    return labelled_data(11, 160, 5, 150, rate=0.12, shift=2.5, wide=6.0, forced=4)


def ref_tail_quality(p, rarity, nearest, rho_sum, n_centres, alpha0, beta0):
    """Eq. 5 with P_x = rho/(rho + sum) inside a ball and TAIL rho'/(rho' + sum) outside."""
    rho = np.where(rarity > 0, 1.0 / np.where(rarity > 0, rarity, 1.0), 0.0)
    px = np.where(rarity > 0, rho / (rho + rho_sum), TAIL * (1.0 / nearest) / (1.0 / nearest + rho_sum))
    return (alpha0 + n_centres * px * p) / (alpha0 + beta0 + n_centres * px)


def test_nearest_centre_is_the_rarity_extension_outside_every_ball():
    rng = np.random.default_rng(2)
    C = rng.normal(size=(120, 4))
    radii = knn_radii(C, 5)
    Z = rng.normal(0, 4, size=(200, 4))
    outside = rarity_scores(Z, C, radii) == 0
    assert outside.sum() > 20
    extension = np.min(np.maximum(ref_dists(Z, C, exact=True), radii), axis=1)
    assert_array_equal(extension[outside], ref_nearest(Z, C)[outside])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("centres", ["all", "normals"])
def test_tail_scorer_matches_the_reference(data, dtype, centres):
    X, y, Z = (a.astype(dtype) if a.dtype.kind == "f" else a for a in data)
    paper = EAPScorer(random_state=0, centres=centres).fit(X, y)
    tail = EAPScorer(random_state=0, centres=centres, outside="tail").fit(X, y)
    d = paper.score_samples(Z, return_details=True)
    t = tail.score_samples(Z, return_details=True)
    outside = d.rarity == 0
    assert 10 < outside.sum() < Z.shape[0]
    assert_array_equal(t.p_anomaly, d.p_anomaly)
    assert_array_equal(t.density[~outside], d.density[~outside])
    C = X[y == 0] if centres == "normals" else X
    r = tail.rounds_[0]
    expected = ref_tail_quality(d.p_anomaly, d.rarity, ref_nearest(Z, C), r.rho_sum, r.n_centres,
                                tail.alpha0_, tail.beta0_)
    assert_allclose(t.quality, expected, rtol=1e-13, atol=0)
    # every comparison the paper decides is kept; the ties at the prior mean are broken
    decided = d.quality[:, None] != d.quality[None, :]
    assert np.all(np.sign(d.quality[:, None] - d.quality[None, :])[decided]
                  == np.sign(t.quality[:, None] - t.quality[None, :])[decided])
    assert np.unique(t.quality[outside]).size > np.unique(d.quality[outside]).size


def test_tail_with_bagging_is_thread_and_chunk_invariant(data):
    X, y, Z = data
    one = EAPScorer(random_state=3, n_bags=4, outside="tail", n_jobs=1).fit(X, y).score_samples(Z)
    two = EAPScorer(random_state=3, n_bags=4, outside="tail", n_jobs=2, chunk_size=17).fit(X, y)
    assert_array_equal(two.score_samples(Z), one)


@pytest.mark.parametrize("dtype", DTYPES)
def test_whitening_matches_a_numpy_reference(data, dtype):
    X, y, Z = (a.astype(dtype) if a.dtype.kind == "f" else a for a in data)
    X = X * np.array([1.0, 10.0, 0.1, 3.0, 1.0], dtype=dtype)  # unequal variances
    Z = Z * np.array([1.0, 10.0, 0.1, 3.0, 1.0], dtype=dtype)
    X64 = X.astype(np.float64)
    mean = X64.mean(0)
    evals, evecs = np.linalg.eigh(np.cov(X64.T))
    evals, evecs = evals[::-1], evecs[:, ::-1]
    q = int(np.argmax(np.cumsum(evals) / evals.sum() >= 0.9)) + 1
    scorer = EAPScorer(random_state=0, whiten=0.9).fit(X, y)
    W = scorer.X_train_
    assert W.dtype == dtype and W.shape == (X.shape[0], q) and scorer.n_features_in_ == 5
    # the same subspace, unit variance in every kept direction
    ref = (X64 - mean) @ (evecs[:, :q] / np.sqrt(evals[:q]))
    tol = 1e-9 if dtype == np.float64 else 1e-5
    assert_allclose(np.abs(W.T @ ref) / X.shape[0], np.diag(np.full(q, (X.shape[0] - 1) / X.shape[0])),
                    atol=10 * tol)
    assert_allclose(np.cov(W.astype(np.float64).T), np.eye(q), atol=10 * tol)
    # scoring maps the candidates the same way: equal to fitting on the whitened rows
    mapped = scorer.whitening_.transform(Z, np.dtype(dtype))
    direct = EAPScorer(random_state=0).fit(W, y)
    assert_array_equal(scorer.score_samples(Z), direct.score_samples(mapped))


@pytest.mark.parametrize("exponent", [600, -600])
def test_whitening_of_extreme_data_equals_that_of_the_data_scaled_back(data, exponent):
    X, y, Z = data
    s = 2.0**exponent
    plain = EAPScorer(random_state=0, whiten=0.9).fit(X, y)
    extreme = EAPScorer(random_state=0, whiten=0.9).fit(X * s, y)
    assert_array_equal(extreme.X_train_, plain.X_train_)
    assert_array_equal(extreme.score_samples(Z * s), plain.score_samples(Z))


def test_whitening_of_constant_rows_names_x():
    X = np.ones((30, 3))
    y = np.r_[np.ones(3, int), np.zeros(27, int)]
    with pytest.raises(ValueError, match="X: whitening"):
        EAPScorer(whiten=0.95).fit(X, y)


def test_validation_folds_are_stratified_and_disjoint():
    y = np.r_[np.zeros(120, int), np.ones(11, int)]
    folds = validation_folds(y, 5, np.random.default_rng(0))
    held = np.concatenate(folds)
    assert held.size == np.unique(held).size
    assert set(np.flatnonzero(y == 1)) <= set(held)
    for f in folds:
        assert np.sum(y[f] == 1) == np.sum(y[f] == 0) >= 2


def test_choice_is_the_best_validated_option_and_equals_fitting_it(data):
    X, y, Z = data
    options = [{}, {"ssdo_k": 30}, {"alpha": 10.0}, {"whiten": 0.95}]
    scorer = EAPScorer(random_state=5, outside="tail", choose_from=options).fit(X, y)
    scores = scorer.validation_scores_
    assert scores.shape == (4,) and np.all((scores >= 0) & (scores <= 1))
    best = options[int(np.argmax(scores))]
    assert {k: scorer.chosen_[k] for k in best} == best
    direct = EAPScorer(random_state=5, outside="tail", **best).fit(X, y)
    assert_array_equal(scorer.score_samples(Z), direct.score_samples(Z))
    # the validation of one option alone gives the same score as within the list
    for i, option in enumerate(options):
        alone = EAPScorer(random_state=5, outside="tail", choose_from=[option]).fit(X, y)
        assert alone.validation_scores_[0] == scores[i]


@pytest.mark.parametrize("fraction", [0.001, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("n_bags", [0, 3])
def test_ssdo_k_fraction_is_that_rank_of_the_training_rows(data, fraction, n_bags):
    X, y, Z = data
    n = X.shape[0]
    rank = max(1, round(fraction * n))  # 1.0 -> n, which every fit caps at its rows - 1
    a = EAPScorer(random_state=3, ssdo_k=fraction, n_bags=n_bags).fit(X, y)
    b = EAPScorer(random_state=3, ssdo_k=rank, n_bags=n_bags).fit(X, y)
    assert a.chosen_["ssdo_k"] == fraction
    assert [r.detector.eta for r in a.rounds_] == [r.detector.eta for r in b.rounds_]
    assert_array_equal(a.score_samples(Z), b.score_samples(Z))
    if fraction == 1.0 and n_bags == 0:  # eta from every point's farthest other point
        far = ref_dists(X, X).max(axis=1)
        assert_allclose(a.rounds_[0].detector.eta, n / np.sum(1.0 / far), rtol=1e-12)


def test_ties_go_to_the_first_option(data):
    X, y, _ = data
    # two different settings whose validation AUCs tie (a rank statistic; alpha one ulp apart)
    nudged = float(np.nextafter(2.3, 3.0))
    scorer = EAPScorer(random_state=1, choose_from=[{"alpha": nudged}, {"alpha": 2.3}]).fit(X, y)
    assert scorer.validation_scores_[0] == scorer.validation_scores_[1]
    assert scorer.chosen_["alpha"] == nudged
    swapped = EAPScorer(random_state=1, choose_from=[{"alpha": 2.3}, {"alpha": nudged}]).fit(X, y)
    assert swapped.chosen_["alpha"] == 2.3


def test_tuned_is_deterministic_thread_invariant_and_saved(data, tmp_path):
    X, y, Z = data
    a = EAPScorer.tuned(random_state=2, n_jobs=1).fit(X, y)
    b = EAPScorer.tuned(random_state=2, n_jobs=2).fit(X, y)
    assert a.get_params()["outside"] == "tail" and a.get_params()["prior"] == "knn" and len(a.choose_from) == 3
    assert_array_equal(a.validation_scores_, b.validation_scores_)
    qa = a.score_samples(Z)
    assert_array_equal(b.score_samples(Z), qa)
    a.save(tmp_path / "tuned.npz")
    loaded = EAPScorer.load(tmp_path / "tuned.npz")
    assert loaded.chosen_ == a.chosen_
    assert_array_equal(loaded.validation_scores_, a.validation_scores_)
    assert_array_equal(loaded.score_samples(Z), qa)


def test_whitened_model_round_trips_and_version_2_still_loads(data, tmp_path):
    X, y, Z = data
    white = EAPScorer(random_state=0, whiten=0.95).fit(X, y)
    white.save(tmp_path / "w.npz")
    assert_array_equal(EAPScorer.load(tmp_path / "w.npz").score_samples(Z), white.score_samples(Z))
    # a model saved before version 3 (no whitening, no chosen options) loads as it was
    plain = EAPScorer(random_state=0).fit(X, y)
    plain.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz", allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    fitted = json.loads(str(arrays["fitted"]))
    for key in ("n_features_in_", "chosen_", "validation_scores_"):
        del fitted[key]
    params = json.loads(str(arrays["params"]))
    for key in ("outside", "whiten", "choose_from"):
        del params[key]
    arrays.update(fitted=np.array(json.dumps(fitted)), params=np.array(json.dumps(params)),
                  format_version=np.array(2))
    np.savez(tmp_path / "v2.npz", **arrays)
    old = EAPScorer.load(tmp_path / "v2.npz")
    assert old.chosen_ == {"ssdo_k": 10, "alpha": 2.3, "whiten": None}
    assert_array_equal(old.score_samples(Z), plain.score_samples(Z))


@pytest.mark.parametrize("params,exc,match", [
    (dict(outside="nearest"), ValueError, "outside"),
    (dict(outside=None), ValueError, "outside"),
    (dict(whiten=0.0), ValueError, "whiten"),
    (dict(whiten=1.5), ValueError, "whiten"),
    (dict(whiten=np.nan), ValueError, "whiten"),
    (dict(whiten="0.9"), TypeError, "whiten"),
    (dict(choose_from=[]), TypeError, "choose_from"),
    (dict(choose_from={"ssdo_k": 30}), TypeError, "choose_from"),
    (dict(choose_from=["ssdo_k"]), TypeError, "choose_from"),
    (dict(choose_from=[{"n_bags": 3}]), ValueError, "choose_from"),
    (dict(choose_from=[{"ssdo_k": 0}]), ValueError, "ssdo_k"),
    (dict(choose_from=[{"whiten": 2.0}]), ValueError, "whiten"),
])
def test_bad_preset_parameters_are_named(data, params, exc, match):
    X, y, _ = data
    with pytest.raises(exc, match=match):
        EAPScorer(**params).fit(X, y)


def test_choice_needs_two_training_anomalies(data):
    X, y, _ = data
    one = np.zeros_like(y)
    one[0] = 1
    with pytest.raises(ValueError, match="choose_from.*at least 2 training anomalies"):
        EAPScorer.tuned().fit(X, one)


def test_evaluation_runs_the_preset_as_a_method(data):
    X, y, Z = data
    scorer = EAPScorer(random_state=4).fit(X, y)
    q = quality_scores(scorer, X, Z, ("EAP", "EAP_TUNED"), random_state=4, y_train=y)
    assert_array_equal(q["EAP"], scorer.score_samples(Z))
    assert_array_equal(q["EAP_TUNED"], EAPScorer.tuned(random_state=4).fit(X, y).score_samples(Z))
    with pytest.raises(ValueError, match="y_train"):
        quality_scores(scorer, X, Z, ("EAP_TUNED",), random_state=4)


def test_compare_counts_rows_outside_every_ball_as_unrealistic_with_the_tail(data):
    X, y, Z = data
    sets = {"near": Z[:100], "wide": Z[100:]}
    paper = compare_sets(EAPScorer(random_state=0).fit(X, y), sets)
    tail = compare_sets(EAPScorer(random_state=0, outside="tail").fit(X, y), sets)
    for a, b in zip(paper.rows, tail.rows):
        assert (a.unrealistic, a.indistinguishable) == (b.unrealistic, b.indistinguishable)
    assert paper.rows[1].unrealistic > 0.1
