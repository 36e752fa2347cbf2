"""One benchmark under two (or more) builds of the package, in alternated processes.

    python benchmarks/alternate.py --runs 4 --build before=/tmp/pk_old --build after=/tmp/pk_new \\
        --metric "one round ([0-9.]+) ms" --metric "100 bags n_jobs=1 / n_jobs=2 = ([0-9.]+)" \\
        -- benchmarks/compare_bagging.py --synthetic

A build is a directory holding an ``eap_anomaly`` package, e.g. made at the commit to measure
with ``pip install --no-deps --no-build-isolation --target DIR .``. Each run starts one fresh
interpreter per build, in turn, with that directory first on its path (``python -S``, so that an
editable install's import hook cannot win over it; checked before the runs): the load of a
shared machine drifts by tens of percent within minutes, and alternating exposes every build
to the same drift, where two blocks of runs one after the other would not. Every ``--metric``
(a regular expression whose first group is a number) is read from each run's output; the
table gives per build the median and range of each, and each build's median over the first's.
"""

import argparse
import os
import re
import subprocess
import sys
import sysconfig

import numpy as np


def parse_build(text):
    name, sep, path = text.partition("=")
    if not sep or not name or not os.path.isdir(os.path.join(path, "eap_anomaly")):
        raise argparse.ArgumentTypeError(f"--build wants NAME=DIR with DIR/eap_anomaly, got {text!r}")
    return name, os.path.abspath(path)


def run_once(path, command):
    """stdout of ``python -S command`` with the build first on the path, then this environment's
    site-packages (without their .pth files: an editable install's hook would shadow the build)."""
    site = [sysconfig.get_paths()[key] for key in ("purelib", "platlib")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([path, *dict.fromkeys(site)]))
    done = subprocess.run([sys.executable, "-S", *command], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed under {path}:\n{done.stderr[-2000:]}")
    return done.stdout


def check_build(path):
    where = run_once(path, ["-c", "import eap_anomaly; print(eap_anomaly.__file__)"]).strip()
    if not os.path.realpath(where).startswith(os.path.realpath(path) + os.sep):
        sys.exit(f"the build {path} imports eap_anomaly from {where}, not from itself")


def read_metrics(output, metrics):
    values = []
    for pattern in metrics:
        found = re.search(pattern, output)
        if found is None:
            sys.exit(f"metric {pattern!r} not found in the output:\n{output[-2000:]}")
        values.append(float(found.group(1)))
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=parse_build, action="append", required=True,
                        help="NAME=DIR, given twice or more; the first is the reference")
    parser.add_argument("--metric", action="append", required=True,
                        help="regular expression whose first group is the number to collect")
    parser.add_argument("--runs", type=int, default=3, help="processes per build (default 3)")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- then the benchmark script and its arguments")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if len(args.build) < 2 or not command or args.runs < 1:
        parser.error("give two or more --build, a positive --runs and, after --, the script to run")
    for _, path in args.build:
        check_build(path)
    values = {name: [] for name, _ in args.build}
    for run in range(args.runs):
        for name, path in args.build:
            got = read_metrics(run_once(path, command), args.metric)
            values[name].append(got)
            print(f"run {run + 1} {name}: " + " · ".join(f"{v:g}" for v in got), flush=True)
    print("\n| metric | " + " | ".join(f"{name} median (min–max)" for name, _ in args.build) +
          " | " + " | ".join(f"{name} / {args.build[0][0]}" for name, _ in args.build[1:]) + " |")
    print("|---|" + "---|" * (2 * len(args.build) - 1))
    for m, pattern in enumerate(args.metric):
        table = {name: np.array([v[m] for v in runs]) for name, runs in values.items()}
        first = np.median(table[args.build[0][0]])
        cells = [f"{np.median(v):.4g} ({v.min():.4g}–{v.max():.4g})" for v in table.values()]
        ratios = [f"{np.median(table[name]) / first:.3f}" for name, _ in args.build[1:]]
        print(f"| `{pattern}` | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
