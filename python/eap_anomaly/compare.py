"""Compare generators of auxiliary anomalies by the quality distribution of their outputs.

``compare_sets(scorer, {"smote": Z1, "gan": Z2}, random_state=0)`` scores each set with one fitted
:class:`~eap_anomaly.EAPScorer` and summarises it: size, mean and median quality, a seeded
bootstrap interval of the mean, the share above the prior mean, and the shares judged
unrealistic and indistinguishable. Higher quality = better auxiliary anomaly.
"""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._validation import check_candidates, check_float, check_int

if TYPE_CHECKING:
    from .scorer import EAPScorer

#: Bootstrap replicates are drawn in blocks of at most this many indices (bounded memory).
_BOOT_BLOCK = 1 << 22


@dataclass
class SetSummary:
    """One row of the comparison table (quality = EAP, higher = better).

    n : rows. mean, median : of the quality. mean_low, mean_high : percentile bootstrap interval
    of the mean. above_prior : share with quality strictly above the prior mean
    alpha0 / (alpha0 + beta0). unrealistic : share outside every ball (P_x = 0: EAP falls back to
    the prior mean; with ``outside="tail"`` a vanishing P_x). indistinguishable : share inside a
    ball with P(y=1|x) < 0.5 (in the data, but the detector takes it for a normal). Shares are fractions in [0, 1]; the last two
    are disjoint.
    """

    name: str
    n: int
    mean: float
    median: float
    mean_low: float
    mean_high: float
    above_prior: float
    unrealistic: float
    indistinguishable: float


@dataclass
class Comparison:
    """The table of :func:`compare_sets`, the quality of every row of every set (for plots) and
    the prior mean the shares refer to."""

    rows: List[SetSummary]
    quality: Dict[str, np.ndarray]
    prior_mean: float
    confidence: float

    def to_markdown(self) -> str:
        pct = f"{100 * self.confidence:g} %"
        head = ["set", "n", "mean", f"mean {pct} CI", "median", "above prior", "unrealistic",
                "indistinguishable"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            cells = [r.name, str(r.n), f"{r.mean:.4f}", f"[{r.mean_low:.4f}, {r.mean_high:.4f}]",
                     f"{r.median:.4f}", f"{r.above_prior:.1%}", f"{r.unrealistic:.1%}",
                     f"{r.indistinguishable:.1%}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append(f"\nprior mean alpha0/(alpha0+beta0) = {self.prior_mean:.4f}; unrealistic: outside "
                     f"every ball (P_x = 0); indistinguishable: inside one, P(y=1|x) < 0.5.")
        return "\n".join(lines)

    def write_csv(self, path: str) -> None:
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=[fl.name for fl in fields(SetSummary)])
            writer.writeheader()
            for r in self.rows:
                writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in asdict(r).items()})

    def plot(self, path: str) -> str:
        """Box plots of the quality distributions side by side, the prior mean as a dashed line;
        needs matplotlib (``ValueError`` naming the extra otherwise)."""
        from .evaluation.plots import _pyplot, _save

        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(1.8 + 1.4 * len(self.rows), 4))
        names = [r.name for r in self.rows]
        ax.boxplot([self.quality[n] if self.quality[n].size else [np.nan] for n in names])
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.axhline(self.prior_mean, linestyle="--", color="grey", label="prior mean")
        ax.set_ylabel("quality (EAP, higher = better)")
        ax.legend(loc="best")
        return str(_save(plt, fig, path))

    def write(self, out_dir: str, plots: bool = True) -> List[str]:
        """comparison.csv, comparison.md and (``plots``) comparison.png in ``out_dir``."""
        os.makedirs(out_dir, exist_ok=True)
        paths = [os.path.join(out_dir, "comparison.csv"), os.path.join(out_dir, "comparison.md")]
        self.write_csv(paths[0])
        with open(paths[1], "w") as f:
            f.write(self.to_markdown() + "\n")
        if plots:
            paths.append(self.plot(os.path.join(out_dir, "comparison.png")))
        return paths


