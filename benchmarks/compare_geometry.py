"""Benchmark eap_anomaly's geometry kernels against scikit-learn and NumPy baselines.

What it measures
----------------
knn_radii
    n = 10 000 centres, d in {8, 64, 768}, k in {10, 4 000}, float64 and float32, beside
    ``NearestNeighbors(n_neighbors=k + 1, algorithm='auto').fit(C).kneighbors(C)`` (column k:
    the k-th nearest *other* centre) and a NumPy brute force (blocked
    ``||a||^2 - 2 a.b + ||b||^2`` with ``np.partition`` over row blocks, so memory stays bounded).
    Agreement: max relative difference of the radii against each baseline, checked against a
    per-dtype tolerance (the GEMM expansion of the baselines rounds; eap sums (a - b)^2).
rarity_scores
    100 000 candidates against 10 000 centres, d in {8, 64}, radii from ``knn_radii`` at k = 10
    and k = 4 000, beside a blocked NumPy brute force (``d < r (1 - 1e-9)``, tested on squares;
    min over the holding radii, 0 if none). Candidates are one third fresh draws from the
    centres' distribution, one third far off the manifold (fresh draws scaled x5), one third
    slightly perturbed centres. Agreement: fraction of exactly equal scores; each mismatch is
    checked against a direct float64 sum of (c - z)^2 for the disputed ball (the one with the
    smaller of the two scores), whose relative distance to the ball's boundary is reported.

Centres are a mixture of 10 Gaussian clusters (means ~ N(0, 3^2), cluster scales in [0.5, 2]).
Times are medians of ``--repeats`` calls; a call slower than 30 s is not repeated (marked †).
Ratios are baseline time / eap time, both from this run. BLAS is left at its default thread
count; the header reports the thread pools in use. Progress goes to stderr, results to stdout.

How to run
----------
::

    python benchmarks/compare_geometry.py              # full run: ~15 min on 2 busy cores
    python benchmarks/compare_geometry.py --quick      # smoke run (~15 s): n = 2 000, l = 20 000
    python benchmarks/compare_geometry.py --n-jobs 1 --repeats 5

``--n-jobs`` is passed to eap (default None: the OpenMP default, i.e. all threads unless
``OMP_NUM_THREADS`` says otherwise) and to scikit-learn (None becomes -1 there).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import sklearn
import threadpoolctl
from sklearn.neighbors import NearestNeighbors

import eap_anomaly as eap

FULL = {"n": 10_000, "l": 100_000, "ks": (10, 4_000)}
QUICK = {"n": 2_000, "l": 20_000, "ks": (10, 800)}
KNN_DIMS = (8, 64, 768)
RARITY_DIMS = (8, 64)
DTYPES = (np.float64, np.float32)
#: Max relative radius difference accepted against the GEMM-expansion baselines.
RADIUS_RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-3}
TAU = 1e-9  # SPEC section 2 margin for float64 data
SLOW_S = 30.0  # a call slower than this is timed once
BLOCK_BYTES = 32 * 2**20  # size of one block of the NumPy brute-force distance matrix
N_CLUSTERS = 10
PERTURBATION = 1e-2  # per-coordinate std of the noise added to centres


class Mixture:
    """Gaussian mixture the centres and the in-distribution candidates are drawn from."""

    def __init__(self, d: int, rng: np.random.Generator):
        self.means = rng.normal(scale=3.0, size=(N_CLUSTERS, d))
        self.scales = rng.uniform(0.5, 2.0, size=N_CLUSTERS)

    def sample(self, m: int, rng: np.random.Generator) -> np.ndarray:
        labels = rng.integers(N_CLUSTERS, size=m)
        noise = rng.standard_normal((m, self.means.shape[1]))
        return self.means[labels] + self.scales[labels, None] * noise


def make_candidates(
    mixture: Mixture, C: np.ndarray, l: int, rng: np.random.Generator
) -> np.ndarray:
    """l candidates: 1/3 in distribution, 1/3 off-manifold (x5), 1/3 perturbed centres."""
    n_in, n_far = l // 3, l // 3
    n_near = l - n_in - n_far
    near = C[rng.integers(C.shape[0], size=n_near)]
    near = near + PERTURBATION * rng.standard_normal(near.shape)
    Z = np.concatenate([mixture.sample(n_in, rng), 5.0 * mixture.sample(n_far, rng), near])
    return Z[rng.permutation(l)]


def block_rows(n_cols: int, itemsize: int) -> int:
    return max(1, BLOCK_BYTES // (n_cols * itemsize))


def squared_distances(
    A: np.ndarray, B: np.ndarray, sq_a: np.ndarray, sq_b: np.ndarray
) -> np.ndarray:
    """||a||^2 - 2 a.b + ||b||^2 for every pair, in the dtype of A and B."""
    D2 = A @ B.T
    D2 *= -2
    D2 += sq_a[:, None]
    D2 += sq_b[None, :]
    return D2


def knn_radii_numpy(C: np.ndarray, k: int) -> np.ndarray:
    """k-th nearest other centre by blocked brute force (self excluded by an infinite distance)."""
    n = C.shape[0]
    sq = np.einsum("ij,ij->i", C, C)
    kth = np.empty(n, dtype=np.float64)
    step = block_rows(n, C.itemsize)
    for start in range(0, n, step):
        stop = min(start + step, n)
        D2 = squared_distances(C[start:stop], C, sq[start:stop], sq)
        D2[np.arange(stop - start), np.arange(start, stop)] = np.inf
        kth[start:stop] = np.partition(D2, k - 1, axis=1)[:, k - 1]
    return np.sqrt(np.maximum(kth, 0.0))


def knn_radii_sklearn(C: np.ndarray, k: int, n_jobs: int) -> tuple:
    """k-th other neighbour from scikit-learn (column k: column 0 is the centre itself)."""
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="auto", n_jobs=n_jobs).fit(C)
    dist, _ = nn.kneighbors(C)
    return dist[:, k].astype(np.float64), nn._fit_method


def rarity_numpy(Z: np.ndarray, C: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Smallest radius of a ball holding each candidate (d < r (1 - tau)), 0 if none."""
    sq_z = np.einsum("ij,ij->i", Z, Z)
    sq_c = np.einsum("ij,ij->i", C, C)
    bound = (radii * (1.0 - TAU)) ** 2
    scores = np.empty(Z.shape[0], dtype=np.float64)
    step = block_rows(C.shape[0], Z.itemsize)
    for start in range(0, Z.shape[0], step):
        stop = min(start + step, Z.shape[0])
        D2 = squared_distances(Z[start:stop], C, sq_z[start:stop], sq_c)
        scores[start:stop] = np.where(D2 < bound, radii, np.inf).min(axis=1)
    scores[np.isinf(scores)] = 0.0
    return scores


