"""The data-valuation baselines beside the paper's methods (issue 13, docs/valuation.md).

``merge``: joins the rows of ``eap-anomaly evaluate`` runs made with ``--methods`` (the same
datasets and seeds) to the committed report's rows, ranks every experiment's methods again, and
writes results.csv and summary.md; prints AUC_QLT per suite beside the paper's Table 1.
``cost``: seconds per experiment of each baseline on one protocol split (one thread).

    eap-anomaly evaluate --data-dir ../shared/datasets/adbench --methods KNNShap DataOOB --out runs/a
    eap-anomaly evaluate --data-dir ../shared/datasets/adbench --methods LOO --out runs/b
    python benchmarks/valuation_report.py merge docs/evaluation/results.csv runs/a/results.csv \\
        runs/b/results.csv --out docs/valuation
    python benchmarks/valuation_report.py cost --data-dir ../shared/datasets/adbench
"""

import argparse
import csv
import os
import sys
import time

import numpy as np

from eap_anomaly.evaluation.protocol import METRICS, add_ranks, summary_table

#: The paper's Table 1, AUC_QLT (image, tabular).
PAPER = {"EAP": (0.803, 0.821), "RARITY": (0.681, 0.724), "LAVA": (0.742, 0.723),
         "LOO": (0.537, 0.504), "KNNShap": (0.509, 0.541), "DataOOB": (0.505, 0.513)}


def read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["seed"] = int(r["seed"])
        for m in METRICS:
            r[m] = float(r[m])
    return rows


def merge(args):
    rows = []
    for path in args.results:
        rows += read_rows(path)
    experiments = {}
    for r in rows:
        experiments.setdefault((r["dataset"], r["seed"]), set()).add(r["method"])
    methods = list(dict.fromkeys(r["method"] for r in rows))
    incomplete = [e for e, ms in experiments.items() if len(ms) != len(methods)]
    if incomplete:
        sys.exit(f"{len(incomplete)} experiments lack some methods, e.g. {incomplete[0]}")
    rows.sort(key=lambda r: (r["dataset"], r["seed"], methods.index(r["method"])))
    add_ranks(rows)
    os.makedirs(args.out, exist_ok=True)
    fields = ["dataset", "suite", "seed", "method", *METRICS, *(f"rank_{m}" for m in METRICS)]
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    table = summary_table(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    print("| method | ours tabular | paper tabular | ours image | paper image | ours ViT | ours ResNet-18 |")
    print("|---|---|---|---|---|---|---|")
    for method in methods:
        def mean(keep):
            values = [r["AUC_QLT"] for r in rows if r["method"] == method and keep(r)]
            return f"{np.mean(values):.3f}" if values else "–"
        image, tabular = PAPER.get(method, (None, None))
        paper = [f"{v:.3f}" if v is not None else "–" for v in (tabular, image)]
        print(f"| {method.replace('|', chr(92) + '|')} | {mean(lambda r: r['suite'] == 'tabular')} | {paper[0]} | "
              f"{mean(lambda r: r['suite'] == 'image')} | {paper[1]} | "
              f"{mean(lambda r: r['dataset'].startswith('CV_by_ViT'))} | "
              f"{mean(lambda r: r['dataset'].startswith('CV_by_ResNet18'))} |")


def cost(args):
    from eap_anomaly.evaluation.datasets import list_datasets, load_dataset
    from eap_anomaly.evaluation.protocol import make_split, other_datasets, suite_of
    from eap_anomaly.evaluation.valuation import VALUATION

    names = list_datasets(args.data_dir)
    X, y = load_dataset(args.dataset, args.data_dir)
    others = [load_dataset(o, args.data_dir)[0] for o in other_datasets(args.dataset, names, 0)]
    split = make_split(X, y, others, 0, same_space=suite_of(args.dataset) == "image")
    n, d = split.X_train.shape
    print(f"{args.dataset} seed 0: n = {n}, d = {d}, l = {split.X_aux.shape[0]}, one thread")
    print("| method | seconds per experiment |")
    print("|---|---|")
    for method, value in VALUATION.items():
        start = time.perf_counter()
        value(split.X_train, split.y_train, split.X_aux, random_state=0, n_jobs=1)
        print(f"| {method} | {time.perf_counter() - start:.2f} |")
    if args.lava_candidates:
        Z = split.X_aux[:args.lava_candidates]
        start = time.perf_counter()
        VALUATION["LAVA"](split.X_train, split.y_train, Z, random_state=0, n_jobs=1, solver="converged")
        seconds = (time.perf_counter() - start) / Z.shape[0]
        print(f"| LAVA, solver=\"converged\" | {seconds:.1f} per candidate, so about "
              f"{seconds * split.X_aux.shape[0] / 3600:.1f} h |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("merge")
    p.add_argument("results", nargs="+", help="results.csv files of evaluate runs")
    p.add_argument("--out", required=True)
    p = commands.add_parser("cost")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--dataset", default="Classical/30_satellite")
    p.add_argument("--lava-candidates", type=int, default=0,
                   help="also time LAVA's converged solves on this many candidates (default: skip)")
    args = parser.parse_args()
    merge(args) if args.command == "merge" else cost(args)


if __name__ == "__main__":
    main()
