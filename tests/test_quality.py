"""The pieces of the quality study (eap_anomaly.evaluation.quality, docs/quality.md)."""

import numpy as np
import pytest

from eap_anomaly import EAPScorer
from eap_anomaly.posterior import tail_density
from eap_anomaly.tuning import shuffled_rows
from eap_anomaly.evaluation.quality import (
    Calibration,
    fit_calibration,
    fitted_parts,
    log_score,
    posterior,
    uniform_box,
    validation_parts,
    whitener,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(120, 4)), rng.normal(3.0, 1.0, size=(10, 4))])
    y = np.r_[np.zeros(120, int), np.ones(10, int)]
    return X, y


def test_second_kinds_of_unrealistic_rows(data):
    X, _ = data
    rng = np.random.default_rng(1)
    U = uniform_box(X, 50, rng)
    assert U.shape == (50, 4) and np.all(U >= X.min(0)) and np.all(U <= X.max(0))
    S = shuffled_rows(X, 50, rng)
    for j in range(4):  # every value comes from the same column of X
        assert np.isin(S[:, j], X[:, j]).all()


@pytest.mark.parametrize("n,d,size", [(5, 1, 1), (130, 40, 37), (7, 3, 0)])
def test_shuffled_rows_draw_each_column_in_turn(n, d, size):
    """The validation's synthetic rows: column j's rows are the j-th draw of ``size`` indices
    from the generator (the stream the study's cached folds were made with)."""
    X = np.random.default_rng(n).normal(size=(n, d)).astype(np.float32)
    rng, ref = np.random.default_rng(9), np.random.default_rng(9)
    expected = np.column_stack([X[ref.integers(0, n, size), j] for j in range(d)]).reshape(size, d)
    got = shuffled_rows(X, size, rng)
    assert got.dtype == X.dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)
    assert rng.integers(0, 2**31) == ref.integers(0, 2**31)  # the generator is left where it was


def test_tail_changes_only_the_ties_at_the_prior_mean():
    rng = np.random.default_rng(3)
    rarity = np.where(rng.random(400) < 0.3, 0.0, rng.uniform(0.5, 3, 400))
    rarity_out = np.where(rarity == 0, rng.uniform(3, 30, 400), 0.0)
    p = np.where(rarity == 0, 0.8, rng.random(400))  # equal p outside: the tail orders by distance
    p[:10] = 0.01  # and a few below the prior mean
    paper_px = np.divide(1.0, rarity, out=np.zeros(400), where=rarity > 0)
    paper_px = paper_px / (paper_px + 50.0)
    paper = posterior(p, paper_px, 100, 0.05, 0.95)
    tail = posterior(p, tail_density(rarity, rarity_out, 50.0), 100, 0.05, 0.95)
    np.testing.assert_allclose(tail, paper, atol=1e-10)
    decided = paper[:, None] != paper[None, :]
    assert np.all(np.sign(paper[:, None] - paper[None, :])[decided]
                  == np.sign(tail[:, None] - tail[None, :])[decided])
    # outside every ball: above the prior mean iff p is; at equal p, nearer ranks higher
    outside = rarity == 0
    assert np.all((tail[outside] > 0.05) == (p[outside] > 0.05))
    tied = outside & (p == 0.8)
    order = np.argsort(-tail[tied])
    assert np.all(np.diff(rarity_out[tied][order]) >= 0)


def test_calibration_is_monotone_and_keeps_zero():
    rng = np.random.default_rng(4)
    u = np.r_[rng.normal(0, 1, 200), rng.normal(1.5, 1, 20)]
    y = np.r_[np.zeros(200), np.ones(20)]
    cal = fit_calibration(u, y, prior=20 / 220)
    assert cal.b > 0
    p = np.linspace(0, 1, 101)
    q = cal(p)
    assert q[0] == 0 and np.all(np.diff(q) >= 0)
    assert Calibration(0.3, -1.0)(p) is p  # no evidence: unchanged
    np.testing.assert_allclose(log_score(np.array([1 - 2.0**-4])), [np.log(2.0)])


def test_fitted_parts_match_the_scorer(data):
    X, y = data
    Z = np.random.default_rng(5).normal(0, 2, size=(60, 4))
    scorer = EAPScorer(random_state=0, n_jobs=1)
    parts = fitted_parts(scorer, X, y, Z)
    d = scorer.score_samples(Z, return_details=True)
    np.testing.assert_allclose(parts.quality(scorer.alpha0_, scorer.beta0_), d.quality)
    parts, goods = validation_parts(lambda: EAPScorer(random_state=0, n_jobs=1), X, y, 5, 0)
    assert len(parts) == len(goods) == 5


def test_whitener_whitens_the_training_rows(data):
    X, _ = data
    W = whitener(X)(X)
    np.testing.assert_allclose(np.cov(W.T), np.eye(W.shape[1]), atol=1e-8)
