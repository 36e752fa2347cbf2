"""The Isolation Forest built in the core (SPEC section 4.1 prior, ``kind="native"``).

Exact path lengths on hand-countable data, the structure of every tree (depth limit, leaf-size
bookkeeping, sampling without replacement), agreement in distribution with scikit-learn's
forest, determinism across seeds and thread counts, edge cases and bad input.
"""

from __future__ import annotations

import math
import pickle
import sys
from functools import partial

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from eap_anomaly import EAPScorer, _core
from eap_anomaly.prior import (FORESTS, MAX_SAMPLES, IsolationPrior, average_path_length, native_forest_input,
                               native_rounds, native_seed, raw_scores_of_rounds)

FIELDS = ("root", "left", "right", "feature", "threshold", "leaf_value")


def build(X, n_estimators=50, max_samples=None, seed=0, n_threads=1):
    X = np.ascontiguousarray(X, dtype=np.float32)
    psi = X.shape[0] if max_samples is None else max_samples
    return dict(zip(FIELDS, _core.build_isolation_forest(X, n_estimators, psi, seed, n_threads)))


def tree_nodes(forest):
    """Each tree's nodes as a slice (they are contiguous, root first)."""
    ends = list(forest["root"][1:]) + [len(forest["left"])]
    return [slice(int(r), int(e)) for r, e in zip(forest["root"], ends)]


def edge_depths(forest):
    depth = np.zeros(len(forest["left"]), dtype=np.int64)
    for node, (lo, hi) in enumerate(zip(forest["left"], forest["right"])):
        if lo != -1:  # children come after their parent
            depth[lo] = depth[hi] = depth[node] + 1
    return depth


def leaf_of(forest, root, x):
    node = root
    while forest["left"][node] != -1:
        below = np.float64(x[forest["feature"][node]]) <= forest["threshold"][node]
        node = forest["left"][node] if below else forest["right"][node]
    return node


def leaf_sizes(forest, psi):
    """Rows in each leaf, read back from leaf value = depth + c(size) (0 for split nodes)."""
    c = average_path_length(np.arange(1, psi + 1))
    excess = forest["leaf_value"] - edge_depths(forest)
    sizes = np.zeros(len(excess), dtype=np.int64)
    for node in np.flatnonzero(forest["left"] == -1):
        match = np.flatnonzero(np.isclose(c, excess[node], rtol=0, atol=1e-9))
        assert match.size >= 1, f"leaf {node}: {excess[node]} is not c(s) for any 1 <= s <= {psi}"
        sizes[node] = match[-1] + 1  # c(1) = c(0) = 0: a leaf holds at least one row
    return sizes


def prior(X, seed=0, n_estimators=100, kind="native"):
    return IsolationPrior.fit(np.asarray(X, dtype=np.float64), n_estimators, seed, 1, kind=kind)


# ---- exact path lengths on hand-countable data -------------------------------------------

def test_two_rows_split_once():
    forest = build([[0.0], [1.0]], n_estimators=20)
    assert_array_equal(forest["root"], np.arange(0, 60, 3))
    for nodes in tree_nodes(forest):
        root = nodes.start
        assert forest["feature"][root] == 0 and 0.0 <= forest["threshold"][root] < 1.0
        assert_array_equal(forest["leaf_value"][[root + 1, root + 2]], [1.0, 1.0])
    assert_array_equal(prior([[0.0], [1.0]], n_estimators=20).raw_scores(np.array([[0.0], [1.0]]), 1),
                       [0.5, 0.5])


def test_three_rows_path_lengths():
    """Threshold t in [0, 2): t < 1 isolates row 0 after one edge, else row 2; the middle row
    always needs two."""
    X = np.array([[0.0], [1.0], [2.0]], dtype=np.float32)
    forest = build(X, n_estimators=2000)
    paths = np.array([[forest["leaf_value"][leaf_of(forest, r, x)] for x in X] for r in forest["root"]])
    assert_array_equal(paths[:, 1], 2.0)
    assert_array_equal(np.sort(paths[:, [0, 2]], axis=1), np.tile([1.0, 2.0], (2000, 1)))
    first_isolated = np.mean(paths[:, 0] == 1.0)
    assert abs(first_isolated - 0.5) < 4 * math.sqrt(0.25 / 2000)


def test_duplicates_stay_together():
    """[0, 0, 1]: the one split separates 1 from the pair, which is constant, hence a leaf."""
    c3 = average_path_length(np.array([3]))[0]
    forest = build([[0.0], [0.0], [1.0]], n_estimators=30)
    assert_array_equal(forest["root"], np.arange(0, 90, 3))
    for nodes in tree_nodes(forest):
        root = nodes.start
        assert_array_equal(forest["left"][root:root + 3], [root + 1, -1, -1])
        assert 0.0 <= forest["threshold"][root] < 1.0
        assert_allclose(forest["leaf_value"][root:root + 3], [c3, 1.0 + 1.0, 1.0], rtol=1e-14)


