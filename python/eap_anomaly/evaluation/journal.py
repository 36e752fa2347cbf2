"""Finished experiments of ``eap-anomaly evaluate``, one ``.npz`` file each under
``OUT/experiments/``: a run that stops (a crash, a kill, a full disk, a late failure of a slow
baseline) keeps every experiment it finished, and ``--resume`` reads them instead of running
them again. The worker that ran an experiment writes its file (a temporary name, then a rename),
so a file is either whole or absent.

A file holds the experiment's dataset, suite, seed, auxiliary groups, and per method its
metrics, quality scores and learning curves: everything ``evaluate`` writes and plots, as the
experiment gave it (float64, no rounding), so a resumed run writes what an uninterrupted one
does. The files are the archives of saved models (:mod:`..persistence`: plain arrays, read
without pickle). An experiment the protocol rejects (g < 10) is recorded too, without methods.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import protocol
from ..persistence import read_archive, write_archive
from .protocol import METRICS

#: The arrays of a method's row that the files keep besides its metrics.
ARRAYS = ("quality", "good_curve", "poor_curve")
#: The files' format marker and version (``persistence``'s archives, as saved models).
KIND, VERSION = "eap-anomaly experiment", 1


def experiment_path(out: str, name: str, seed: int) -> str:
    """Where the experiment (``name``, ``seed``) of a run writing to ``out`` is kept."""
    return os.path.join(out, "experiments", f"{name.replace('/', '__')}__seed{seed}.npz")


def save_experiment(path: str, name: str, seed: int, rows: Sequence[Dict[str, Any]]) -> None:
    """Write the rows of one experiment (``run_experiment``'s; [] = rejected) to ``path``."""
    arrays: Dict[str, np.ndarray] = {"dataset": np.array(name), "seed": np.array(seed),
                                     "methods": np.array([r["method"] for r in rows], dtype=str)}
    if rows:
        arrays["suite"] = np.array(rows[0]["suite"])
        arrays["group"] = np.asarray(rows[0]["group"], dtype=str)
        arrays["metrics"] = np.array([[r[m] for m in METRICS] for r in rows], dtype=np.float64)
        for i, r in enumerate(rows):
            for key in ARRAYS:
                arrays[f"{key}_{i}"] = np.asarray(r[key], dtype=np.float64)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_archive(path, KIND, VERSION, arrays)


def load_experiment(path: str, name: str, seed: int, methods: Sequence[str]) -> Optional[List[Dict[str, Any]]]:
    """The rows of ``methods`` (in that order) of the experiment kept at ``path``; [] when the
    protocol rejected it; None when there is no usable file: absent, unreadable, of another
    experiment, or without one of ``methods``."""
    try:
        saved = read_archive(path, KIND, (VERSION,), "experiment", lambda a, _: {k: a[k] for k in a.files})
    except ValueError:
        return None
    try:
        if str(saved["dataset"]) != name or int(saved["seed"]) != seed:
            return None
        kept = [str(m) for m in saved["methods"]]
        if not kept:
            return []
        if not set(methods) <= set(kept):
            return None
        rows = []
        for method in methods:
            i = kept.index(method)
            row: Dict[str, Any] = {"method": method, "dataset": name, "suite": str(saved["suite"]),
                                   "seed": seed, "group": saved["group"]}
            row.update(zip(METRICS, (float(v) for v in saved["metrics"][i])))
            row.update((key, saved[f"{key}_{i}"]) for key in ARRAYS)
            rows.append(row)
        return rows
    except KeyError:
        return None


def run_and_save(out: str, name: str, names: Sequence[str], seed: int, data_dir: str,
                 methods: Sequence[str]) -> List[Dict[str, Any]]:
    """``run_experiment`` of (``name``, ``seed``), kept at ``experiment_path`` before it returns."""
    rows = protocol.run_experiment(name, names, seed, data_dir, methods, 1)
    save_experiment(experiment_path(out, name, seed), name, seed, rows)
    return rows
