"""The quality study of issue 14 (docs/quality.md): candidate improvements of EAP, alone and
combined, on the shared ADBench suites under the SPEC section 9 protocol, with three kinds of
unrealistic candidates, and an internal validation that chooses from the training set alone.

    python benchmarks/quality_study.py cache  --data-dir ../shared/datasets/adbench --seeds 5
    python benchmarks/quality_study.py table  --data-dir ../shared/datasets/adbench --seeds 5
    python benchmarks/quality_study.py curves --data-dir ../shared/datasets/adbench --seeds 5

``cache`` fits every fit-variant once per split and stores the per-candidate pieces (P(y=1|z),
P_x, rarity, outside rarity; per bagging round) and the internal-validation folds under
build/quality/ (git-ignored); every posterior variant is then computed from the cache.
``table`` prints the AUC_QLT tables and the validation's choices; ``curves`` runs the learning
curves (AULC_G, ACC_G, AULC_P) of the finalists against the default.
Run single-threaded: OMP_NUM_THREADS=1 nice -n 5 ...
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from sklearn.metrics import roc_auc_score

from eap_anomaly import EAPScorer
from eap_anomaly.evaluation.datasets import list_datasets, load_dataset
from eap_anomaly.evaluation.protocol import (area, classifier_for, learning_curve, make_split,
                                             other_datasets, suite_of)
from eap_anomaly.evaluation.quality import (Parts, calibration_from_folds, fitted_parts, uniform_box,
                                            validation_auc, validation_parts, whitener)
from eap_anomaly.tuning import shuffled_rows

CACHE = os.path.join("build", "quality")
SUITES = ("Classical", "CV_by_ViT", "CV_by_ResNet18")
#: Unrealistic kinds: A rows of other datasets (SPEC 9), B uniform in the training bounding
#: box, C training rows with every feature shuffled independently.
KINDS = ("A", "B", "C")
N_FOLDS = 5

# ---- fit variants (each one fit + score per split) ----------------------------------------
def study_scorer(seed: int, **params: Any) -> EAPScorer:
    """The study's scorers: scikit-learn's forest, the package's only prior when the study ran
    (so that the cache regenerates the committed numbers), one thread."""
    return EAPScorer(random_state=seed, n_jobs=1, **{"prior": "sklearn", **params})


FITS: Dict[str, Callable[[int], Tuple[Any, bool]]] = {
    # name: seed -> (scorer, whiten?)
    "default": lambda s: (study_scorer(s), False),
    "ssdo_k30": lambda s: (study_scorer(s, ssdo_k=30), False),
    "whiten": lambda s: (study_scorer(s), True),
    "bag10": lambda s: (study_scorer(s, n_bags=10), False),
    "alpha10": lambda s: (study_scorer(s, alpha=10.0), False),
    "alpha30": lambda s: (study_scorer(s, alpha=30.0), False),
    "alpha10_k30": lambda s: (study_scorer(s, alpha=10.0, ssdo_k=30), False),
    "whiten95": lambda s: (study_scorer(s), 0.95),
}
#: SSDO's bandwidth rank as a fraction q of the training rows (ssdo_k=q), on the raw features and
#: on features whitened to 95 % (and 90 %) of the training variance
FRACTIONS = (0.25, 0.5, 0.75, 0.9, 1.0)
for _q in FRACTIONS:
    FITS[f"ssdo_q{_q:g}"] = (lambda q: lambda s: (study_scorer(s, ssdo_k=q), False))(_q)
    if _q >= 0.5:
        FITS[f"whiten95_q{_q:g}"] = (lambda q: lambda s: (study_scorer(s, ssdo_k=q), 0.95))(_q)
FITS["whiten90_q0.9"] = lambda s: (study_scorer(s, ssdo_k=0.9), 0.9)
#: SSDO's k-NN prior (prior="knn": the distance to the ssdo_k-th nearest training row) in place
#: of the Isolation Forest, with SSDO k = 10 and 30, and on features whitened to 95 %
FITS["knn"] = lambda s: (study_scorer(s, prior="knn"), False)
FITS["knn_k30"] = lambda s: (study_scorer(s, prior="knn", ssdo_k=30), False)
FITS["knn_whiten95"] = lambda s: (study_scorer(s, prior="knn"), 0.95)
#: fit variants whose internal-validation folds are cached too
VALIDATED_FITS = ("default", "ssdo_k30", "whiten95", "alpha10", "knn", "knn_k30", "knn_whiten95")
#: the candidate detectors/feature maps of each selection rule ("sel*": by the detector's
#: out-of-fold AUC; "selq*": by the validation AUC_QLT of the tail posterior)
SELECTIONS = {"sel": ("default", "ssdo_k30"), "sel3": ("default", "ssdo_k30", "whiten95"),
              "sel4": ("default", "ssdo_k30", "whiten95", "alpha10"),
              "selknn3": ("knn", "knn_k30", "knn_whiten95")}


def prior_mean(c: float) -> Callable[[int, int], float]:
    """alpha0 = c * m/n (c = 0 -> 1e-9), beta0 = 1 - m/n: the prior mean scaled by c, the
    prior's strength alpha0 + beta0 ~ 1 kept."""
    return lambda m, n: max(c * m / n, 1e-9)


