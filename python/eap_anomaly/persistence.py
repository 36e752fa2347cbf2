"""Saved models: a versioned ``.npz`` of plain arrays, loaded with ``allow_pickle=False``.

Loading a model never executes code from the file, so a model from an untrusted source can at
worst give wrong scores, never run anything. This module knows the file, not the model: each
fitted object writes and reads its own arrays (``EAPScorer.save`` / ``EAPScorer.load``).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any, Callable, Dict, Tuple, TypeVar, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]
Model = TypeVar("Model")


def jsonable(params: Dict[str, Any]) -> Dict[str, Any]:
    """Constructor arguments as JSON-safe values: a RandomState object has no portable form."""
    out = dict(params)
    if not (out.get("random_state") is None or isinstance(out["random_state"], int)):
        out["random_state"] = None
    return out


def write_archive(path: PathLike, kind: str, version: int, arrays: Dict[str, Any]) -> None:
    """Write ``arrays`` under a ``format``/``format_version`` marker to ``path`` atomically: a
    partial file is never left."""
    marked = {"format": np.array(kind), "format_version": np.array(version), **arrays}
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **marked)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read_archive(path: PathLike, kind: str, versions: Tuple[int, ...], what: str,
                 build: Callable[[Any, int], Model]) -> Model:
    """``build(archive, version)`` on a file written by :func:`write_archive` with this ``kind``
    and one of ``versions``. Anything else, or an archive ``build`` cannot read, raises ``ValueError``
    naming the file and saying it is not a saved ``what``."""
    name = os.fspath(path)
    try:
        with open(path, "rb") as f:  # our handle: closed even when the archive is corrupt
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with data:
                if "format" not in data.files or str(data["format"]) != kind:
                    raise ValueError(f"it has no {kind!r} format marker")
                found = int(data["format_version"])
                if found not in versions:
                    raise ValueError(f"format version {found}; this eap-anomaly reads versions {versions}")
                return build(data, found)
    except FileNotFoundError:
        raise ValueError(f"{name!r}: no such file") from None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile,
            json.JSONDecodeError) as exc:
        raise ValueError(f"{name!r} is not a saved {what} ({exc})") from exc
