"""The evaluation protocol of the paper (SPEC section 9) as reusable functions.

Per dataset and seed: a split (test set, labelled training anomalies, three groups of
auxiliary candidates), each method's quality scores, AUC_QLT, and learning curves of a
classifier trained with the auxiliary points added in score order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.stats import rankdata
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.svm import SVC

from .baselines import METHODS, quality_scores
from ..scorer import EAPScorer

GROUPS = ("realistic", "indistinguishable", "unrealistic")
#: Evenly spaced positions of a learning curve.
CURVE_POINTS = 11
#: Metrics and whether higher is better.
METRICS = {"AUC_QLT": True, "AULC_G": True, "ACC_G": True, "AULC_P": False}


@dataclass
class Split:
    """One experiment's data, z-scored with the training statistics."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_aux: np.ndarray
    group: np.ndarray  # one of GROUPS per auxiliary row

    @property
    def good(self) -> np.ndarray:
        """Realistic candidates are the good ones; the other two groups are poor."""
        mask: np.ndarray = self.group == "realistic"
        return mask


def split_sizes(n_anomalies: int) -> Dict[str, int]:
    """t test anomalies (and t test normals), m labelled training anomalies, g per auxiliary group."""
    t = min(int(round(0.5 * n_anomalies)), 250)
    m = min(max(int(round(0.1 * n_anomalies)), 5), 50)
    g = min(int(round(0.4 * n_anomalies)), 250, n_anomalies - t - m)
    return {"t": t, "m": m, "g": g}