def timed(fn, repeats: int) -> tuple:
    """(median seconds, number of calls, last result); a call slower than SLOW_S ends the loop."""
    times = []
    while len(times) < repeats:
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > SLOW_S:
            break
    return float(np.median(times)), len(times), result


def fmt_time(seconds: float, calls: int, repeats: int) -> str:
    return f"{seconds:.3g}" + ("†" if calls < repeats else "")


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), np.finfo(np.float64).tiny)))


def audit_mismatches(Z, C, radii, eap_scores, ref_scores) -> tuple:
    """For each mismatch, the disputed ball has radius min(nonzero scores): one side counts it as
    holding the candidate, the other not. Returns (largest relative distance of a candidate from
    its disputed ball's boundary, number of mismatches where eap matches a direct float64 sum of
    (c - z)^2)."""
    worst_margin, eap_right = 0.0, 0
    for j in np.flatnonzero(eap_scores != ref_scores):
        disputed = min(s for s in (eap_scores[j], ref_scores[j]) if s > 0)
        balls = np.flatnonzero(radii == disputed)
        dist = np.sqrt(((C[balls] - Z[j]) ** 2).sum(axis=1))
        bound = radii[balls] * (1.0 - TAU)
        worst_margin = max(worst_margin, float(np.min(np.abs(dist - bound) / radii[balls])))
        holds = bool((dist < bound).any())
        eap_right += int(holds == (eap_scores[j] == disputed))
    return worst_margin, eap_right


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    """1-minute load average: other processes on the machine skew the times."""
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    return f"load average {os.getloadavg()[0]:.2f}"


def print_header(args, sk_jobs) -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    pools = ", ".join(
        f"{p['user_api']}:{os.path.basename(p['filepath'])}={p['num_threads']}"
        for p in threadpoolctl.threadpool_info()
    )
    print("# eap_anomaly geometry benchmark\n")
    print(f"- command: `{' '.join([os.path.basename(sys.executable)] + sys.argv)}`")
    print(f"- CPU: {cpu_model()}; os.cpu_count() = {os.cpu_count()}, usable = {usable}")
    print(
        f"- Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, eap_anomaly {eap.__version__} "
        f"(has_openmp() = {eap.has_openmp()})"
    )
    print(f"- OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')}; {load_average()}")
    print(f"- eap n_jobs = {args.n_jobs}; scikit-learn n_jobs = {sk_jobs}; BLAS left at default")
    print(f"- thread pools (threadpoolctl): {pools}")
    print(
        f"- times: median of {args.repeats} calls in seconds"
        f" († = one call, it took > {SLOW_S:g} s); ratio = baseline / eap\n"
    )


