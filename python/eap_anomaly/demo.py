"""The README's main job: score three kinds of auxiliary anomalies on breast-cancer data, then
compare three generators of synthetic anomalies.

Benign tumours are the normal class; a few malignant ones are the labelled training anomalies.
Candidates (SPEC section 9): realistic = held-out malignant rows, indistinguishable = held-out
benign rows, unrealistic = rows of other scikit-learn datasets (wine, digits) mapped to the same
number of features. A good quality score ranks the realistic ones first.

Generators (:func:`generate`): SMOTE-style interpolation between a training anomaly and one of its
5 nearest training anomalies; Gaussian perturbation (sd 0.5 in z-scored units) of training
normals; uniform noise in the training data's bounding box. :func:`eap_anomaly.compare_sets`
tabulates their quality distributions.
"""

from __future__ import annotations

import time
from typing import Dict

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.metrics import roc_auc_score

from .evaluation.protocol import map_to_dimension, zscore_params
from .compare import compare_sets
from .scorer import EAPScorer, score_auxiliary


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


def generate(X_train: np.ndarray, y_train: np.ndarray, n: int, seed: int = 0) -> Dict[str, np.ndarray]:
    """Three generators of ``n`` synthetic anomalies each, from the training data."""
    rng = np.random.default_rng(seed)
    A, N = X_train[y_train == 1], X_train[y_train == 0]
    # SMOTE: a random training anomaly, one of its 5 nearest other anomalies, a random point between
    dist = ((A[:, None, :] - A[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(dist, np.inf)
    near = np.argsort(dist, axis=1)[:, :min(5, A.shape[0] - 1)]
    a = rng.integers(0, A.shape[0], n)
    b = near[a, rng.integers(0, near.shape[1], n)]
    smote = A[a] + rng.random((n, 1)) * (A[b] - A[a])
    jitter = N[rng.integers(0, N.shape[0], n)] + rng.normal(scale=0.5, size=(n, N.shape[1]))
    low, high = X_train.min(axis=0), X_train.max(axis=0)
    uniform = rng.uniform(low, high, size=(n, X_train.shape[1]))
    return {"smote-anomalies": smote, "perturbed-normals": jitter, "uniform-box": uniform}


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

    print("\nComparing three generators of 200 synthetic anomalies each (eap_anomaly.compare_sets):\n")
    scorer = EAPScorer(random_state=seed).fit(data["X_train"], data["y_train"])
    comparison = compare_sets(scorer, generate(data["X_train"], data["y_train"], 200, seed),
                              random_state=seed)
    print(comparison.to_markdown())
    return 0
