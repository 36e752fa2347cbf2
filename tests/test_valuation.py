"""The data-valuation baselines (eap_anomaly.evaluation.valuation) against brute-force
references on tiny data: KNNShap against the Shapley sum over all permutations, LOO against
explicit refits, DataOOB against explicit votes, LAVA's transport plan (marginals, dual
feasibility, exact OT); plus the contract every function shares."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Callable, Dict, FrozenSet

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.spatial.distance import cdist
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score

from eap_anomaly import SSDO, EAPScorer, _core
from eap_anomaly.evaluation.baselines import ALL_METHODS, METHODS, VALUATION_METHODS, quality_scores
from eap_anomaly.evaluation.sinkhorn import (annealed_potentials, annealed_self_potential, c_transform,
                                             geomloss_schedule, max_diameter, plan, sinkhorn,
                                             symmetric_potential)
from eap_anomaly.evaluation.valuation import (
    VALUATION,
    data_oob,
    divergence,
    knn_shapley,
    lava,
    loo,
)

FUNCTIONS = list(VALUATION.values())


def make_data(n_normal: int, n_anomaly: int, n_aux: int, d: int = 3, seed: int = 0) -> Any:
    """Normals around 0, anomalies shifted; candidates from the three auxiliary groups."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(n_normal, d)), rng.normal(size=(n_anomaly, d)) + 2.5])
    y = np.r_[np.zeros(n_normal), np.ones(n_anomaly)].astype(np.int64)
    third = n_aux // 3
    Z = np.vstack([rng.normal(size=(third, d)) + 2.5, rng.normal(size=(third, d)),
                   rng.normal(size=(n_aux - 2 * third, d)) * 2 + 6])
    return X, y, Z


# --- KNNShap -------------------------------------------------------------------------------

def knn_utility(players: FrozenSet[int], X: np.ndarray, y: np.ndarray, v: int, k: int) -> float:
    """Jia et al.'s K-NN utility of validation point v: the fraction of its K nearest players
    (ties by index) with v's label, divided by K even when fewer than K players remain."""
    chosen = sorted(players, key=lambda i: (float(np.sum((X[i] - X[v]) ** 2)), i))[:k]
    return sum(float(y[i] == y[v]) for i in chosen) / k


def brute_force_knn_shapley(X: np.ndarray, y: np.ndarray, z: np.ndarray, k: int) -> float:
    """Shapley value of z (label 1, the last player) averaged over the training points as
    validation points: the mean marginal contribution over all permutations of the players."""
    n = X.shape[0]
    X_all, y_all = np.vstack([X, z]), np.r_[y, 1]
    cache: Dict[Any, float] = {}

    def u(players: FrozenSet[int], v: int) -> float:
        key = (players, v)
        if key not in cache:
            cache[key] = knn_utility(players, X_all, y_all, v, k)
        return cache[key]

    total = 0.0
    for perm in itertools.permutations(range(n + 1)):
        before = frozenset(perm[:perm.index(n)])
        total += sum(u(before | {n}, v) - u(before, v) for v in range(n))
    return total / (math.factorial(n + 1) * n)


@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize("seed", [0, 1])
def test_knn_shapley_equals_permutation_sum(k: int, seed: int) -> None:
    X, y, Z = make_data(5, 2, 6, d=2, seed=seed)  # 7 training points + z = 8 players
    expected = [brute_force_knn_shapley(X, y, z, k) for z in Z]
    np.testing.assert_allclose(knn_shapley(X, y, Z, k=k), expected, rtol=1e-12, atol=1e-15)


def test_knn_shapley_ties_rank_training_points_first() -> None:
    X, y, _ = make_data(4, 2, 3, d=2)
    Z = X[[0, 5]]  # each candidate duplicates a training point
    expected = [brute_force_knn_shapley(X, y, z, 2) for z in Z]
    np.testing.assert_allclose(knn_shapley(X, y, Z, k=2), expected, rtol=1e-12, atol=1e-15)


