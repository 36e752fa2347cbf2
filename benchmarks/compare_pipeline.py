"""Side by side: eap_anomaly.score_auxiliary against a plain NumPy/scikit-learn implementation of
the same SPEC (benchmarks/plain_eap.py), measured in one run; prints times and their ratio.

    python benchmarks/compare_pipeline.py                  # n = 5000 (50 anomalies), l = 200000, d = 64
    python benchmarks/compare_pipeline.py --quick          # n = 1000, l = 20000
"""

import argparse
import os
import sys
import time

import numpy as np

import eap_anomaly as eap

sys.path.insert(0, os.path.dirname(__file__))
from plain_eap import plain_score_auxiliary  # noqa: E402


def data(n, m, l, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:m] += 1.5
    y = np.zeros(n, dtype=int)
    y[:m] = 1
    Z = rng.standard_normal((l, d)) * 1.2
    Z[: l // 3] += 1.5
    return X, y, Z


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    n, m, l, d = (1000, 10, 20000, 64) if args.quick else (5000, 50, 200000, 64)
    X, y, Z = data(n, m, l, d)
    print(f"score_auxiliary: n = {n} ({m} anomalies), l = {l}, d = {d}; cores = {os.cpu_count()}, "
          f"OpenMP = {eap.has_openmp()}, OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS')}")
    rows = []
    for dtype in (np.float64, np.float32):
        t = time.perf_counter()
        q = eap.score_auxiliary(X.astype(dtype), y, Z.astype(dtype), random_state=0, n_jobs=args.n_jobs)
        rows.append((f"eap {np.dtype(dtype).name}", time.perf_counter() - t, q))
    t = time.perf_counter()
    plain = plain_score_auxiliary(X, y, Z, random_state=0)
    plain_time = time.perf_counter() - t
    # float32 data use the membership margin tau = 1e-5 (SPEC 2): candidates within 1e-5 of a
    # sphere may change ball, so agreement is counted, not asserted.
    print("\n| implementation | time (s) | plain / this | median abs diff | rows differing > 1e-4 |")
    print("|---|---|---|---|---|")
    print(f"| plain NumPy/scikit-learn float64 | {plain_time:.2f} | 1.0 | 0 | 0 |")
    for name, seconds, q in rows:
        diff = np.abs(q - plain)
        print(f"| {name} | {seconds:.2f} | {plain_time / seconds:.1f} | {np.median(diff):.1e} | "
              f"{int((diff > 1e-4).sum())} of {diff.size} |")


if __name__ == "__main__":
    main()
