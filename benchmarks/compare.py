"""Side by side, in one run: eap-anomaly against the machine's SGEMM throughput, FAISS
IndexFlatL2 and a plain NumPy/scikit-learn implementation of the same SPEC. Prints a markdown
table of times (medians of --repeats) and ratios measured in this run, each against its target,
and the scoring pass per instruction set (pairs per second per core, forced with the core's
private switch).

    python benchmarks/compare.py            # the issue's sizes (several minutes on 2 cores)
    python benchmarks/compare.py --quick    # smaller sizes, a smoke run
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from threadpoolctl import threadpool_limits

import eap_anomaly as eap
from eap_anomaly import _core
from eap_anomaly.ssdo import bandwidth

sys.path.insert(0, os.path.dirname(__file__))
from plain_eap import plain_score_auxiliary  # noqa: E402
from timing import median_time  # noqa: E402


def sgemm_flops(repeats, threads=None):
    """FLOP/s of a float32 matrix product with NumPy's BLAS (on `threads` threads, default all):
    the physical limit for distances."""
    a = np.random.default_rng(0).standard_normal((4096, 4096), dtype=np.float32)
    with threadpool_limits(threads):
        a @ a
        return 2 * 4096**3 / median_time(lambda: a @ a, repeats)


def faiss_knn_time(C, k, repeats):
    import faiss

    def run():
        index = faiss.IndexFlatL2(C.shape[1])
        index.add(C)
        index.search(C, k + 1)

    return median_time(run, repeats)


def peak_rss_scoring(n, l, d):
    """Peak RSS (MiB, the child's own VmHWM) of a fresh process that fits n training points and
    memory-maps l x d float32 candidates from .npy and scores them: after fit, after scoring,
    and the input's size."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "aux.npy")
        out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(l, d))
        rng = np.random.default_rng(1)
        for start in range(0, l, 100000):
            out[start:start + 100000] = rng.standard_normal((min(100000, l - start), d))
        del out
        code = (
            "import numpy as np, eap_anomaly as eap\n"
            "def hwm():\n"
            "    with open('/proc/self/status') as f:\n"
            "        return next(int(x.split()[1]) for x in f if x.startswith('VmHWM:')) / 1024\n"
            f"rng = np.random.default_rng(0); X = rng.standard_normal(({n}, {d})).astype(np.float32)\n"
            f"y = np.zeros({n}, int); y[:{n // 100}] = 1\n"
            "s = eap.EAPScorer(random_state=0).fit(X, y)\n"
            "before = hwm()\n"
            f"q = s.score_samples(np.load(r'{path}', mmap_mode='r'))\n"
            "print(before, hwm())\n"
        )
        before, after = map(float, subprocess.check_output([sys.executable, "-c", code]).split())
    return after, l * d * 4 / 2**20, before


