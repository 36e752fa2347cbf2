"""ADBench-format datasets (``.npz`` files with ``X`` and ``y``, 1 = anomaly) from a directory
given as an argument or through the ``EAP_ANOMALY_DATA`` environment variable. Nothing is
bundled or downloaded."""

from __future__ import annotations

import os
from typing import List, Optional, Tuple

import numpy as np

ENV_VAR = "EAP_ANOMALY_DATA"


def data_dir(path: Optional[str] = None) -> str:
    """The dataset directory: ``path`` if given, else ``$EAP_ANOMALY_DATA``."""
    folder = path or os.environ.get(ENV_VAR)
    if not folder:
        raise ValueError(f"no dataset directory: pass data_dir or set {ENV_VAR}")
    if not os.path.isdir(folder):
        raise ValueError(f"data_dir {folder!r} is not a directory")
    return folder


def list_datasets(path: Optional[str] = None, suite: Optional[str] = None) -> List[str]:
    """Names ("suite/file" without ``.npz``, e.g. "Classical/4_breastw") of every dataset under
    the directory, or under its sub-folder ``suite``, sorted."""
    root = data_dir(path)
    base = os.path.join(root, suite) if suite else root
    if not os.path.isdir(base):
        raise ValueError(f"suite {suite!r} not found in {root!r}")
    names = []
    for folder, _, files in os.walk(base):
        for f in files:
            if f.endswith(".npz"):
                rel = os.path.relpath(os.path.join(folder, f), root)
                names.append(rel[:-4].replace(os.sep, "/"))
    return sorted(names)


def load_dataset(name: str, path: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Features (float64) and labels (int, 1 = anomaly) of dataset ``name`` (see
    :func:`list_datasets`)."""
    file = os.path.join(data_dir(path), *name.split("/")) + ".npz"
    if not os.path.isfile(file):
        raise ValueError(f"dataset {name!r} not found ({file})")
    with np.load(file, allow_pickle=False) as data:
        if "X" not in data.files or "y" not in data.files:
            raise ValueError(f"{file}: expected arrays 'X' and 'y', found {data.files}")
        X, y = np.asarray(data["X"], dtype=np.float64), np.asarray(data["y"])
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"{file}: X must be 2-D and y have one label per row")
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise ValueError(f"{file}: labels must be 0/1")
    if not np.isfinite(X).all():
        raise ValueError(f"{file}: X contains NaN or infinity")
    return X, y.astype(np.int64)
