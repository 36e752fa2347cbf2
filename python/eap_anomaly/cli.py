"""Command line: ``eap-anomaly demo | fit | score | select | compare | evaluate``.

    eap-anomaly demo
    eap-anomaly fit --train FILE [--labels COLUMN] [--preset paper|authors|tuned] [--k-min N ...] --save MODEL
    eap-anomaly score --model MODEL --aux FILE --out FILE [--chunk-size N] [--n-jobs N] [--details]
    eap-anomaly score --train FILE [--labels COLUMN] [--preset ...] --aux FILE --out FILE ...
    eap-anomaly select --model MODEL --aux FILE --top 0.1 --out KEPT [--indices IDX]
    eap-anomaly compare --model MODEL --aux A.npy B.npy ... --out DIR [--names A B ...]
    eap-anomaly evaluate --data-dir DIR [--datasets ...] [--seeds N] [--methods ...] --out DIR [--resume]

Files: .npy (memory-mapped), .npz (arrays X and y), .csv, .parquet (needs pyarrow). Candidates
are streamed chunk by chunk and results written as they come; the output file appears only when
complete. Errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

if TYPE_CHECKING:
    from .scorer import EAPScorer

DETAIL_COLUMNS = ["quality", "p_anomaly", "density", "rarity"]


def demo(args: argparse.Namespace) -> int:
    from .demo import run

    return run(seed=args.seed)


#: --preset choices: each builds an unfitted scorer from keyword overrides (add one line per preset).
PRESETS: Dict[str, Callable[..., "EAPScorer"]] = {
    "paper": lambda **kw: _scorer_class()(**kw),
    "authors": lambda **kw: _scorer_class().authors_code(**kw),
    "tuned": lambda **kw: _scorer_class().tuned(**kw),
}

#: Options of fit (and of score/select/compare with --train) that override the preset:
#: (flag, EAPScorer parameter, type, help).
FIT_OPTIONS: List[Tuple[str, str, Callable[[str], Any], str]] = [
    ("--n-bags", "n_bags", lambda t: _integer(t, 0), "bagging rounds (0 = one fit)"),
    ("--centres", "centres", str, "sphere centres: all training points or the normals"),
    ("--k", "k", lambda t: _integer(t, 1), "neighbour rank of the density (estimated when unset)"),
    ("--k-min", "k_min", lambda t: _integer(t, 1), "smallest k of the k-hat estimate"),
    ("--alpha0", "alpha0", lambda t: _real(t, 0.0), "Beta prior pseudo-count of anomalies (m/n when unset)"),
    ("--beta0", "beta0", lambda t: _real(t, 0.0), "Beta prior pseudo-count of normals (1 - m/n when unset)"),
    ("--prior", "prior", str, "SSDO's prior: the Isolation Forest built by the core (native) or scikit-learn (sklearn, bit-exact), or the k-NN distance (knn; docs/quality.md)"),
    ("--outside", "outside", str, "P_x outside every ball: 0 (the paper) or a vanishing tail"),
    ("--whiten", "whiten", lambda t: _real(t, 0.0), "PCA whitening keeping this share of the variance"),
    ("--ssdo-k", "ssdo_k", lambda t: _rank(t), "neighbour rank of SSDO's bandwidth: an integer, or a "
     "fraction of the training rows in (0, 1]"),
]

def _choices(param: str) -> Optional[Tuple[str, ...]]:
    """The values an option with a fixed set of them accepts (None: any), from the package's
    own lists (imported when the parser is built, as the presets' defaults are)."""
    from .posterior import OUTSIDE
    from .prior import PRIORS
    from .scorer import CENTRES

    return {"centres": CENTRES, "prior": PRIORS, "outside": OUTSIDE}.get(param)


def _scorer_class() -> "type[EAPScorer]":
    from .scorer import EAPScorer

    return EAPScorer


def _preset_defaults(param: str) -> str:
    """What each preset sets ``param`` to, for --help ("unset" for None)."""
    values = {name: PRESETS[name]().get_params()[param] for name in PRESETS}
    shown = {name: "unset" if v is None else str(v) for name, v in values.items()}
    if len(set(shown.values())) == 1:
        return f"{next(iter(shown.values()))} in every preset"
    return "the preset's: " + ", ".join(f"{name} {v}" for name, v in shown.items())


def make_scorer(args: argparse.Namespace) -> "EAPScorer":
    """The unfitted scorer the options ask for: the preset, then each explicit option over it."""
    overrides = {param: getattr(args, param) for _, param, _, _ in FIT_OPTIONS
                 if getattr(args, param) is not None}
    return PRESETS[args.preset or "paper"](random_state=args.seed, n_jobs=args.n_jobs, **overrides)


def _fit(args: argparse.Namespace) -> "EAPScorer":
    from .files import read_training

    X, y = read_training(args.train, args.labels)
    return make_scorer(args).fit(X, y)


def describe(scorer: "EAPScorer") -> str:
    """The model's parameters and fitted k-hat, on one line."""
    params = " ".join(f"{k}={v!r}" for k, v in scorer.get_params().items())
    ks = sorted({r.k for r in scorer.rounds_})
    khat = str(ks[0]) if len(ks) == 1 else f"{ks[0]}..{ks[-1]} over {len(scorer.rounds_)} rounds"
    chosen = ""
    if scorer.validation_scores_ is not None:
        options = " ".join(f"{k}={v!r}" for k, v in scorer.chosen_.items())
        chosen = f"; chosen {options} (validation AUC {max(scorer.validation_scores_):.3f})"
    return f"{params}; k-hat {khat}{chosen}"


def _scorer(args: argparse.Namespace) -> "EAPScorer":
    """A saved scorer (--model; its parameters printed on one line to stderr) or one fitted now
    (--train), with --n-jobs and --chunk-size applied."""
    if (args.model is None) == (args.train is None):
        raise ValueError("give exactly one of --model (a saved scorer) or --train (fit now)")
    if args.model:
        given = [flag for flag, param, _, _ in FIT_OPTIONS if getattr(args, param) is not None]
        if args.preset is not None:
            given.insert(0, "--preset")
        if given:
            raise ValueError(f"{', '.join(given)} set how a scorer is fitted; they apply with --train, "
                             f"not to a saved --model")
        scorer = _scorer_class().load(args.model)
        print(f"model {args.model}: {describe(scorer)}", file=sys.stderr)
    else:
        scorer = _fit(args)
    if args.n_jobs is not None:
        scorer.set_params(n_jobs=args.n_jobs)
    if getattr(args, "chunk_size", None) is not None:
        scorer.set_params(chunk_size=args.chunk_size)
    return scorer


def fit(args: argparse.Namespace) -> int:
    scorer = _fit(args)
    scorer.save(args.save)
    print(f"fitted on {args.train}: {describe(scorer)}; saved to {args.save}", file=sys.stderr)
    return 0


def progress_bar(args: argparse.Namespace, total: Optional[int], unit: str, desc: Optional[str] = None) -> Any:
    """A tqdm bar on stderr; off with --no-progress, and when stderr is not a terminal
    (``disable=None``). ``total`` None or < 0: unknown (a counter)."""
    from tqdm import tqdm

    return tqdm(total=None if total is None or total < 0 else total, unit=unit, desc=desc,
                file=sys.stderr, disable=None if args.progress else True, unit_scale=True,
                dynamic_ncols=True)


def score(args: argparse.Namespace) -> int:
    from .files import ScoreWriter, candidate_chunks

    scorer = _scorer(args)
    total, chunks = candidate_chunks(args.aux, scorer._chunk_rows(), scorer.dtype_)
    writer = ScoreWriter(args.out, DETAIL_COLUMNS if args.details else ["quality"], total)
    start = time.perf_counter()
    bar = progress_bar(args, total, "rows", "score")
    try:
        for block in chunks:
            _check_block_dtype(block, scorer, args.aux)
            if args.details:
                r = scorer.score_samples(block, return_details=True)
                writer.write(np.column_stack([getattr(r, c) for c in DETAIL_COLUMNS]))
            else:
                writer.write(scorer.score_samples(block, return_details=False))
            bar.update(block.shape[0])
        if total >= 0 and writer.written != total:
            raise ValueError(f"{args.aux}: read {writer.written} rows, expected {total}")
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    finally:
        bar.close()
    print(f"scored {writer.written} candidates in {time.perf_counter() - start:.1f} s -> {args.out}",
          file=sys.stderr)
    return 0


def _check_block_dtype(block: np.ndarray, scorer: "EAPScorer", path: str) -> None:
    if block.dtype == np.float64 and scorer.dtype_ == np.float32:
        raise TypeError(f"--aux {path} holds float64 values but the model was fitted on "
                        f"float32 data; convert the file to float32 or fit on float64 data")


def _count_or_fraction(text: str) -> Union[int, float]:
    """Digits only = an integer (a count or rank), otherwise a float (0.1, 1.0, 1e-3);
    ValueError if neither."""
    return int(text) if text.strip().isdigit() else float(text)


def _top(text: str) -> Union[int, float]:
    """--top: a count, or a fraction of the rows."""
    try:
        value = _count_or_fraction(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count (an integer >= 1) or a fraction in (0, 1], "
                                         f"got {text!r}") from None
    from .selection import check_top

    try:
        check_top(value, 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def select(args: argparse.Namespace) -> int:
    """Stream the candidates once, keeping the best rows (and their features) in a running
    selection of at most --top rows; write them best first."""
    from .files import ScoreWriter, candidate_chunks, candidate_columns, count_rows
    from .selection import TopSelection, check_min_quality, check_top

    if args.top is None and args.min_quality is None:
        raise ValueError("give --top (a count or a fraction), --min-quality, or both")
    scorer = _scorer(args)
    total, chunks = candidate_chunks(args.aux, scorer._chunk_rows(), scorer.dtype_)
    if isinstance(args.top, float) and total < 0:
        total = count_rows(args.aux, scorer._chunk_rows(), scorer.dtype_)  # a first pass over the text
    count = check_top(args.top, total if total >= 0 else None)
    kept = TopSelection(count, check_min_quality(args.min_quality))
    seen = 0
    with progress_bar(args, total, "rows", "select") as bar:
        for block in chunks:
            _check_block_dtype(block, scorer, args.aux)
            kept.add(scorer.score_samples(block, return_details=False), np.asarray(block))
            seen += block.shape[0]
            bar.update(block.shape[0])
    if total >= 0 and seen != total:
        raise ValueError(f"{args.aux}: read {seen} rows, expected {total}")
    index, quality, rows = kept.result()
    if rows is None:
        rows = np.empty((0, scorer.n_features_in_), dtype=scorer.dtype_)
    outputs = [(args.out, rows, candidate_columns(args.aux, scorer.n_features_in_))]
    if args.indices:
        outputs.append((args.indices, index, ["index"]))
    writers = [ScoreWriter(path, columns, values.shape[0], dtype=values.dtype, matrix=values.ndim == 2)
               for path, values, columns in outputs]
    try:
        for writer, (_, values, _) in zip(writers, outputs):
            writer.write(values)
        for writer in writers:
            writer.commit()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    low = f", quality >= {quality[-1]:.4g}" if quality.size else ""
    print(f"kept {index.size} of {seen} candidates{low} -> {args.out}"
          + (f" (indices -> {args.indices})" if args.indices else ""), file=sys.stderr)
    return 0


def compare(args: argparse.Namespace) -> int:
    """Score each --aux file with one scorer (streaming) and write the comparison table."""
    from .compare import Comparison, prior_mean, score_chunks, summarise
    from .files import candidate_chunks, count_rows

    names = args.names or [os.path.splitext(os.path.basename(path))[0] for path in args.aux]
    if len(names) != len(args.aux):
        raise ValueError(f"--names gives {len(names)} names for {len(args.aux)} --aux files")
    if len(set(names)) != len(names):
        raise ValueError(f"set names must differ, got {names}; name the files apart with --names")
    plots = args.plots
    if plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("eap-anomaly: warning: matplotlib is missing (pip install 'eap-anomaly[plot]'); "
                  "writing the table without the figure", file=sys.stderr)
            plots = False
    scorer = _scorer(args)
    chunk = scorer._chunk_rows()
    totals = [count_rows(path, chunk, scorer.dtype_) if path.lower().endswith((".npy", ".parquet")) else -1 for path in args.aux]
    rng = np.random.RandomState(args.seed)
    mean0 = prior_mean(scorer)
    rows, quality = [], {}
    with progress_bar(args, sum(totals) if min(totals) >= 0 else None, "rows", "compare") as bar:
        for name, path in zip(names, args.aux):
            _, chunks = candidate_chunks(path, chunk, scorer.dtype_)

            def checked(chunks: Any = chunks, path: str = path) -> Any:
                for block in chunks:
                    _check_block_dtype(block, scorer, path)
                    yield block

            scores = score_chunks(scorer, checked(), path, bar)
            quality[name] = scores.quality()
            rows.append(summarise(name, scores, mean0, args.n_boot, 0.95, rng))
    comparison = Comparison(rows, quality, mean0, 0.95)
    for path in comparison.write(args.out, plots=plots):
        print(f"wrote {path}", file=sys.stderr)
    print(comparison.to_markdown())
    return 0


def evaluate(args: argparse.Namespace) -> int:
    import csv

    from joblib import Parallel, delayed

    from .evaluation.baselines import ALL_METHODS, METHODS
    from .evaluation.datasets import list_datasets
    from .evaluation.journal import experiment_path, load_experiment, run_and_save
    from .evaluation.protocol import METRICS, add_ranks, breakdown, summary_table

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
    if args.resume:
        kept = {task: load_experiment(experiment_path(args.out, *task), *task, methods) for task in tasks}
        tasks = [task for task in tasks if kept[task] is None]
        for found in kept.values():
            rows.extend(found or [])
        print(f"resuming: {len(kept) - len(tasks)} experiments kept in {args.out}, "
              f"{len(tasks)} to run", file=sys.stderr)
    # Each worker keeps its experiment under OUT/experiments as it finishes (--resume reads them).
    jobs = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
        delayed(run_and_save)(args.out, name, all_names, seed, args.data_dir, methods)
        for name, seed in tasks)
    with progress_bar(args, len(tasks), "experiments", "evaluate") as bar:
        for result in jobs:
            rows.extend(result)
            bar.update(1)
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
    return _integer(text, 1)


def _integer(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
    return value


def _real(text: str, low: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (value >= low and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= {low}, got {value}")
    return value


def _rank(text: str) -> Union[int, float]:
    """--ssdo-k: digits only = a neighbour rank, otherwise a fraction of the training rows."""
    from ._validation import check_rank

    try:
        return check_rank(_count_or_fraction(text), "the rank")
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or a fraction in (0, 1], "
                                         f"got {text!r}") from None


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Appends "(default: X)" to options whose default is a value, like
    ArgumentDefaultsHelpFormatter, but not for None/True/False (their help says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" not in text and action.option_strings and action.default is not None
                and not isinstance(action.default, bool) and action.default is not argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eap-anomaly", description=__doc__, formatter_class=_HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kw)

    p = command("demo", help="score auxiliary anomalies on scikit-learn's breast-cancer data")
    p.add_argument("--seed", type=int, default=0, help="random seed of the data split and the scorer")
    p.set_defaults(run=demo)

    def training_options(p: argparse.ArgumentParser, required: bool) -> None:
        what = "" if required else " (instead of --model)"
        p.add_argument("--train", required=required, help=f"training data (features + labels){what}")
        p.add_argument("--labels", help="label column name or index, or .npz key (default: last column / 'y')")
        p.add_argument("--preset", choices=sorted(PRESETS), default=None,
                       help="parameter set: paper = EAPScorer(), authors = EAPScorer.authors_code(), "
                            "tuned = EAPScorer.tuned() (docs/quality.md; about 15x the cost) "
                            "(default: paper); the options below override it")
        for flag, param, kind, text in FIT_OPTIONS:
            p.add_argument(flag, dest=param, type=kind, default=None, choices=_choices(param),
                           help=f"{text} (default: {_preset_defaults(param)})")
        p.add_argument("--seed", type=int, default=0, help="random state of the Isolation Forest and the bagging")
        p.add_argument("--n-jobs", type=int, default=None, help="threads (default: OpenMP default)")

    def candidate_options(p: argparse.ArgumentParser) -> None:
        training_options(p, required=False)
        p.add_argument("--model", help="a model written by 'eap-anomaly fit' (its parameters are printed)")
        p.add_argument("--chunk-size", type=_positive, default=None,
                       help="candidates per chunk (default: sized to a fraction of a second)")
        p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")

    p = command("fit", help="fit a scorer on labelled training data and save it")
    training_options(p, required=True)
    p.add_argument("--save", required=True, help="where to write the model (.npz)")
    p.set_defaults(run=fit)

    p = command("score", help="score candidates with a saved scorer (or fit one first)",
                description="Candidates in .npy, .npz and .parquet keep their dtype, and a "
                            "float32 model refuses float64 ones (as EAPScorer.score_samples does); "
                            ".csv text is parsed in the model's precision.")
    candidate_options(p)
    p.add_argument("--aux", required=True, help="candidates to score")
    p.add_argument("--out", required=True, help="output file (.npy, .csv or .parquet)")
    p.add_argument("--details", action="store_true", help="also write P(y=1|x), P(x) and rarity")
    p.set_defaults(run=score)

    p = command("select", help="keep the best candidates (streaming; best first)",
                description="Scores the candidates chunk by chunk and keeps a running selection "
                            "of the best --top rows (higher quality = better; ties: earlier row "
                            "first); writes those rows, best first, and optionally their row indices.")
    candidate_options(p)
    p.add_argument("--aux", required=True, help="candidates to select from")
    p.add_argument("--top", type=_top, default=None,
                   help="rows to keep: a count (an integer, e.g. 1000) or a fraction in (0, 1] (e.g. 0.1)")
    p.add_argument("--min-quality", type=float, default=None,
                   help="keep only rows whose quality is at or above this (alone: all such rows)")
    p.add_argument("--out", required=True, help="the selected rows (.npy, .csv or .parquet)")
    p.add_argument("--indices", default=None, help="also write their row indices here (.npy, .csv or .parquet)")
    p.set_defaults(run=select)

    p = command("compare", help="compare sets of candidates (e.g. generators) by their quality",
                description="Scores each --aux file with one scorer and writes comparison.csv, "
                            "comparison.md and comparison.png (box plots; needs matplotlib, "
                            "skipped with a warning without it) to --out. Per set: n, mean and "
                            "median quality, a seeded bootstrap 95 %% interval of the mean, the share "
                            "above the prior mean alpha0/(alpha0+beta0), the share unrealistic "
                            "(P_x = 0) and indistinguishable (P_x > 0 and P(y=1|x) < 0.5).")
    candidate_options(p)
    p.add_argument("--aux", required=True, nargs="+", help="one file of candidates per set")
    p.add_argument("--names", nargs="+", default=None, help="set names (default: the file stems)")
    p.add_argument("--n-boot", type=_positive, default=1000, help="bootstrap resamples (seeded by --seed)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="skip the figure")
    p.set_defaults(run=compare)

    p = command("evaluate", help="the paper's evaluation protocol on ADBench-format datasets")
    p.add_argument("--data-dir", default=None, help="dataset folder (default: $EAP_ANOMALY_DATA)")
    p.add_argument("--datasets", nargs="*",
                   help="datasets: full names (Classical/6_cardio), folders (CV_by_ViT) or file "
                        "stems (6_cardio) (default: all)")
    p.add_argument("--seeds", type=_positive, default=5, help="seeds per dataset")
    p.add_argument("--methods", nargs="*",
                   help="quality methods (default: the paper's cheap ones, EAP RARITY P_x P_y|x "
                        "'P_y|x + n*P_x' RANDOM); on request also EAP_TUNED (EAPScorer.tuned(), "
                        "about 15x the cost of EAP) and the data-valuation baselines LAVA KNNShap "
                        "DataOOB LOO (slow)")
    p.add_argument("--out", required=True,
                   help="output folder (CSV, summary.md, PNGs; each finished experiment under "
                        "experiments/)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the experiments an earlier run (same package version) finished "
                        "into --out with every requested method; run only the others")
    p.add_argument("--n-jobs", type=int, default=1, help="experiments run in parallel processes")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the PNG figures; they need matplotlib (pip install "
                        "'eap-anomaly[plot]'), checked before any experiment runs")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
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
