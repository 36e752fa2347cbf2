"""Bagging rounds fitted and scored together (issue 11): one matrix of squared distances serves
every round's fit, one chunk's distances every round's score, and the results equal a per-round
loop over the public building blocks bit for bit."""

from __future__ import annotations

import copy
import pickle
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.utils import check_random_state

from eap_anomaly import EAPScorer
from eap_anomaly import _core
from eap_anomaly._validation import safe_scale, scaled
from eap_anomaly.geometry import bayesian_k
from eap_anomaly.posterior import density, inverse_rarity, posterior_mean
from eap_anomaly.ssdo import fit_detector
from eap_anomaly.training_pass import TrainingPass

from reference import ref_knn_radii

FIELDS = ("quality", "p_anomaly", "density", "rarity", "k", "threshold")


def make_data(seed: int, n: int, d: int, l: int, dtype: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(np.int64)
    y[:4] = 1
    X = rng.normal(size=(n, d))
    X[y == 1] += 1.5
    X[5] = X[6]  # a duplicate: a zero distance
    Z = np.vstack([rng.normal(size=(l // 2, d)), rng.normal(scale=3.0, size=(l - l // 2, d)), X[:3]])
    return X.astype(dtype), y, Z.astype(dtype)


def draws(scorer: EAPScorer, anomaly: np.ndarray) -> List[Tuple[np.ndarray, Optional[int]]]:
    """The bagging draws as SPEC section 7 makes them (rows, forest seed)."""
    n, m = anomaly.shape[0], int(anomaly.sum())
    if scorer.n_bags == 0:
        return [(np.arange(n), None)]
    rng = check_random_state(scorer.random_state)
    low = min((scorer.k_min + 1 + m) / n, 0.99)
    out: List[Tuple[np.ndarray, Optional[int]]] = []
    while len(out) < scorer.n_bags:
        keep = np.flatnonzero(rng.random_sample(n) < rng.uniform(low, 0.99))
        normals = int((~anomaly[keep]).sum())
        n_centres = keep.size if scorer.centres == "all" else normals
        if normals >= 1 and keep.size >= 2 and n_centres >= 2 and (
                scorer.k is None or scorer.k <= n_centres - 1):
            out.append((keep, int(rng.randint(np.iinfo(np.int32).max))))
    return out


def per_round_loop(scorer: EAPScorer, X: np.ndarray, y: np.ndarray, Z: np.ndarray) -> Dict[str, Any]:
    """Each round fitted on its own rows and scored on its own training pass, then the mean."""
    anomaly = y == 1
    n, m = X.shape[0], int(anomaly.sum())
    scale = safe_scale(X)
    Xs, Zs = scaled(X, scale), scaled(Z, scale)
    alpha0, beta0 = m / n, 1 - m / n
    parts, ks, lams = [], [], []
    for rows, seed in draws(scorer, anomaly):
        ar = anomaly[rows]
        centre_rows = np.flatnonzero(np.ones(rows.size, bool) if scorer.centres == "all" else ~ar)
        C = Xs[rows][centre_rows]
        position = np.full(n, -1, dtype=np.int64)
        position[rows[centre_rows]] = np.arange(centre_rows.size)
        k = scorer.k if scorer.k is not None else bayesian_k(
            C, Xs[anomaly], position[anomaly], scorer.k_min, scorer.quantile, 1)
        radius = np.zeros(rows.size)
        radius[centre_rows] = _core.knn_radii(C, k, 1)
        detector, _, _, rarity = fit_detector(
            X[rows], Xs[rows], ar, scale, radius, scorer.ssdo_k, scorer.alpha, 100, scorer.prior,
            scorer.threshold, scorer.random_state if seed is None else seed, 1)
        centre_rarity = rarity[centre_rows] / scale
        rho_sum = float(np.sum(inverse_rarity(centre_rarity)[centre_rarity > 0]))
        w_pos, w_neg, z_rarity = TrainingPass(Xs[rows], ar, radius, detector.eta * scale).score(Zs, 1)
        z_rarity = z_rarity / scale
        p = detector.probability(detector.decision(Z, w_pos, w_neg, 1))
        px = density(z_rarity, rho_sum)
        parts.append([posterior_mean(p, px, centre_rows.size, alpha0, beta0), p, px, z_rarity])
        ks.append(k)
        lams.append(detector.threshold)
    out = {f: np.mean([part[i] for part in parts], axis=0) for i, f in enumerate(FIELDS[:4])}
    bagged = len(parts) > 1
    out.update(k=np.array(ks) if bagged else ks[0], threshold=np.array(lams) if bagged else lams[0])
    return out


def assert_same(got: Any, expected: Dict[str, Any], label: str = "") -> None:
    for f in FIELDS:
        assert_array_equal(np.asarray(getattr(got, f)), np.asarray(expected[f]), err_msg=f"{label} {f}")


def assert_same_details(a: Any, b: Any, label: str = "") -> None:
    assert_same(a, {f: getattr(b, f) for f in FIELDS}, label)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("centres", ["all", "normals"])
@pytest.mark.parametrize("k", [None, 6])
@pytest.mark.parametrize("n_bags", [0, 4])
def test_equals_per_round_loop(dtype: Any, centres: str, k: Optional[int], n_bags: int) -> None:
    X, y, Z = make_data(1, 260, 7, 300, dtype)
    scorer = EAPScorer(centres=centres, k=k, n_bags=n_bags, random_state=5, n_jobs=2)
    got = scorer.fit(X, y).score_samples(Z, return_details=True)
    assert_same(got, per_round_loop(scorer, X, y, Z))
    assert_array_equal(np.concatenate([r.rows for r in scorer.rounds_]),
                       np.concatenate([rows for rows, _ in draws(scorer, y == 1)]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("centres", ["all", "normals"])
def test_equals_per_round_loop_with_expanded_scoring(dtype: Any, centres: str) -> None:
    """d = 30: candidates take the GEMM expansion, the fit scores its training points exactly
    (as the shared pairwise distances give them), the same bits either way."""
    X, y, Z = make_data(1, 260, 30, 300, dtype)
    scorer = EAPScorer(centres=centres, random_state=5, n_jobs=2)
    got = scorer.fit(X, y).score_samples(Z, return_details=True)
    assert_same(got, per_round_loop(scorer, X, y, Z))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_authors_code_equals_per_round_loop(dtype: Any) -> None:
    X, y, Z = make_data(2, 300, 5, 200, dtype)
    scorer = EAPScorer.authors_code(n_bags=6, random_state=np.random.RandomState(3))
    got = scorer.fit(X, y).score_samples(Z, return_details=True)
    assert_same(got, per_round_loop(EAPScorer.authors_code(n_bags=6, random_state=np.random.RandomState(3)),
                                    X, y, Z))


def test_rescaled_data_equals_per_round_loop() -> None:
    X, y, Z = make_data(3, 200, 4, 100, np.float64)
    X, Z = X * 1e200, Z * 1e200  # scale_ != 1
    scorer = EAPScorer(n_bags=3, random_state=0, n_jobs=2)  # 3 rounds >= 2 threads: one forest call
    assert scorer.fit(X, y).scale_ != 1.0
    assert_same(scorer.score_samples(Z, return_details=True), per_round_loop(scorer, X, y, Z))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [dict(n_bags=5), dict(n_bags=0), dict(n_bags=3, centres="normals", k=4)])
@pytest.mark.parametrize("d", [6, 30])  # 30: candidates scored by the GEMM expansion
def test_per_round_fallback_equals_shared_distances(dtype: Any, params: Dict[str, Any], d: int) -> None:
    X, y, Z = make_data(4, 240, d, 150, dtype)
    shared = EAPScorer(random_state=1, **params).fit(X, y)
    fallback = EAPScorer(random_state=1, **params)
    fallback._per_round = True
    fallback.fit(X, y)
    assert_same_details(shared.score_samples(Z, return_details=True),
                        fallback.score_samples(Z, return_details=True))
    for a, b in zip(shared.rounds_, fallback.rounds_):
        assert (a.k, a.n_centres, a.rho_sum, a.detector.eta) == (b.k, b.n_centres, b.rho_sum, b.detector.eta)
        assert_array_equal(a.radius, b.radius)


@pytest.mark.parametrize("seed", [0, 24])
def test_per_round_fallback_equals_shared_distances_with_a_row_beyond_float32(seed: int) -> None:
    """A training row beyond float32's range: with seed 0 a round holds it, so the rounds'
    forests need different rescalings and the shared fit builds each on its own; with seed 24
    none does and one core call builds them all. Either way the per-round fit's bits."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 3))
    y = (rng.random(200) < 0.1).astype(int)
    y[:2] = 1
    X[150, 0] = 1e39
    Z = rng.normal(size=(40, 3))
    shared = EAPScorer(n_bags=4, random_state=seed, n_jobs=2).fit(X, y)
    holds = any(150 in r.rows for r in shared.rounds_)
    assert holds == (seed == 0)
    assert len({r.detector.prior.scale for r in shared.rounds_}) == (2 if holds else 1)
    fallback = EAPScorer(n_bags=4, random_state=seed, n_jobs=2)
    fallback._per_round = True
    fallback.fit(X, y)
    assert_same_details(shared.score_samples(Z, return_details=True),
                        fallback.score_samples(Z, return_details=True))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("centres", ["all", "normals"])
@pytest.mark.parametrize("ssdo_k", [5, 40])
def test_shared_covers_equal_cover_ranks_per_round(dtype: Any, centres: str, ssdo_k: int) -> None:
    """The shared matrix's k-hat covers, round by round, against cover_ranks on that round's
    centres: anomalies near (settled by the nearest centres when they are all the points and
    SSDO's k is small) and far (counted over whole rows), tied copies, 1 and 2 threads."""
    rng = np.random.default_rng(ssdo_k)
    n = 400
    X = rng.normal(size=(n, 3))
    y = np.zeros(n, np.int64)
    y[:40] = 1
    X[:20] = X[200:220] + 0.01            # near normals
    X[20:40] *= rng.choice([2.0, 6.0], size=(20, 1))  # far, some very far
    X[38:40] = X[37]                      # ties
    X = X.astype(dtype)
    anomalies = np.flatnonzero(y)
    bags = [np.arange(n)] + [np.sort(rng.choice(n, 300, replace=False)) for _ in range(3)]
    offsets = np.cumsum([0] + [b.size for b in bags]).astype(np.int64)
    flat = np.concatenate(bags).astype(np.int64)
    is_centre = np.ones(flat.size, bool) if centres == "all" else y[flat] == 0
    for threads in (1, 2):
        _, _, cover, _ = _core.neighbours_and_forests(X, offsets, flat, is_centre.astype(np.uint8),
                                                      ssdo_k, anomalies.astype(np.int64), threads)
        for r, rows in enumerate(bags):
            centre_rows = rows[is_centre[offsets[r]:offsets[r + 1]]]
            position = np.full(n, -1, dtype=np.int64)
            position[centre_rows] = np.arange(centre_rows.size)
            expected = _core.cover_ranks(X[centre_rows], X[anomalies], position[anomalies], 1)
            assert (expected <= ssdo_k).any() and (expected > ssdo_k + 1).any()
            assert_array_equal(cover[r], expected, err_msg=f"round {r}, {threads} threads")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ssdo_k", [1, 5, 40])
def test_shared_bandwidth_distances_equal_each_rounds_own(dtype: Any, ssdo_k: int) -> None:
    """The SSDO bandwidth's delta of every round point (its min(k, n_r - 1)-th nearest other
    point of the round) against the exact reference, for rounds whose k nearest lie among each
    point's 64 nearest of all points (one selection per point) and small rounds where they do
    not (each round's own selection); on a coarse grid, so distances tie often, with copies."""
    rng = np.random.default_rng(ssdo_k)
    n = 300
    X = np.round(rng.normal(size=(n, 2)) * 2) / 2
    X[:10] = X[10:20]
    X = X.astype(dtype)
    # a point's prefix is built once 4 of its rounds walk it: the 5 large rounds
    bags = [np.arange(n)] + [np.sort(rng.choice(n, size, replace=False)) for size in (280, 270, 260, 250, 150, 12)]
    bags.append(np.array([3, 13]))
    offsets = np.cumsum([0] + [b.size for b in bags]).astype(np.int64)
    flat = np.concatenate(bags).astype(np.int64)
    for threads in (1, 2):
        _, delta, _, _ = _core.neighbours_and_forests(X, offsets, flat, np.ones(flat.size, np.uint8),
                                                      ssdo_k, np.empty(0, np.int64), threads)
        for r, rows in enumerate(bags):
            expected = ref_knn_radii(X[rows], min(ssdo_k, rows.size - 1), exact=True)
            assert_array_equal(delta[offsets[r]:offsets[r + 1]], expected,
                               err_msg=f"round {r}, {threads} threads")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("centres", ["all", "normals"])
def test_shared_radii_equal_each_rounds_own(dtype: Any, centres: str) -> None:
    """Every round's ball radii (k-th nearest other centre of the round) against the exact
    reference, with k met from each point's near end of its row (small k), its far end (k near
    the number of centres), or neither (k in the middle: the round's own selection); on a
    coarse grid, so distances tie often, with copies."""
    rng = np.random.default_rng(7)
    n = 300
    X = np.round(rng.normal(size=(n, 2)) * 2) / 2
    X[:10] = X[10:20]
    X = X.astype(dtype)
    y = np.zeros(n, np.uint8)
    y[rng.choice(n, 30, replace=False)] = 1
    # an end of a centre's row is built once 4 of its rounds walk it: 5 rounds each way
    bags = [np.arange(n)] + [np.sort(rng.choice(n, 250, replace=False)) for _ in range(9)]
    bags += [np.sort(rng.choice(n, 150, replace=False)), np.sort(rng.choice(n, 40, replace=False))]
    offsets = np.cumsum([0] + [b.size for b in bags]).astype(np.int64)
    flat = np.concatenate(bags).astype(np.int64)
    is_centre = np.ones(flat.size, bool) if centres == "all" else y[flat] == 0
    n_centres = [int(is_centre[a:b].sum()) for a, b in zip(offsets[:-1], offsets[1:])]
    near, far = [1, 3, 5, 9, 2], [2, 3, 6, 12, 4]  # k from the near end; k = n_centres - these
    ks = np.array(near + [n_centres[r] - far[r - 5] for r in range(5, 10)]
                  + [n_centres[10] // 2, n_centres[11] - 1], dtype=np.int64)
    pairwise = _core.neighbours_and_forests(X, offsets, flat, np.ones(flat.size, np.uint8), 1,
                                            np.empty(0, np.int64), 1)[0]
    for threads in (1, 2):
        radius = pairwise.balls_and_kernels(offsets, flat, is_centre.astype(np.uint8), ks, y,
                                            np.ones(len(bags)), 1e-6, threads)[0]
        for r, rows in enumerate(bags):
            mine = is_centre[offsets[r]:offsets[r + 1]]
            expected = np.zeros(rows.size)
            expected[mine] = ref_knn_radii(X[rows[mine]], int(ks[r]), exact=True)
            assert_array_equal(radius[offsets[r]:offsets[r + 1]], expected,
                               err_msg=f"round {r}, {threads} threads")


def test_thread_count_does_not_change_bagged_results() -> None:
    X, y, Z = make_data(5, 400, 6, 500, np.float32)
    results = [EAPScorer.authors_code(n_bags=8, random_state=2, n_jobs=n_jobs).fit(X, y)
               .score_samples(Z, return_details=True) for n_jobs in (1, 2, 3)]
    for other in results[1:]:
        assert_same_details(other, results[0])


def test_save_load_and_pickle_round_trips(tmp_path: Any) -> None:
    X, y, Z = make_data(6, 200, 5, 120, np.float64)
    scorer = EAPScorer(n_bags=4, random_state=9).fit(X, y)
    expected = scorer.score_samples(Z, return_details=True)
    scorer.save(tmp_path / "model.npz")
    for other in (EAPScorer.load(tmp_path / "model.npz"), pickle.loads(pickle.dumps(scorer)),
                  copy.deepcopy(scorer)):
        assert_same_details(other.score_samples(Z, return_details=True), expected)
    assert "_pass" not in scorer.__getstate__()


@pytest.mark.parametrize("d", [3, 40])  # TrainingPass from exact tiles; by the GEMM expansion
def test_rounds_pass_holds_each_round_in_order(d: int) -> None:
    X, y, Z = make_data(7, 150, d, 80, np.float32)
    rows = [np.arange(0, 150, 2), np.arange(150), np.array([3, 9, 40, 149])]
    radius = [np.linspace(0.5, 2.0, r.size) for r in rows]
    eta = [0.7, 1.3, 0.2] if d == 3 else [12.0, 14.0, 20.0]
    pass_ = _core.RoundsPassF32(X, (y == 1).astype(np.uint8), np.array([0, 75, 225, 229]),
                                np.concatenate(rows), np.concatenate(radius), 1e-5, np.array(eta), 2)
    got = pass_.score(Z, 2)
    for i, (r, rad, e) in enumerate(zip(rows, radius, eta)):
        single_pass = _core.TrainingPassF32(X[r], (y[r] == 1).astype(np.uint8), rad, 1e-5, e)
        assert single_pass._expanded_rows(Z).any() == (d == 40)
        single = single_pass.score(Z, 1)
        assert_array_equal(got[2][i], single[2])
        for a, b in zip(got[:2], single[:2]):
            if d == 3:
                assert_array_equal(a[i], b)
            else:
                np.testing.assert_allclose(a[i], b, rtol=1e-6, atol=0)


def test_core_rejects_bad_rounds() -> None:
    X = np.zeros((10, 2))
    flags = np.zeros(10, np.uint8)
    with pytest.raises(ValueError, match="increasing"):
        _core.RoundsPassF64(X, flags, np.array([0, 3]), np.array([2, 1, 5]), np.ones(3), 1e-9, np.ones(1), 1)
    with pytest.raises(ValueError, match="offsets"):
        _core.RoundsPassF64(X, flags, np.array([0, 4]), np.array([1, 2, 5]), np.ones(3), 1e-9, np.ones(1), 1)
    pairwise = _core.neighbours_and_forests(X, np.array([0, 3]), np.array([1, 2, 5]), np.ones(3, np.uint8),
                                            1, np.empty(0, np.int64), 1)[0]
    with pytest.raises(ValueError, match="k must be"):
        pairwise.balls_and_kernels(np.array([0, 3]), np.array([1, 2, 5]), np.ones(3, np.uint8),
                                   np.array([3]), flags, np.ones(1), 1e-9, 1)
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[4, 1] = bad
        with pytest.raises(ValueError, match="finite"):
            _core.neighbours_and_forests(X_bad, np.array([0, 3]), np.array([1, 2, 5]),
                                         np.ones(3, np.uint8), 1, np.empty(0, np.int64), 1)