def bench_knn(sizes, args, sk_jobs) -> None:
    n = sizes["n"]
    print(f"## knn_radii, n = {n:,}\n")
    print(
        "| d | k | dtype | eap | sklearn (method) | numpy | sklearn/eap | numpy/eap "
        "| max rel diff sklearn | max rel diff numpy | tol | ok |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in KNN_DIMS:
        rng = np.random.default_rng(d)
        C64 = Mixture(d, rng).sample(n, rng)
        for k in sizes["ks"]:
            for dtype in DTYPES:
                C = C64.astype(dtype)
                print(f"knn_radii d={d} k={k} {np.dtype(dtype)}", file=sys.stderr, flush=True)
                t_e, c_e, r_e = timed(lambda: eap.knn_radii(C, k, args.n_jobs), args.repeats)
                t_s, c_s, (r_s, method) = timed(
                    lambda: knn_radii_sklearn(C, k, sk_jobs), args.repeats
                )
                t_n, c_n, r_n = timed(lambda: knn_radii_numpy(C, k), args.repeats)
                diff_s, diff_n = max_rel_diff(r_e, r_s), max_rel_diff(r_e, r_n)
                tol = RADIUS_RTOL[np.dtype(dtype)]
                ok = "yes" if max(diff_s, diff_n) <= tol else "**NO**"
                print(
                    f"| {d} | {k} | {np.dtype(dtype)} | {fmt_time(t_e, c_e, args.repeats)} "
                    f"| {fmt_time(t_s, c_s, args.repeats)} ({method}) "
                    f"| {fmt_time(t_n, c_n, args.repeats)} | {t_s / t_e:.2f} | {t_n / t_e:.2f} "
                    f"| {diff_s:.1e} | {diff_n:.1e} | {tol:.0e} | {ok} |",
                    flush=True,
                )
    print()


def bench_rarity(sizes, args) -> None:
    n, l = sizes["n"], sizes["l"]
    print(f"## rarity_scores, {l:,} candidates x {n:,} centres, float64\n")
    print(
        "| d | k | eap | numpy | numpy/eap | covered | equal | mismatches "
        "| max boundary margin of mismatches | eap right (direct) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in RARITY_DIMS:
        rng = np.random.default_rng(1000 + d)
        mixture = Mixture(d, rng)
        C = mixture.sample(n, rng)
        Z = make_candidates(mixture, C, l, rng)
        for k in sizes["ks"]:
            print(f"rarity_scores d={d} k={k}", file=sys.stderr, flush=True)
            radii = eap.knn_radii(C, k, n_jobs=args.n_jobs)
            t_e, c_e, s_e = timed(
                lambda: eap.rarity_scores(Z, C, radii, n_jobs=args.n_jobs), args.repeats
            )
            t_n, c_n, s_n = timed(lambda: rarity_numpy(Z, C, radii), args.repeats)
            mismatches = int(np.count_nonzero(s_e != s_n))
            audit = "| – | – |"
            if mismatches:
                margin, eap_right = audit_mismatches(Z, C, radii, s_e, s_n)
                audit = f"| {margin:.1e} | {eap_right}/{mismatches} |"
            print(
                f"| {d} | {k} | {fmt_time(t_e, c_e, args.repeats)} "
                f"| {fmt_time(t_n, c_n, args.repeats)} | {t_n / t_e:.2f} "
                f"| {np.mean(s_e > 0):.3f} | {1 - mismatches / l:.6f} | {mismatches} {audit}",
                flush=True,
            )
    print()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: n = 2 000, l = 20 000")
    parser.add_argument("--n-jobs", type=int, default=None, help="eap threads (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="calls per timing (default 3)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    sk_jobs = -1 if args.n_jobs is None else args.n_jobs
    print_header(args, sk_jobs)
    sizes = QUICK if args.quick else FULL
    bench_knn(sizes, args, sk_jobs)
    bench_rarity(sizes, args)
    print(f"- at the end: {load_average()}")


if __name__ == "__main__":
    main()