def test_knn_shapley_separates_candidates() -> None:
    """The authors' code gives every candidate one value; the corrected one must not."""
    X, y, Z = make_data(60, 6, 30)
    values = knn_shapley(X, y, Z)
    assert np.unique(values).size > 10
    # a candidate among the anomalies helps the anomalies' neighbourhoods more than one among normals
    assert values[:10].mean() > values[10:20].mean()


# --- LOO -----------------------------------------------------------------------------------

def test_loo_equals_explicit_refits() -> None:
    X, y, Z = make_data(40, 4, 9)
    seed = int(np.random.RandomState(3).randint(np.iinfo(np.int32).max))

    def f1(X_fit: np.ndarray, y_fit: np.ndarray) -> float:
        p = SSDO(k=10, random_state=seed, n_jobs=1).fit(X_fit, y_fit).predict_proba(X)[:, 1]
        return float(f1_score(y, p > 0.5, zero_division=0.0))

    expected = [f1(np.vstack([X, z]), np.r_[y, 1]) - f1(X, y) for z in Z]
    np.testing.assert_array_equal(loo(X, y, Z, random_state=3, n_jobs=1), expected)


def test_loo_changes_with_a_candidate() -> None:
    """On data where the detector is unsure, some candidates move the F1 score."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(60, 2)), np.r_[np.zeros(54), np.ones(6)].astype(np.int64)
    assert np.any(loo(X, y, rng.normal(size=(20, 2)) * 2, random_state=0, n_jobs=1) != 0)


# --- DataOOB -------------------------------------------------------------------------------

def test_data_oob_reproducible_and_seeded() -> None:
    X, y, Z = make_data(50, 5, 12)
    first = data_oob(X, y, Z, random_state=7, n_models=8, n_jobs=1)
    np.testing.assert_array_equal(first, data_oob(X, y, Z, random_state=7, n_models=8, n_jobs=1))
    np.testing.assert_array_equal(first, data_oob(X, y, Z, random_state=np.random.RandomState(7), n_models=8, n_jobs=1))
    assert np.all((first >= 0) & (first <= 1))
    assert np.all(first * 8 == np.round(first * 8))  # a fraction of the 8 models


def test_data_oob_equals_explicit_votes() -> None:
    X, y, Z = make_data(30, 4, 6)
    rng = np.random.RandomState(2)
    votes = np.zeros(Z.shape[0])
    for _ in range(3):
        rows = np.concatenate([rng.choice(np.flatnonzero(y == c), size=int((y == c).sum())) for c in (0, 1)])
        seed = int(rng.randint(np.iinfo(np.int32).max))
        votes += SSDO(k=10, random_state=seed, n_jobs=1).fit(X[rows], y[rows]).predict_proba(Z)[:, 1] > 0.5
    np.testing.assert_array_equal(data_oob(X, y, Z, random_state=2, n_models=3, n_jobs=1), votes / 3)


# --- LAVA ----------------------------------------------------------------------------------

@pytest.mark.parametrize("eps", [1.0, 0.1, 0.01])
def test_sinkhorn_marginals_and_dual_feasibility(eps: float) -> None:
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(30, 4)), rng.normal(size=(20, 4)) + 1
    cost = cdist(A, B, "sqeuclidean") / 2
    a, b = rng.dirichlet(np.ones(30)), rng.dirichlet(np.ones(20))
    f, g = sinkhorn(cost, a, b, eps)
    P = plan(cost, a, b, f, g, eps)
    np.testing.assert_allclose(P.sum(axis=0), b, rtol=1e-10)
    assert np.abs(P.sum(axis=1) - a).sum() < 1e-6
    # P_ij <= a_i (rows sum to a) is the entropic form of dual feasibility f_i + g_j <= C_ij
    slack = f[:, None] + g[None, :] - cost
    assert np.all(slack <= eps * np.log(1 / a)[:, None] + 1e-9)
    np.testing.assert_allclose(f, c_transform(cost, g, np.log(b), eps), atol=1e-4 * eps)


def test_sinkhorn_warns_when_it_stops_before_converging() -> None:
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(30, 4)), rng.normal(size=(20, 4)) + 1
    a, b = rng.dirichlet(np.ones(30)), rng.dirichlet(np.ones(20))
    cost = cdist(A, B, "sqeuclidean") / 2
    for max_sweeps in (1, 2, 15):  # stopped at the cap, the columns are still exact
        with pytest.warns(ConvergenceWarning, match=f"Sinkhorn stopped after {max_sweeps} sweeps"):
            f, g = sinkhorn(cost, a, b, 0.001, max_sweeps=max_sweeps)
        np.testing.assert_allclose(plan(cost, a, b, f, g, 0.001).sum(axis=0), b, rtol=1e-10)
    with pytest.warns(ConvergenceWarning, match="Sinkhorn stopped after 1 sweeps"):
        symmetric_potential(cdist(A, A, "sqeuclidean") / 2, a, 0.01, max_sweeps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: silent
        sinkhorn(cost, a, b, 0.01)


def test_sinkhorn_over_relaxation_reaches_the_plain_fixed_point_sooner() -> None:
    """A set against itself plus one row (LAVA's plans): plain alternation is still above tol
    after 1000 sweeps; the over-relaxed one stops within them, at the potentials that plain
    Sinkhorn reaches after many more (dual potentials are defined up to a constant shift)."""
    rng = np.random.default_rng(1)
    X, z = rng.normal(size=(60, 8)), rng.normal(size=8) * 1.5
    cost = cdist(np.vstack([X, z]), X, "sqeuclidean") / 2
    a, b = np.full(61, 1 / 61), np.full(60, 1 / 60)
    with pytest.warns(ConvergenceWarning, match="stopped after 1000 sweeps"):
        sinkhorn(cost, a, b, 0.1, max_sweeps=1000, relax=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        f, g = sinkhorn(cost, a, b, 0.1, max_sweeps=1000)
        f1, g1 = sinkhorn(cost, a, b, 0.1, max_sweeps=100_000, relax=1.0)
    shift = float(np.mean(f - f1))
    np.testing.assert_allclose(f - shift, f1, atol=1e-4)
    np.testing.assert_allclose(g + shift, g1, atol=1e-4)
    P = plan(cost, a, b, f, g, 0.1)
    np.testing.assert_allclose(P.sum(axis=0), b, rtol=1e-10)
    assert np.abs(P.sum(axis=1) - a).sum() < 1e-6


@pytest.mark.parametrize("kwargs, words", [({"relax": 2.0}, "relax must be in"),
                                           ({"relax": 0.5}, "relax must be in"),
                                           ({"max_sweeps": 0}, "max_sweeps must be at least 1")])
def test_sinkhorn_refuses_bad_settings(kwargs: Dict[str, Any], words: str) -> None:
    cost = np.ones((3, 2))
    with pytest.raises(ValueError, match=words):
        sinkhorn(cost, np.full(3, 1 / 3), np.full(2, 1 / 2), 0.1, **kwargs)


#: LAVA's label costs solve a few anomalies (plus the candidate) against the normals; on the
#: tests' data some stop at the sweep cap a few 1e-6 above tol (1e-6), where plain alternation
#: also stalls; the warning reports it. The per-candidate solves themselves converge.
LAVA_CAP = pytest.mark.filterwarnings("ignore:Sinkhorn stopped:sklearn.exceptions.ConvergenceWarning")


def test_sinkhorn_approaches_exact_ot() -> None:
    """With uniform weights on equal sizes, exact OT is an assignment; the entropic plan's
    cost is within eps * (log n + log n) of it, and the dual value <a, f> + <b, g> is the
    plan's cost plus eps * KL(P | a b), between 0 and eps log n."""
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(25, 3)), rng.normal(size=(25, 3))
    cost = cdist(A, B, "sqeuclidean") / 2
    rows, cols = linear_sum_assignment(cost)
    exact = cost[rows, cols].mean()
    w = np.full(25, 1 / 25)
    eps = 0.1
    f, g = sinkhorn(cost, w, w, eps)
    primal = float(np.sum(plan(cost, w, w, f, g, eps) * cost))
    assert exact - 1e-9 <= primal <= exact + 2 * eps * np.log(25)
    assert primal - 1e-9 <= w @ f + w @ g <= primal + eps * np.log(25) + 1e-9


