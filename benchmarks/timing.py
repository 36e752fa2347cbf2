"""Timing shared by the side-by-side benchmark scripts."""

import time

import numpy as np


def median_time(fn, repeats):
    """Median wall time of ``repeats`` calls of ``fn`` (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