def zscore_params(reference: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``reference`` for z-scoring; a std below 1e-3 is replaced
    by 1, so near-constant columns are centred, not blown up (SPEC section 9)."""
    std = reference.std(0)
    return reference.mean(0), np.where(std < 1e-3, 1.0, std)


def map_to_dimension(X: np.ndarray, rows: np.ndarray, d: int, rng: np.random.Generator) -> np.ndarray:
    """Rows ``rows`` of X standardised (statistics of all X), then mapped to d features: PCA
    (fitted on at most 5000 rows) down, or a Gaussian random projection up."""
    mean, std = zscore_params(X)
    Z = (X[rows] - mean) / std
    if X.shape[1] >= d:
        fit_rows = rng.choice(X.shape[0], size=min(5000, X.shape[0]), replace=False)
        n_comp = min(d, fit_rows.size)
        pca = PCA(n_components=n_comp, random_state=0).fit((X[fit_rows] - mean) / std)
        return np.pad(pca.transform(Z), ((0, 0), (0, d - n_comp)))
    projected: np.ndarray = Z @ rng.normal(size=(X.shape[1], d)) / np.sqrt(X.shape[1])
    return projected


def unrealistic_pool(others: Sequence[np.ndarray], d: int, rng: np.random.Generator,
                     same_space: bool, per_dataset: int = 250) -> np.ndarray:
    """Up to ``per_dataset`` random rows of each other dataset. Tabular data are mapped to d
    features (``same_space=False``); image features from the same extractor are used as they are."""
    rows = []
    for X in others:
        take = rng.choice(X.shape[0], size=min(per_dataset, X.shape[0]), replace=False)
        rows.append(X[take] if same_space else map_to_dimension(X, take, d, rng))
    return np.vstack(rows)


def make_split(X: np.ndarray, y: np.ndarray, others: Sequence[np.ndarray], seed: int,
               same_space: bool = False, max_train_normals: int = 1000) -> Optional[Split]:
    """The SPEC section 9 split of one dataset for one seed, or None when g < 10.

    ``others`` are the feature matrices of the 5 other datasets that supply unrealistic rows.
    Tabular rows of other datasets are mapped to unit-scale standardised coordinates, the space
    the z-scored splits live in; image features are z-scored with the training statistics like
    every other split.
    """
    rng = np.random.default_rng(seed)
    anomalies = rng.permutation(np.flatnonzero(y == 1))
    normals = rng.permutation(np.flatnonzero(y == 0))
    s = split_sizes(anomalies.size)
    t, m, g = s["t"], s["m"], s["g"]
    if g < 10 or normals.size < t + g + 2:
        return None
    test = np.concatenate([anomalies[:t], normals[:t]])
    train_anomalies = anomalies[t:t + m]
    realistic = anomalies[t + m:t + m + g]
    indistinguishable = normals[t:t + g]
    train_normals = normals[t + g:t + g + max_train_normals]
    train = np.concatenate([train_normals, train_anomalies])

    mean, std = zscore_params(X[train])

    def z(rows: np.ndarray) -> np.ndarray:
        scaled: np.ndarray = (X[rows] - mean) / std
        return scaled

    pool = unrealistic_pool(others, X.shape[1], rng, same_space)
    unrealistic = pool[rng.choice(pool.shape[0], size=g, replace=pool.shape[0] < g)]
    if same_space:
        unrealistic = (unrealistic - mean) / std
    X_aux = np.vstack([z(realistic), z(indistinguishable), unrealistic])
    return Split(
        X_train=z(train), y_train=np.r_[np.zeros(train_normals.size), np.ones(m)].astype(np.int64),
        X_test=z(test), y_test=np.r_[np.ones(t), np.zeros(t)].astype(np.int64),
        X_aux=X_aux, group=np.repeat(np.array(GROUPS), g),
    )


def auc_qlt(quality: np.ndarray, good: np.ndarray) -> float:
    """ROC-AUC of the quality scores against good (realistic) vs poor candidates."""
    return float(roc_auc_score(good, quality))


def classifier_for(image: bool, seed: int) -> Callable[[], Any]:
    """RandomForest for tabular data, RBF SVC for image features (SPEC section 9)."""
    if image:
        return lambda: SVC(kernel="rbf")
    return lambda: RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)


def learning_curve(split: Split, order: np.ndarray, n_added: int,
                   make_model: Callable[[], Any], baseline: Optional[float] = None) -> np.ndarray:
    """Test accuracy after adding the first c auxiliary rows of ``order`` with label 1, at
    CURVE_POINTS evenly spaced c in [0, n_added]. ``baseline`` is the accuracy at c = 0 when
    already known (it does not depend on the order)."""
    counts = np.round(np.linspace(0, n_added, CURVE_POINTS)).astype(int)
    accuracy = np.empty(CURVE_POINTS)
    for i, c in enumerate(counts):
        if c == 0 and baseline is not None:
            accuracy[i] = baseline
            continue
        rows = order[:c]
        X = np.vstack([split.X_train, split.X_aux[rows]])
        y = np.r_[split.y_train, np.ones(c, dtype=np.int64)]
        accuracy[i] = make_model().fit(X, y).score_samples(split.X_test, split.y_test)
    return accuracy


def area(curve: np.ndarray) -> float:
    """Area under a learning curve on [0, 1] (trapezoids over the evenly spaced positions)."""
    return float(np.sum((curve[1:] + curve[:-1]) / 2) / (curve.size - 1))


def evaluate_split(split: Split, seed: int, image: bool = False,
                   methods: Sequence[str] = METHODS, scorer: Optional[EAPScorer] = None) -> List[Dict[str, Any]]:
    """Every method's metrics on one split: AUC_QLT; AULC_G and ACC_G over the first #good
    additions in descending quality; AULC_P over the first #poor additions in ascending quality
    (lower is better). Also returns the quality scores and curves for plotting."""
    scorer = scorer or EAPScorer(random_state=seed)
    scorer.fit(split.X_train, split.y_train)
    scores = quality_scores(scorer, split.X_train, split.X_aux, methods, random_state=seed)
    make_model = classifier_for(image, seed)
    baseline = make_model().fit(split.X_train, split.y_train).score_samples(split.X_test, split.y_test)
    n_good, n_poor = int(split.good.sum()), int((~split.good).sum())
    rows = []
    for method, q in scores.items():
        descending = np.argsort(-q, kind="stable")
        good_curve = learning_curve(split, descending, n_good, make_model, baseline)
        poor_curve = learning_curve(split, descending[::-1], n_poor, make_model, baseline)
        rows.append({"method": method, "AUC_QLT": auc_qlt(q, split.good),
                     "AULC_G": area(good_curve), "ACC_G": float(good_curve[-1]),
                     "AULC_P": area(poor_curve), "quality": q, "good_curve": good_curve,
                     "poor_curve": poor_curve})
    return rows


def add_ranks(rows: List[Dict[str, Any]], keys: Sequence[str] = ("dataset", "seed")) -> None:
    """Rank of each method within each experiment, per metric (1 = best; ties share the mean)."""
    experiments: Dict[Any, List[Dict[str, Any]]] = {}
    for row in rows:
        experiments.setdefault(tuple(row[k] for k in keys), []).append(row)
    for group in experiments.values():
        for metric, higher_better in METRICS.items():
            values = np.array([r[metric] for r in group])
            ranks = rankdata(-values if higher_better else values, method="average")
            for r, rank in zip(group, ranks):
                r[f"rank_{metric}"] = float(rank)


def suite_of(name: str) -> str:
    """"tabular" for ADBench Classical data, "image" for MVTec features (CV_by_* folders)."""
    return "image" if name.split("/")[0].startswith("CV_") else "tabular"


def other_datasets(name: str, names: Sequence[str], seed: int, count: int = 5) -> List[str]:
    """The datasets that supply unrealistic rows: ``count`` others of the same suite (for image
    features, other categories embedded by the same extractor), drawn with the seed."""
    folder = name.split("/")[0]
    if suite_of(name) == "image":
        pool = [n for n in names if n.split("/")[0] == folder and n != name]
    else:
        pool = [n for n in names if suite_of(n) == "tabular" and n != name]
    rng = np.random.default_rng(seed)
    return [pool[i] for i in sorted(rng.choice(len(pool), size=min(count, len(pool)), replace=False))]


def run_experiment(name: str, names: Sequence[str], seed: int, data_dir: str,
                   methods: Sequence[str] = METHODS, n_jobs: Optional[int] = 1) -> List[Dict[str, Any]]:
    """All methods on one dataset and seed; [] when the protocol does not accept the dataset."""
    from .datasets import load_dataset

    X, y = load_dataset(name, data_dir)
    image = suite_of(name) == "image"
    others = [load_dataset(o, data_dir)[0] for o in other_datasets(name, names, seed)]
    split = make_split(X, y, others, seed, same_space=image)
    if split is None:
        return []
    scorer = EAPScorer(random_state=seed, n_jobs=n_jobs)
    rows = evaluate_split(split, seed, image=image, methods=methods, scorer=scorer)
    for row in rows:
        row.update(dataset=name, suite=suite_of(name), seed=seed, group=split.group)
    return rows


def breakdown(rows: Sequence[Dict[str, Any]], method: str = "EAP", rival: str = "RARITY") -> str:
    """Markdown: mean AUC_QLT of every method per dataset folder (e.g. CV_by_ViT), and the
    datasets where ``rival`` has a higher mean AUC_QLT than ``method``."""
    folders = sorted({r["dataset"].split("/")[0] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = ["| folder | " + " | ".join(m.replace("|", chr(92) + "|") for m in methods) + " |",
             "|---|" + "---|" * len(methods)]
    for folder in folders:
        mine = [r for r in rows if r["dataset"].split("/")[0] == folder]
        cells = [f"{np.mean([float(r['AUC_QLT']) for r in mine if r['method'] == m]):.3f}" for m in methods]
        lines.append(f"| {folder} | " + " | ".join(cells) + " |")
    means: Dict[Any, List[float]] = {}
    for r in rows:
        means.setdefault((r["dataset"], r["method"]), []).append(float(r["AUC_QLT"]))
    if not {method, rival} <= set(methods):
        return "\n".join(lines)
    lines.append("")
    for folder in folders:
        names = sorted({r["dataset"] for r in rows if r["dataset"].split("/")[0] == folder})
        lost = [f"{n.split('/')[1]} ({np.mean(means[n, method]):.3f} vs {np.mean(means[n, rival]):.3f})"
                for n in names if np.mean(means[n, rival]) > np.mean(means[n, method])]
        lines.append(f"- {folder}: {rival} beats {method} on {len(lost)} of {len(names)}"
                     + (": " + ", ".join(lost) if lost else ""))
    return "\n".join(lines)


def summary_table(rows: Sequence[Dict[str, Any]]) -> str:
    """Markdown table laid out like the paper's Table 1: per suite, each method's mean metric and
    mean rank (AULC_P: lower is better)."""
    lines = []
    for suite in ("tabular", "image"):
        chosen = [r for r in rows if r["suite"] == suite]
        if not chosen:
            continue
        n_exp = len({(r["dataset"], r["seed"]) for r in chosen})
        n_data = len({r["dataset"] for r in chosen})
        lines += [f"**{suite}** ({n_data} datasets, {n_exp} experiments): mean (mean rank)", "",
                  "| method | " + " | ".join(f"{m} {'↑' if up else '↓'}" for m, up in METRICS.items()) + " |",
                  "|---|" + "---|" * len(METRICS)]
        for method in dict.fromkeys(r["method"] for r in chosen):
            mine = [r for r in chosen if r["method"] == method]
            cells = [f"{np.mean([r[m] for r in mine]):.3f} ({np.mean([r['rank_' + m] for r in mine]):.2f})"
                     for m in METRICS]
            lines.append(f"| {method.replace('|', chr(92) + '|')} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
