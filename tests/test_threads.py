"""Threads (issue 6): the results of every entry point do not depend on the thread count (n_jobs,
threadpoolctl limits, chunking) -- this module is the one place that tests it; one fitted scorer
is safe to use from several Python threads at once; every long core call releases the GIL."""

from __future__ import annotations

import copy
import pickle
import threading
import time
from typing import Any, Callable, List

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from threadpoolctl import threadpool_limits

from eap_anomaly import SSDO, EAPScorer, _core, estimate_k, knn_radii, rarity_scores, score_auxiliary
from helpers import assert_same_details, blobs, labelled_data, normals_and_anomalies

X, Y, Z = labelled_data(7, 700, 6, 1500, rate=0.08, shift=2.0, wide=3.0, groups=(750, 0, 750),
                        forced=3)


@pytest.fixture(scope="module")
def scorer() -> EAPScorer:
    return EAPScorer(random_state=0).fit(X, Y)


# ----- thread-count invariance ---------------------------------------------------------------


#: every accepted spelling of a thread count (n_jobs = 1 is the reference)
N_JOBS = (2, 3, None, -1, -2, np.int64(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_geometry_independent_of_threads(dtype) -> None:
    """knn_radii, rarity_scores, estimate_k and the k-hat votes of the core."""
    rng = np.random.default_rng(16)
    normals, A = normals_and_anomalies(rng, 700, 60, 5, dtype)
    C = np.vstack([normals, A])
    Zg = blobs(rng, 700, 5, dtype)
    index = np.arange(700, 760, dtype=np.int64)
    for k in (1, 40, 759):
        radii = knn_radii(C, k, n_jobs=1)
        scores = rarity_scores(Zg, C, radii, n_jobs=1)
        for j in N_JOBS:
            assert_array_equal(knn_radii(C, k, n_jobs=j), radii, err_msg=f"k={k} n_jobs={j}")
            assert_array_equal(rarity_scores(Zg, C, radii, n_jobs=j), scores, err_msg=f"k={k} n_jobs={j}")
    assert (scores > 0).any()
    covers = [_core.cover_ranks(C, A, index, t) for t in (1, 2, 3)]
    assert_array_equal(covers[1], covers[0])
    assert_array_equal(covers[2], covers[0])
    assert len(set(covers[0].tolist())) > 1  # varied votes, not a degenerate case
    for C_, k_min, quantile in ((C, 2, 0.9), (normals, 1, 0.7)):
        expected = estimate_k(C_, A, k_min, quantile, n_jobs=1)
        for j in N_JOBS:
            assert estimate_k(C_, A, k_min, quantile, n_jobs=j) == expected, f"n_jobs={j}"


@pytest.mark.parametrize("prior", ["native", "sklearn"])
def test_ssdo_independent_of_threads(prior: str) -> None:
    one = SSDO(prior=prior, random_state=0, n_jobs=1).fit(X, Y)
    two = SSDO(prior=prior, random_state=0, n_jobs=2).fit(X, Y)
    assert_array_equal(two.decision_scores_, one.decision_scores_)
    assert_array_equal(two.decision_function(Z), one.decision_function(Z))
    assert_array_equal(two.predict_proba(Z), one.predict_proba(Z))


@pytest.mark.parametrize("n_bags,centres", [(0, "all"), (2, "all"), (0, "normals")])
def test_score_auxiliary_independent_of_threads(n_bags: int, centres: str) -> None:
    def run(n_jobs: Any):
        return score_auxiliary(X, Y, Z, centres=centres, n_jobs=n_jobs, n_bags=n_bags, random_state=3,
                               return_details=True)

    reference = run(1)
    assert np.isfinite(reference.quality).all()
    if centres == "normals":  # the other choice of centres: the thread count alone
        assert_same_details(run(2), reference, "n_jobs=2")
        return
    jobs = (2, -1) if n_bags == 0 else (-1,)
    for n_jobs in jobs:
        assert_same_details(run(n_jobs), reference, f"n_jobs={n_jobs}")
    with threadpool_limits(limits=1):
        assert_same_details(run(None), reference, "threadpool_limits(1), n_jobs=None")
    if n_bags == 0:
        with threadpool_limits(limits=2):
            assert_same_details(run(None), reference, "threadpool_limits(2), n_jobs=None")


def test_scorer_score_independent_of_threads_and_chunks(scorer: EAPScorer) -> None:
    reference = scorer.score_samples(Z, return_details=True)
    for params in ({"n_jobs": 1}, {"n_jobs": 2}, {"n_jobs": -1}, {"chunk_size": 97},
                   {"chunk_size": 1, "n_jobs": 2}, {"chunk_size": 100_000}):
        other = copy.copy(scorer)
        other.set_params(**params)
        if params.get("chunk_size") == 1:
            got = other.score_samples(Z[:40], return_details=True)
            assert_same_details(got, reference, str(params), rows=slice(0, 40))
            continue
        assert_same_details(other.score_samples(Z, return_details=True), reference, str(params))
    with threadpool_limits(limits=1):
        assert_same_details(scorer.score_samples(Z, return_details=True), reference, "threadpool_limits(1)")


def test_fitted_state_independent_of_threads(scorer: EAPScorer) -> None:
    expected = scorer.score_samples(Z)
    for n_jobs in (1, 2):
        other = EAPScorer(random_state=0, n_jobs=n_jobs).fit(X, Y)
        a, b = other.rounds_[0], scorer.rounds_[0]
        assert (a.k, a.n_centres, a.rho_sum) == (b.k, b.n_centres, b.rho_sum)
        assert a.detector.eta == b.detector.eta
        assert (a.detector.shift, a.detector.threshold) == (b.detector.shift, b.detector.threshold)
        assert_array_equal(a.radius, b.radius)
        assert_array_equal(other.score_samples(Z), expected, err_msg=f"fit n_jobs={n_jobs}")
    with threadpool_limits(limits=1):
        assert_array_equal(EAPScorer(random_state=0).fit(X, Y).score_samples(Z), expected)


# ----- concurrent use of one fitted model ----------------------------------------------------


def run_concurrently(workers: List[Callable[[], Any]]) -> List[Any]:
    """Start all workers together (barrier); return their results, re-raising any exception."""
    barrier = threading.Barrier(len(workers))
    results: List[Any] = [None] * len(workers)
    errors: List[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = workers[i]()
        except BaseException as exc:  # noqa: BLE001 - reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a scoring thread did not finish"
    if errors:
        raise errors[0]
    return results


BLOCKS = [Z[i::4] for i in range(4)]  # four different (strided) candidate sets


@pytest.mark.parametrize("fresh_copy", [False, True], ids=["fitted", "unpickled"])
def test_four_threads_share_one_scorer(scorer: EAPScorer, fresh_copy: bool) -> None:
    serial = [scorer.score_samples(block, return_details=True) for block in BLOCKS]
    # an unpickled scorer rebuilds its core index lazily, on first use: here by 4 threads at once
    shared = pickle.loads(pickle.dumps(scorer)) if fresh_copy else scorer

    def worker(i: int) -> Callable[[], Any]:
        def go():
            out = []
            for rep in range(3):
                out.append(shared.score_samples(BLOCKS[(i + rep) % 4], return_details=True))
            return out
        return go

    results = run_concurrently([worker(i) for i in range(4)])
    for i, outs in enumerate(results):
        for rep, got in enumerate(outs):
            assert_same_details(got, serial[(i + rep) % 4], f"thread {i} call {rep}")


def test_four_threads_share_one_ssdo(scorer: EAPScorer) -> None:
    fitted = SSDO(random_state=0).fit(X, Y)
    det = pickle.loads(pickle.dumps(fitted))  # first use of an unpickled detector, four at once
    serial = [fitted.decision_function(b) for b in BLOCKS]
    serial_p = [fitted.predict_proba(b) for b in BLOCKS]
    results = run_concurrently(
        [lambda i=i: (det.decision_function(BLOCKS[i]), det.predict_proba(BLOCKS[i])) for i in range(4)]
    )
    for i, (f, p) in enumerate(results):
        assert_array_equal(f, serial[i])
        assert_array_equal(p, serial_p[i])


def test_threads_with_different_n_jobs_on_shared_scorer(scorer: EAPScorer) -> None:
    """Copies differing only in n_jobs share the fitted rounds; all agree, run at once."""
    expected = scorer.score_samples(Z)
    copies = []
    for n_jobs in (1, 2, -1, None):
        c = copy.copy(scorer)
        c.n_jobs = n_jobs
        copies.append(c)
    results = run_concurrently([lambda c=c: c.score_samples(Z) for c in copies])
    for got in results:
        assert_array_equal(got, expected)


# ----- the GIL is released in long core calls ------------------------------------------------


class Spinner:
    """A Python thread incrementing a counter as fast as it can."""

    def __init__(self) -> None:
        self.count = 0
        self._stop = False
        self._thread = threading.Thread(target=self._spin, daemon=True)

    def _spin(self) -> None:
        while not self._stop:
            self.count += 1

    def __enter__(self) -> "Spinner":
        self._thread.start()
        time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop = True
        self._thread.join()

    def rate(self, seconds: float = 0.1) -> float:
        """Increments per second while the main thread sleeps (GIL free)."""
        c0, t0 = self.count, time.perf_counter()
        time.sleep(seconds)
        return (self.count - c0) / (time.perf_counter() - t0)


def assert_gil_released(call: Callable[[], Any], what: str) -> None:
    with Spinner() as spinner:
        rate = spinner.rate()
        c0, t0 = spinner.count, time.perf_counter()
        call()
        elapsed = time.perf_counter() - t0
        advanced = spinner.count - c0
    assert elapsed > 0.05, f"{what}: the call took only {elapsed:.3f} s; enlarge it"
    # Holding the GIL, the spinner could run at most ~one switch interval (5 ms) of the call.
    expected = rate * elapsed
    assert advanced > 0.25 * expected, (
        f"{what}: counter advanced {advanced} during a {elapsed:.2f} s call; "
        f"unimpeded it advances {expected:.0f} (GIL held?)"
    )


RNG = np.random.default_rng(11)
C_BIG = RNG.normal(size=(2400, 16))


def test_gil_released_knn_radii() -> None:
    C = np.random.default_rng(12).normal(size=(4800, 16))  # large k: the whole-row selection
    assert_gil_released(lambda: knn_radii(C, 1600, n_jobs=1), "knn_radii")


def test_gil_released_rarity_scores() -> None:
    radii = knn_radii(C_BIG, 20, n_jobs=2)
    Zq = RNG.normal(scale=1.5, size=(40_000, 16))
    assert_gil_released(lambda: rarity_scores(Zq, C_BIG, radii, n_jobs=1), "rarity_scores")


def test_gil_released_estimate_k() -> None:
    C = C_BIG
    A = RNG.normal(scale=2.0, size=(300, 16))
    assert_gil_released(lambda: estimate_k(C, A, n_jobs=1), "estimate_k")


def test_gil_released_scoring(scorer: EAPScorer) -> None:
    Zl = np.tile(Z, (20, 1))  # 30000 candidates
    one = copy.copy(scorer)
    one.n_jobs = 1
    assert_gil_released(lambda: one.score_samples(Zl), "EAPScorer.score_samples")
    det = SSDO(random_state=0, n_jobs=1).fit(X, Y)
    assert_gil_released(lambda: det.decision_function(Zl), "SSDO.decision_function")


def test_gil_probe_detects_a_call_holding_the_gil() -> None:
    """Control: a C-level loop that keeps the GIL (builtin sum over a range) is flagged."""
    n = 1_000_000
    t0 = time.perf_counter()
    sum(range(n))
    per_item = max(time.perf_counter() - t0, 1e-6) / n
    size = int(min(max(0.3 / per_item, n), 50_000_000))  # ~0.3 s
    with pytest.raises(AssertionError, match="GIL held"):
        assert_gil_released(lambda: sum(range(size)), "sum(range(...))")