def beta_default(m: int, n: int) -> float:
    return 1.0 - m / n


#: posterior variants: (alpha0 rule, beta0 rule, tail) -- computed from the cache
ALPHA_GRID = (0.0, 0.01, 0.1, 0.3, 1.0, 3.0)
POSTERIORS: Dict[str, Tuple[Any, Any, Optional[float]]] = {
    "paper": (prior_mean(1.0), beta_default, None),
    "a0=1e-9": (prior_mean(0.0), beta_default, None),
    "a0=0.01": (lambda m, n: 0.01, beta_default, None),
    "a0=0.1": (lambda m, n: 0.1, beta_default, None),
    "a0=0.2": (lambda m, n: 0.2, beta_default, None),
    "tail": (prior_mean(1.0), beta_default, 1e-12),
    "tail full": (prior_mean(1.0), beta_default, 1.0),
    "a0=1e-9 tail": (prior_mean(0.0), beta_default, 1e-12),
}
for _s in (0.01, 0.1, 10.0, 100.0):  # prior strength alpha0 + beta0 = s, prior mean m/n kept
    POSTERIORS[f"s={_s:g} tail"] = ((lambda s_: lambda m, n: s_ * m / n)(_s),
                                    (lambda s_: lambda m, n: s_ * (1 - m / n))(_s), 1e-12)
for _c in ALPHA_GRID:
    POSTERIORS[f"c={_c:g} tail"] = (prior_mean(_c), beta_default, 1e-12)
    POSTERIORS[f"c={_c:g}"] = (prior_mean(_c), beta_default, None)


#: the methods of the AUC_QLT tables in docs/quality.md ("<fit>|<posterior>")
STUDY_METHODS = [
    "default|paper", "default|tail", "default|tail full",
    "default|a0=1e-9", "default|a0=1e-9 tail", "default|a0=0.01", "default|a0=0.1", "default|a0=0.2",
    "default|c=0.01 tail", "default|c=0.1 tail", "default|c=0.3 tail",
    "default|s=0.1 tail", "default|s=10 tail",
    "default|cal", "default|cal tail", "default|val tail",
    "ssdo_k30|paper", "ssdo_k30|tail", "ssdo_k30|c=0.1 tail", "ssdo_k30|c=0.3 tail",
    "sel|tail", "sel|c=0.3 tail",
    "alpha10|paper", "alpha10|tail", "alpha10|c=0.3 tail", "alpha10|s=10 tail",
    "alpha30|paper", "alpha30|tail", "alpha10_k30|paper", "alpha10_k30|tail",
    "whiten95|paper", "whiten95|tail", "whiten95|a0=1e-9",
    "whiten|paper", "whiten|tail", "whiten|a0=1e-9", "whiten|c=0.3 tail",
    "bag10|paper", "bag10|a0=1e-9", "bag10|tail", "bag10|c=0.3 tail",
    *(f"ssdo_q{q:g}|{post}" for q in FRACTIONS for post in ("paper", "tail")),
    *(f"whiten95_q{q:g}|{post}" for q in FRACTIONS if q >= 0.5 for post in ("paper", "tail")),
    "whiten90_q0.9|tail",
    *(f"{fit}|{post}" for fit in ("knn", "knn_k30", "knn_whiten95") for post in ("paper", "tail")),
]
#: fixed options of the leave-one-suite-out choice
LOSO_FITS = ("default", "ssdo_k30", "alpha10", "alpha30", "alpha10_k30")
#: the finalists of the learning curves and of the pairwise orders
FINALISTS = ["default|paper", "default|tail", "ssdo_k30|tail", "whiten95|tail", "selq3|tail",
             "default|c=0.3 tail", "alpha10|tail", "ssdo_q0.5|tail", "whiten95_q0.9|tail",
             "whiten90_q0.9|tail"]