def test_divergence_of_a_set_with_itself_is_zero() -> None:
    A = np.random.default_rng(2).normal(size=(15, 3))
    assert divergence(A, A, 0.1) == 0
    B = np.random.default_rng(3).normal(size=(12, 3))
    assert divergence(A, B + 3, 0.1) > divergence(A, B + 1, 0.1) > 0


def test_lava_equals_one_solve_per_candidate_by_hand() -> None:
    X, y, Z = make_data(20, 4, 3)
    n, eps = X.shape[0], 0.1
    expected = []
    for z in Z:
        X_src, y_src = np.vstack([X, z]), np.r_[y, 1]
        W = np.array([[divergence(X_src[y_src == a], X[y == b], eps) for b in (0, 1)] for a in (0, 1)])
        cost = cdist(X_src, X, "sqeuclidean") / 2 + W[y_src][:, y]
        f, _ = sinkhorn(cost, np.full(n + 1, 1 / (n + 1)), np.full(n, 1 / n), eps)
        expected.append(-(f[-1] - f[:-1].sum() / n))
    np.testing.assert_allclose(lava(X, y, Z, solver="converged"), expected, rtol=1e-12)


@LAVA_CAP
@pytest.mark.parametrize("solver", ["geomloss", "converged"])
def test_lava_reads_labels_as_0_1(solver: str) -> None:
    """-1/+1 labels give the same values as 0/1 (the authors' -1 indexed the anomaly row)."""
    X, y, Z = make_data(30, 4, 6)
    np.testing.assert_array_equal(lava(X, 2 * y - 1, Z, solver=solver), lava(X, y, Z, solver=solver))


