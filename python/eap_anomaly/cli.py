"""Command line: ``eap-anomaly demo | fit | score``.

    eap-anomaly demo
    eap-anomaly fit --train FILE [--labels COLUMN] --save MODEL
    eap-anomaly score --model MODEL --aux FILE --out FILE [--chunk-size N] [--n-jobs N] [--details]
    eap-anomaly score --train FILE [--labels COLUMN] --aux FILE --out FILE ...
    eap-anomaly evaluate --data-dir DIR [--datasets ...] [--seeds N] [--methods ...] --out DIR

Files: .npy (memory-mapped), .npz (arrays X and y), .csv, .parquet (needs pyarrow). Candidates
are streamed chunk by chunk and results written as they come; the output file appears only when
complete. Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

if TYPE_CHECKING:
    from .scorer import EAPScorer

DETAIL_COLUMNS = ["quality", "p_anomaly", "density", "rarity"]


def demo(args: argparse.Namespace) -> int:
    from .demo import run

    return run(seed=args.seed)


def _fit(args: argparse.Namespace) -> "EAPScorer":
    from .files import read_training
    from .scorer import EAPScorer

    X, y = read_training(args.train, args.labels)
    return EAPScorer(random_state=args.seed, n_jobs=args.n_jobs).fit(X, y)


def fit(args: argparse.Namespace) -> int:
    scorer = _fit(args)
    scorer.save(args.save)
    print(f"fitted on {args.train}: k-hat {scorer.rounds_[0].k}; saved to {args.save}", file=sys.stderr)
    return 0


def _progress(done: int, total: int, start: float, unit: str = "candidates") -> None:
    rate = done / max(time.perf_counter() - start, 1e-9)
    if total > 0:
        bar = "#" * int(30 * done / total)
        sys.stderr.write(f"\r[{bar:<30}] {done}/{total} {unit}, {rate:,.2f}/s")
    else:
        sys.stderr.write(f"\r{done} {unit}, {rate:,.0f}/s")
    sys.stderr.flush()


def score(args: argparse.Namespace) -> int:
    from .files import ScoreWriter, candidate_chunks
    from .scorer import EAPScorer

    if (args.model is None) == (args.train is None):
        raise ValueError("give exactly one of --model (a saved scorer) or --train (fit now)")
    scorer = EAPScorer.load(args.model) if args.model else _fit(args)
    if args.n_jobs is not None:
        scorer.set_params(n_jobs=args.n_jobs)
    if args.chunk_size is not None:
        scorer.set_params(chunk_size=args.chunk_size)
    total, chunks = candidate_chunks(args.aux, scorer._chunk_rows(), scorer.dtype_)
    writer = ScoreWriter(args.out, DETAIL_COLUMNS if args.details else ["quality"], total)
    start = time.perf_counter()
    try:
        for block in chunks:
            if block.dtype == np.float64 and scorer.dtype_ == np.float32:
                raise TypeError(f"--aux {args.aux} holds float64 values but the model was fitted on "
                                f"float32 data; convert the file to float32 or fit on float64 data")
            if args.details:
                r = scorer.score(block, return_details=True)
                writer.write(np.column_stack([getattr(r, c) for c in DETAIL_COLUMNS]))
            else:
                writer.write(scorer.score(block, return_details=False))
            if args.progress:
                _progress(writer.written, total, start)
        if total >= 0 and writer.written != total:
            raise ValueError(f"{args.aux}: read {writer.written} rows, expected {total}")
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        if args.progress:
            sys.stderr.write("\n")
    print(f"scored {writer.written} candidates in {time.perf_counter() - start:.1f} s -> {args.out}",
          file=sys.stderr)
    return 0


def evaluate(args: argparse.Namespace) -> int:
    import csv

    from joblib import Parallel, delayed

    from .evaluation.baselines import ALL_METHODS, METHODS
    from .evaluation.datasets import list_datasets
    from .evaluation.protocol import METRICS, add_ranks, breakdown, run_experiment, summary_table

    if args.plots:
        _require_matplotlib()
    all_names = list_datasets(args.data_dir)
    names = select_datasets(all_names, args.datasets) if args.datasets else all_names
    methods = args.methods or list(METHODS)
    unknown = sorted(set(methods) - set(ALL_METHODS))
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose among {list(ALL_METHODS)}")
    tasks = [(name, seed) for name in names for seed in range(args.seeds)]
    os.makedirs(args.out, exist_ok=True)
    rows = []
    start = time.perf_counter()
    jobs = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
        delayed(run_experiment)(name, all_names, seed, args.data_dir, methods, 1) for name, seed in tasks)
    for done, result in enumerate(jobs, 1):
        rows.extend(result)
        if args.progress:
            _progress(done, len(tasks), start, unit="experiments")
    if args.progress:
        sys.stderr.write("\n")
    if not rows:
        raise ValueError("the protocol accepted none of the datasets (each needs g >= 10)")
    rows.sort(key=lambda r: (r["dataset"], r["seed"], methods.index(r["method"])))
    add_ranks(rows)
    fields = ["dataset", "suite", "seed", "method", *METRICS, *(f"rank_{m}" for m in METRICS)]
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    table = summary_table(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(args.out, "breakdown.md"), "w") as f:
        f.write(breakdown(rows) + "\n")
    print(table)
    if args.plots:
        from .evaluation.plots import learning_curves, quality_distributions

        for path in quality_distributions(rows, args.out) + learning_curves(rows, args.out):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ValueError("the plots need matplotlib: pip install 'eap-anomaly[plot]', "
                         "or pass --no-plots") from None


def select_datasets(names: Sequence[str], wanted: Sequence[str]) -> List[str]:
    """The datasets each pattern of ``wanted`` names: a full name ("Classical/6_cardio"), a folder
    ("CV_by_ViT") or a bare file stem ("6_cardio") when only one folder holds it. A pattern that
    matches nothing, or a stem found in several folders, is a ValueError listing the candidates."""
    chosen: List[str] = []
    for pattern in wanted:
        folder = pattern.rstrip("/") + "/"
        hits = [n for n in names if n == pattern or n.startswith(folder)]
        if not hits:
            hits = [n for n in names if n.split("/")[-1] == pattern]
            if len(hits) > 1:
                raise ValueError(f"--datasets {pattern!r} is in several folders: {', '.join(hits)}")
        if not hits:
            close = difflib.get_close_matches(pattern, list(names) + [n.split("/")[-1] for n in names], n=5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"--datasets {pattern!r} matches no dataset{hint}")
        chosen += [n for n in hits if n not in chosen]
    return chosen


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eap-anomaly", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="score auxiliary anomalies on scikit-learn's breast-cancer data")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=demo)

    def training_options(p: argparse.ArgumentParser, required: bool) -> None:
        p.add_argument("--train", required=required, help="training data (features + labels)")
        p.add_argument("--labels", help="label column name or index, or .npz key (default: last column / 'y')")
        p.add_argument("--seed", type=int, default=0, help="random state of the Isolation Forest")
        p.add_argument("--n-jobs", type=int, default=None, help="threads (default: OpenMP default)")

    p = sub.add_parser("fit", help="fit a scorer on labelled training data and save it")
    training_options(p, required=True)
    p.add_argument("--save", required=True, help="where to write the model (.npz)")
    p.set_defaults(run=fit)

    p = sub.add_parser("score", help="score candidates with a saved scorer (or fit one first)",
                       description="Candidates in .npy, .npz and .parquet keep their dtype, and a "
                                   "float32 model refuses float64 ones (as EAPScorer.score does); "
                                   ".csv text is parsed in the model's precision.")
    training_options(p, required=False)
    p.add_argument("--model", help="a model written by 'eap-anomaly fit'")
    p.add_argument("--aux", required=True, help="candidates to score")
    p.add_argument("--out", required=True, help="output file (.npy, .csv or .parquet)")
    p.add_argument("--chunk-size", type=_positive, default=None,
                   help="candidates per chunk (default: sized to a fraction of a second)")
    p.add_argument("--details", action="store_true", help="also write P(y=1|x), P(x) and rarity")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(run=score)

    p = sub.add_parser("evaluate", help="the paper's evaluation protocol on ADBench-format datasets")
    p.add_argument("--data-dir", default=None, help="dataset folder (default: $EAP_ANOMALY_DATA)")
    p.add_argument("--datasets", nargs="*",
                   help="datasets: full names (Classical/6_cardio), folders (CV_by_ViT) or file "
                        "stems (6_cardio) (default: all)")
    p.add_argument("--seeds", type=_positive, default=5)
    p.add_argument("--methods", nargs="*", help="quality methods (default: all)")
    p.add_argument("--out", required=True, help="output folder (CSV, summary.md, PNGs)")
    p.add_argument("--n-jobs", type=int, default=1, help="experiments run in parallel processes")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the PNG figures; they need matplotlib (pip install "
                        "'eap-anomaly[plot]'), checked before any experiment runs")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(run=evaluate)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ValueError, TypeError, OSError) as exc:
        print(f"eap-anomaly: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