#: the committed evaluation, whose EAP rows are this study's default on kind A (checked equal)
RESULTS_CSV = os.path.join("docs", "evaluation", "results.csv")


def cache_path(name: str, seed: int) -> str:
    return os.path.join(CACHE, f"{name.replace('/', '__')}__{seed}.npz")


def load_split(name: str, names: List[str], seed: int, data_dir: str) -> Any:
    X, y = load_dataset(name, data_dir)
    image = suite_of(name) == "image"
    others = [load_dataset(o, data_dir)[0] for o in other_datasets(name, names, seed)]
    return make_split(X, y, others, seed, same_space=image)


def extra_unrealistic(split: Any, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Kinds B and C, as many rows as each group of the split, from a generator of their own."""
    g = int(np.sum(split.group == "realistic"))
    rng = np.random.default_rng([seed, 14])
    return uniform_box(split.X_train, g, rng), shuffled_rows(split.X_train, g, rng)


def cache_one(name: str, names: List[str], seed: int, data_dir: str, fits: List[str]) -> Optional[str]:
    path = cache_path(name, seed)
    have: Dict[str, Any] = {}
    if os.path.exists(path):
        with np.load(path, allow_pickle=False) as f:
            have = {k: f[k] for k in f.files}
        if all(f"{v}__p" in have and (v not in VALIDATED_FITS or f"{v}__val0__p" in have) for v in fits):
            return path
    split = load_split(name, names, seed, data_dir)
    if split is None:
        return None
    B, C = extra_unrealistic(split, seed)
    Z = np.vstack([split.X_aux, B, C])
    out = dict(have)
    out["group"] = np.r_[split.group, np.repeat(["uniform", "shuffled"], B.shape[0])].astype("U17")
    for v in fits:
        has_val = v not in VALIDATED_FITS or f"{v}__val0__p" in have
        if f"{v}__p" in have and has_val:
            continue
        scorer, whiten = FITS[v](seed)
        Xt, Zt = split.X_train, Z
        t0 = time.perf_counter()
        if whiten:
            w = whitener(Xt, variance=None if whiten is True else float(whiten))
            Xt, Zt = w(Xt), w(Z)
        if f"{v}__p" not in have:
            parts = fitted_parts(scorer, Xt, split.y_train, Zt)
            out[f"{v}__seconds"] = np.array(time.perf_counter() - t0)
            for k, val in parts.save().items():
                out[f"{v}__{k}"] = np.asarray(val)
        if not has_val:
            t0 = time.perf_counter()
            vparts, goods = validation_parts(lambda: FITS[v](seed)[0], Xt, split.y_train, N_FOLDS, seed)
            out[f"{v}__val_seconds"] = np.array(time.perf_counter() - t0)
            for i, (pt, good) in enumerate(zip(vparts, goods)):
                for k, val in pt.save().items():
                    out[f"{v}__val{i}__{k}"] = np.asarray(val)
                out[f"{v}__val{i}__good"] = good
    np.savez(path, **out)
    return path


def parts_of(f: Dict[str, np.ndarray], prefix: str) -> Parts:
    keys = ("p", "px", "rarity", "rarity_out", "n_centres", "rho_sum", "m", "n")
    vals = [f[f"{prefix}__{k}"] for k in keys]
    return Parts(*vals[:6], m=int(vals[6]), n=int(vals[7]))


def val_of(f: Dict[str, np.ndarray], fit: str) -> Tuple[List[Parts], List[np.ndarray]]:
    parts, goods = [], []
    i = 0
    while f"{fit}__val{i}__p" in f:
        parts.append(parts_of(f, f"{fit}__val{i}"))
        goods.append(f[f"{fit}__val{i}__good"].astype(bool))
        i += 1
    return parts, goods


def kind_mask(group: np.ndarray, kind: str) -> np.ndarray:
    poor_unreal = {"A": "unrealistic", "B": "uniform", "C": "shuffled"}[kind]
    mask: np.ndarray = np.isin(group, ["realistic", "indistinguishable", poor_unreal])
    return mask


def select_c(f: Dict[str, np.ndarray], fit: str, tail: Optional[float]) -> float:
    """The validation's choice of c (alpha0 = c m/n) for one split: the best mean fold AUC,
    ties to the larger c (closest to the paper)."""
    parts, goods = val_of(f, fit)
    scores = [validation_auc(parts, goods, prior_mean(c), beta_default, tail) for c in ALPHA_GRID]
    best = max(scores)
    return max(c for c, s in zip(ALPHA_GRID, scores) if s >= best - 1e-12)


def detector_auc(f: Dict[str, np.ndarray], fit: str) -> float:
    """Internal validation of a detector: mean over folds of the ROC-AUC of P(y=1|z) for the
    held-out training anomalies against the held-out training normals (no synthetic rows)."""
    aucs = []
    for pt, good in zip(*val_of(f, fit)):
        held = np.arange(good.size) < 2 * int(good.sum())
        aucs.append(roc_auc_score(good[held], pt.p[0][held]))
    return float(np.mean(aucs))


def select_fit(f: Dict[str, np.ndarray], fits: Tuple[str, ...] = VALIDATED_FITS) -> str:
    """The validated detector of a split (ties to the first, the default)."""
    scores = [detector_auc(f, v) for v in fits]
    return fits[int(np.argmax(scores))]


def select_fit_quality(f: Dict[str, np.ndarray], fits: Tuple[str, ...]) -> str:
    """The fit whose tail posterior (paper's prior) has the best validation AUC_QLT: held-out
    anomalies against held-out normals and shuffled rows (ties to the first)."""
    scores = [validation_auc(*val_of(f, v), prior_mean(1.0), beta_default, 1e-12) for v in fits]
    return fits[int(np.argmax(scores))]


def quality_of(f: Dict[str, np.ndarray], method: str) -> np.ndarray:
    """method = "<fit>|<posterior>"; posterior "val" / "val tail" = the internal validation's
    choice of c for this split."""
    fit, post = method.split("|")
    if fit.startswith("selq"):
        fit = select_fit_quality(f, SELECTIONS[fit.replace("selq", "sel")])
    elif fit.startswith("sel"):
        fit = select_fit(f, SELECTIONS[fit])
    parts = parts_of(f, fit)
    if post.startswith("cal"):
        # "cal[ tail][ c=X]": P(y=1|z) calibrated on the validation folds of this fit variant
        # (of the default when the variant has none), then the posterior
        tail = 1e-12 if "tail" in post else None
        c = float(post.split("c=")[1]) if "c=" in post else 1.0
        vfit = fit if f"{fit}__val0__p" in f else "default"
        cal = calibration_from_folds(*val_of(f, vfit), prior=parts.m / parts.n)
        parts = Parts(cal(parts.p), *(getattr(parts, k) for k in ("px", "rarity", "rarity_out",
                      "n_centres", "rho_sum")), m=parts.m, n=parts.n)
        return parts.quality(prior_mean(c)(parts.m, parts.n), beta_default(parts.m, parts.n), tail)
    if post.startswith("val"):
        tail = 1e-12 if post.endswith("tail") else None
        vfit = fit if f"{fit}__val0__p" in f else "default"
        c = select_c(f, vfit, tail)
        return parts.quality(prior_mean(c)(parts.m, parts.n), beta_default(parts.m, parts.n), tail)
    a0, b0, tail = POSTERIORS[post]
    return parts.quality(a0(parts.m, parts.n), b0(parts.m, parts.n), tail)


def all_names(data_dir: str) -> List[str]:
    return [n for n in list_datasets(data_dir) if n.split("/")[0] in SUITES]


def cmd_cache(args: argparse.Namespace) -> None:
    os.makedirs(CACHE, exist_ok=True)
    names = all_names(args.data_dir)
    todo = [n for n in names if n.split("/")[0] in args.suites]
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        for name in todo:
            t1 = time.perf_counter()
            p = cache_one(name, names, seed, args.data_dir, args.fits)
            print(f"{time.perf_counter() - t0:7.0f}s {name} {seed} {'skip' if p is None else ''} "
                  f"{time.perf_counter() - t1:.1f}s", flush=True)


def load_all(args: argparse.Namespace) -> List[Tuple[str, int, Dict[str, np.ndarray]]]:
    out = []
    for name in all_names(args.data_dir):
        if name.split("/")[0] not in args.suites:
            continue
        for seed in range(args.seeds):
            path = cache_path(name, seed)
            if os.path.exists(path):
                with np.load(path, allow_pickle=False) as f:
                    out.append((name, seed, {k: f[k] for k in f.files}))
    return out


def cmd_table(args: argparse.Namespace) -> None:
    rows = load_all(args)
    methods = args.methods or STUDY_METHODS
    results: Dict[Tuple[str, str, str], List[float]] = {}
    per_dataset: Dict[Tuple[str, str, str], List[float]] = {}
    for name, seed, f in rows:
        folder = name.split("/")[0]
        for method in methods:
            if not method.startswith("sel") and f"{method.split('|')[0]}__p" not in f:
                continue
            q = quality_of(f, method)
            for kind in KINDS:
                mask = kind_mask(f["group"], kind)
                auc = roc_auc_score(f["group"][mask] == "realistic", q[mask])
                results.setdefault((folder, method, kind), []).append(auc)
                if kind == "A":
                    per_dataset.setdefault((name, method, kind), []).append(auc)
    print("| method | " + " | ".join(f"{s} {k}" for s in args.suites for k in KINDS) + " |")
    print("|---|" + "---|" * (len(args.suites) * len(KINDS)))
    for method in methods:
        cells = []
        for s in args.suites:
            for k in KINDS:
                v = results.get((s, method, k))
                cells.append(f"{np.mean(v):.3f}" if v else "")
        print(f"| {method} | " + " | ".join(cells) + " |")
    if args.choices:  # the shipped preset's validated choice per dataset, one per seed
        print()
        short = {"knn": "k10", "knn_k30": "k30", "knn_whiten95": "white"}
        for name, seed, f in rows:
            if seed == 0:
                picks = [short[select_fit_quality(g, SELECTIONS[PRESET_SELECTIONS["knn"]])]
                         for n2, s2, g in rows if n2 == name]
                print(f"- {name.replace('MVTec-AD_', '')}: " + " ".join(picks))


def cmd_curves(args: argparse.Namespace) -> None:
    """Learning curves of ``--methods`` on kinds A and B (the unrealistic group replaced by the
    uniform rows), one CSV row per (dataset, seed, method, kind), appended to
    build/quality/curves.csv (rows already there are skipped)."""
    names = all_names(args.data_dir)
    methods = args.methods or FINALISTS
    out = os.path.join(CACHE, "curves.csv")
    done = set()
    if os.path.exists(out):
        with open(out) as fh:
            done = {tuple(line.split(",")[:4]) for line in fh.read().splitlines()[1:]}
    else:
        with open(out, "w") as fh:
            fh.write("dataset,seed,method,kind,AUC_QLT,AULC_G,ACC_G,AULC_P\n")
    if os.path.exists(RESULTS_CSV) and "default|paper" in methods:
        # the default's kind-A curves are those of the committed evaluation (same splits, same
        # scores, same classifiers): reuse them instead of refitting
        import csv

        with open(RESULTS_CSV) as fh, open(out, "a") as fo:
            for r in csv.DictReader(fh):
                key = (r["dataset"], r["seed"], "default|paper", "A")
                if r["method"] == "EAP" and key not in done and int(r["seed"]) < args.seeds:
                    fo.write(",".join(list(key) + [r[k] for k in ("AUC_QLT", "AULC_G", "ACC_G", "AULC_P")]) + "\n")
                    done.add(key)
    t0 = time.perf_counter()
    for seed in range(args.seeds):
        for name in names:
            if name.split("/")[0] not in args.suites or not os.path.exists(cache_path(name, seed)):
                continue
            todo = [(m, k) for m in methods for k in ("A", "B") if (name, str(seed), m, k) not in done]
            if not todo:
                continue
            with np.load(cache_path(name, seed), allow_pickle=False) as fz:
                f = {k: fz[k] for k in fz.files}
            split = load_split(name, names, seed, args.data_dir)
            B, C = extra_unrealistic(split, seed)
            Z = np.vstack([split.X_aux, B, C])
            image = suite_of(name) == "image"
            make_model = classifier_for(image, seed)
            baseline = make_model().fit(split.X_train, split.y_train).score(split.X_test, split.y_test)
            qs = {m: quality_of(f, m) for m in methods}
            for method, kind in todo:
                mask = kind_mask(f["group"], kind)
                rows = np.flatnonzero(mask)
                sub = type(split)(split.X_train, split.y_train, split.X_test, split.y_test, Z[rows],
                                  f["group"][rows])
                q = qs[method][rows]
                good = sub.group == "realistic"
                desc = np.argsort(-q, kind="stable")
                gc = learning_curve(sub, desc, int(good.sum()), make_model, baseline)
                pc = learning_curve(sub, desc[::-1], int((~good).sum()), make_model, baseline)
                line = [name, str(seed), method, kind, f"{roc_auc_score(good, q):.6f}",
                        f"{area(gc):.6f}", f"{gc[-1]:.6f}", f"{area(pc):.6f}"]
                with open(out, "a") as fh:
                    fh.write(",".join(line) + "\n")
            print(f"{time.perf_counter() - t0:7.0f}s {name} {seed}", flush=True)


def cmd_loso(args: argparse.Namespace) -> None:
    """Leave-one-suite-out choice of the fixed options (``--methods``, by default the detector's
    ssdo_k x the prior-mean factor c, tail on): chosen by mean kind-A AUC_QLT on one side
    (tabular, or both image suites), then read on the other side."""
    rows = load_all(args)
    grid = args.methods or [f"{fit}|c={c:g} tail" for fit in LOSO_FITS for c in ALPHA_GRID]
    auc: Dict[Tuple[str, str], List[float]] = {}
    for name, seed, f in rows:
        side = "tabular" if name.startswith("Classical") else "image"
        mask = kind_mask(f["group"], "A")
        for method in grid:
            q = quality_of(f, method)
            auc.setdefault((side, method), []).append(roc_auc_score(f["group"][mask] == "realistic", q[mask]))
    print("| option | tabular | image |\n|---|---|---|")
    for method in grid:
        print(f"| {method} | {np.mean(auc['tabular', method]):.3f} | {np.mean(auc['image', method]):.3f} |")
    for chose, check in (("tabular", "image"), ("image", "tabular")):
        best = max(grid, key=lambda m: np.mean(auc[chose, m]))
        print(f"chosen on {chose}: {best} ({np.mean(auc[chose, best]):.3f}); on {check}: "
              f"{np.mean(auc[check, best]):.3f} (best there {max(np.mean(auc[check, m]) for m in grid):.3f})")


def cmd_report(args: argparse.Namespace) -> None:
    """Means of build/quality/curves.csv per suite folder, method and kind (experiments that
    the default has too), and each method's paired difference to the default +- its standard
    error."""
    import csv

    with open(os.path.join(CACHE, "curves.csv")) as fh:
        rows = list(csv.DictReader(fh))
    metrics = ("AUC_QLT", "AULC_G", "ACC_G", "AULC_P")
    methods = sorted({r["method"] for r in rows}, key=lambda m: m != "default|paper")
    print("| suite | kind | method | experiments | " + " | ".join(metrics) + " |")
    print("|---|---|---|---|" + "---|" * len(metrics))
    for suite in args.suites:
        for kind in ("A", "B"):
            mine = [r for r in rows if r["dataset"].split("/")[0] == suite and r["kind"] == kind
                    and int(r["seed"]) < args.seeds]
            common = {(r["dataset"], r["seed"]) for r in mine if r["method"] == "default|paper"}
            base = {(r["dataset"], r["seed"]): r for r in mine if r["method"] == "default|paper"}
            for m in methods:
                sel = sorted((r for r in mine if r["method"] == m and (r["dataset"], r["seed"]) in common),
                             key=lambda r: (r["dataset"], r["seed"]))
                if not sel:
                    continue
                cells = []
                for k in metrics:
                    v = np.array([float(r[k]) for r in sel])
                    cell = f"{v.mean():.3f}"
                    if m != "default|paper" and base:
                        # paired difference to the default, +- its standard error
                        d = v - np.array([float(base[r["dataset"], r["seed"]][k]) for r in sel])
                        cell += f" ({d.mean():+.3f}±{d.std(ddof=1) / np.sqrt(d.size):.3f})"
                    cells.append(cell)
                print(f"| {suite} | {kind} | {m} | {len(sel)} | " + " | ".join(cells) + " |")


def pair_auc(q: np.ndarray, group: np.ndarray, hi: str, lo: str) -> float:
    """P(quality of a random ``hi`` candidate > that of a random ``lo`` one), ties half."""
    a, b = q[group == hi], q[group == lo]
    return float(roc_auc_score(np.r_[np.ones(a.size), np.zeros(b.size)], np.r_[a, b]))


def cmd_pairs(args: argparse.Namespace) -> None:
    """Theorem 4.1's three orders per suite: realistic > unrealistic (R>U), realistic >
    indistinguishable (R>I), unrealistic > indistinguishable (U>I), for kinds A and B."""
    rows = load_all(args)
    methods = args.methods or FINALISTS
    acc: Dict[Tuple[str, str, str], List[float]] = {}
    for name, seed, f in rows:
        folder, g = name.split("/")[0], f["group"]
        for method in methods:
            if not method.startswith("sel") and f"{method.split('|')[0]}__p" not in f:
                continue
            q = quality_of(f, method)
            for kind, u in (("A", "unrealistic"), ("B", "uniform")):
                acc.setdefault((folder, method, f"R>U{kind}"), []).append(pair_auc(q, g, "realistic", u))
                acc.setdefault((folder, method, f"U{kind}>I"), []).append(pair_auc(q, g, u, "indistinguishable"))
            acc.setdefault((folder, method, "R>I"), []).append(pair_auc(q, g, "realistic", "indistinguishable"))
    cols = ("R>I", "R>UA", "UA>I", "R>UB", "UB>I")
    print("| suite | method | " + " | ".join(cols) + " |\n|---|---|" + "---|" * len(cols))
    for suite in args.suites:
        for method in methods:
            if (suite, method, "R>I") in acc:
                print(f"| {suite} | {method} | " + " | ".join(f"{np.mean(acc[suite, method, c]):.3f}" for c in cols) + " |")


def cmd_diagnose(args: argparse.Namespace) -> None:
    """Why the default loses on image features: per category, the share of realistic candidates
    outside every ball (tied with off-manifold rows at the prior mean), of realistic ones inside
    with P(y=1|z) below the prior mean m/n (ranked under every off-manifold row), of
    indistinguishable ones inside below m/n (Theorem 4.1 wants them all there), and of
    unrealistic rows (kinds A, B) outside every ball."""
    rows = load_all(args)
    acc: Dict[str, List[List[float]]] = {}
    for name, seed, f in rows:
        g, px, p = f["group"], f["default__px"][0], f["default__p"][0]
        pi0 = float(f["default__m"]) / float(f["default__n"])
        r, i = g == "realistic", g == "indistinguishable"
        acc.setdefault(name, []).append([
            np.mean(px[r] == 0), np.mean((px[r] > 0) & (p[r] < pi0)), np.mean((px[i] > 0) & (p[i] < pi0)),
            np.mean(px[g == "unrealistic"] == 0), np.mean(px[g == "uniform"] == 0)])
    print("| dataset | realistic outside every ball | realistic inside, p < m/n | "
          "indistinguishable inside, p < m/n | unrealistic A outside | uniform B outside |")
    print("|---|---|---|---|---|---|")
    for name, v in acc.items():
        print(f"| {name.replace('MVTec-AD_', '')} | " + " | ".join(f"{x:.2f}" for x in np.mean(v, 0)) + " |")


#: the study's selection that ``EAPScorer.tuned(prior=...)`` computes, per prior
PRESET_SELECTIONS = {"knn": "selknn3", "sklearn": "sel3"}


def cmd_preset(args: argparse.Namespace) -> None:
    """The package's ``EAPScorer.tuned(prior=--prior)`` on every cached split, next to the
    package's default (``EAPScorer()``, the native forest): its choice and quality against the
    study's selection of the same prior (``selqknn3|tail`` for the shipped k-NN prior,
    ``selq3|tail`` for scikit-learn's forest: they must agree; the native forest has no study
    counterpart), and its mean AUC_QLT per suite and kind."""
    names = all_names(args.data_dir)
    results: Dict[Tuple[str, str, str], List[float]] = {}
    worst, disagree, t_default, t_tuned, folders = 0.0, 0, [], [], []
    selection = PRESET_SELECTIONS.get(args.prior)
    for name, seed, f in load_all(args):
        split = load_split(name, names, seed, args.data_dir)
        Z = np.vstack([split.X_aux, *extra_unrealistic(split, seed)])
        t0 = time.perf_counter()
        default = EAPScorer(random_state=seed, n_jobs=1).fit(split.X_train, split.y_train)
        q_default = default.score_samples(Z)
        t1 = time.perf_counter()
        tuned = EAPScorer.tuned(random_state=seed, n_jobs=1, prior=args.prior).fit(split.X_train, split.y_train)
        q_tuned = tuned.score_samples(Z)
        t_default.append(t1 - t0)
        t_tuned.append(time.perf_counter() - t1)
        folders.append(name.split("/")[0])
        if selection is not None:
            worst = max(worst, float(np.max(np.abs(q_tuned - quality_of(f, f"selq{selection[3:]}|tail")))))
            study_choice = select_fit_quality(f, SELECTIONS[selection])
            disagree += int(SELECTIONS[selection].index(study_choice) != int(np.argmax(tuned.validation_scores_)))
        for method, q in (("default", q_default), ("tuned", q_tuned)):
            for kind in KINDS:
                mask = kind_mask(f["group"], kind)
                results.setdefault((name.split("/")[0], method, kind), []).append(
                    roc_auc_score(f["group"][mask] == "realistic", q[mask]))
    ratio = np.array(t_tuned) / np.array(t_default)
    per_suite = ", ".join(f"{s} {np.median(ratio[np.array(folders) == s]):.1f}x"
                          for s in args.suites if s in folders)
    print(f"tuned(prior={args.prior}); {len(t_tuned)} splits; cost tuned/default: median "
          f"{np.median(ratio):.1f}x ({per_suite})")
    if selection is not None:
        print(f"against the study's selq{selection[3:]}|tail: max |quality difference| {worst:.1e}, "
              f"{disagree} splits with another choice")
    print("| method | " + " | ".join(f"{s} {k}" for s in args.suites for k in KINDS) + " |")
    print("|---|" + "---|" * (len(args.suites) * len(KINDS)))
    for method, label in (("default", "default (native)"), ("tuned", f"tuned (prior={args.prior})")):
        cells = [f"{np.mean(results[(s, method, k)]):.3f}" if (s, method, k) in results else ""
                 for s in args.suites for k in KINDS]
        print(f"| {label} | " + " | ".join(cells) + " |")


def cmd_prior_cost(args: argparse.Namespace) -> None:
    """Fit + score of one round with the k-NN prior over the native forest (synthetic data, one
    thread, medians of 5 alternated runs): the forest's build and walks against a second
    distance pass for the candidates' k-th neighbours."""
    for n, d, l in ((1000, 36, 750), (1000, 512, 3000), (5000, 64, 100_000)):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, d))
        y = (rng.random(n) < 0.05).astype(int)
        X[y == 1] += 2.0
        Z = rng.normal(size=(l, d)) * 1.5
        times: Dict[str, List[float]] = {"native": [], "knn": []}
        for _ in range(5):
            for prior in times:
                t0 = time.perf_counter()
                EAPScorer(random_state=0, n_jobs=1, prior=prior).fit(X, y).score_samples(Z)
                times[prior].append(time.perf_counter() - t0)
        native, knn = (float(np.median(times[p])) for p in ("native", "knn"))
        print(f"n={n} d={d} l={l}: native {native * 1e3:.1f} ms, knn {knn * 1e3:.1f} ms, "
              f"knn/native {knn / native:.2f}")


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("cache", "table", "curves", "loso", "report", "pairs", "diagnose",
                                        "preset", "prior-cost"))
    ap.add_argument("--data-dir", default=os.environ.get("EAP_ANOMALY_DATA", "../shared/datasets/adbench"))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--suites", nargs="*", default=list(SUITES))
    ap.add_argument("--fits", nargs="*", default=list(FITS))
    ap.add_argument("--methods", nargs="*", default=None)
    ap.add_argument("--choices", action="store_true")
    ap.add_argument("--prior", choices=("knn", "native", "sklearn"), default="knn",
                    help="preset: the prior of EAPScorer.tuned() (knn: as shipped)")
    args = ap.parse_args(argv)
    {"cache": cmd_cache, "table": cmd_table, "curves": cmd_curves, "loso": cmd_loso, "report": cmd_report, "pairs": cmd_pairs, "diagnose": cmd_diagnose,
     "preset": cmd_preset, "prior-cost": cmd_prior_cost}[args.command](args)


if __name__ == "__main__":
    main()
