"""Figures of the evaluation report (matplotlib is an optional extra: eap-anomaly[plot])."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Sequence

import numpy as np

from .protocol import CURVE_POINTS, GROUPS


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ValueError("plots need matplotlib: pip install 'eap-anomaly[plot]'") from exc
    return plt


def _save(plt: Any, fig: Any, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def quality_distributions(rows: Sequence[Dict[str, Any]], out_dir: str, method: str = "EAP") -> List[str]:
    """Per suite, box plots of ``method``'s quality by auxiliary group; each experiment's scores
    are ranked to [0, 1] first so experiments are comparable."""
    plt = _pyplot()
    paths = []
    for suite in ("tabular", "image"):
        chosen = [r for r in rows if r["suite"] == suite and r["method"] == method]
        if not chosen:
            continue
        pooled: Dict[str, List[float]] = {g: [] for g in GROUPS}
        for r in chosen:
            ranks = np.argsort(np.argsort(r["quality"])) / max(len(r["quality"]) - 1, 1)
            for g in GROUPS:
                pooled[g].extend(ranks[r["group"] == g])
        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.boxplot([pooled[g] for g in GROUPS])
        ax.set_xticks(range(1, len(GROUPS) + 1), list(GROUPS))
        ax.set_ylabel(f"{method} quality (rank within experiment)")
        ax.set_title(f"{suite}: {len(chosen)} experiments")
        paths.append(_save(plt, fig, os.path.join(out_dir, f"quality_{suite}.png")))
    return paths


def learning_curves(rows: Sequence[Dict[str, Any]], out_dir: str) -> List[str]:
    """Per suite, each method's mean test accuracy while adding the best-scored (left) and the
    worst-scored (right) auxiliary points."""
    plt = _pyplot()
    x = np.linspace(0, 1, CURVE_POINTS)
    paths = []
    for suite in ("tabular", "image"):
        chosen = [r for r in rows if r["suite"] == suite]
        if not chosen:
            continue
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
        for method in dict.fromkeys(r["method"] for r in chosen):
            mine = [r for r in chosen if r["method"] == method]
            axes[0].plot(x, np.mean([r["good_curve"] for r in mine], axis=0), label=method)
            axes[1].plot(x, np.mean([r["poor_curve"] for r in mine], axis=0), label=method)
        axes[0].set_title("best first, up to #good additions")
        axes[1].set_title("worst first, up to #poor additions")
        for ax in axes:
            ax.set_xlabel("fraction of additions")
        axes[0].set_ylabel("mean test accuracy")
        axes[1].legend(fontsize=8)
        fig.suptitle(suite)
        paths.append(_save(plt, fig, os.path.join(out_dir, f"curves_{suite}.png")))
    return paths