def reference_c_transform(cost: np.ndarray, g: np.ndarray, log_b: np.ndarray, eps: float) -> np.ndarray:
    return -eps * logsumexp(log_b + (g - cost) / eps, axis=1)


@pytest.mark.parametrize("rows, cols, eps, scale", [
    (1, 1, 0.1, 1.0), (7, 3, 2.0, 5.0), (33, 17, 0.1, 1.0), (64, 64, 1e-3, 1.0),
    (40, 1001, 0.1, 1e4), (5, 9, 1e6, 1e-3), (20, 30, 0.1, 1e-300)])
def test_soft_c_transform_equals_logsumexp(rows: int, cols: int, eps: float, scale: float) -> None:
    """The core's log-sum-exp against SciPy's, on every instruction set and thread count (one
    result for all): widths not a multiple of its 8 lanes, terms that underflow, tiny costs."""
    rng = np.random.default_rng(rows + cols)
    cost = rng.random((rows, cols)) * scale
    g, log_b = rng.normal(size=cols) * scale, np.log(rng.dirichlet(np.ones(cols)))
    expected = reference_c_transform(cost, g, log_b, eps)
    outs = []
    for isa in _core._supported_isas():
        _core._set_isa(isa)
        try:
            outs += [_core.soft_c_transform(cost, g, log_b, eps, threads) for threads in (1, 3)]
        finally:
            _core._set_isa("auto")
    np.testing.assert_allclose(outs[0], expected, rtol=2e-13, atol=1e-14 * eps)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.parametrize("bad, error, words", [
    (dict(C=np.ones(3)), ValueError, "C must be 2-D"),
    (dict(C=np.ones((2, 0)), g=np.ones(0), log_b=np.ones(0)), ValueError, "at least one column"),
    (dict(g=np.ones(4)), ValueError, "g must have one value"),
    (dict(log_b=np.ones(2)), ValueError, "log_b must have one value"),
    (dict(eps=0.0), ValueError, "eps"), (dict(eps=np.inf), ValueError, "eps"),
    (dict(C=np.ones((2, 6))[:, ::2]), TypeError, "incompatible"),
    (dict(C=np.ones((2, 3), dtype=np.float32)), TypeError, "incompatible"),
])
def test_soft_c_transform_refuses_bad_input(bad: Dict[str, Any], error: type, words: str) -> None:
    args: Dict[str, Any] = dict(C=np.ones((2, 3)), g=np.zeros(3), log_b=np.log(np.full(3, 1 / 3)), eps=0.1)
    args.update(bad)
    with pytest.raises(error, match=words):
        _core.soft_c_transform(args["C"], args["g"], args["log_b"], args["eps"], 1)