class SetScores:
    """Accumulates one set's chunks of scoring details: keeps the quality, counts the rest."""

    def __init__(self) -> None:
        self.parts: List[np.ndarray] = []
        self.unrealistic = 0
        self.indistinguishable = 0

    def add(self, quality: np.ndarray, p_anomaly: np.ndarray, rarity: np.ndarray) -> None:
        """Unrealistic: outside every ball (rarity 0, so P_x = 0 in the paper; a scorer with
        ``outside="tail"`` gives such rows a vanishing P_x instead)."""
        self.parts.append(np.asarray(quality, dtype=np.float64))
        outside = rarity == 0
        self.unrealistic += int(outside.sum())
        self.indistinguishable += int((~outside & (p_anomaly < 0.5)).sum())

    def quality(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.empty(0)


def bootstrap_mean_interval(values: np.ndarray, n_boot: int, confidence: float, rng: Any) -> "tuple[float, float]":
    """Percentile bootstrap interval of the mean: ``n_boot`` resamples with replacement, drawn in
    blocks of bounded size (time O(n_boot * n), memory O(min(n_boot * n, 4 M)))."""
    n = values.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    per_block = max(1, _BOOT_BLOCK // n)
    means = np.empty(n_boot)
    for start in range(0, n_boot, per_block):
        b = min(per_block, n_boot - start)
        means[start:start + b] = values[rng.randint(0, n, size=(b, n))].mean(axis=1)
    tail = 50.0 * (1.0 - confidence)
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def summarise(name: str, scores: SetScores, prior_mean: float, n_boot: int, confidence: float,
              rng: Any) -> SetSummary:
    q = scores.quality()
    n = int(q.shape[0])
    low, high = bootstrap_mean_interval(q, n_boot, confidence, rng)
    share = (lambda count: count / n) if n else (lambda count: float("nan"))
    return SetSummary(name=name, n=n, mean=float(q.mean()) if n else float("nan"),
                      median=float(np.median(q)) if n else float("nan"), mean_low=low, mean_high=high,
                      above_prior=share(int((q > prior_mean).sum())), unrealistic=share(scores.unrealistic),
                      indistinguishable=share(scores.indistinguishable))


def prior_mean(scorer: "EAPScorer") -> float:
    return float(scorer.alpha0_ / (scorer.alpha0_ + scorer.beta0_))


def score_chunks(scorer: "EAPScorer", chunks: Iterable[np.ndarray], name: str,
                 progress: Optional[Any] = None) -> SetScores:
    """Score a stream of candidate chunks (arrays the scorer accepts), keeping what the table
    needs; ``progress`` (a tqdm bar or None) is advanced by each chunk's rows."""
    scores = SetScores()
    for chunk in chunks:
        rows = check_candidates(chunk, name, scorer.n_features_in_, scorer.dtype_)
        for _, _, (quality, p_anomaly, _, rarity) in scorer._chunks(rows, 4, name):
            scores.add(quality, p_anomaly, rarity)
            if progress is not None:
                progress.update(quality.shape[0])
    return scores


def compare_sets(scorer: "EAPScorer", sets: Mapping[str, Any], *, n_boot: int = 1000,
                 confidence: float = 0.95, random_state: Any = 0) -> Comparison:
    """Quality distribution of each named set of candidates under one fitted scorer.

    Parameters
    ----------
    scorer : EAPScorer, fitted
    sets : mapping name -> (l, d) candidates (arrays, memory-mapped ``.npy`` welcome; the same
        dtype policy as :meth:`EAPScorer.score_samples`), in the order of the table.
    n_boot : int, default 1000
        Bootstrap resamples for the interval of the mean (time O(n_boot * l) per set).
    confidence : float in (0, 1), default 0.95
    random_state : int, RandomState or None, default 0
        Seeds the bootstrap (one generator, sets in order): equal seeds give equal tables.

    Returns
    -------
    Comparison
        ``.rows`` (one :class:`SetSummary` per set), ``.quality`` (name -> float64 quality of
        each row; O(l) memory), ``.prior_mean``; ``.to_markdown()``, ``.write_csv(path)``,
        ``.plot(path)``, ``.write(folder)``.

    Judgement rules (per row; bagged scorers use the mean over rounds): *unrealistic* when the
    density P_x is 0 (outside every ball of the training data, so EAP is the prior mean
    alpha0/(alpha0+beta0)); *indistinguishable* when P_x > 0 and P(y=1|x) < 0.5 (the detector
    takes it for a normal). The two shares are disjoint; the rest are realistic anomalies.
    """
    check_is_fitted(scorer, "rounds_")
    check_int(n_boot, "n_boot", low=1)
    check_float(confidence, "confidence", low=0.0, high=1.0, low_open=True, high_open=True)
    if not isinstance(sets, Mapping) or not sets:
        raise ValueError("sets must be a non-empty mapping of name -> candidates")
    rng = check_random_state(random_state)
    mean0 = prior_mean(scorer)
    rows, quality = [], {}
    for name, Z in sets.items():
        scores = score_chunks(scorer, [Z], f"sets[{name!r}]")
        quality[str(name)] = scores.quality()
        rows.append(summarise(str(name), scores, mean0, n_boot, confidence, rng))
    return Comparison(rows, quality, mean0, confidence)
