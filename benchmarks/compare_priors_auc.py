"""AUC_QLT of the authors' preset with each Isolation Forest prior (issue 11).

For every SPEC section 9 split (protocol.make_split), EAPScorer.authors_code(prior=P) with
P = "native" and "sklearn" is fitted on the training set and scores the auxiliary candidates;
AUC_QLT (protocol.auc_qlt: realistic candidates are the good ones) and the fit + score seconds
of each prior are appended to the CSV as each split is measured. Splits already in the CSV are
skipped, so an interrupted run resumes. The summary covers every row of the CSV: per suite
(dataset folder) and overall, the mean AUC_QLT of each prior, the mean paired difference
native - sklearn with its standard error, the largest |difference| and the median seconds.

    OMP_NUM_THREADS=1 python benchmarks/compare_priors_auc.py --data-dir ../shared/datasets/adbench \
        --out priors_auc.csv                                   # compare_bagging's 12 datasets, seeds 0 1
    OMP_NUM_THREADS=1 python benchmarks/compare_priors_auc.py --data-dir ../shared/datasets/adbench \
        --out priors_auc.csv --seeds 0 --datasets CV_by_ResNet18  # a folder stands for all its datasets

Every fit uses one thread (n_jobs=1).
"""

import argparse
import csv
import os
import sys
import time

import numpy as np

from eap_anomaly import EAPScorer
from eap_anomaly.evaluation.datasets import list_datasets, load_dataset
from eap_anomaly.evaluation.protocol import auc_qlt, make_split, other_datasets, suite_of

sys.path.insert(0, os.path.dirname(__file__))
from compare_bagging import DATASETS  # noqa: E402

PRIORS = ("native", "sklearn")
FIELDS = ["dataset", "seed"] + [f"{key}_{p}" for key in ("auc", "seconds") for p in PRIORS]


def expand(requested, names):
    """Dataset names in the order given; a folder name stands for every dataset in it."""
    chosen = []
    for name in requested:
        chosen += [n for n in names if n.split("/")[0] == name] if "/" not in name else [name]
    return list(dict.fromkeys(chosen))


def measure(split, seed):
    row = {}
    for prior in PRIORS:
        start = time.perf_counter()
        quality = EAPScorer.authors_code(random_state=seed, n_jobs=1, prior=prior).fit(
            split.X_train, split.y_train).score_samples(split.X_aux)
        row[f"seconds_{prior}"] = time.perf_counter() - start
        row[f"auc_{prior}"] = auc_qlt(quality, split.good)
    return row


def summary(rows):
    groups = {}
    for row in rows:
        groups.setdefault(row["dataset"].split("/")[0], []).append(row)
    groups["all"] = rows
    lines = ["| suite | splits | mean AUC native | mean AUC sklearn | mean diff native-sklearn ± SE "
             "| max abs diff | median s native | median s sklearn |", "|---|---|---|---|---|---|---|---|"]
    for suite, chosen in groups.items():
        col = {f: np.array([float(r[f]) for r in chosen]) for f in FIELDS[2:]}
        diff = col["auc_native"] - col["auc_sklearn"]
        se = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else float("nan")
        lines.append(f"| {suite} | {diff.size} | {col['auc_native'].mean():.6f} | {col['auc_sklearn'].mean():.6f} "
                     f"| {diff.mean():+.6f} ± {se:.6f} | {np.abs(diff).max():.6f} "
                     f"| {np.median(col['seconds_native']):.2f} | {np.median(col['seconds_sklearn']):.2f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--datasets", nargs="+", default=DATASETS,
                        help="names such as Classical/29_Pima, or folders such as CV_by_ViT")
    parser.add_argument("--out", required=True, help="CSV, appended to; its splits are skipped")
    args = parser.parse_args()
    rows = []
    if os.path.exists(args.out):
        with open(args.out, newline="") as f:
            rows = list(csv.DictReader(f))
    done = {(r["dataset"], int(r["seed"])) for r in rows}
    names = list_datasets(args.data_dir)
    print("| split | n | d | l | AUC native | AUC sklearn | diff | s native | s sklearn |")
    print("|---|---|---|---|---|---|---|---|---|")
    with open(args.out, "a", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        if not rows:
            writer.writeheader()
        for name in expand(args.datasets, names):
            seeds = [s for s in args.seeds if (name, s) not in done]
            if not seeds:
                continue
            X, y = load_dataset(name, args.data_dir)
            for seed in seeds:
                others = [load_dataset(o, args.data_dir)[0] for o in other_datasets(name, names, seed)]
                split = make_split(X, y, others, seed, same_space=suite_of(name) == "image")
                if split is None:
                    print(f"| {name} s{seed} | no split (g < 10) |", flush=True)
                    continue
                row = {"dataset": name, "seed": seed, **measure(split, seed)}
                writer.writerow(row)
                f.flush()
                rows.append(row)
                n, d = split.X_train.shape
                print(f"| {name} s{seed} | {n} | {d} | {split.X_aux.shape[0]} | {row['auc_native']:.6f} "
                      f"| {row['auc_sklearn']:.6f} | {row['auc_native'] - row['auc_sklearn']:+.6f} "
                      f"| {row['seconds_native']:.2f} | {row['seconds_sklearn']:.2f} |", flush=True)
    print("\n" + summary(rows))


if __name__ == "__main__":
    main()
