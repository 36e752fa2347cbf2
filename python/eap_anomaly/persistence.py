"""Saved scorers: a versioned ``.npz`` of plain arrays, loaded with ``allow_pickle=False``.

Loading a model never executes code from the file, so a model from an untrusted source can at
worst give wrong scores, never run anything. Layout (format version 1):

- ``format`` = "eap-anomaly-scorer", ``format_version`` = 1, ``params`` = JSON of the
  constructor arguments, ``scorer`` = JSON of the scorer's fitted scalars;
- per round r (one without bagging): ``round{r}/k``, ``round{r}/n_centres``,
  ``round{r}/rho_sum``, the detector's fitted arrays and scalars ``round{r}/ssdo/<name>`` and its
  Isolation Forest node arrays ``round{r}/prior/<name>``.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import TYPE_CHECKING, Any, Dict, Union

import numpy as np

from .prior import IsolationPrior
from .ssdo import FITTED_ARRAYS, FITTED_SCALARS, SSDO

if TYPE_CHECKING:
    from .scorer import EAPScorer

FORMAT = "eap-anomaly-scorer"
FORMAT_VERSION = 1
PathLike = Union[str, "os.PathLike[str]"]


def _jsonable(params: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(params)
    if not (out.get("random_state") is None or isinstance(out["random_state"], int)):
        out["random_state"] = None  # a RandomState object has no portable form
    return out


def save_scorer(scorer: "EAPScorer", path: PathLike) -> None:
    """Write a fitted scorer to ``path`` (.npz) atomically: a partial file is never left."""
    arrays: Dict[str, Any] = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION),
        "params": np.array(json.dumps(_jsonable(scorer.get_params()))),
        "scorer": np.array(json.dumps({
            "alpha0_": scorer.alpha0_, "beta0_": scorer.beta0_,
            "n_features_in_": scorer.n_features_in_, "dtype_": np.dtype(scorer.dtype_).name,
            "n_rounds": len(scorer.rounds_),
        })),
    }
    for r, rnd in enumerate(scorer.rounds_):
        key = f"round{r}/"
        arrays[key + "k"] = np.array(rnd.k)
        arrays[key + "n_centres"] = np.array(rnd.n_centres)
        arrays[key + "rho_sum"] = np.array(rnd.rho_sum)
        det = rnd.detector
        for name in FITTED_ARRAYS + FITTED_SCALARS:
            arrays[f"{key}ssdo/{name}"] = np.asarray(getattr(det, name))
        arrays[key + "ssdo/params"] = np.array(json.dumps(_jsonable(det.get_params())))
        for name, value in det.prior_.state().items():
            arrays[f"{key}prior/{name}"] = np.asarray(value)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_scorer(path: PathLike) -> "EAPScorer":
    """Read a scorer written by :func:`save_scorer`. Raises ``ValueError`` for anything else."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:  # our handle: closed even when the archive is corrupt
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with data:
                return _read_scorer(data)
    except FileNotFoundError:
        raise ValueError(f"{name!r}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{name!r} is not a saved eap-anomaly scorer ({exc})") from exc


def _read_scorer(data: Any) -> "EAPScorer":
    from .scorer import EAPScorer, _Round

    if "format" not in data.files or str(data["format"]) != FORMAT:
        raise ValueError("it has no eap-anomaly format marker")
    version = int(data["format_version"])
    if version != FORMAT_VERSION:
        raise ValueError(f"format version {version}; this eap-anomaly reads version {FORMAT_VERSION}")
    scorer = EAPScorer(**json.loads(str(data["params"])))
    fitted = json.loads(str(data["scorer"]))
    scorer.alpha0_, scorer.beta0_ = fitted["alpha0_"], fitted["beta0_"]
    scorer.n_features_in_ = fitted["n_features_in_"]
    scorer.dtype_ = np.dtype(fitted["dtype_"])
    scorer.rounds_ = []
    for r in range(fitted["n_rounds"]):
        key = f"round{r}/"
        det = SSDO(**json.loads(str(data[key + "ssdo/params"])))
        for name in FITTED_ARRAYS:
            setattr(det, name, data[f"{key}ssdo/{name}"])
        for name in FITTED_SCALARS:
            setattr(det, name, data[f"{key}ssdo/{name}"].item())
        prior: Dict[str, Any] = {}
        for name in IsolationPrior.__dataclass_fields__:
            value = data[f"{key}prior/{name}"]
            prior[name] = value.item() if value.ndim == 0 else value
        det.prior_ = IsolationPrior(**prior)
        det._index = None
        scorer.rounds_.append(_Round(det, int(data[key + "k"]), int(data[key + "n_centres"]),
                                     float(data[key + "rho_sum"])))
    return scorer