def test_constant_features_are_never_split():
    forest = build(np.full((5, 3), 2.5), n_estimators=10)
    assert_array_equal(forest["root"], np.arange(10))
    assert_array_equal(forest["left"], -1)
    assert_allclose(forest["leaf_value"], average_path_length(np.array([5]))[0], rtol=1e-14)

    X = np.column_stack([np.full(40, 7.0), np.arange(40.0), np.zeros(40)])
    forest = build(X, n_estimators=20)
    assert_array_equal(forest["feature"][forest["left"] != -1], 1)


def test_subsample_is_drawn_without_replacement_and_uniformly():
    """Row i of the identity matrix varies only in feature i, so a tree on two distinct rows
    splits its root on one of their features; a repeated row would leave a lone leaf."""
    n, trees = 10, 2000
    forest = build(np.eye(n), n_estimators=trees, max_samples=2)
    assert_array_equal(forest["root"], np.arange(0, 3 * trees, 3))
    assert_array_equal(forest["leaf_value"][forest["left"] == -1], 1.0)
    counts = np.bincount(forest["feature"][forest["root"]], minlength=n)
    expected = trees / n
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected * (1 - 1 / n)))


def test_single_row_per_tree_is_a_leaf():
    forest = build(np.arange(12.0).reshape(6, 2), n_estimators=5, max_samples=1)
    assert_array_equal(forest["left"], -1)
    assert_array_equal(forest["leaf_value"], 0.0)


# ---- structure of every tree ---------------------------------------------------------------

@pytest.mark.parametrize("n, psi", [(50, 50), (300, 256), (1000, 16), (200, 2)])
def test_depth_limit_and_leaf_bookkeeping(n, psi):
    rng = np.random.RandomState(n)
    X = np.column_stack([rng.normal(size=n), rng.randint(0, 3, size=n), rng.exponential(size=n)])
    forest = build(X, n_estimators=40, max_samples=psi, seed=n)
    depth = edge_depths(forest)
    assert depth.max() <= math.ceil(math.log2(max(psi, 2)))  # <= ceil(log2 psi) + 1 from 1
    sizes = leaf_sizes(forest, psi)
    for nodes in tree_nodes(forest):
        assert sizes[nodes].sum() == psi
    if psi == n:  # every row was drawn: each leaf holds exactly the rows that reach it
        for nodes in tree_nodes(forest):
            reached = np.bincount([leaf_of(forest, nodes.start, x) for x in X.astype(np.float32)],
                                  minlength=nodes.stop)
            assert_array_equal(reached[nodes], sizes[nodes])
    scores = IsolationPrior.fit(X, 40, 0, 1, kind="native").raw_scores(X, 1)
    assert np.all((scores > 0) & (scores < 1))


# ---- agreement with scikit-learn ------------------------------------------------------------