def test_geomloss_schedule_and_loop_equal_a_plain_reference() -> None:
    """GeomLoss's eps schedule (the squared diameter, then blur^2 / 4 per step, then eps) and
    its balanced loop (a symmetrised update per eps, then a simultaneous last c-transform),
    written out with SciPy."""
    assert geomloss_schedule(10.0, 0.1) == pytest.approx([100.0, 100.0, 25.0, 6.25, 1.5625, 0.390625, 0.1])
    assert geomloss_schedule(0.2, 0.1)[0] == pytest.approx(0.04)  # already below eps: two steps
    assert len(geomloss_schedule(0.2, 0.1)) == 2
    rng = np.random.default_rng(5)
    A, B = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 1
    cost = cdist(A, B, "sqeuclidean") / 2
    a, b = np.full(12, 1 / 12), np.full(9, 1 / 9)
    schedule = geomloss_schedule(max_diameter(A, B), 0.1)
    f = reference_c_transform(cost, np.zeros(9), np.log(b), schedule[0])
    g = reference_c_transform(cost.T, np.zeros(12), np.log(a), schedule[0])
    for eps in schedule:
        f, g = (f + reference_c_transform(cost, g, np.log(b), eps)) / 2, \
            (g + reference_c_transform(cost.T, f, np.log(a), eps)) / 2
    f, g = reference_c_transform(cost, g, np.log(b), eps), reference_c_transform(cost.T, f, np.log(a), eps)
    got_f, got_g = annealed_potentials(cost, a, b, schedule)
    np.testing.assert_allclose(got_f, f, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got_g, g, rtol=1e-12, atol=1e-13)
    self_cost = cdist(A, A, "sqeuclidean") / 2
    h = reference_c_transform(self_cost, np.zeros(12), np.log(a), schedule[0])
    for eps in schedule:
        h = (h + reference_c_transform(self_cost, h, np.log(a), eps)) / 2
    np.testing.assert_allclose(annealed_self_potential(self_cost, a, schedule),
                               reference_c_transform(self_cost, h, np.log(a), eps), rtol=1e-12, atol=1e-13)


def test_lava_geomloss_on_repeated_points_is_finite() -> None:
    """Classes of one repeated point (diameter 0: GeomLoss itself takes log 0 there) and
    candidates on them: every value finite, the far candidate last."""
    X = np.vstack([np.zeros((6, 2)), np.ones((2, 2))])
    y = np.r_[np.zeros(6), np.ones(2)].astype(np.int64)
    Z = np.array([[1.0, 1.0], [0.0, 0.0], [9.0, 9.0]])
    values = lava(X, y, Z)
    assert np.isfinite(values).all() and values[2] < values[:2].min()
    assert geomloss_schedule(0.0, 0.1) == pytest.approx([0.1])


def test_lava_geomloss_equals_geomloss() -> None:
    """Values GeomLoss 0.2.6 itself gave on this data (torch, float64; OTDD's construction with
    0/1 label indexing: W from SamplesLoss(p=2, blur=sqrt(0.1), debias=True) per pair of
    classes, then SamplesLoss(..., debias=False, potentials=True) on the features with the
    labels appended; the script is in docs/valuation.md)."""
    X, y, Z = make_data(30, 4, 6)
    geomloss_values = [-1.8143799889674745, -1.0991871103312894, -7.238136521146668,
                       -5.26212734245274, -49.744458283986575, -61.54276447263388]
    np.testing.assert_allclose(lava(X, y, Z, solver="geomloss"), geomloss_values, rtol=1e-12)


@LAVA_CAP
def test_lava_solvers_agree_on_far_away_candidates() -> None:
    """Both solvers put the candidates far from the training set last (the fixed schedule
    approximates the same potentials; between the candidates near the anomalies and those
    near the normals they disagree here: docs/valuation.md)."""
    X, y, Z = make_data(30, 4, 6)
    for solver in ("geomloss", "converged"):
        values = lava(X, y, Z, solver=solver)
        assert values[4:].max() < values[:4].min(), solver