def scoring_pass_per_isa(n, l, d, repeats, flops_one_thread):
    """The fused scoring pass (float32, one thread) under each instruction set the CPU runs:
    {isa: (pairs per second, time / the one-thread SGEMM bound 2 l n d / flops_one_thread)}."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((n, d)).astype(np.float32)
    Z = rng.standard_normal((l, d)).astype(np.float32)
    anomaly = np.zeros(n, np.uint8)
    anomaly[: n // 100] = 1
    radius = np.full(n, np.sqrt(2.0 * d))
    index = _core.TrainingPassF32(X, anomaly, radius, 1e-5, bandwidth(X, 10, 1, 1.0))
    out = {}
    try:
        for isa in _core._supported_isas():
            _core._set_isa(isa)
            t = median_time(lambda: index.score(Z, 1), repeats)
            out[isa] = (n * l / t, t / (2 * l * n * d / flops_one_thread))
    finally:
        _core._set_isa("auto")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    r = args.repeats
    rng = np.random.default_rng(0)
    rows = []

    def row(what, value, target, met):
        rows.append((what, value, target, "met" if met else "missed"))

    flops = sgemm_flops(r)
    print(f"cores {os.cpu_count()}, OpenMP {eap.has_openmp()}, SGEMM {flops / 1e9:.0f} GFLOP/s (NumPy, this run), "
          f"instruction set {_core._isa()}")

    flops_1 = sgemm_flops(r, threads=1)
    print(f"SGEMM on one thread {flops_1 / 1e9:.0f} GFLOP/s")
    n_pass, l_pass = (2000, 20000) if args.quick else (5000, 50000)
    isa_rows = []
    for d in (8, 64):
        per_isa = scoring_pass_per_isa(n_pass, l_pass, d, r, flops_1)
        for isa, (pairs, ratio) in per_isa.items():
            isa_rows.append((d, isa, pairs, ratio))
        if "avx2" in per_isa and "avx512" in per_isa:
            speedup = per_isa["avx512"][0] / per_isa["avx2"][0]
            row(f"scoring pass d={d} float32 1 thread: AVX-512 / AVX2 speed", speedup, "(informative)", True)

    n_knn = 5000 if args.quick else 20000
    base = {}
    for d in (2, 8, 64, 768):
        C = rng.standard_normal((n_knn, d)).astype(np.float32)
        ours = median_time(lambda: eap.knn_radii(C, 10), r)
        theirs = faiss_knn_time(C, 10, r)
        base[d] = ours
        target = 1.0 if d >= 64 else 0.2
        row(f"knn_radii n={n_knn} d={d} k=10 / FAISS IndexFlatL2", ours / theirs, f"<= {target}", ours / theirs <= target)
    for d in (8, 64):
        C = rng.standard_normal((n_knn, d)).astype(np.float32)
        big = median_time(lambda: eap.knn_radii(C, int(0.4 * n_knn)), r)
        row(f"knn_radii d={d}: k=0.4n / k=10", big / base[d], "<= 1.5", big / base[d] <= 1.5)

    n, l = (2000, 100000) if args.quick else (10000, 1000000)
    for d in (64, 8):
        X = rng.standard_normal((n, d)).astype(np.float32)
        y = np.zeros(n, int)
        y[: n // 100] = 1
        Z = rng.standard_normal((l, d)).astype(np.float32)
        fit2 = median_time(lambda: eap.EAPScorer(random_state=0, n_jobs=2).fit(X, y), 1)
        fit1 = median_time(lambda: eap.EAPScorer(random_state=0, n_jobs=1).fit(X, y), 1)
        scorer = eap.EAPScorer(random_state=0, n_jobs=2).fit(X, y)
        t2 = median_time(lambda: scorer.score_samples(Z), 1)
        bound = 2 * l * n * d / flops
        if d == 64:
            row(f"score l={l} n={n} d=64 float32 / SGEMM bound 2lnd/flops", t2 / bound, "<= 1.5", t2 / bound <= 1.5)
            t1 = median_time(lambda: scorer.set_params(n_jobs=1).score_samples(Z), 1)
            row("score speed-up 1 -> 2 threads", t1 / t2, ">= 1.8", t1 / t2 >= 1.8)
            row("fit speed-up 1 -> 2 threads", fit1 / fit2, ">= 1.8", fit1 / fit2 >= 1.8)
        else:
            row(f"score l={l} n={n} d=8 float32 / SGEMM bound", t2 / bound, "<= 6", t2 / bound <= 6)

    peak, size, before = peak_rss_scoring(n, l, 64)
    row(f"peak RSS of fit + scoring {l} x 64 float32 (.npy mmap) - input size, MiB", peak - size,
        "<= 256", peak - size <= 256)
    row("  of which RSS growth while scoring, MiB", peak - before, "(informative)", True)

    n_a, l_a = (1000, 20000) if args.quick else (5000, 200000)
    X = rng.standard_normal((n_a, 64))
    X[: n_a // 100] += 1.5
    y = np.zeros(n_a, int)
    y[: n_a // 100] = 1
    Z = rng.standard_normal((l_a, 64))
    ours = median_time(lambda: eap.score_auxiliary(X, y, Z, random_state=0), 1)
    plain = median_time(lambda: plain_score_auxiliary(X, y, Z, random_state=0), 1)
    row(f"score_auxiliary n={n_a} l={l_a} d=64: plain NumPy/sklearn / eap", plain / ours, ">= 30", plain / ours >= 30)

    print("\n| figure | value | target | |\n|---|---|---|---|")
    for what, value, target, status in rows:
        print(f"| {what} | {value:.2f} | {target} | {status} |")
    print(f"\nScoring pass, float32, one thread, n={n_pass} l={l_pass} (core call, no Python layer):\n"
          "| d | instruction set | pairs / s / core | time / one-thread SGEMM bound |\n|---|---|---|---|")
    for d, isa, pairs, ratio in isa_rows:
        print(f"| {d} | {isa} | {pairs / 1e9:.2f} G | {ratio:.2f} |")


if __name__ == "__main__":
    main()