def test_scores_match_sklearn_in_distribution():
    """Mean raw score over 20 seeds, point by point, native vs scikit-learn: equal up to noise."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(size=(380, 4)), rng.uniform(-6, 6, size=(20, 4))])
    X[:, 3] = np.round(X[:, 3], 1)  # ties
    Z = np.vstack([X, rng.uniform(-8, 8, size=(40, 4))])
    seeds = range(20)
    runs = {kind: np.array([prior(X, s, kind=kind).raw_scores(Z, 1) for s in seeds]) for kind in FORESTS}
    native, sk = runs["native"], runs["sklearn"]
    se = np.sqrt(native.var(axis=0, ddof=1) / len(seeds) + sk.var(axis=0, ddof=1) / len(seeds))
    assert np.all(np.abs(native.mean(axis=0) - sk.mean(axis=0)) <= 5 * se + 1e-3)
    overall = native.mean(axis=1) - sk.mean(axis=1)
    assert abs(overall.mean()) <= 4 * overall.std(ddof=1) / math.sqrt(len(seeds)) + 1e-4


# ---- determinism ---------------------------------------------------------------------------

def test_forest_is_independent_of_thread_count_and_a_function_of_the_seed():
    X = np.random.RandomState(3).normal(size=(2000, 5))
    one = build(X, n_estimators=300, max_samples=256, seed=11, n_threads=1)
    for threads in (2, 3, 4):  # many small trees: threads interleave, whatever the machine
        other = build(X, n_estimators=300, max_samples=256, seed=11, n_threads=threads)
        for name in FIELDS:
            assert_array_equal(other[name], one[name])
    again = build(X, n_estimators=300, max_samples=256, seed=11, n_threads=1)
    assert all(np.array_equal(again[name], one[name]) for name in FIELDS)
    different = build(X, n_estimators=300, max_samples=256, seed=12, n_threads=1)
    assert not np.array_equal(different["threshold"][different["root"]], one["threshold"][one["root"]])


def test_random_state_gives_one_deterministic_seed():
    X = np.random.RandomState(4).normal(size=(300, 3))
    a = IsolationPrior.fit(X, 30, 5, 1, kind="native")
    b = IsolationPrior.fit(X, 30, np.random.RandomState(5), 2, kind="native")
    assert_array_equal(a.threshold, b.threshold)
    assert_array_equal(a.raw_scores(X, 1), b.raw_scores(X, 2))
    restored = pickle.loads(pickle.dumps(a))
    assert_array_equal(restored.raw_scores(X, 1), a.raw_scores(X, 1))


def sklearn_seed(random_state):
    from sklearn.utils import check_random_state
    return int(check_random_state(random_state).randint(0, 2**64, dtype=np.uint64))


@pytest.mark.parametrize("seed", [0, 1, 5, 2**31 - 1, 2**32 - 1, np.int64(77), np.uint32(9), True])
def test_native_seed_is_the_first_draw_of_the_seeded_random_state(seed):
    assert native_seed(seed) == sklearn_seed(seed)
    assert native_seed(seed) == native_seed(seed)  # the reused generator is reseeded


def test_native_seed_of_a_random_state_or_none_draws_from_it():
    a, b = np.random.RandomState(8), np.random.RandomState(8)
    assert [native_seed(a) for _ in range(3)] == [sklearn_seed(b) for _ in range(3)]
    np.random.seed(3)
    first = native_seed(None)
    np.random.seed(3)
    assert first == sklearn_seed(None)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0"])
def test_native_seed_refuses_what_check_random_state_refuses(seed):
    with pytest.raises(ValueError):
        sklearn_seed(seed)
    with pytest.raises(ValueError):
        native_seed(seed)


def test_native_seed_from_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor
    seeds = list(range(400))
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(native_seed, seeds))
    assert got == [sklearn_seed(s) for s in seeds]


# ---- edge cases through IsolationPrior ---------------------------------------------------

def test_single_training_row_scores_one_half():
    p = prior([[1.0, 2.0]])
    assert_array_equal(p.leaf_value, 0.0)
    assert_array_equal(p.raw_scores(np.array([[1.0, 2.0], [50.0, -3.0]]), 1), [0.5, 0.5])


def test_one_feature_ranks_the_outlier_first():
    X = np.append(np.random.RandomState(5).normal(size=99), 12.0)[:, None]
    scores = prior(X).raw_scores(X, 1)
    assert np.argmax(scores) == 99
    assert np.all((scores > 0) & (scores < 1))


def test_identical_rows_score_one_half():
    p = prior(np.full((20, 3), -4.0))
    assert_array_equal(p.left, -1)
    assert_allclose(p.raw_scores(np.array([[-4.0, -4.0, -4.0], [9.0, 0.0, 1.0]]), 1), 0.5, rtol=1e-12)


def test_huge_values_are_rescaled_exactly():
    """float64 data near 1e30 overflow float32; the power-of-two scale keeps the forest, and
    with it every score, exactly that of the unscaled data."""
    X = np.random.RandomState(6).normal(size=(300, 3))
    big = X * 2.0**100
    p_big, p_small = prior(big, seed=9), prior(X, seed=9)
    assert p_small.scale == 1.0 and p_big.scale != 1.0
    for name in ("root", "left", "right", "feature", "leaf_value"):
        assert_array_equal(getattr(p_big, name), getattr(p_small, name))
    assert_array_equal(p_big.threshold, p_small.threshold * (2.0**100 * p_big.scale))
    scores = p_big.raw_scores(big, 1)
    assert_array_equal(scores, p_small.raw_scores(X, 1))
    assert np.all((scores > 0) & (scores < 1))


# ---- bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("X, n_estimators, max_samples", [
    (np.zeros(4, dtype=np.float32), 10, 2),             # 1-D
    (np.zeros((0, 3), dtype=np.float32), 10, 1),        # no rows
    (np.zeros((4, 0), dtype=np.float32), 10, 2),        # no columns
    (np.zeros((4, 2), dtype=np.float32), 0, 2),
    (np.zeros((4, 2), dtype=np.float32), -3, 2),
    (np.zeros((4, 2), dtype=np.float32), 10, 0),
    (np.zeros((4, 2), dtype=np.float32), 10, -1),
    (np.zeros((4, 2), dtype=np.float32), 10, 5),        # more than n rows
    (np.array([[0.0, np.nan], [1.0, 2.0]], dtype=np.float32), 10, 2),
    (np.array([[0.0, np.inf], [1.0, 2.0]], dtype=np.float32), 10, 2),
])
def test_bad_input_raises_value_error(X, n_estimators, max_samples):
    with pytest.raises(ValueError):
        _core.build_isolation_forest(X, n_estimators, max_samples, 0, 2)


@pytest.mark.parametrize("X", [np.zeros((4, 2)), np.asfortranarray(np.zeros((4, 2), dtype=np.float32))],
                         ids=["float64", "fortran"])
def test_wrong_layout_is_refused_not_copied(X):
    with pytest.raises(TypeError):
        _core.build_isolation_forest(X, 10, 2, 0, 1)


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="prior"):
        IsolationPrior.fit(np.zeros((3, 1)), 10, 0, 1, kind="extra")


def test_prior_option_on_every_entry_point():
    """The native forest is the default prior; "sklearn" selects scikit-learn's; anything else
    is a ValueError naming ``prior``."""
    from eap_anomaly import SSDO, EAPScorer, score_auxiliary

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3))
    y = np.zeros(80, dtype=int)
    y[:6] = 1
    X[:6] += 3.0
    Z = rng.normal(size=(20, 3)) * 2
    assert SSDO().prior == EAPScorer().prior == "native"
    native = EAPScorer(random_state=0).fit(X, y).score_samples(Z)
    assert np.array_equal(native, score_auxiliary(X, y, Z, random_state=0, prior="native"))
    assert not np.array_equal(native, score_auxiliary(X, y, Z, random_state=0, prior="sklearn"))
    for call in (lambda: SSDO(prior="forest").fit(X, y),
                 lambda: EAPScorer(prior="forest").fit(X, y),
                 lambda: score_auxiliary(X, y, Z, prior="forest")):
        with pytest.raises(ValueError, match="prior"):
            call()


# ---- walking the node arrays (IsolationForestPaths.depths) ---------------------------------

def plain_depths(forest, Z):
    """Sum over trees, in order, of the leaf value each row reaches by a plain walk."""
    return np.array([sum(forest["leaf_value"][leaf_of(forest, r, z)] for r in forest["root"]) for z in Z])


def paths(forest, n_features):
    return _core.IsolationForestPaths(*(np.asarray(forest[f]) for f in FIELDS), n_features)


# Two trees of different depths: tree 0 splits x0 <= 0.5, its right child splits x1 <= -1;
# tree 1 is a single leaf.
UNBALANCED = dict(root=np.array([0, 5]), left=np.array([1, -1, 3, -1, -1, -1]),
                  right=np.array([2, -1, 4, -1, -1, -1]), feature=np.array([0, -2, 1, -2, -2, -2]),
                  threshold=np.array([0.5, -2.0, -1.0, -2.0, -2.0, -2.0]),
                  leaf_value=np.array([0.0, 1.0, 0.0, 2.0, 3.0, 0.25]))


def test_walks_of_an_unbalanced_forest_reach_the_counted_leaves():
    Z = np.array([[0.5, 9.0], [0.6, -1.0], [0.6, -0.5], [np.nan, -7.0], [0.0, np.nan], [7.0, np.nan]],
                 dtype=np.float32)
    # at the threshold: left; NaN fails "<=": right (scikit-learn's rule)
    assert_array_equal(paths(UNBALANCED, 2).depths(Z, 1), [1.25, 2.25, 3.25, 2.25, 1.25, 3.25])


@pytest.mark.parametrize("threshold", [0.1, -0.1, 1 / 3, 0.5, np.nextafter(0.5, 1), 1e300, -1e300,
                                       float(np.finfo(np.float32).max) * 1.0000001])
def test_walks_compare_float_features_with_float64_thresholds_exactly(threshold):
    """The walk keeps thresholds as the largest float not above them: the float features just
    below, at and above a float64 threshold (representable or not, beyond float's range) go
    where the float64 comparison sends them."""
    forest = dict(UNBALANCED, threshold=np.array([threshold, -2.0, -1.0, -2.0, -2.0, -2.0]))
    t32 = np.float32(np.clip(threshold, -3e38, 3e38))
    x0 = [np.nextafter(t32, -np.inf), t32, np.nextafter(t32, np.inf), -np.inf, np.inf, 0.0]
    Z = np.array([[v, 0.0] for v in x0], dtype=np.float32)
    expected = plain_depths(forest, Z)
    assert len(set(expected)) == 2  # both sides are reached
    assert_array_equal(paths(forest, 2).depths(Z, 1), expected)


@pytest.mark.parametrize("l", [1, 7, 8, 13, 257, 600])
def test_walks_equal_a_plain_walk_for_every_row_count(l):
    rng = np.random.default_rng(l)
    X = rng.normal(size=(300, 4))
    forest = build(X, n_estimators=12, max_samples=64, seed=l)
    Z = rng.normal(size=(l, 4)).astype(np.float32) * 2
    expected = plain_depths(forest, Z)
    for threads in (1, 2):
        assert_array_equal(paths(forest, 4).depths(Z, threads), expected)


def test_walks_of_sklearn_trees_equal_its_score_samples():
    from sklearn.ensemble import IsolationForest
    rng = np.random.default_rng(5)
    X = rng.normal(size=(500, 3))
    p = IsolationPrior.fit(X, 50, 3, 1, kind="sklearn")
    forest = IsolationForest(n_estimators=50, random_state=3).fit(X)
    Z = rng.normal(size=(101, 3)) * 3
    assert_array_equal(p.raw_scores(Z, 2), -forest.score_samples(Z))


def random_forest(rng, heights, n_features):
    """Node arrays of trees of exactly the given heights (children after their parent, leaves
    at every depth), thresholds on a coarse grid so that rows often meet them exactly."""
    forest = {field: [] for field in FIELDS}

    def grow(depth, height, must_reach):
        node = len(forest["left"])
        for field in ("left", "right", "feature", "threshold", "leaf_value"):
            forest[field].append(None)
        if depth == height or (not must_reach and rng.random() < 0.3):
            forest["left"][node] = forest["right"][node] = -1
            forest["feature"][node], forest["threshold"][node] = -2, -2.0
            forest["leaf_value"][node] = float(rng.integers(1, 1000)) / 7
            return node
        deep = int(rng.integers(2))  # the child that keeps the tree's height
        forest["feature"][node] = int(rng.integers(n_features))
        forest["threshold"][node] = float(rng.integers(-8, 9)) / 4
        forest["leaf_value"][node] = 0.0
        forest["left"][node] = grow(depth + 1, height, must_reach and deep == 0)
        forest["right"][node] = grow(depth + 1, height, must_reach and deep == 1)
        return node

    for height in heights:
        forest["root"].append(grow(0, height, True))
    return {field: np.array(values) for field, values in forest.items()}


@pytest.mark.parametrize("name", _core._supported_isas())
def test_walks_equal_a_plain_walk_on_every_instruction_set(name):
    """Trees of every height from a single leaf to 12 in one forest (with AVX-512, the top 6
    levels walked by positions in a complete layout and deeper ones by pointers), shallow leaves
    beside deep ones, rows at the thresholds, NaN and infinities, row counts around the walks'
    groups of 16 and 128, d = 1."""
    rng = np.random.default_rng(12)
    try:
        _core._set_isa(name)
        for d in (1, 3):
            forest = random_forest(rng, list(range(13)) + [8, 3, 10, 11], d)
            walker = paths(forest, d)
            assert walker._level_walk() == (name == "avx512")
            for l in (1, 15, 16, 17, 127, 128, 129, 300):
                Z = (rng.integers(-10, 11, size=(l, d)) / 4).astype(np.float32)
                Z[rng.random((l, d)) < 0.05] = np.nan
                Z[rng.random((l, d)) < 0.05] = np.inf
                Z[rng.random((l, d)) < 0.05] = -np.inf
                expected = plain_depths(forest, Z)
                for threads in (1, 2):
                    assert_array_equal(walker.depths(Z, threads), expected, err_msg=f"d={d} l={l}")
    finally:
        _core._set_isa("auto")


@pytest.mark.skipif(sys.platform != "linux", reason="needs a lazily allocated 8.6 GB array")
def test_walks_of_rows_with_2_to_the_24_features():
    """Rows of more than 2^24 values: 128 rows of them span more than 2^31 values, past the
    32-bit offsets of the AVX-512 walk's gathers. np.zeros leaves the pages untouched, so only
    the pages of the values read are ever allocated."""
    nf = 2**24 + 1
    try:
        Z = np.zeros((130, nf), np.float32)
    except MemoryError:
        pytest.skip("the machine refuses an 8.6 GB address range")
    right = [0, 64, 127, 128, 129]
    Z[right, nf - 1] = 1.0
    walker = _core.IsolationForestPaths(np.array([0]), np.array([1, -1, -1]), np.array([2, -1, -1]),
                                        np.array([nf - 1, -2, -2]), np.array([0.5, -2.0, -2.0]),
                                        np.array([0.0, 1.0, 2.0]), nf)
    expected = np.ones(130)
    expected[right] = 2.0
    try:
        for name in _core._supported_isas():
            _core._set_isa(name)
            got = _core.forests_depths([walker] * 4, Z, 1)  # one work item holds all the rows
            for row in got:
                assert_array_equal(row, expected, err_msg=name)
    finally:
        _core._set_isa("auto")


@pytest.mark.parametrize("kind", ["native", "sklearn"])
def test_a_walker_gives_back_the_node_arrays_it_was_built_from(kind):
    """node_arrays() returns the constructor's arrays, leaf thresholds included (scikit-learn
    writes -2 there, the native builder 0), as new arrays of the same dtypes."""
    p = IsolationPrior.fit(np.random.default_rng(6).normal(size=(300, 3)), 15, 2, 1, kind)
    given = [getattr(p, name) for name in FIELDS]
    walker = paths(dict(zip(FIELDS, given)), 3)
    for got, want in zip(walker.node_arrays(), given):
        assert got.dtype == want.dtype
        assert_array_equal(got, want)
        assert not np.shares_memory(got, want)
    assert_array_equal(walker.node_arrays()[0], p.root)  # each call a complete export


@pytest.mark.parametrize("kind", ["native", "sklearn"])
def test_a_prior_holds_its_nodes_once_fitted_restored_or_unpickled(kind, tmp_path):
    """Whichever way a prior is made (fitted, from a saved state, unpickled, or inside a saved
    and loaded EAPScorer), its node arrays are not held beside its walker: they are exported,
    equal to the fitted ones, when read, and the scores are the same bits."""
    rng = np.random.default_rng(7)
    X, Z = rng.normal(size=(300, 3)), rng.normal(size=(50, 3)) * 2
    fitted = IsolationPrior.fit(X, 15, 2, 1, kind)
    y = np.zeros(300, int)
    y[:15] = 1
    scorer = EAPScorer(prior=kind, random_state=0).fit(X, y)
    scorer.save(tmp_path / "model.npz")
    priors = {"fitted": fitted, "state": IsolationPrior.from_state(fitted.state()),
              "pickled": pickle.loads(pickle.dumps(fitted)),
              "loaded scorer": EAPScorer.load(tmp_path / "model.npz").rounds_[0].detector.prior}
    for how, prior in priors.items():
        assert not set(FIELDS) & set(vars(prior)), how
        expected = scorer.rounds_[0].detector.prior if how == "loaded scorer" else fitted
        for name in FIELDS:
            assert_array_equal(getattr(prior, name), getattr(expected, name), err_msg=how)
        assert_array_equal(prior.raw_scores(Z, 1), expected.raw_scores(Z, 1), err_msg=how)


@pytest.mark.parametrize("change, message", [
    (dict(left=np.array([1, -1, 0, -1, -1, -1])), "point forward"),
    (dict(right=np.array([2, -1, 6, -1, -1, -1])), "point forward"),
    (dict(feature=np.array([0, -2, 2, -2, -2, -2])), "feature index"),
    (dict(root=np.array([0, 6])), "root out of range"),
    (dict(leaf_value=np.zeros(5)), "same length"),
])
def test_malformed_forests_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        paths({**UNBALANCED, **change}, 2)


def test_a_forest_wider_than_int32_is_refused():
    with pytest.raises(ValueError, match="too many"):
        paths(UNBALANCED, 2**31)


# ---- every bagging round's forest in one call ---------------------------------------------

def rounds_layout(sizes, n, seed=0):
    """(offsets, rows, list of each round's rows) of rounds of the given sizes over n points."""
    rng = np.random.default_rng(seed)
    rounds = [np.sort(rng.choice(n, size, replace=False)).astype(np.int64) for size in sizes]
    offsets = np.zeros(len(rounds) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    return offsets, np.concatenate(rounds), rounds


SIZES = (2, 3, 255, 256, 257, 600)
SEEDS = np.array([0, 1, 2**63 + 5, 2**64 - 1, 17, 99], dtype=np.uint64)


@pytest.mark.parametrize("ties", [False, True], ids=["plain", "ties"])
@pytest.mark.parametrize("n_threads", [1, 3, 8])
def test_forest_rounds_equal_one_forest_per_round(n_threads, ties):
    """Each round's walker holds build_isolation_forest's nodes on a copy of its rows
    (min(256, rows) samples per tree), and its depths are those rows' depths (the drawn rows
    summed where the build leaves them, the others walked: rounds of 2 to 600 rows), whether
    the rounds run side by side or (8 threads for 6 rounds) one after another with their trees
    in parallel. With ties, most nodes at the depth limit hold equal rows and some cannot be
    split at all."""
    X = np.random.default_rng(3).normal(size=(700, 4)).astype(np.float32)
    X[10] = X[11]  # duplicates
    if ties:
        X = np.round(X[:, :2] * 0.7).astype(np.float32)  # 2 columns of a few values each
        X = np.hstack([X, X])
    offsets, rows, rounds = rounds_layout(SIZES, 700)
    built = _core.build_forest_rounds(X, offsets, rows, SEEDS, 20, 256, n_threads)
    assert len(built) == len(rounds)
    for (walker, depths), r, seed in zip(built, rounds, SEEDS):
        Xr = np.ascontiguousarray(X[r])
        expected = _core.build_isolation_forest(Xr, 20, min(256, r.size), int(seed), 1)
        for got, want in zip(walker.node_arrays(), expected):
            assert got.dtype == want.dtype
            assert_array_equal(got, want)
        assert_array_equal(depths, paths(dict(zip(FIELDS, expected)), 4).depths(Xr, 1))
        assert_array_equal(walker.depths(Xr, 2), depths)


def test_forests_depths_equal_each_forest_depths():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    offsets, rows, rounds = rounds_layout((50, 300, 400), 400)
    walkers = [w for w, _ in _core.build_forest_rounds(X, offsets, rows, SEEDS[:3], 15, 256, 1)]
    for l in (1, 17, 1000):
        Z = (rng.normal(size=(l, 3)) * 2).astype(np.float32)
        for threads in (1, 2, 5):
            got = _core.forests_depths(walkers, Z, threads)
            assert got.shape == (3, l)
            for walker, row in zip(walkers, got):
                assert_array_equal(row, walker.depths(Z, 1))


def fit_native_rounds(X, offsets, rows, random_states, n_estimators, threads):
    """The native forests of bagging rounds as the scorer makes them: their input, the core's
    build, each round's prior; None where the rounds need different rescalings."""
    forest_input = native_forest_input(X, offsets, rows, random_states)
    if forest_input is None:
        return None
    X32, seeds, scale = forest_input
    built = _core.build_forest_rounds(X32, offsets, rows, seeds, n_estimators, MAX_SAMPLES, threads)
    return native_rounds(built, np.diff(offsets), X.shape[1], n_estimators, scale)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("factor", [1.0, 2.0**100, 2.0**-40], ids=["plain", "huge", "tiny"])
def test_native_rounds_equal_fitting_each_round(dtype, factor):
    """fit_native_rounds gives each round IsolationPrior.fit's prior (every field) and raw
    scores, bit for bit, whatever the thread count; rescaled data included (magnitudes in
    [factor, 1.5 factor), so that every round needs the same rescaling)."""
    if dtype == np.float32 and factor > 2.0**64:
        factor = 2.0**40
    rng = np.random.default_rng(5)
    X = rng.normal(size=(700, 3))
    if factor != 1.0:
        X = np.sign(X) * factor * (1.0 + 0.5 * rng.random((700, 3)))
    X = X.astype(dtype)
    offsets, rows, rounds = rounds_layout(SIZES, 700, seed=1)
    def states():  # fresh each time: a RandomState is consumed by the fit
        return [3, np.int64(8), 2**31 - 1, 0, 12, np.random.RandomState(4)]

    for threads in (1, 2):
        fitted = fit_native_rounds(X, offsets, rows, states(), 30, threads)
        assert fitted is not None
        for (got, raw), r, state in zip(fitted, rounds, states()):
            want = IsolationPrior.fit(X[r], 30, state, 1, "native")
            assert not set(FIELDS) & set(vars(got))  # the nodes stay in the core, once
            assert not set(FIELDS) & set(vars(want))
            assert (got.scale == 1.0) == (factor == 1.0)
            for name in (*FIELDS, "n_features", "denominator", "scale"):
                assert_array_equal(getattr(got, name), getattr(want, name))
            assert_array_equal(raw, want.raw_scores(X[r], 1))
            Z = X[::7] * dtype(0.5)
            assert_array_equal(got.raw_scores(Z, 2), want.raw_scores(Z, 1))
            assert_array_equal(pickle.loads(pickle.dumps(got)).raw_scores(Z, 1), want.raw_scores(Z, 1))


def test_native_rounds_of_differently_rescaled_rounds_are_left_to_the_caller():
    """Rounds whose rows need different float32 rescalings cannot share one float32 copy."""
    X = np.random.default_rng(6).normal(size=(40, 2))
    X[0] *= 2.0**60  # only the first round holds it
    offsets = np.array([0, 20, 40], dtype=np.int64)
    rows = np.concatenate([np.arange(20), np.arange(20, 40)]).astype(np.int64)
    assert fit_native_rounds(X, offsets, rows, [1, 2], 10, 1) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_native_rounds_ignore_rows_in_no_round(dtype):
    """A row that no round holds may not even fit in float32 (or be finite at the rounds'
    scale): it is never converted, and the rounds are fitted as one by one."""
    X = np.random.default_rng(8).normal(size=(60, 3)).astype(dtype)
    X[7] = np.finfo(dtype).max / 2
    X[8, 1] = -np.finfo(dtype).max / 3
    rows = np.concatenate([np.setdiff1d(np.arange(31), [7, 8]), np.arange(34, 60)]).astype(np.int64)
    offsets = np.array([0, 29, rows.size], dtype=np.int64)
    fitted = fit_native_rounds(X, offsets, rows, [4, 5], 20, 2)
    assert fitted is not None
    for (got, raw), a, b, state in zip(fitted, offsets[:-1], offsets[1:], [4, 5]):
        Xr = X[rows[a:b]]
        want = IsolationPrior.fit(Xr, 20, state, 1, "native")
        for name in (*FIELDS, "scale"):
            assert_array_equal(getattr(got, name), getattr(want, name))
        assert_array_equal(raw, want.raw_scores(Xr, 1))


def test_bagged_fit_with_a_huge_row_is_the_same_on_every_thread_count():
    """The same model on every thread count. Where no round holds the huge row (seed 24), one
    core call builds the rounds' forests side by side (2 threads) or one after another with
    their trees in parallel (8 threads, more than the 4 rounds); where a round holds it (seeds
    0 and 1), the rounds need different rescalings and each is fitted on its own."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(200, 3))
    y = (rng.random(200) < 0.1).astype(int)
    y[:2] = 1
    X[150, 0] = 1e39  # beyond float32 at scale 1
    Z = rng.normal(size=(40, 3))
    for seed in (0, 1, 24):  # 24: no round holds row 150
        runs = [EAPScorer(n_bags=4, random_state=seed, n_jobs=j).fit(X, y).score_samples(Z)
                for j in (2, 8)]
        assert_array_equal(runs[0], runs[1])


def test_raw_scores_of_rounds_equal_each_prior():
    """One walk for priors sharing a rescaling (native and scikit-learn trees alike), one call
    per prior otherwise; the same bits either way."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 4))
    priors = [IsolationPrior.fit(X[:150], 20, 1, 1, "native"), IsolationPrior.fit(X, 20, 2, 1, "sklearn"),
              IsolationPrior.fit(X[100:], 20, 3, 1, "native")]
    rescaled = IsolationPrior.fit(X * 2.0**200, 20, 4, 1, "native")
    assert rescaled.scale != priors[0].scale
    Z = rng.normal(size=(33, 4)) * 3
    for group in (priors, priors[:1], priors + [rescaled]):
        got = raw_scores_of_rounds(group, Z, 2)
        assert len(got) == len(group)
        for raw, prior in zip(got, group):
            assert_array_equal(raw, prior.raw_scores(Z, 1))


def forest_rounds_call(**change):
    X = np.zeros((6, 2), dtype=np.float32)
    X[:, 0] = np.arange(6)
    args = dict(X=X, offsets=np.array([0, 3, 6], dtype=np.int64),
                rows=np.array([0, 1, 2, 3, 4, 5], dtype=np.int64),
                seeds=np.array([1, 2], dtype=np.uint64), n_estimators=5, max_samples=256, n_threads=1)
    args.update(change)
    return _core.build_forest_rounds(**args)


@pytest.mark.parametrize("change, message", [
    (dict(seeds=np.array([1], dtype=np.uint64)), "one seed per round"),
    (dict(offsets=np.array([0, 3, 5], dtype=np.int64)), "from 0 to len"),
    (dict(offsets=np.array([0, 1, 6], dtype=np.int64)), "2 rows"),
    (dict(rows=np.array([0, 1, 2, 3, 4, 6], dtype=np.int64)), "increasing training-point"),
    (dict(rows=np.array([0, 2, 1, 3, 4, 5], dtype=np.int64)), "increasing training-point"),
    (dict(n_estimators=0), "n_estimators"),
    (dict(max_samples=0), "max_samples"),
    (dict(X=np.array([[0, 1], [np.nan, 2], [1, 1], [2, 2], [3, 3], [4, 4]], dtype=np.float32)), "finite"),
])
def test_forest_rounds_refuse_bad_input(change, message):
    assert len(forest_rounds_call()) == 2
    with pytest.raises(ValueError, match=message):
        forest_rounds_call(**change)


@pytest.mark.parametrize("n_threads", [1, 8])
def test_neighbours_and_forests_builds_the_forest_rounds(n_threads):
    """The fit's first core call builds build_forest_rounds' forests beside the neighbours,
    which do not depend on them; without forest_X it builds none."""
    rng = np.random.default_rng(10)
    X = rng.normal(size=(700, 4))
    offsets, rows, _ = rounds_layout(SIZES, 700)
    X32 = X.astype(np.float32)
    centres = np.ones(rows.size, np.uint8)
    anomalies = np.array([3, 500], dtype=np.int64)
    _, delta, cover, forests = _core.neighbours_and_forests(
        X, offsets, rows, centres, 5, anomalies, n_threads, forest_X=X32, seeds=SEEDS,
        n_estimators=20, max_samples=128)
    _, delta_alone, cover_alone, none = _core.neighbours_and_forests(X, offsets, rows, centres, 5,
                                                                     anomalies, n_threads)
    assert none is None
    assert_array_equal(delta, delta_alone)
    assert_array_equal(cover, cover_alone)
    expected = _core.build_forest_rounds(X32, offsets, rows, SEEDS, 20, 128, 1)
    assert len(forests) == len(expected) == len(SIZES)
    for (walker, depths), (want, want_depths) in zip(forests, expected):
        for got_array, want_array in zip(walker.node_arrays(), want.node_arrays()):
            assert_array_equal(got_array, want_array)
        assert_array_equal(depths, want_depths)


def test_neighbours_and_forests_refuse_bad_forest_input():
    X = np.random.default_rng(11).normal(size=(6, 2))
    call = partial(_core.neighbours_and_forests, X, np.array([0, 3, 6], dtype=np.int64),
                   np.arange(6, dtype=np.int64), np.ones(6, np.uint8), 1, np.empty(0, np.int64), 1)
    seeds = np.array([1, 2], dtype=np.uint64)
    with pytest.raises(ValueError, match="go together"):
        call(forest_X=X.astype(np.float32))
    with pytest.raises(ValueError, match="go together"):
        call(seeds=seeds)
    with pytest.raises(ValueError, match="columns"):
        call(forest_X=np.zeros((6, 3), np.float32), seeds=seeds)
    with pytest.raises(ValueError, match="X's shape"):
        call(forest_X=np.zeros((5, 2), np.float32), seeds=seeds)
    with pytest.raises(ValueError, match="one seed per round"):
        call(forest_X=X.astype(np.float32), seeds=seeds[:1])
    with pytest.raises(TypeError):
        call(forest_X=X, seeds=seeds)  # float64 rows: the forest takes float32
    bad = X.astype(np.float32)
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        call(forest_X=bad, seeds=seeds)


def test_forests_depths_refuse_bad_input():
    (walker, _), (other, _) = forest_rounds_call()
    narrow = paths(UNBALANCED, 3)
    with pytest.raises(ValueError, match="empty"):
        _core.forests_depths([], np.zeros((2, 2), dtype=np.float32), 1)
    with pytest.raises(ValueError, match="same number of features"):
        _core.forests_depths([walker, narrow], np.zeros((2, 2), dtype=np.float32), 1)
    with pytest.raises(ValueError, match="columns"):
        _core.forests_depths([walker, other], np.zeros((2, 3), dtype=np.float32), 1)
    with pytest.raises(TypeError):
        _core.forests_depths([walker], np.zeros((2, 2)), 1)
    for stranger in (None, "walker", np.zeros(3)):
        with pytest.raises(TypeError, match="IsolationForestPaths"):
            _core.forests_depths([walker, stranger], np.zeros((2, 2), dtype=np.float32), 1)
