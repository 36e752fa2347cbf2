"""The README's main job: score three kinds of auxiliary anomalies on breast-cancer data.

Benign tumours are the normal class; a few malignant ones are the labelled training anomalies.
Candidates (SPEC section 9): realistic = held-out malignant rows, indistinguishable = held-out
benign rows, unrealistic = rows of other scikit-learn datasets (wine, digits) mapped to the same
number of features. A good quality score ranks the realistic ones first.
"""

from __future__ import annotations

import time
from typing import Dict

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import roc_auc_score

from .evaluation.protocol import map_to_dimension, zscore_params
from .scorer import score_auxiliary


def build_demo(seed: int = 0, n_labelled: int = 10, group: int = 50) -> Dict[str, np.ndarray]:
    data = load_breast_cancer()
    X, malignant = data.data, data.target == 0  # scikit-learn codes malignant as 0
    rng = np.random.default_rng(seed)
    benign = rng.permutation(np.flatnonzero(~malignant))
    sick = rng.permutation(np.flatnonzero(malignant))
    train = np.concatenate([benign[group:], sick[:n_labelled]])
    y_train = np.r_[np.zeros(benign.size - group), np.ones(n_labelled)].astype(int)
    others = np.vstack([map_to_dimension(D, np.arange(D.shape[0]), X.shape[1], rng)
                        for D in (load_wine().data, load_digits().data)])
    mean, std = zscore_params(X[train])
    groups = {
        "realistic": (X[sick[n_labelled:n_labelled + group]] - mean) / std,
        "indistinguishable": (X[benign[:group]] - mean) / std,
        "unrealistic": others[rng.choice(others.shape[0], group, replace=False)],
    }
    return {"X_train": (X[train] - mean) / std, "y_train": y_train, **groups}


def run(seed: int = 0) -> int:
    data = build_demo(seed)
    names = ["realistic", "indistinguishable", "unrealistic"]
    Z = np.vstack([data[name] for name in names])
    label = np.repeat(names, [data[name].shape[0] for name in names])
    start = time.perf_counter()
    result = score_auxiliary(data["X_train"], data["y_train"], Z, random_state=seed, return_details=True)
    elapsed = time.perf_counter() - start
    q = result.quality
    m = int(data["y_train"].sum())
    print(f"breast cancer (scikit-learn): {data['X_train'].shape[0] - m} benign + {m} labelled "
          f"malignant training rows, d = {Z.shape[1]}; {Z.shape[0]} candidates")
    print(f"k-hat = {result.k}, squashing lambda = {result.threshold:.4g}, scored in {elapsed:.2f} s\n")
    print(f"{'group':<18} {'mean quality':>12} {'mean P(y=1|x)':>14} {'mean P_x':>10}")
    for name in names:
        sel = label == name
        print(f"{name:<18} {q[sel].mean():>12.4f} {result.p_anomaly[sel].mean():>14.4f} "
              f"{result.density[sel].mean():>10.2e}")
    print(f"\nAUC_QLT (realistic = good, the others = poor): "
          f"{roc_auc_score(label == 'realistic', q):.3f}")
    order = np.argsort(-q, kind="stable")
    for title, rows in (("best", order[:5]), ("worst", order[-5:])):
        listed = ", ".join(f"#{i} {label[i]} {q[i]:.3f}" for i in rows)
        print(f"{title} 5: {listed}")
    return 0
