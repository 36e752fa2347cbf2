"""The evaluation part of the package (SPEC sections 8-9): datasets, baselines, the split
protocol, AUC_QLT, learning curves, ranks, the summary table and ``eap-anomaly evaluate``.

Everything runs on small synthetic data or scikit-learn's shipped datasets (no network); the one
test on the real ADBench files skips when ``../shared/datasets/adbench`` is absent.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from eap_anomaly import EAPScorer
from eap_anomaly.evaluation import datasets as eap_datasets
from eap_anomaly.evaluation import protocol as evaluation
from eap_anomaly.evaluation.baselines import METHODS, RARITY_K, quality_scores
from eap_anomaly.cli import main, select_datasets
from eap_anomaly.evaluation.datasets import ENV_VAR, data_dir, list_datasets, load_dataset
from eap_anomaly.evaluation.journal import experiment_path, load_experiment, save_experiment
from eap_anomaly.evaluation.protocol import (
    CURVE_POINTS,
    GROUPS,
    METRICS,
    Split,
    add_ranks,
    breakdown,
    area,
    auc_qlt,
    classifier_for,
    learning_curve,
    make_split,
    other_datasets,
    split_sizes,
    suite_of,
    summary_table,
)
from helpers import p_atol_of
from reference import ref_knn_radii, ref_rarity
from reference_pipeline import ref_score_auxiliary

REPO_ROOT = Path(__file__).resolve().parents[1]
ADBENCH = REPO_ROOT.parent / "shared" / "datasets" / "adbench"
ERROR_PREFIX = "eap-anomaly: error:"


# --------------------------------------------------------------------------- helpers


def synthetic(n_normals: int, n_anomalies: int, seed: int = 0) -> tuple:
    """Rows with a unique id in column 0, the label in column 1, a constant column 2, a
    near-constant column 3 (std ~1e-5) and two informative columns; anomalies at random rows."""
    rng = np.random.default_rng(seed)
    n = n_normals + n_anomalies
    y = np.zeros(n, dtype=np.int64)
    y[rng.choice(n, size=n_anomalies, replace=False)] = 1
    X = np.empty((n, 6))
    X[:, 0] = np.arange(n)
    X[:, 1] = y
    X[:, 2] = 3.0
    X[:, 3] = 7.0 + 1e-5 * rng.normal(size=n)
    X[:, 4] = rng.normal(size=n) * 4.0 + 10.0 + 3.0 * y
    X[:, 5] = rng.normal(size=n) * 0.5 - 2.0
    return X, y


def other_matrices(seed: int = 1) -> List[np.ndarray]:
    """Five "other datasets" of varied width (fewer and more columns than 6) and far away."""
    rng = np.random.default_rng(seed)
    shapes = [(40, 3), (300, 8), (25, 12), (60, 6), (80, 2)]
    return [rng.normal(loc=1000.0, scale=50.0, size=s) for s in shapes]


def parts(split: Split) -> Dict[str, np.ndarray]:
    """The z-scored rows of each part of a split."""
    return {
        "test": split.X_test,
        "train": split.X_train,
        "realistic": split.X_aux[split.group == "realistic"],
        "indistinguishable": split.X_aux[split.group == "indistinguishable"],
    }


def recover_ids(split: Split, n_rows: int) -> Dict[str, np.ndarray]:
    """Original row ids of every part of a split that uses ALL rows of the dataset: the union of
    the z-scored id columns is an affine image of 0..n_rows-1."""
    p = parts(split)
    z = np.concatenate([v[:, 0] for v in p.values()])
    lo, hi = z.min(), z.max()
    out = {}
    for name, v in p.items():
        ids = (v[:, 0] - lo) / (hi - lo) * (n_rows - 1)
        np.testing.assert_allclose(ids, np.rint(ids), atol=1e-6)
        out[name] = np.rint(ids).astype(np.int64)
    return out


def write_npz(path: Path, X: Any, y: Any, **extra: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=X, y=y, **extra)


def unescaped_cells(line: str) -> List[str]:
    """Cells of a markdown table line, splitting only at pipes not escaped with a backslash."""
    return re.split(r"(?<!\\)\|", line)


# --------------------------------------------------------------------------- split_sizes

# A: (t, m, g), worked out by hand from SPEC section 9 (no half-way roundings).
HAND_SIZES = {
    10: (5, 5, 0),        # m clamped up to 5, nothing left for the groups
    28: (14, 5, 9),       # g = A - t - m = 9 < 10: not used
    30: (15, 5, 10),      # smallest accepted g
    40: (20, 5, 15),      # m = round(4) clamped to 5
    47: (24, 5, 18),
    60: (30, 6, 24),
    100: (50, 10, 40),
    200: (100, 20, 80),
    499: (250, 50, 199),  # round(249.5) = 250 either way; g limited by A - t - m
    500: (250, 50, 200),
    550: (250, 50, 220),  # t capped at 250, m capped at 50
    600: (250, 50, 240),
    1000: (250, 50, 250),  # every cap reached
    10000: (250, 50, 250),
}


@pytest.mark.parametrize("A", sorted(HAND_SIZES))
def test_split_sizes_hand_checked(A: int) -> None:
    t, m, g = HAND_SIZES[A]
    assert split_sizes(A) == {"t": t, "m": m, "g": g}


def test_split_sizes_match_spec_formulas() -> None:
    # even A: 0.5 A, 0.1 A and 0.4 A are never half-way between integers
    for A in range(0, 3001, 2):
        t = min(A // 2, 250)
        m = min(max(round(A / 10), 5), 50)
        g = min(round(0.4 * A), 250, A - t - m)
        assert split_sizes(A) == {"t": t, "m": m, "g": g}, A
    for A in range(30, 3001):
        s = split_sizes(A)
        assert 0 <= s["t"] <= 250 and 5 <= s["m"] <= 50 and s["g"] <= 250
        assert s["t"] + s["m"] + s["g"] <= A


# --------------------------------------------------------------------------- make_split


def test_make_split_parts_disjoint_cover_and_labels() -> None:
    # A = 100: t = 50, m = 10, g = 40 = A - t - m, so every anomaly is used; 240 normals:
    # 50 test + 40 indistinguishable + 150 training normals (< cap): every row is used once.
    n_normals, A = 240, 100
    X, y = synthetic(n_normals, A)
    split = make_split(X, y, other_matrices(), seed=3)
    assert split is not None
    t, m, g = 50, 10, 40
    n_train_normals = n_normals - t - g

    assert split.X_test.shape == (2 * t, 6)
    np.testing.assert_array_equal(split.y_test, np.r_[np.ones(t), np.zeros(t)])
    assert split.X_train.shape == (n_train_normals + m, 6)
    assert split.y_train.sum() == m and split.y_train.size == n_train_normals + m
    assert split.X_aux.shape == (3 * g, 6)
    for name in GROUPS:
        assert (split.group == name).sum() == g
    np.testing.assert_array_equal(split.good, split.group == "realistic")

    ids = recover_ids(split, X.shape[0])
    everything = np.concatenate(list(ids.values()))
    np.testing.assert_array_equal(np.sort(everything), np.arange(X.shape[0]))  # disjoint, all used

    np.testing.assert_array_equal(y[ids["test"]], split.y_test)
    np.testing.assert_array_equal(y[ids["train"]], split.y_train)
    assert (y[ids["realistic"]] == 1).all()
    assert (y[ids["indistinguishable"]] == 0).all()

    # every part is z-scored with the training mean/std (std < 1e-3 -> 1)
    mean, std = X[ids["train"]].mean(0), X[ids["train"]].std(0)
    std = np.where(std < 1e-3, 1.0, std)
    for name, rows in parts(split).items():
        np.testing.assert_allclose(rows, (X[ids[name]] - mean) / std, rtol=1e-10, atol=1e-10)


def test_make_split_z_scores_with_training_statistics() -> None:
    X, y = synthetic(240, 100)
    split = make_split(X, y, other_matrices(), seed=0)
    assert split is not None
    Xt = split.X_train
    informative = [0, 1, 4, 5]
    np.testing.assert_allclose(Xt[:, informative].mean(0), 0.0, atol=1e-10)
    np.testing.assert_allclose(Xt[:, informative].std(0), 1.0, atol=1e-10)
    # the constant column: std 0 -> divisor 1, so exactly 0 everywhere (not NaN)
    for rows in parts(split).values():
        assert (rows[:, 2] == 0.0).all()
    # the near-constant column (std ~1e-5 < 1e-3) is only centred, not blown up to unit scale
    assert 0 < Xt[:, 3].std() < 1e-3
    for rows in parts(split).values():
        assert np.abs(rows[:, 3]).max() < 1e-3
    # the label column takes the two training values in every part (same affine map)
    assert set(np.unique(Xt[:, 1])) == set(np.unique(split.X_test[:, 1]))
    assert np.isfinite(split.X_aux).all()


def test_make_split_caps_training_normals_and_stays_disjoint() -> None:
    X, y = synthetic(240, 100)
    split = make_split(X, y, other_matrices(), seed=5, max_train_normals=30)
    assert split is not None
    t, m, g = 50, 10, 40
    assert split.X_train.shape[0] == 30 + m
    assert (split.y_train == 0).sum() == 30 and (split.y_train == 1).sum() == m
    assert split.X_test.shape[0] == 2 * t and split.X_aux.shape[0] == 3 * g
    ids = np.concatenate([v[:, 0] for v in parts(split).values()])
    # z-scoring is affine per column: distinct ids stay distinct, equal ids stay equal
    assert np.unique(ids).size == ids.size == 2 * t + 30 + m + 2 * g


@pytest.mark.parametrize("A, accepted", [(28, False), (30, True), (20, False)])
def test_make_split_none_when_g_below_10(A: int, accepted: bool) -> None:
    X, y = synthetic(200, A)
    split = make_split(X, y, other_matrices(), seed=0)
    assert (split is not None) == accepted
    if accepted:
        assert split.X_aux.shape[0] == 3 * split_sizes(A)["g"] == 30


def test_make_split_seeded() -> None:
    X, y = synthetic(240, 100)
    others = other_matrices()
    a, b = make_split(X, y, others, seed=7), make_split(X, y, others, seed=7)
    c = make_split(X, y, others, seed=8)
    assert a is not None and b is not None and c is not None
    for field in ("X_train", "y_train", "X_test", "y_test", "X_aux", "group"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X_test, c.X_test)
    assert not np.array_equal(a.X_aux, c.X_aux)


def test_make_split_unrealistic_rows_mapped_to_unit_scale() -> None:
    # other datasets centred at 1000 with scale 50 (widths 2..12 around d = 6): tabular rows are
    # standardised and mapped to d features, so they are of unit scale, not ~1000 / train std
    X, y = synthetic(240, 100)
    split = make_split(X, y, other_matrices(), seed=2)
    assert split is not None
    unrealistic = split.X_aux[split.group == "unrealistic"]
    assert unrealistic.shape == (40, 6)
    assert np.isfinite(unrealistic).all()
    assert np.abs(unrealistic).max() < 25
    assert np.unique(unrealistic, axis=0).shape[0] > 1


def test_make_split_same_space_uses_training_statistics() -> None:
    n_normals, A = 240, 100
    X, y = synthetic(n_normals, A)
    rng = np.random.default_rng(11)
    others = [rng.normal(loc=50.0, size=(n, 6)) for n in (30, 70, 45, 20, 90)]
    split = make_split(X, y, others, seed=4, same_space=True)
    assert split is not None
    ids = recover_ids(split, X.shape[0])
    mean, std = X[ids["train"]].mean(0), X[ids["train"]].std(0)
    std = np.where(std < 1e-3, 1.0, std)
    unrealistic = split.X_aux[split.group == "unrealistic"]
    assert unrealistic.shape == (40, 6)
    back = unrealistic * std + mean
    pool = np.vstack(others)
    # every unrealistic row is a row of one of the other datasets, z-scored with training stats
    dist = np.abs(back[:, None, :] - pool[None, :, :]).max(axis=2)
    assert (dist.min(axis=1) < 1e-8).all()


def test_make_split_on_sklearn_breast_cancer() -> None:
    bc = load_breast_cancer()
    y = (bc.target == 0).astype(np.int64)  # 212 malignant = anomalies, 357 benign
    others = [load_wine().data, load_iris().data, load_diabetes().data, load_digits().data]
    split = make_split(bc.data, y, others, seed=0)
    assert split is not None
    t, m, g = 106, 21, 85
    assert split_sizes(212) == {"t": t, "m": m, "g": g}
    assert split.X_test.shape == (2 * t, 30) and split.y_test.sum() == t
    assert split.X_train.shape == (357 - t - g + m, 30) and split.y_train.sum() == m
    assert split.X_aux.shape == (3 * g, 30)
    for name in GROUPS:
        assert (split.group == name).sum() == g
    assert np.isfinite(split.X_aux).all()
    np.testing.assert_allclose(split.X_train.mean(0), 0.0, atol=1e-10)
    np.testing.assert_allclose(split.X_train.std(0), 1.0, atol=1e-10)
    # rows of the original data are disjoint between test, train and the first two groups
    rows = np.vstack(list(parts(split).values()))
    assert np.unique(rows, axis=0).shape[0] == rows.shape[0]


def test_make_split_on_sklearn_wine() -> None:
    wine = load_wine()
    y = (wine.target == 2).astype(np.int64)  # 48 anomalies, 130 normals
    others = [load_breast_cancer().data, load_iris().data, load_diabetes().data]
    split = make_split(wine.data, y, others, seed=1)
    assert split is not None
    t, m, g = 24, 5, 19
    assert split_sizes(48) == {"t": t, "m": m, "g": g}
    assert split.X_test.shape == (2 * t, 13)
    assert split.X_train.shape == (130 - t - g + m, 13) and split.y_train.sum() == m
    assert split.X_aux.shape == (3 * g, 13)
    rows = np.vstack(list(parts(split).values()))
    assert np.unique(rows, axis=0).shape[0] == rows.shape[0]


# --------------------------------------------------------------------------- AUC_QLT, curves


def test_auc_qlt_hand_checked() -> None:
    # good/poor pairs: (0.9 > 0.8), (0.9 > 0.1), (0.3 < 0.8), (0.3 > 0.1) -> 3 of 4
    assert auc_qlt(np.array([0.9, 0.8, 0.3, 0.1]), np.array([1, 0, 1, 0])) == pytest.approx(0.75)
    assert auc_qlt(np.array([0.9, 0.8, 0.3, 0.1]), np.array([True, False, True, False])) == pytest.approx(0.75)
    assert auc_qlt(np.array([0.5, 0.5, 0.2]), np.array([1, 0, 0])) == pytest.approx(0.75)  # tie = 1/2
    assert auc_qlt(np.array([0.1, 0.2, 0.3]), np.array([0, 0, 1])) == 1.0


class Recorder:
    """A deterministic stand-in model: remembers what it was fitted on and scores the number of
    training rows / 100."""

    def __init__(self, log: List[Any]) -> None:
        self.log = log

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Recorder":
        self.log.append(("fit", X.copy(), y.copy()))
        self.n = X.shape[0]
        return self

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        self.log.append(("score", X.copy(), y.copy()))
        return self.n / 100


def tiny_split(n_aux: int = 20) -> Split:
    rng = np.random.default_rng(0)
    X_aux = np.c_[100.0 + np.arange(n_aux), rng.normal(size=n_aux)]
    return Split(
        X_train=np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),
        y_train=np.array([0, 0, 0, 1]),
        X_test=np.array([[0.5, 0.5], [2.5, 2.5], [9.0, 9.0]]),
        y_test=np.array([0, 0, 1]),
        X_aux=X_aux,
        group=np.repeat(np.array(GROUPS), n_aux // 3 + 1)[:n_aux],
    )


def check_fits(log: List[Any], split: Split, order: np.ndarray, counts: List[int]) -> None:
    fits = [entry for entry in log if entry[0] == "fit"]
    scores = [entry for entry in log if entry[0] == "score"]
    assert len(fits) == len(scores) == len(counts)
    for (_, X, y), c in zip(fits, counts):
        np.testing.assert_array_equal(X, np.vstack([split.X_train, split.X_aux[order[:c]]]))
        np.testing.assert_array_equal(y, np.r_[split.y_train, np.ones(c)])
    for _, X, y in scores:
        np.testing.assert_array_equal(X, split.X_test)
        np.testing.assert_array_equal(y, split.y_test)


def test_learning_curve_adds_rows_in_order() -> None:
    split = tiny_split()
    order = np.random.default_rng(3).permutation(20)
    log: List[Any] = []
    curve = learning_curve(split, order, 20, lambda: Recorder(log))
    counts = list(range(0, 21, 2))
    assert curve.shape == (CURVE_POINTS,) == (11,)
    np.testing.assert_allclose(curve, (4 + np.array(counts)) / 100)
    check_fits(log, split, order, counts)


def test_learning_curve_baseline_and_uneven_counts() -> None:
    split = tiny_split()
    order = np.arange(20)[::-1]
    log: List[Any] = []
    curve = learning_curve(split, order, 12, lambda: Recorder(log), baseline=0.77)
    counts = [0, 1, 2, 4, 5, 6, 7, 8, 10, 11, 12]  # round(linspace(0, 12, 11))
    assert curve.shape == (CURVE_POINTS,)
    assert curve[0] == 0.77
    np.testing.assert_allclose(curve[1:], (4 + np.array(counts[1:])) / 100)
    check_fits(log, split, order, counts[1:])  # the baseline position is not refitted


def test_learning_curve_real_classifier() -> None:
    rng = np.random.default_rng(0)
    X_train = np.r_[rng.normal(size=(30, 2)), rng.normal(loc=3.0, size=(5, 2))]
    y_train = np.r_[np.zeros(30), np.ones(5)].astype(np.int64)
    X_test = np.r_[rng.normal(size=(10, 2)), rng.normal(loc=3.0, size=(10, 2))]
    y_test = np.r_[np.zeros(10), np.ones(10)].astype(np.int64)
    X_aux = np.r_[rng.normal(loc=3.0, size=(10, 2)), rng.normal(size=(10, 2)), rng.normal(loc=-8, size=(10, 2))]
    split = Split(X_train, y_train, X_test, y_test, X_aux, np.repeat(np.array(GROUPS), 10))
    make_model = lambda: KNeighborsClassifier(n_neighbors=1)  # noqa: E731
    order = np.arange(30)
    curve = learning_curve(split, order, 10, make_model)
    assert curve.shape == (CURVE_POINTS,)
    assert ((curve >= 0) & (curve <= 1)).all()
    assert curve[0] == make_model().fit(X_train, y_train).score(X_test, y_test)
    # adding the normal-looking rows with label 1 (indistinguishable) hurts the test accuracy
    bad = learning_curve(split, np.r_[10:20, 0:10, 20:30], 10, make_model)
    assert bad[-1] < curve[-1]


def test_area() -> None:
    assert area(np.full(CURVE_POINTS, 0.7)) == pytest.approx(0.7)
    assert area(np.linspace(0, 1, CURVE_POINTS)) == pytest.approx(0.5)
    step = np.zeros(CURVE_POINTS)
    step[-1] = 1.0
    assert area(step) == pytest.approx(0.05)  # one trapezoid (0 + 1) / 2 of width 1/10


def test_classifier_for() -> None:
    rf = classifier_for(False, 3)()
    assert isinstance(rf, RandomForestClassifier) and rf.n_estimators == 100 and rf.random_state == 3
    svc = classifier_for(True, 3)()
    assert isinstance(svc, SVC) and svc.kernel == "rbf"
    assert classifier_for(False, 3)() is not rf  # a fresh model per call


def test_suite_of() -> None:
    assert suite_of("Classical/4_breastw") == "tabular"
    assert suite_of("CV_by_ViT/MVTec-AD_bottle") == "image"
    assert suite_of("CV_by_ResNet18/MVTec-AD_tile") == "image"


# --------------------------------------------------------------------------- baselines


@pytest.fixture(scope="module")
def baseline_data() -> tuple:
    rng = np.random.default_rng(5)
    X_train = np.r_[rng.normal(size=(150, 3)), rng.normal(loc=3.0, size=(10, 3))]
    y_train = np.r_[np.zeros(150), np.ones(10)].astype(np.int64)
    Z = np.r_[rng.normal(loc=3.0, size=(20, 3)), rng.normal(size=(20, 3)), rng.normal(scale=6.0, size=(20, 3))]
    return X_train, y_train, Z


@pytest.fixture(scope="module")
def fitted(baseline_data: tuple) -> tuple:
    X_train, y_train, Z = baseline_data
    # scikit-learn's forest, as the references fit it
    scorer = EAPScorer(prior="sklearn", random_state=0, n_jobs=1).fit(X_train, y_train)
    return scorer, X_train, Z


@pytest.fixture(scope="module")
def expected_quality(baseline_data: tuple) -> Dict[str, Any]:
    """The baselines of SPEC 8 from the slow references (tests/reference*.py), not the package:
    the details of ``ref_score_auxiliary`` with the scorer's settings, and RARITY from the
    reference k-NN radii and rarity. (They agree with the package to ~1e-16 relative here, so
    the comparisons keep a 1e-12 relative tolerance.)"""
    X_train, y_train, Z = baseline_data
    ref = ref_score_auxiliary(X_train, y_train, Z, random_state=0)
    return {
        "EAP": ref["quality"],
        "P_x": ref["density"],
        "P_y|x": ref["p_anomaly"],
        "P_y|x + n*P_x": X_train.shape[0] * ref["density"] + ref["p_anomaly"],
        "RARITY": ref_rarity(Z, X_train, ref_knn_radii(X_train, 10)),
        "atol": p_atol_of(ref),  # SPEC 4.3: the kernel cut-off's error on P(y=1|x) and phi
    }


def test_quality_scores_match_the_references(fitted: tuple, expected_quality: Dict[str, Any]) -> None:
    scorer, X_train, Z = fitted
    q = quality_scores(scorer, X_train, Z, random_state=1)
    assert list(q) == list(METHODS)
    for values in q.values():
        assert values.shape == (Z.shape[0],)
    rtol, atol = 1e-12, expected_quality["atol"]
    np.testing.assert_allclose(q["EAP"], expected_quality["EAP"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(q["P_x"], expected_quality["P_x"], rtol=rtol, atol=0)
    np.testing.assert_allclose(q["P_y|x"], expected_quality["P_y|x"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(q["P_y|x + n*P_x"], expected_quality["P_y|x + n*P_x"], rtol=rtol, atol=atol)
    assert (expected_quality["P_x"] > 0).any() and (expected_quality["P_x"] == 0).any()
    assert RARITY_K == 10
    np.testing.assert_allclose(q["RARITY"], expected_quality["RARITY"], rtol=1e-12, atol=0)
    assert (q["RARITY"] > 0).any()


def test_quality_scores_random_and_subsets(fitted: tuple, expected_quality: Dict[str, Any]) -> None:
    scorer, X_train, Z = fitted
    a = quality_scores(scorer, X_train, Z, methods=("RANDOM",), random_state=4)
    b = quality_scores(scorer, X_train, Z, methods=("RANDOM",), random_state=4)
    c = quality_scores(scorer, X_train, Z, methods=("RANDOM",), random_state=5)
    assert list(a) == ["RANDOM"]
    np.testing.assert_array_equal(a["RANDOM"], b["RANDOM"])
    assert not np.array_equal(a["RANDOM"], c["RANDOM"])
    assert a["RANDOM"].shape == (Z.shape[0],)
    assert ((a["RANDOM"] >= 0) & (a["RANDOM"] < 1)).all()
    assert np.unique(a["RANDOM"]).size == Z.shape[0]
    sub = quality_scores(scorer, X_train, Z, methods=("P_x", "EAP"))
    assert list(sub) == ["P_x", "EAP"]
    np.testing.assert_allclose(sub["EAP"], expected_quality["EAP"], rtol=1e-12, atol=expected_quality["atol"])
    np.testing.assert_allclose(sub["P_x"], expected_quality["P_x"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("methods", [("EAP", "KNN"), ("eap",), ("P_y|x + N*P_x",)])
def test_quality_scores_unknown_method(fitted: tuple, methods: tuple) -> None:
    scorer, X_train, Z = fitted
    with pytest.raises(ValueError, match="methods"):
        quality_scores(scorer, X_train, Z, methods=methods)


# --------------------------------------------------------------------------- add_ranks


def metric_row(method: str, dataset: str, seed: int, auc: float, aulc_g: float, acc_g: float,
               aulc_p: float, suite: str = "tabular") -> Dict[str, Any]:
    return {"method": method, "dataset": dataset, "seed": seed, "suite": suite,
            "AUC_QLT": auc, "AULC_G": aulc_g, "ACC_G": acc_g, "AULC_P": aulc_p}


def test_add_ranks_hand_checked() -> None:
    rows = [
        metric_row("A", "d1", 0, 0.9, 0.6, 0.8, 0.2),
        metric_row("B", "d1", 0, 0.7, 0.6, 0.9, 0.1),
        metric_row("C", "d1", 0, 0.9, 0.5, 0.7, 0.3),
        # another experiment, ranked on its own
        metric_row("A", "d1", 1, 0.1, 0.1, 0.1, 0.9),
        metric_row("B", "d1", 1, 0.2, 0.2, 0.2, 0.8),
        metric_row("C", "d1", 1, 0.3, 0.3, 0.3, 0.7),
    ]
    add_ranks(rows)
    got = [(r["rank_AUC_QLT"], r["rank_AULC_G"], r["rank_ACC_G"], r["rank_AULC_P"]) for r in rows]
    assert got == [
        (1.5, 1.5, 2.0, 2.0),   # ties share the mean rank; AULC_P: lower is better
        (3.0, 1.5, 1.0, 1.0),
        (1.5, 3.0, 3.0, 3.0),
        (3.0, 3.0, 3.0, 3.0),
        (2.0, 2.0, 2.0, 2.0),
        (1.0, 1.0, 1.0, 1.0),
    ]


def test_add_ranks_custom_keys() -> None:
    rows = [metric_row("A", "d1", 0, 0.9, 0.5, 0.5, 0.5), metric_row("A", "d2", 0, 0.1, 0.5, 0.5, 0.5)]
    add_ranks([dict(r) for r in rows])
    add_ranks(rows, keys=("seed",))  # both rows in one experiment now
    assert [r["rank_AUC_QLT"] for r in rows] == [1.0, 2.0]


# --------------------------------------------------------------------------- datasets


@pytest.fixture()
def data_folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    write_npz(tmp_path / "Classical" / "2_b.npz", rng.normal(size=(10, 3)), np.r_[np.zeros(8), np.ones(2)].astype(np.int32))
    write_npz(tmp_path / "Classical" / "10_a.npz", np.arange(12, dtype=np.int64).reshape(6, 2), np.array([0, 1, 0, 0, 0, 1]))
    write_npz(tmp_path / "CV_by_ViT" / "MVTec-AD_bottle.npz", rng.normal(size=(5, 4)), np.array([0, 0, 0, 1, 1]))
    (tmp_path / "Classical" / "README.txt").write_text("not a dataset")
    return tmp_path


def test_list_datasets(data_folder: Path) -> None:
    assert list_datasets(str(data_folder)) == ["CV_by_ViT/MVTec-AD_bottle", "Classical/10_a", "Classical/2_b"]
    assert list_datasets(str(data_folder), suite="Classical") == ["Classical/10_a", "Classical/2_b"]
    with pytest.raises(ValueError, match="suite"):
        list_datasets(str(data_folder), suite="NLP_by_BERT")


def test_load_dataset(data_folder: Path) -> None:
    X, y = load_dataset("Classical/10_a", str(data_folder))
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, np.arange(12).reshape(6, 2))
    np.testing.assert_array_equal(y, [0, 1, 0, 0, 0, 1])
    X, y = load_dataset("Classical/2_b", str(data_folder))
    assert X.shape == (10, 3) and y.sum() == 2 and y.dtype == np.int64


def test_data_dir_from_environment(data_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(data_folder))
    assert ENV_VAR == "EAP_ANOMALY_DATA"
    assert data_dir() == str(data_folder)
    assert list_datasets() == list_datasets(str(data_folder))
    X, _ = load_dataset("CV_by_ViT/MVTec-AD_bottle")
    assert X.shape == (5, 4)
    # an explicit folder wins over the environment
    other = data_folder / "Classical"
    assert data_dir(str(other)) == str(other)


def test_data_dir_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(ValueError, match=ENV_VAR):
        data_dir()
    with pytest.raises(ValueError, match="not a directory"):
        data_dir(str(tmp_path / "missing"))
    (tmp_path / "file.npz").write_bytes(b"")
    with pytest.raises(ValueError, match="not a directory"):
        list_datasets(str(tmp_path / "file.npz"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not a directory"):
        list_datasets()


def test_load_dataset_errors(tmp_path: Path) -> None:
    X = np.zeros((4, 2))
    write_npz(tmp_path / "labels.npz", X, np.array([0, 1, 2, 0]))
    write_npz(tmp_path / "nan.npz", np.r_[X[:3], [[np.nan, 0.0]]], np.array([0, 1, 0, 0]))
    write_npz(tmp_path / "inf.npz", np.r_[X[:3], [[np.inf, 0.0]]], np.array([0, 1, 0, 0]))
    write_npz(tmp_path / "short.npz", X, np.array([0, 1, 0]))
    write_npz(tmp_path / "flat.npz", np.zeros(4), np.array([0, 1, 0, 0]))
    np.savez(tmp_path / "nokeys.npz", data=X, labels=np.array([0, 1, 0, 0]))
    np.savez(tmp_path / "noy.npz", X=X)
    folder = str(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        load_dataset("absent", folder)
    with pytest.raises(ValueError, match="not found"):
        load_dataset("Classical/absent", folder)
    for name in ("nokeys", "noy"):
        with pytest.raises(ValueError, match="'X' and 'y'"):
            load_dataset(name, folder)
    with pytest.raises(ValueError, match="0/1"):
        load_dataset("labels", folder)
    for name in ("nan", "inf"):
        with pytest.raises(ValueError, match="NaN or infinity"):
            load_dataset(name, folder)
    for name in ("short", "flat"):
        with pytest.raises(ValueError, match="2-D"):
            load_dataset(name, folder)


def test_datasets_module_bundles_nothing() -> None:
    # no data shipped with the package: the module only knows the env var name
    assert eap_datasets.ENV_VAR == "EAP_ANOMALY_DATA"


# --------------------------------------------------------------------------- other_datasets

CATEGORIES = ["bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather", "pill"]
NAMES = ([f"Classical/{i}_set{i}" for i in range(1, 10)]
         + [f"CV_by_ViT/MVTec-AD_{c}" for c in CATEGORIES]
         + [f"CV_by_ResNet18/MVTec-AD_{c}" for c in CATEGORIES])


@pytest.mark.parametrize("name", ["Classical/3_set3", "CV_by_ViT/MVTec-AD_grid", "CV_by_ResNet18/MVTec-AD_bottle"])
def test_other_datasets_same_suite(name: str) -> None:
    folder = name.split("/")[0]
    draws = set()
    for seed in range(10):
        others = other_datasets(name, NAMES, seed)
        assert len(others) == len(set(others)) == 5
        assert name not in others
        assert all(o in NAMES for o in others)
        if folder.startswith("CV_"):
            assert all(o.split("/")[0] == folder for o in others)  # same extractor
        else:
            assert all(o.startswith("Classical/") for o in others)
        assert other_datasets(name, NAMES, seed) == others  # seeded
        draws.add(tuple(others))
    assert len(draws) > 1  # the seed matters


def test_other_datasets_small_pool() -> None:
    names = ["Classical/a", "Classical/b", "Classical/c", "CV_by_ViT/x"]
    assert sorted(other_datasets("Classical/b", names, 0)) == ["Classical/a", "Classical/c"]
    assert other_datasets("CV_by_ViT/x", names, 0) == []


# --------------------------------------------------------------------------- summary_table

TABLE_METHODS = ["EAP", "P_y|x", "P_y|x + n*P_x"]


def summary_rows() -> List[Dict[str, Any]]:
    rows = []
    experiments = [("tabular", "Classical/1_a", 0), ("tabular", "Classical/1_a", 1),
                   ("tabular", "Classical/2_b", 0), ("image", "CV_by_ViT/MVTec-AD_pill", 0)]
    aucs = {("Classical/1_a", 0): 0.9, ("Classical/1_a", 1): 0.7, ("Classical/2_b", 0): 0.8,
            ("CV_by_ViT/MVTec-AD_pill", 0): 0.6}
    for suite, dataset, seed in experiments:
        for i, method in enumerate(TABLE_METHODS):
            # EAP best on every metric, then P_y|x, then the combination
            auc = aucs[(dataset, seed)] - 0.1 * i
            rows.append(metric_row(method, dataset, seed, auc, 0.8 - 0.1 * i, 0.9 - 0.1 * i,
                                   0.3 + 0.1 * i, suite=suite))
    add_ranks(rows)
    return rows


def test_summary_table() -> None:
    table = summary_table(summary_rows())
    assert re.search(r"\*\*tabular\*\* \(2 datasets, 3 experiments\)", table)
    assert re.search(r"\*\*image\*\* \(1 datasets?, 1 experiments?\)", table)
    assert table.index("**tabular**") < table.index("**image**")
    table_lines = [line for line in table.splitlines() if line.startswith("|")]
    assert len(table_lines) == 2 * (2 + len(TABLE_METHODS))  # header, rule, methods per suite
    for line in table_lines:
        cells = unescaped_cells(line)
        assert len(cells) == 1 + len(METRICS) + 2, line  # '' | method | 4 metrics | ''
        assert cells[0] == "" and cells[-1].strip() == ""
    header = unescaped_cells(table_lines[0])
    for metric in METRICS:
        assert any(metric in cell for cell in header)
    method_cells = [unescaped_cells(line)[1].strip().replace("\\|", "|") for line in table_lines
                    if not line.startswith("| method") and not line.startswith("|---")]
    assert method_cells == TABLE_METHODS * 2
    eap_tabular = unescaped_cells(table_lines[2])
    assert eap_tabular[1].strip() == "EAP"
    assert eap_tabular[2].strip() == "0.800 (1.00)"    # AUC_QLT: mean of 0.9, 0.7, 0.8
    assert eap_tabular[5].strip() == "0.300 (1.00)"    # AULC_P: lowest is rank 1
    third = unescaped_cells(table_lines[4])
    assert third[2].strip() == "0.600 (3.00)"


def test_summary_table_one_suite() -> None:
    rows = [r for r in summary_rows() if r["suite"] == "tabular"]
    table = summary_table(rows)
    assert "**tabular**" in table and "image" not in table
    for method in TABLE_METHODS:
        assert method.replace("|", "\\|") in table


# --------------------------------------------------------------------------- CLI evaluate


@pytest.fixture(scope="module")
def adbench_like(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six small tabular datasets (150 rows, 40 anomalies: g = 15) of varied width, plus one
    with 20 anomalies that the protocol rejects (g = 5)."""
    root = tmp_path_factory.mktemp("adbench")
    rng = np.random.default_rng(0)
    for i, (name, d, a) in enumerate([("1_alpha", 4, 40), ("2_beta", 5, 40), ("3_gamma", 3, 40),
                                      ("4_delta", 7, 40), ("5_eps", 4, 40), ("6_small", 4, 20)]):
        y = np.r_[np.zeros(150 - a), np.ones(a)].astype(np.int64)
        X = rng.normal(size=(150, d)) * (1 + i)
        X[y == 1] += 3.0 * (1 + i)
        perm = rng.permutation(150)
        write_npz(root / "Classical" / f"{name}.npz", X[perm], y[perm])
    return root


