"""Ctrl-C (issue 6): SIGINT during a long ``EAPScorer.score_samples`` raises KeyboardInterrupt promptly
(the scorer returns to Python between chunks; the default ``chunk_size=None`` sizes chunks to
a fraction of a second) and leaves the scorer usable.

POSIX only: a helper thread sends SIGINT to this process while the main thread scores; the time
from the signal to the KeyboardInterrupt is measured.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from eap_anomaly import EAPScorer
from helpers import assert_same_details

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(signal, "SIGINT"),
    reason="sending SIGINT to the own process is POSIX-only",
)

MAX_LATENCY_S = 2.0  # "about a second", with room for a loaded machine
MIN_UNINTERRUPTED_S = 6.0  # the job must be long for the test to mean anything
SIGNAL_AFTER_S = 0.4


def fitted_scorer(n: int, d: int) -> EAPScorer:
    rng = np.random.default_rng(n + d)
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.05).astype(np.int64)
    y[:2] = 1
    X[y == 1] += 2.0
    # explicit k: k-hat on many points is slow and not what this test is about
    return EAPScorer(k=10, random_state=0).fit(X, y)


def interrupted_score(scorer: EAPScorer, Z: np.ndarray):
    """Score Z; SIGINT arrives after SIGNAL_AFTER_S. Returns (seconds from the signal to the
    KeyboardInterrupt, seconds from the start)."""
    sent: dict = {}
    running = threading.Event()

    def fire() -> None:
        time.sleep(SIGNAL_AFTER_S)
        if running.is_set():
            sent["t"] = time.perf_counter()
            os.kill(os.getpid(), signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    thread = threading.Thread(target=fire, daemon=True)
    caught = None
    try:
        start = time.perf_counter()
        running.set()
        thread.start()
        try:
            scorer.score_samples(Z)
        except KeyboardInterrupt:
            caught = time.perf_counter()
        finally:
            running.clear()
            thread.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert "t" in sent, "the signal was not sent while scoring"
    assert caught is not None, "score finished without a KeyboardInterrupt"
    return caught - sent["t"], caught - start


@pytest.mark.parametrize(
    "n,d",
    [
        (1024, 32),
        # low-dimensional tabular data: per-pair cost dominates the n*d terms counted by the
        # default chunk sizing
        (16384, 2),
    ],
    ids=["n1024-d32", "n16384-d2"],
)
def test_sigint_interrupts_long_score_promptly(n: int, d: int) -> None:
    scorer = fitted_scorer(n, d)
    rng = np.random.default_rng(1)
    probe = rng.normal(scale=1.5, size=(300, d))
    before = scorer.score_samples(probe, return_details=True)

    # speed of this machine for these shapes -> candidates for >= MIN_UNINTERRUPTED_S
    sample = rng.standard_normal(size=(4096, d), dtype=np.float32)
    t0 = time.perf_counter()
    scorer.score_samples(sample)
    rows_per_s = sample.shape[0] / max(time.perf_counter() - t0, 1e-3)
    chunk = scorer._chunk_rows()
    rows = max(math.ceil(MIN_UNINTERRUPTED_S * rows_per_s), 3 * chunk)
    Z = rng.standard_normal(size=(rows, d), dtype=np.float32)  # float32: half the memory
    estimated = rows / rows_per_s
    assert estimated >= MIN_UNINTERRUPTED_S - 1e-9

    latency, elapsed = interrupted_score(scorer, Z)
    assert latency < MAX_LATENCY_S, (
        f"KeyboardInterrupt came {latency:.2f} s after SIGINT (limit {MAX_LATENCY_S} s); "
        f"default chunk = {chunk} rows ~ {chunk / rows_per_s:.2f} s on this machine"
    )
    assert elapsed < estimated / 2, "the job was not interrupted early"

    # the scorer is still usable and gives the same answers
    after = scorer.score_samples(probe, return_details=True)
    assert_same_details(after, before)


def test_sigint_with_small_chunks_is_prompt_and_repeatable() -> None:
    """An explicit small chunk_size: interrupted twice in a row, the scorer still agrees."""
    scorer = fitted_scorer(1024, 8)
    scorer.set_params(chunk_size=2048)
    rng = np.random.default_rng(2)
    probe = rng.normal(size=(200, 8))
    expected = scorer.score_samples(probe)
    sample = rng.normal(size=(4096, 8))
    t0 = time.perf_counter()
    scorer.score_samples(sample)
    rows_per_s = sample.shape[0] / max(time.perf_counter() - t0, 1e-3)
    Z = rng.standard_normal(size=(math.ceil(MIN_UNINTERRUPTED_S * rows_per_s), 8))
    for _ in range(2):
        latency, _ = interrupted_score(scorer, Z)
        assert latency < MAX_LATENCY_S
        assert_array_equal(scorer.score_samples(probe), expected)
