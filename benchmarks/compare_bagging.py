"""Bagged fits at the sizes of the paper's protocol: fit + score time per SPEC section 9 split
(8 tabular datasets and 4 MVTec ViT feature sets, seeds 0 and 1), one thread, for the authors'
preset (100 bags) and one round, with each Isolation Forest prior; then the bagging cost and
thread scaling on one n = 1000, d = 36, l = 750 problem. Medians of --repeats, all in one run.

    python benchmarks/compare_bagging.py --data-dir ../shared/datasets/adbench
    python benchmarks/compare_bagging.py --data-dir ../shared/datasets/adbench --quick
    python benchmarks/compare_bagging.py --data-dir ../shared/datasets/adbench --priors native --repeats 1
    python benchmarks/compare_bagging.py --synthetic      # the n = 1000 problem only, no data
"""

import argparse
import os
import sys

import numpy as np

from eap_anomaly import EAPScorer
from eap_anomaly.evaluation.datasets import list_datasets, load_dataset
from eap_anomaly.evaluation.protocol import make_split, other_datasets, suite_of

sys.path.insert(0, os.path.dirname(__file__))
from timing import median_time  # noqa: E402

DATASETS = ["Classical/29_Pima", "Classical/30_satellite", "Classical/12_fault", "Classical/18_Ionosphere",
            "Classical/7_Cardiotocography", "Classical/47_yeast", "Classical/38_thyroid",
            "Classical/35_SpamBase", "CV_by_ViT/MVTec-AD_bottle", "CV_by_ViT/MVTec-AD_cable",
            "CV_by_ViT/MVTec-AD_capsule", "CV_by_ViT/MVTec-AD_carpet"]


def splits(data_dir, seeds, quick):
    names = list_datasets(data_dir)
    for name in DATASETS[:4] if quick else DATASETS:
        X, y = load_dataset(name, data_dir)
        for seed in range(seeds):
            others = [load_dataset(o, data_dir)[0] for o in other_datasets(name, names, seed)]
            split = make_split(X, y, others, seed, same_space=suite_of(name) == "image")
            if split is not None:
                yield name, seed, split


def fit_score(make, split):
    make().fit(split.X_train, split.y_train).score_samples(split.X_aux)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="ADBench-format datasets (not needed with --synthetic)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="4 datasets, 1 repeat")
    parser.add_argument("--priors", nargs="+", choices=["native", "sklearn"], default=["native", "sklearn"],
                        help="Isolation Forest priors to time on the splits (default both)")
    parser.add_argument("--synthetic", action="store_true",
                        help="only the n = 1000, d = 36, l = 750 problem (one round, 100 bags, threads)")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if not args.synthetic:
        if args.data_dir is None:
            parser.error("--data-dir is required unless --synthetic")
        protocol_splits(args, repeats)
    synthetic(repeats)


def protocol_splits(args, repeats):
    priors = args.priors if "prior" in EAPScorer().get_params() else [None]
    variants = {}
    for prior in priors:
        extra = {} if prior is None else {"prior": prior}
        tag = "" if prior is None else f" prior={prior}"
        variants[f"authors_code(){tag}"] = lambda seed, extra=extra: EAPScorer.authors_code(
            random_state=seed, n_jobs=1, **extra)
        variants[f"EAPScorer(){tag}"] = lambda seed, extra=extra: EAPScorer(random_state=seed, n_jobs=1, **extra)
    print("| split | n | d | l | " + " | ".join(f"{v} s" for v in variants) + " |")
    print("|---|---|---|---|" + "---|" * len(variants))
    per_variant = {v: [] for v in variants}
    for name, seed, split in splits(args.data_dir, args.seeds, args.quick):
        cells = []
        for v, make in variants.items():
            t = median_time(lambda: fit_score(lambda: make(seed), split), repeats)
            per_variant[v].append(t)
            cells.append(f"{t:.3f}")
        n, d = split.X_train.shape
        print(f"| {name} s{seed} | {n} | {d} | {split.X_aux.shape[0]} | " + " | ".join(cells) + " |")
    print("\nmedian per split (one thread): " + "; ".join(
        f"{v} {np.median(t):.3f} s" for v, t in per_variant.items()))


def synthetic(repeats):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 36))
    y = (rng.random(1000) < 0.05).astype(int)
    X[y == 1] += 2.0
    Z = rng.normal(size=(750, 36)) * 1.5
    one = median_time(lambda: EAPScorer(random_state=0, n_jobs=1).fit(X, y).score_samples(Z), repeats * 3)
    bags = median_time(lambda: EAPScorer(n_bags=100, random_state=0, n_jobs=1).fit(X, y).score_samples(Z), repeats)
    bags2 = median_time(lambda: EAPScorer(n_bags=100, random_state=0, n_jobs=2).fit(X, y).score_samples(Z), repeats)
    print(f"\nn=1000 d=36 l=750: one round {one * 1e3:.1f} ms fit+score (target <= 15 ms); "
          f"100 bags / one round = {bags / one:.1f} (target <= 20); "
          f"100 bags n_jobs=1 / n_jobs=2 = {bags / bags2:.2f} (target >= 1.8)")


if __name__ == "__main__":
    main()
