"""Command line: ``eap-anomaly demo``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Optional, Sequence

import numpy as np


def demo(args: argparse.Namespace) -> int:
    from sklearn.datasets import load_breast_cancer

    from . import estimate_k, knn_radii, rarity_scores

    data = load_breast_cancer()
    X, malignant = data.data, data.target == 0  # scikit-learn codes malignant as 0
    rng = np.random.default_rng(args.seed)
    normals = np.flatnonzero(~malignant)
    anomalies = rng.choice(np.flatnonzero(malignant), size=10, replace=False)
    train = np.concatenate([normals, anomalies])
    mean, std = X[train].mean(0), X[train].std(0)
    Z = (X - mean) / np.where(std < 1e-3, 1.0, std)
    C, A = Z[train], Z[anomalies]
    start = time.perf_counter()
    k = estimate_k(C, A, anomaly_index=np.arange(len(normals), len(train)))
    radii = knn_radii(C, k)
    held_out = np.setdiff1d(np.flatnonzero(malignant), anomalies)
    rarity = rarity_scores(Z[held_out], C, radii)
    elapsed = time.perf_counter() - start
    print(f"breast cancer: {len(normals)} benign centres + {len(anomalies)} labelled malignant, "
          f"d = {X.shape[1]}")
    print(f"k-hat = {k} of n_c - 1 = {len(train) - 1}")
    print(f"radii at k-hat: median {np.median(radii):.3f}, min {radii.min():.3f}, max {radii.max():.3f}")
    print(f"rarity of {len(held_out)} held-out malignant rows: median {np.median(rarity):.3f}, "
          f"outside every ball: {int((rarity == 0).sum())}")
    print(f"computed in {elapsed:.2f} s")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="eap-anomaly", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="score auxiliary anomalies on scikit-learn's breast-cancer data")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=demo)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
