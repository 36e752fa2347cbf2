"""Where the scoring pass spends its time (evidence for the targets of benchmarks/compare.py).

    python benchmarks/profile_scoring.py

1. The fraction of (candidate, training point) pairs inside the SSDO kernel cut-off 7.75*eta,
   on the Gaussian data of compare.py: pairs outside it are the only ones the cut-off saves.
2. The fused core pass (distances + kernel + ball test), one thread, float32, timed at several
   d: time per pair = a + b*d, so a is the per-pair epilogue (exp2, sums, ball test) and b the
   cost of one coordinate of distance (medians of 3, least-squares fit).
"""

import time

import numpy as np

from eap_anomaly import _core
from eap_anomaly.ssdo import bandwidth


def main():
    rng = np.random.default_rng(0)
    n, l = 4000, 8000
    print("| d | eta | pairs within 7.75 eta | ns per pair (1 thread) |\n|---|---|---|---|")
    dims, per_pair = (4, 8, 16, 32, 64), []
    for d in dims:
        X = rng.standard_normal((n, d)).astype(np.float32)
        Z = rng.standard_normal((l, d)).astype(np.float32)
        anomaly = np.zeros(n, np.uint8)
        anomaly[: n // 100] = 1
        eta = bandwidth(X, 10, 1, 1.0)
        sample = np.sqrt(((Z[:300, None, :].astype(np.float64) - X[None, :2000]) ** 2).sum(-1))
        inside = float((sample <= 7.75 * eta).mean())
        index = _core.TrainingPassF32(X, anomaly, np.ones(n), 1e-5, eta)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            index.score(Z, 1)
            times.append(time.perf_counter() - start)
        per_pair.append(np.median(times) / (n * l) * 1e9)
        print(f"| {d} | {eta:.3g} | {inside:.3f} | {per_pair[-1]:.2f} |")
    b, a = np.polyfit(dims, per_pair, 1)
    print(f"\nfit: {a:.2f} ns per pair (kernel exp2, sums, ball test) + {b:.3f} ns per coordinate "
          f"(distance); at d = 64 the distance is {64 * b / (a + 64 * b):.0%} of the pass, "
          f"at d = 8 {8 * b / (a + 8 * b):.0%}")


if __name__ == "__main__":
    main()