# --- the shared contract -------------------------------------------------------------------

@LAVA_CAP
@pytest.mark.parametrize("function", FUNCTIONS, ids=list(VALUATION))
def test_one_finite_value_per_candidate_and_thread_invariance(function: Callable[..., np.ndarray]) -> None:
    X, y, Z = make_data(40, 4, 7)
    one = function(X, y, Z, random_state=0, n_jobs=1)
    assert one.shape == (7,) and one.dtype == np.float64 and np.isfinite(one).all()
    np.testing.assert_array_equal(one, function(X, y, Z, random_state=0, n_jobs=2))


BAD_INPUTS = [
    (dict(X_train=np.zeros(5)), ValueError, "X_train"),
    (dict(X_train=np.full((10, 3), "a")), TypeError, "X_train"),
    (dict(X_aux=np.full((2, 3), np.nan)), ValueError, "X_aux"),
    (dict(X_aux=np.zeros((2, 4))), ValueError, "X_aux"),
    (dict(X_aux=np.zeros((0, 3))), ValueError, "X_aux"),
    (dict(y_train=np.zeros(9)), ValueError, "y_train"),
    (dict(y_train=np.r_[np.zeros(8), 2, 1]), ValueError, "y_train"),
    (dict(y_train=np.zeros(10)), ValueError, "y_train"),
    (dict(y_train=np.array(["a"] * 10)), TypeError, "y_train"),
    (dict(n_jobs=0), ValueError, "n_jobs"),
    (dict(n_jobs=1.5), TypeError, "n_jobs"),
]


@pytest.mark.parametrize("function", FUNCTIONS, ids=list(VALUATION))
@pytest.mark.parametrize("bad, error, name", BAD_INPUTS)
def test_bad_input_names_the_argument(function: Callable[..., np.ndarray], bad: Dict[str, Any],
                                      error: type, name: str) -> None:
    X, y, Z = make_data(8, 2, 3)
    args: Dict[str, Any] = dict(X_train=X, y_train=y, X_aux=Z, n_jobs=None)
    args.update(bad)
    with pytest.raises(error, match=name):
        function(**args)


@pytest.mark.parametrize("function, option, value, error", [
    (knn_shapley, "k", 0, ValueError), (knn_shapley, "k", 2.0, TypeError),
    (data_oob, "n_models", 0, ValueError), (data_oob, "n_models", True, TypeError),
    (lava, "eps", 0.0, ValueError), (lava, "eps", "0.1", TypeError),
    (lava, "solver", "exact", ValueError), (lava, "solver", 1, TypeError),
])
def test_bad_option_names_it(function: Callable[..., np.ndarray], option: str, value: Any, error: type) -> None:
    X, y, Z = make_data(8, 2, 3)
    with pytest.raises(error, match=option):
        function(X, y, Z, **{option: value})


# --- wiring into the evaluation ------------------------------------------------------------

def test_methods_lists() -> None:
    assert VALUATION_METHODS == ("LAVA", "KNNShap", "DataOOB", "LOO")
    assert ALL_METHODS == METHODS + ("EAP_TUNED",) + VALUATION_METHODS
    assert not set(METHODS) & set(VALUATION_METHODS)


def test_quality_scores_runs_valuation_methods() -> None:
    X, y, Z = make_data(40, 4, 9)
    scorer = EAPScorer(random_state=0, n_jobs=1).fit(X, y)
    q = quality_scores(scorer, X, Z, ("EAP", "LAVA", "KNNShap", "DataOOB", "LOO"), random_state=0, y_train=y)
    assert list(q) == ["EAP", "LAVA", "KNNShap", "DataOOB", "LOO"]
    np.testing.assert_array_equal(q["KNNShap"], knn_shapley(X, y, Z))
    np.testing.assert_array_equal(q["DataOOB"], data_oob(X, y, Z, random_state=0, n_jobs=1))
    with pytest.raises(ValueError, match="y_train"):
        quality_scores(scorer, X, Z, ("LOO",), random_state=0)