def read_results(out: Path) -> List[Dict[str, str]]:
    with open(out / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_cli_evaluate_end_to_end(adbench_like: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    methods = ["EAP", "P_y|x + n*P_x", "RANDOM"]
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--datasets", "Classical/1_alpha",
               "Classical/6_small", "--seeds", "1", "--methods", *methods, "--out", str(out),
               "--no-plots", "--no-progress", "--n-jobs", "1"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    rows = read_results(out)
    # 6_small is rejected (g < 10): one row per method for the one accepted experiment
    assert [r["method"] for r in rows] == methods
    assert {r["dataset"] for r in rows} == {"Classical/1_alpha"}
    assert {r["suite"] for r in rows} == {"tabular"} and {r["seed"] for r in rows} == {"0"}
    assert list(rows[0]) == ["dataset", "suite", "seed", "method", *METRICS, *(f"rank_{m}" for m in METRICS)]
    for r in rows:
        for m in METRICS:
            assert 0.0 <= float(r[m]) <= 1.0
    for m in METRICS:
        assert sum(float(r[f"rank_{m}"]) for r in rows) == pytest.approx(6.0)  # 1 + 2 + 3
    summary = (out / "summary.md").read_text()
    assert re.search(r"\*\*tabular\*\* \(1 datasets?, 1 experiments?\)", summary)
    assert "| P_y\\|x + n*P_x |" in summary
    assert "image" not in summary
    for line in summary.splitlines():
        if line.startswith("|"):
            assert len(unescaped_cells(line)) == len(METRICS) + 3
    assert summary.strip() in captured.out
    assert not list(out.glob("*.png"))


def test_cli_evaluate_with_plots(adbench_like: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("matplotlib")
    # a fast classifier keeps all six methods x two seeds cheap; run_experiment looks it up here
    monkeypatch.setattr(evaluation, "classifier_for", lambda image, seed: (lambda: KNeighborsClassifier(3)))
    out = tmp_path / "plots"
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--datasets", "Classical/2_beta",
               "--seeds", "2", "--out", str(out), "--no-progress", "--n-jobs", "1"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    rows = read_results(out)
    assert len(rows) == 2 * len(METHODS)
    assert [r["method"] for r in rows] == list(METHODS) * 2
    assert [r["seed"] for r in rows] == ["0"] * len(METHODS) + ["1"] * len(METHODS)
    for png in ("quality_tabular.png", "curves_tabular.png"):
        path = out / png
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (out / "quality_image.png").exists() and not (out / "curves_image.png").exists()


@pytest.mark.parametrize("pattern", ["Classical/nope", "Class", "alpha"])
def test_cli_evaluate_bad_datasets_pattern(adbench_like: Path, tmp_path: Path, pattern: str,
                                           capsys: pytest.CaptureFixture) -> None:
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--datasets", pattern, "--seeds", "1",
               "--methods", "RANDOM", "--out", str(tmp_path / "o"), "--no-plots", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith(ERROR_PREFIX), err
    assert pattern in err


def test_select_datasets_by_name_folder_or_stem() -> None:
    names = ["Classical/1_alpha", "Classical/2_beta", "CV_by_ViT/bottle", "CV_by_ResNet18/bottle"]
    assert select_datasets(names, ["1_alpha"]) == ["Classical/1_alpha"]
    assert select_datasets(names, ["Classical/2_beta", "2_beta"]) == ["Classical/2_beta"]
    assert select_datasets(names, ["CV_by_ViT"]) == ["CV_by_ViT/bottle"]
    with pytest.raises(ValueError, match="several folders: CV_by_ViT/bottle, CV_by_ResNet18/bottle"):
        select_datasets(names, ["bottle"])
    with pytest.raises(ValueError, match="did you mean .*1_alpha"):
        select_datasets(names, ["alpah"])


def test_cli_evaluate_accepts_a_file_stem(adbench_like: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--datasets", "1_alpha", "--seeds", "1",
               "--methods", "RANDOM", "--out", str(tmp_path / "o"), "--no-plots", "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert {r["dataset"] for r in read_results(tmp_path / "o")} == {"Classical/1_alpha"}


def test_cli_evaluate_without_matplotlib_stops_before_any_experiment(
        adbench_like: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(evaluation, "run_experiment", lambda *a, **k: pytest.fail("experiment ran"))
    out = tmp_path / "o"
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--no-plots" in err and "matplotlib" in err
    assert not (out / "results.csv").exists()


def fast_evaluate(monkeypatch: pytest.MonkeyPatch) -> List[Any]:
    """A 3-NN classifier for the learning curves, and the list of experiments that ran."""
    monkeypatch.setattr(evaluation, "classifier_for", lambda image, seed: (lambda: KNeighborsClassifier(3)))
    ran: List[Any] = []
    run = evaluation.run_experiment

    def counted(name: str, names: Any, seed: int, *args: Any) -> Any:
        ran.append((name, seed))
        return run(name, names, seed, *args)

    monkeypatch.setattr(evaluation, "run_experiment", counted)
    return ran


def evaluate_args(data: Path, out: Path, datasets: List[str], methods: List[str], *extra: str) -> List[str]:
    return ["evaluate", "--data-dir", str(data), "--datasets", *datasets, "--seeds", "2",
            "--methods", *methods, "--out", str(out), "--no-plots", "--no-progress", *extra]


def test_cli_evaluate_resume_writes_what_an_uninterrupted_run_does(
        adbench_like: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    ran = fast_evaluate(monkeypatch)
    methods = ["EAP", "RARITY", "RANDOM"]
    everything = ["Classical/1_alpha", "Classical/2_beta", "Classical/6_small"]
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert main(evaluate_args(adbench_like, whole, everything, methods)) == 0
    assert sorted(ran) == sorted((n, s) for n in everything for s in (0, 1))
    # a run that stopped after 1_alpha and 6_small (rejected: kept as such), then resumed
    ran.clear()
    assert main(evaluate_args(adbench_like, resumed, ["Classical/1_alpha", "Classical/6_small"], methods)) == 0
    ran.clear()
    capsys.readouterr()
    assert main(evaluate_args(adbench_like, resumed, everything, methods, "--resume")) == 0
    assert sorted(ran) == [("Classical/2_beta", 0), ("Classical/2_beta", 1)]
    assert "4 experiments kept" in capsys.readouterr().err
    for name in ("results.csv", "summary.md", "breakdown.md"):
        assert (resumed / name).read_bytes() == (whole / name).read_bytes()
    # resuming a finished run runs nothing; without --resume every experiment runs again
    ran.clear()
    assert main(evaluate_args(adbench_like, resumed, everything, methods, "--resume")) == 0
    assert ran == []
    assert main(evaluate_args(adbench_like, resumed, ["Classical/2_beta"], methods)) == 0
    assert sorted(ran) == [("Classical/2_beta", 0), ("Classical/2_beta", 1)]


def test_cli_evaluate_resume_reruns_what_it_cannot_use(
        adbench_like: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = fast_evaluate(monkeypatch)
    out = tmp_path / "o"
    assert main(evaluate_args(adbench_like, out, ["Classical/1_alpha", "Classical/2_beta"], ["EAP"])) == 0
    # a method the kept files lack: every experiment runs again, with all requested methods
    ran.clear()
    assert main(evaluate_args(adbench_like, out, ["Classical/1_alpha"], ["RANDOM", "EAP"], "--resume")) == 0
    assert sorted(ran) == [("Classical/1_alpha", 0), ("Classical/1_alpha", 1)]
    assert [r["method"] for r in read_results(out)] == ["RANDOM", "EAP"] * 2
    # a subset of the kept methods is read, in the requested order
    ran.clear()
    assert main(evaluate_args(adbench_like, out, ["Classical/1_alpha"], ["EAP"], "--resume")) == 0
    assert ran == [] and [r["method"] for r in read_results(out)] == ["EAP", "EAP"]
    # a truncated file and a file of another experiment are not used
    beta0 = experiment_path(str(out), "Classical/2_beta", 0)
    beta1 = experiment_path(str(out), "Classical/2_beta", 1)
    Path(beta0).write_bytes(Path(beta0).read_bytes()[:100])
    Path(beta1).write_bytes(Path(experiment_path(str(out), "Classical/1_alpha", 1)).read_bytes())
    ran.clear()
    assert main(evaluate_args(adbench_like, out, ["Classical/2_beta"], ["EAP"], "--resume")) == 0
    assert sorted(ran) == [("Classical/2_beta", 0), ("Classical/2_beta", 1)]
    assert len(list((out / "experiments").iterdir())) == 4  # no temporary file left behind


def test_cli_evaluate_workers_keep_their_experiments(adbench_like: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    """With --n-jobs 2 the worker processes write the files; a resumed run reads them all."""
    out = tmp_path / "o"
    args = evaluate_args(adbench_like, out, ["Classical/3_gamma"], ["EAP", "RANDOM"], "--n-jobs", "2")
    assert main(args) == 0
    kept = sorted(p.name for p in (out / "experiments").iterdir())
    assert kept == ["Classical__3_gamma__seed0.npz", "Classical__3_gamma__seed1.npz"]
    first = (out / "results.csv").read_bytes()
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    err = capsys.readouterr().err
    assert "2 experiments kept" in err and ", 0 to run" in err
    assert (out / "results.csv").read_bytes() == first


def test_a_kept_experiment_reads_back_as_it_was_run(adbench_like: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fast_evaluate(monkeypatch)
    names = list_datasets(str(adbench_like))
    rows = evaluation.run_experiment("Classical/3_gamma", names, 1, str(adbench_like), ["EAP", "P_x"], 1)
    path = experiment_path(str(tmp_path), "Classical/3_gamma", 1)
    save_experiment(path, "Classical/3_gamma", 1, rows)
    back = load_experiment(path, "Classical/3_gamma", 1, ["P_x", "EAP"])
    assert back is not None and [r["method"] for r in back] == ["P_x", "EAP"]
    for new, old in zip(back, rows[::-1]):
        assert set(new) == set(old)
        for key, value in old.items():
            if isinstance(value, np.ndarray):
                assert new[key].dtype == value.dtype and np.array_equal(new[key], value)
            else:
                assert new[key] == value and type(new[key]) is type(value)
    assert load_experiment(path, "Classical/3_gamma", 0, ["EAP"]) is None  # another seed
    assert load_experiment(path, "Classical/3_gamma", 1, ["RANDOM"]) is None  # a method it lacks
    assert load_experiment(str(tmp_path / "absent.npz"), "Classical/3_gamma", 1, ["EAP"]) is None
    save_experiment(path, "Classical/3_gamma", 1, [])  # rejected by the protocol
    assert load_experiment(path, "Classical/3_gamma", 1, ["EAP"]) == []


def test_cli_evaluate_errors(adbench_like: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture) -> None:
    out = str(tmp_path / "o")
    # every selected dataset rejected by the protocol
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--datasets", "Classical/6_small",
               "--seeds", "2", "--out", out, "--no-plots", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith(ERROR_PREFIX) and "g >= 10" in err
    # unknown method
    rc = main(["evaluate", "--data-dir", str(adbench_like), "--methods", "EAP", "KNN", "--out", out,
               "--no-plots", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "KNN" in err
    # no folder at all
    monkeypatch.delenv(ENV_VAR, raising=False)
    rc = main(["evaluate", "--out", out, "--no-plots", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and ENV_VAR in err
    # the folder from the environment
    monkeypatch.setenv(ENV_VAR, str(adbench_like))
    rc = main(["evaluate", "--datasets", "Classical/nope", "--out", out, "--no-plots", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "Classical/nope" in err and ENV_VAR not in err


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not (ADBENCH / "Classical" / "29_Pima.npz").is_file(),
                    reason="ADBench data folder (../shared/datasets/adbench) not present")
def test_real_pima_split_sizes() -> None:
    name = "Classical/29_Pima"
    X, y = load_dataset(name, str(ADBENCH))
    assert X.shape == (768, 8) and y.sum() == 268
    names = list_datasets(str(ADBENCH), suite="Classical")
    assert name in names
    others_names = other_datasets(name, names, 0)
    assert len(others_names) == 5 and name not in others_names
    others = [load_dataset(o, str(ADBENCH))[0] for o in others_names]
    split = make_split(X, y, others, seed=0)
    assert split is not None
    s = split_sizes(268)
    t, m, g = s["t"], s["m"], s["g"]
    assert (t, m, g) == (134, 27, 107)
    assert split.X_test.shape == (2 * t, 8) and split.y_test.sum() == t
    assert split.X_train.shape == (500 - t - g + m, 8) and split.y_train.sum() == m
    assert split.X_aux.shape == (3 * g, 8)
    for group in GROUPS:
        assert (split.group == group).sum() == g
    assert np.isfinite(split.X_aux).all()


def test_breakdown_means_per_folder_and_lost_datasets():
    rows = [
        {"dataset": "A/x", "method": "EAP", "AUC_QLT": 0.9},
        {"dataset": "A/x", "method": "RARITY", "AUC_QLT": 0.5},
        {"dataset": "A/y", "method": "EAP", "AUC_QLT": 0.3},
        {"dataset": "A/y", "method": "RARITY", "AUC_QLT": 0.7},
        {"dataset": "B/z", "method": "EAP", "AUC_QLT": 0.6},
        {"dataset": "B/z", "method": "RARITY", "AUC_QLT": 0.4},
    ]
    text = breakdown(rows)
    assert "| A | 0.600 | 0.600 |" in text
    assert "| B | 0.600 | 0.400 |" in text
    assert "- A: RARITY beats EAP on 1 of 2: y (0.300 vs 0.700)" in text
    assert "- B: RARITY beats EAP on 0 of 1" in text


def test_breakdown_without_the_rival_lists_means_only():
    rows = [{"dataset": "A/x", "method": "EAP", "AUC_QLT": 0.9}]
    text = breakdown(rows)
    assert "| A | 0.900 |" in text and "beats" not in text
