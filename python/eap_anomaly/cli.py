"""Command line: ``eap-anomaly demo``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def demo(args: argparse.Namespace) -> int:
    from .demo import run

    return run(seed=args.seed)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="eap-anomaly", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="score auxiliary anomalies on scikit-learn's breast-cancer data")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=demo)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
