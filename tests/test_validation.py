"""Bad and unusual input for every public entry point (issues 6 and 10): knn_radii,
rarity_scores, estimate_k, SSDO.fit / decision_function / predict_proba, EAPScorer.fit / score,
score_auxiliary and expected_anomaly_posterior.

* Every bad input is one row of ONE table, ``CASES`` (one pytest case per row): the call must
  raise ``ValueError`` or ``TypeError`` (``NotFittedError`` is a ``ValueError``) whose message
  names the offending argument, promptly.
* Accepted inputs: empty candidate sets, integer data, label conventions, non-contiguous,
  Fortran-ordered and read-only arrays, nested lists and NumPy scalars give the answers of the
  plain float arrays.
* Inputs are never modified (one test, parametrised over the entry points).

Thread-count invariance is tested in ``test_threads.py`` only.
"""

from __future__ import annotations

import copy
import signal
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple, Type, Union

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import NotFittedError

from eap_anomaly import (
    SSDO,
    EAPScorer,
    estimate_k,
    expected_anomaly_posterior,
    knn_radii,
    nearest_distances,
    rarity_scores,
    score_auxiliary,
)
from helpers import DETAIL_FIELDS, assert_same_details, assert_unchanged, named, snapshot

# ----- data ----------------------------------------------------------------------------------

# geometry: centres C, queries Q, anomalies A, radii R
RNG_GEOMETRY = np.random.default_rng(2024)
C64 = RNG_GEOMETRY.normal(size=(12, 3))
Q64 = RNG_GEOMETRY.normal(size=(7, 3)) * 1.5
A64 = RNG_GEOMETRY.normal(size=(4, 3)) * 3
R64 = np.linspace(0.5, 2.0, 12)
NC, MA = C64.shape[0], A64.shape[0]

# estimators: training rows X with labels Y01, candidates Z, and inputs of the posterior
RNG = np.random.default_rng(606)
N, D = 30, 3
X64 = RNG.normal(size=(N, D))
Y01 = np.zeros(N, dtype=np.int64)
Y01[[2, 9, 17, 25]] = 1
X64[Y01 == 1] += 2.5
Z64 = np.vstack([RNG.normal(size=(6, D)), RNG.normal(size=(4, D)) * 4.0])
P_ANOM = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
P_DENS = np.array([0.3, 0.0, 0.2, 1.0, 0.05])

FAST_SSDO = dict(n_estimators=20, random_state=0)


@dataclass
class Fitted:
    ssdo: SSDO
    ssdo32: SSDO
    scorer: EAPScorer
    scorer32: EAPScorer


_FITTED: Dict[str, Fitted] = {}


def fitted() -> Fitted:
    """Fitted models, built once per session (outside the per-case hang guard)."""
    if "f" not in _FITTED:
        _FITTED["f"] = Fitted(
            ssdo=SSDO(**FAST_SSDO).fit(X64, Y01),
            ssdo32=SSDO(**FAST_SSDO).fit(X64.astype(np.float32), Y01),
            scorer=EAPScorer(random_state=0).fit(X64, Y01),
            scorer32=EAPScorer(random_state=0).fit(X64.astype(np.float32), Y01),
        )
    return _FITTED["f"]


@pytest.fixture(scope="module")
def fx() -> Fitted:
    return fitted()


class Hang(Exception):
    """The call did not return: an infinite loop instead of an error."""


@contextmanager
def hang_guard(seconds: float):
    """Turn a hang into a failure (POSIX; a no-op elsewhere). Every bad input must be rejected
    promptly; the fitted models are built before the guard is armed."""
    if sys.platform == "win32" or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ----- the table -----------------------------------------------------------------------------

Exc = Union[Type[BaseException], Tuple[Type[BaseException], ...]]
BOTH = (ValueError, TypeError)


@dataclass
class Case:
    id: str
    call: Callable[[Fitted], Any]
    exc: Exc
    match: Tuple[str, ...]  # regexes the message must contain (normally the argument's name)


CASES: List[Case] = []


def add(case_id: str, call: Callable[[Fitted], Any], exc: Exc, *names: str, regex: bool = False) -> None:
    """One row; the message must name every one of ``names`` (regexes with ``regex=True``)."""
    CASES.append(Case(case_id, call, exc, tuple(n if regex else named(n) for n in names)))


def show(value: Any) -> str:
    """A case id for a scalar value; NumPy scalars keep their type (np.float64(2.0) is not 2.0)."""
    if isinstance(value, np.generic):
        return f"{type(value).__name__}({value!r})"
    return repr(value)


def with_value(arr: np.ndarray, i: int, j: int, value: float) -> np.ndarray:
    out = arr.copy()
    out[i, j] = value
    return out


# Bad matrices: transform of a good matrix -> (bad value, exception); for every matrix argument
BAD_MATRIX: Dict[str, Tuple[Callable[[np.ndarray], Any], Exc]] = {
    "nan": (lambda M: with_value(M, 1, 2, np.nan), ValueError),
    "+inf": (lambda M: with_value(M, 0, 0, np.inf), ValueError),
    "-inf": (lambda M: with_value(M, M.shape[0] - 1, 1, -np.inf), ValueError),
    "0-d": (lambda M: np.asarray(1.0), ValueError),
    "1-d": (lambda M: M[0].copy(), ValueError),
    "3-d": (lambda M: M.reshape(1, *M.shape).copy(), ValueError),
    "zero-columns": (lambda M: np.empty((M.shape[0], 0)), ValueError),
    "ragged-list": (lambda M: [[1.0, 2.0, 3.0], [1.0, 2.0]], TypeError),
    # object arrays of numbers are converted like integers; text in one is a TypeError
    "object-with-text": (lambda M: with_value(M.astype(object), 0, 0, "one"), TypeError),
    "object-row-of-text": (lambda M: np.where(np.arange(M.shape[0])[:, None] == 0, "one", M.astype(object)),
                           TypeError),
    "str": (lambda M: M.astype(str), TypeError),
    "bytes": (lambda M: M.astype(bytes), TypeError),
    "bool": (lambda M: M > 0, TypeError),
    "complex": (lambda M: M.astype(np.complex128), TypeError),
    "float16": (lambda M: M.astype(np.float16), TypeError),
}
if np.dtype(np.longdouble) != np.dtype(np.float64):
    BAD_MATRIX["longdouble"] = (lambda M: M.astype(np.longdouble), TypeError)

# ----- knn_radii, rarity_scores, estimate_k


def geometry(fn: str, C: Any = None, Q: Any = None, A: Any = None, radii: Any = None,
             **kwargs: Any) -> Callable[[Fitted], Any]:
    """A call of one of the three geometry functions, with defaults for the arguments not given.
    (The functions name their arguments C, Z, A, radii; Z is the queries Q here.)"""
    C = C64 if C is None else C

    def go(fx: Fitted) -> Any:
        if fn == "knn_radii":
            kwargs.setdefault("k", 2)
            return knn_radii(C, **kwargs)
        if fn == "rarity_scores":
            return rarity_scores(Q64 if Q is None else Q, C, R64 if radii is None else radii, **kwargs)
        if fn == "estimate_k":
            return estimate_k(C, A64 if A is None else A, **kwargs)
        if fn == "nearest_distances":
            return nearest_distances(Q64 if Q is None else Q, C, **kwargs)
        raise AssertionError(fn)

    return go


GEOMETRY = ["knn_radii", "rarity_scores", "estimate_k", "nearest_distances"]
# (function, argument name, keyword of ``geometry``, good value) for every matrix argument
GEOMETRY_MATRICES = [
    ("knn_radii", "C", "C", C64),
    ("rarity_scores", "Z", "Q", Q64),
    ("rarity_scores", "C", "C", C64),
    ("nearest_distances", "Z", "Q", Q64),
    ("nearest_distances", "C", "C", C64),
    ("estimate_k", "C", "C", C64),
    ("estimate_k", "A", "A", A64),
]
for fn, arg, kw, good in GEOMETRY_MATRICES:
    for bad, (make, exc) in BAD_MATRIX.items():
        add(f"{fn}:{arg}:{bad}", geometry(fn, **{kw: make(good)}), exc, arg)
    # all arrays float32, so the NaN, not a dtype mix, is what is reported
    all32 = {"C": C64.astype(np.float32), "Q": Q64.astype(np.float32), "A": A64.astype(np.float32)}
    all32[kw] = with_value(good.astype(np.float32), 0, 1, np.nan)
    add(f"{fn}:{arg}:nan-float32", geometry(fn, **all32), ValueError, arg)

for fn in GEOMETRY:
    add(f"{fn}:C:zero-rows", geometry(fn, C=np.empty((0, 3))), ValueError, "C")
for fn in ("knn_radii", "estimate_k"):  # n_c < 2: there is no other centre (SPEC 1 and 3)
    add(f"{fn}:C:one-row", geometry(fn, C=C64[:1].copy()), ValueError, "C")
add("knn_radii:C:one-row-list", lambda fx: knn_radii([[1.0, 2.0, 3.0]], 1), ValueError, "C")
add("knn_radii:C:nested-list-with-nan",
    lambda fx: knn_radii([[0.0, 1.0], [float("nan"), 2.0], [3.0, 4.0]], 1), ValueError, "C")

# widths that differ from the centres': the message names the argument and says "features"
for fn, arg, kw, value in [
    ("rarity_scores", "Z", "Q", Q64[:, :2].copy()),
    ("rarity_scores", "Z", "Q", np.hstack([Q64, Q64])),
    ("nearest_distances", "Z", "Q", Q64[:, :2].copy()),
    ("estimate_k", "A", "A", A64[:, :2].copy()),
    ("estimate_k", "A", "A", np.hstack([A64, A64[:, :1]])),
]:
    add(f"{fn}:{arg}:{value.shape[1]}-features", geometry(fn, **{kw: value}), ValueError, arg, "features")
add("rarity_scores:Z:zero-rows-wrong-width",
    lambda fx: rarity_scores(np.empty((0, 4)), C64, np.ones(NC)), ValueError, "Z")
add("rarity_scores:Z:zero-rows-str",
    lambda fx: rarity_scores(np.empty((0, 3), dtype=str), C64, np.ones(NC)), TypeError, "Z")
add("estimate_k:A:zero-rows-wrong-width", lambda fx: estimate_k(C64, np.empty((0, 4))), ValueError, "A")

# float32 mixed with float64: both arrays are named
for fn, other, kw in (("rarity_scores", "Z", "Q"), ("nearest_distances", "Z", "Q"),
                      ("estimate_k", "A", "A")):
    good = {"Q": Q64, "A": A64}[kw]
    add(f"{fn}:C32-{other}64", geometry(fn, C=C64.astype(np.float32), **{kw: good}), TypeError, other, "C")
    add(f"{fn}:C64-{other}32", geometry(fn, C=C64, **{kw: good.astype(np.float32)}), TypeError, other, "C")

for k, exc in [(0, ValueError), (-1, ValueError), (NC, ValueError), (NC + 5, ValueError),
               (1.5, TypeError), (2.0, TypeError), (np.float64(2.0), TypeError), (True, TypeError),
               (np.bool_(True), TypeError), ("2", TypeError), (None, TypeError)]:
    add(f"knn_radii(k={show(k)})", geometry("knn_radii", k=k), exc, "k")

for name, values in {
    "k_min": [(0, ValueError), (-3, ValueError), (1.5, TypeError), (1.0, TypeError),
              (True, TypeError), (None, TypeError)],
    "quantile": [(0, ValueError), (0.0, ValueError), (1, ValueError), (1.0, ValueError),
                 (-0.5, ValueError), (1.5, ValueError), (float("nan"), ValueError),
                 (float("inf"), ValueError), ("0.9", TypeError), (True, TypeError),
                 (None, TypeError)],
}.items():
    for value, exc in values:
        add(f"estimate_k({name}={show(value)})", geometry("estimate_k", **{name: value}), exc, name)

for fn in GEOMETRY:
    for n_jobs, exc in [(0, ValueError), ("a", TypeError), (1.5, TypeError), (2.0, TypeError),
                        (True, TypeError)]:
        add(f"{fn}(n_jobs={show(n_jobs)})", geometry(fn, n_jobs=n_jobs), exc, "n_jobs")

for bad, (radii, exc) in {
    "too-short": (R64[:-1], ValueError),
    "too-long": (np.append(R64, 1.0), ValueError),
    "2-d-row": (R64.reshape(1, -1), ValueError),
    "2-d-column": (R64.reshape(-1, 1), ValueError),
    "0-d": (np.float64(1.0), ValueError),
    "negative": (np.where(np.arange(NC) == 3, -0.5, R64), ValueError),
    "nan": (np.where(np.arange(NC) == 0, np.nan, R64), ValueError),
    "inf": (np.where(np.arange(NC) == 5, np.inf, R64), ValueError),
    "complex": (R64.astype(np.complex128), TypeError),
    "bool": (R64 > 1, TypeError),
    "object": (R64.astype(object), TypeError),
    "str": (R64.astype(str), TypeError),
    "float16": (R64.astype(np.float16), TypeError),
}.items():
    add(f"rarity_scores:radii:{bad}", geometry("rarity_scores", radii=radii), exc, "radii")

for bad, (index, exc) in {
    "too-long": (np.full(MA + 1, -1), ValueError),
    "too-short": (np.full(MA - 1, -1), ValueError),
    "2-d-column": (np.full((MA, 1), -1), ValueError),
    "2-d-row": (np.full((1, MA), -1), ValueError),
    "0-d": (np.int64(-1), ValueError),
    "n_c": (np.array([0, 1, 2, NC]), ValueError),
    "beyond-n_c": (np.array([0, 1, 2, NC + 100]), ValueError),
    "minus-2": (np.array([0, -2, 2, 3]), ValueError),
    "float": (np.array([0.0, 1.0, 2.0, 3.0]), TypeError),
    "float-minus-1": (np.array([-1.0, -1.0, -1.0, -1.0]), TypeError),
    "bool": (np.array([True, False, True, False]), TypeError),
    "str": (np.array(["0", "1", "2", "3"]), TypeError),
}.items():
    add(f"estimate_k:anomaly_index:{bad}", geometry("estimate_k", anomaly_index=index), exc, "anomaly_index")

# ----- SSDO, EAPScorer, score_auxiliary, expected_anomaly_posterior

# Bad training matrices only (rows are required)
BAD_TRAIN_ONLY: Dict[str, Tuple[Callable[[np.ndarray], Any], Exc]] = {
    "nan-float32": (lambda M: with_value(M.astype(np.float32), 0, 1, np.nan), ValueError),
    "zero-rows": (lambda M: np.empty((0, M.shape[1])), ValueError),
}

# Bad candidate matrices only (zero rows are allowed, widths must match the fit)
BAD_CANDIDATE_ONLY: Dict[str, Tuple[Callable[[np.ndarray], Any], Exc]] = {
    "nan-float32": (lambda M: with_value(M.astype(np.float32), 0, 1, np.nan), ValueError),
    "fewer-features": (lambda M: M[:, :2].copy(), ValueError),
    "more-features": (lambda M: np.hstack([M, M[:, :1]]), ValueError),
    "zero-rows-wrong-width": (lambda M: np.empty((0, M.shape[1] + 1)), ValueError),
    "zero-rows-str": (lambda M: np.empty((0, M.shape[1]), dtype=str), TypeError),
}

# -- training matrices: SSDO.fit(X), EAPScorer.fit(X), score_auxiliary(X_train)
TRAIN_TARGETS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "SSDO.fit": ("X", lambda X: SSDO(**FAST_SSDO).fit(X, Y01)),
    "EAPScorer.fit": ("X", lambda X: EAPScorer(random_state=0).fit(X, Y01)),
    "score_auxiliary": ("X_train", lambda X: score_auxiliary(X, Y01, Z64, random_state=0)),
}
for target, (arg, fit_with) in TRAIN_TARGETS.items():
    for bad, (make, exc) in {**BAD_MATRIX, **BAD_TRAIN_ONLY}.items():
        add(f"{target}:{arg}:{bad}", lambda fx, f=fit_with, m=make: f(m(X64)), exc, arg)

# one training row: labels of matching length, so X is what is wrong
add("SSDO.fit:X:one-row", lambda fx: SSDO(**FAST_SSDO).fit(X64[:1], [0]), ValueError, "X")
add("EAPScorer.fit:X:one-row", lambda fx: EAPScorer().fit(X64[:1], [0]), ValueError,
    r"(?<![A-Za-z_])(X|centres)(?![A-Za-z_])", regex=True)
add("score_auxiliary:X_train:one-row", lambda fx: score_auxiliary(X64[:1], [0], Z64), ValueError,
    r"(?<![A-Za-z_])(X_train|centres)(?![A-Za-z_])", regex=True)

# -- candidate matrices: decision_function / predict_proba / score / score_auxiliary(X_aux)
CANDIDATE_TARGETS: Dict[str, Tuple[str, Callable[[Fitted, Any], Any]]] = {
    "SSDO.decision_function": ("Z", lambda fx, Z: fx.ssdo.decision_function(Z)),
    "SSDO.predict_proba": ("Z", lambda fx, Z: fx.ssdo.predict_proba(Z)),
    "EAPScorer.score_samples": ("Z", lambda fx, Z: fx.scorer.score_samples(Z)),
    "EAPScorer.score_samples(details)": ("Z", lambda fx, Z: fx.scorer.score_samples(Z, return_details=True)),
    "score_auxiliary": ("X_aux", lambda fx, Z: score_auxiliary(X64, Y01, Z, random_state=0)),
}
for target, (arg, score_with) in CANDIDATE_TARGETS.items():
    for bad, (make, exc) in {**BAD_MATRIX, **BAD_CANDIDATE_ONLY}.items():
        add(f"{target}:{arg}:{bad}", lambda fx, f=score_with, m=make: f(fx, m(Z64)), exc, arg)

# float64 candidates for a float32 model: never silently narrowed
add("SSDO.decision_function:Z:float64-for-float32-model",
    lambda fx: fx.ssdo32.decision_function(Z64), TypeError, "Z")
add("EAPScorer.score_samples:Z:float64-for-float32-model",
    lambda fx: fx.scorer32.score_samples(Z64), TypeError, "Z")
add("EAPScorer.score_samples:Z:float64-zero-rows-for-float32-model",
    lambda fx: fx.scorer32.score_samples(np.empty((0, D))), TypeError, "Z")
add("EAPScorer.score_samples:Z:nan-float32-model",
    lambda fx: fx.scorer32.score_samples(with_value(Z64.astype(np.float32), 2, 0, np.nan)), ValueError, "Z")

# -- labels: SSDO.fit(y), EAPScorer.fit(y), score_auxiliary(y_train)
BAD_LABELS: Dict[str, Tuple[Any, Exc]] = {
    "too-short": (Y01[:-1], ValueError),
    "too-long": (np.append(Y01, 0), ValueError),
    "empty": (np.array([], dtype=int), ValueError),
    "2-d-column": (Y01.reshape(-1, 1), ValueError),
    "2-d-row": (Y01.reshape(1, -1), ValueError),
    "0-d": (np.int64(1), ValueError),
    "values-0-2": (np.where(Y01 == 1, 2, 0), ValueError),
    "values-minus1-0-1": (np.where(np.arange(N) == 0, -1, Y01), ValueError),
    "values-0-0.5": (np.where(Y01 == 1, 0.5, 0.0), ValueError),
    "values-1-2": (Y01 + 1, ValueError),
    "values-0-1-2": (np.where(np.arange(N) == 0, 2, Y01), ValueError),
    "values-0-0.5-1": (np.where(np.arange(N) == 0, 0.5, Y01.astype(np.float64)), ValueError),
    "nan": (np.where(Y01 == 1, np.nan, 0.0), ValueError),
    "nan-among-0-1": (np.where(np.arange(N) == 0, np.nan, Y01.astype(np.float64)), ValueError),
    "all-anomalies": (np.ones(N, dtype=int), ValueError),
    "str": (Y01.astype(str), TypeError),
    "str-words": (np.where(Y01 == 1, "anomaly", "normal"), BOTH),
    "object-with-text": (np.where(np.arange(N) == 0, "one", Y01.astype(object)), TypeError),
    "complex": (Y01.astype(np.complex128), TypeError),
    "None": (None, ValueError),
}
LABEL_TARGETS: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "SSDO.fit": ("y", lambda y: SSDO(**FAST_SSDO).fit(X64, y)),
    "EAPScorer.fit": ("y", lambda y: EAPScorer(random_state=0).fit(X64, y)),
    "score_auxiliary": ("y_train", lambda y: score_auxiliary(X64, y, Z64, random_state=0)),
}
for target, (arg, fit_with) in LABEL_TARGETS.items():
    for bad, (labels, exc) in BAD_LABELS.items():
        add(f"{target}:{arg}:{bad}", lambda fx, f=fit_with, y=labels: f(y), exc, arg)

# -- SSDO hyper-parameters (validated in fit) and n_jobs changed after fit
SSDO_PARAMS: Dict[str, List[Tuple[Any, Exc]]] = {
    "k": [(0, ValueError), (-1, ValueError), (1.5, TypeError), (2.0, TypeError), ("3", TypeError),
          (True, TypeError), (None, TypeError)],
    "alpha": [(-0.5, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("2.3", TypeError),
              (True, TypeError), (None, TypeError)],
    "n_estimators": [(0, ValueError), (-3, ValueError), (1.5, TypeError), (None, TypeError)],
    "threshold": [("bogus", BOTH), (None, BOTH), (1, BOTH)],
    "n_jobs": [(0, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)],
}
for param, values in SSDO_PARAMS.items():
    for value, exc in values:
        add(f"SSDO({param}={value!r}).fit", lambda fx, p=param, v=value: SSDO(**{**FAST_SSDO, p: v}).fit(X64, Y01),
            exc, param)


def _refit_params(model: Any, **params: Any) -> Any:
    """A shallow copy of a fitted model with changed parameters (the shared model is untouched)."""
    other = copy.copy(model)
    other.set_params(**params)
    return other


add("SSDO.decision_function:n_jobs=0-after-fit",
    lambda fx: _refit_params(fx.ssdo, n_jobs=0).decision_function(Z64), ValueError, "n_jobs")
add("SSDO.predict_proba:n_jobs='2'-after-fit",
    lambda fx: _refit_params(fx.ssdo, n_jobs="2").predict_proba(Z64), TypeError, "n_jobs")

# -- EAPScorer hyper-parameters (validated in fit)
EAP_PARAMS: Dict[str, List[Tuple[Any, Exc]]] = {
    "centres": [("bogus", BOTH), (None, BOTH)],
    "k": [(0, ValueError), (-1, ValueError), (N, ValueError), (N + 10, ValueError), (1.5, TypeError),
          ("3", TypeError), (True, TypeError)],
    # (k_min >= n_c is not an error: SPEC 3 gives k-hat = n_c - 1; test_geometry pins it)
    "k_min": [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError),
              (None, TypeError)],
    "alpha0": [(-0.1, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("0.1", TypeError),
               (True, TypeError)],
    "beta0": [(-0.1, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("0.9", TypeError),
              (True, TypeError)],
    "n_bags": [(-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError), (None, TypeError)],
    "n_jobs": [(0, ValueError), (1.5, TypeError), ("x", TypeError), (True, TypeError)],
    "chunk_size": [(0, ValueError), (-5, ValueError), (1.5, TypeError), ("100", TypeError),
                   (True, TypeError)],
    "quantile": [(0.0, ValueError), (1.0, ValueError), (-0.1, ValueError), (1.5, ValueError),
                 (np.nan, ValueError), ("0.9", TypeError), (None, TypeError)],
    "ssdo_k": [(0, ValueError), (-3, ValueError), (0.0, ValueError), (1.5, ValueError),
               (np.nan, ValueError), ("3", TypeError), (True, TypeError), (None, TypeError)],
    "alpha": [(-1.0, ValueError), (np.nan, ValueError)],
    "threshold": [("bogus", BOTH)],
}
for param, values in EAP_PARAMS.items():
    for value, exc in values:
        add(f"EAPScorer({param}={value!r}).fit",
            lambda fx, p=param, v=value: EAPScorer(random_state=0, **{p: v}).fit(X64, Y01), exc, param)

add("EAPScorer(alpha0=0,beta0=0).fit",
    lambda fx: EAPScorer(alpha0=0.0, beta0=0.0).fit(X64, Y01), ValueError, "alpha0")
# k larger than the centres while bagging: must be an error, not an endless redraw of rounds
add("EAPScorer(k=N+10,n_bags=2).fit",
    lambda fx: EAPScorer(k=N + 10, n_bags=2, random_state=0).fit(X64, Y01), ValueError, "k")
# centres="normals" with a single normal: error without bagging (and with it)
ONE_NORMAL = np.array([1, 1, 1, 1, 0])
add("EAPScorer(centres='normals').fit:one-normal",
    lambda fx: EAPScorer(centres="normals").fit(X64[:5], ONE_NORMAL), ValueError, "centres")
add("EAPScorer(centres='normals',n_bags=2).fit:one-normal",
    lambda fx: EAPScorer(centres="normals", n_bags=2, random_state=0).fit(X64[:5], ONE_NORMAL),
    ValueError, "centres")

# scoring-time settings changed after fit
add("EAPScorer.score_samples:n_jobs=0-after-fit",
    lambda fx: _refit_params(fx.scorer, n_jobs=0).score_samples(Z64), ValueError, "n_jobs")
add("EAPScorer.score_samples:chunk_size=0-after-fit",
    lambda fx: _refit_params(fx.scorer, chunk_size=0).score_samples(Z64), ValueError, "chunk_size")
add("EAPScorer.score_samples:chunk_size=1.5-after-fit",
    lambda fx: _refit_params(fx.scorer, chunk_size=1.5).score_samples(Z64), TypeError, "chunk_size")

# -- score_auxiliary keyword arguments
AUX_PARAMS: Dict[str, List[Tuple[Any, Exc]]] = {
    "centres": [("bogus", BOTH)],
    "k": [(0, ValueError), (N, ValueError), (1.5, TypeError)],
    "k_min": [(0, ValueError), ("1", TypeError)],
    "alpha0": [(-1.0, ValueError), ("a", TypeError)],
    "beta0": [(np.nan, ValueError), (True, TypeError)],
    "n_bags": [(-1, ValueError), (0.5, TypeError)],
    "n_jobs": [(0, ValueError), ("all", TypeError)],
}
for param, values in AUX_PARAMS.items():
    for value, exc in values:
        add(f"score_auxiliary({param}={value!r})",
            lambda fx, p=param, v=value: score_auxiliary(X64, Y01, Z64, random_state=0, **{p: v}),
            exc, param)
# both priors at once
for a0, b0 in [(-0.1, 0.9), (0.0, 0.0), (np.nan, 0.5)]:
    add(f"score_auxiliary(alpha0={a0!r},beta0={b0!r})",
        lambda fx, a0=a0, b0=b0: score_auxiliary(X64, Y01, Z64, alpha0=a0, beta0=b0, random_state=0),
        ValueError, "alpha0")

# -- expected_anomaly_posterior


def eap_call(**overrides: Any) -> Callable[[Fitted], Any]:
    kwargs: Dict[str, Any] = dict(p_anomaly=P_ANOM, density=P_DENS, n_centres=20, alpha0=0.1, beta0=0.9)
    kwargs.update(overrides)
    return lambda fx: expected_anomaly_posterior(**kwargs)


def replaced(values: np.ndarray, i: int, v: float) -> np.ndarray:
    out = values.copy()
    out[i] = v
    return out


BAD_PROBABILITIES: Dict[str, Tuple[Callable[[np.ndarray], Any], Exc]] = {
    "nan": (lambda p: replaced(p, 1, np.nan), ValueError),
    "+inf": (lambda p: replaced(p, 0, np.inf), ValueError),
    "-inf": (lambda p: replaced(p, 2, -np.inf), ValueError),
    "negative": (lambda p: replaced(p, 3, -0.1), ValueError),
    "above-one": (lambda p: replaced(p, 4, 1.1), ValueError),
    "shape-mismatch": (lambda p: p[:-1].copy(), ValueError),
    "None": (lambda p: None, BOTH),
    "ragged-list": (lambda p: [[0.1], [0.2, 0.3]], BOTH),
    "object": (lambda p: p.astype(object), TypeError),
    "str": (lambda p: p.astype(str), TypeError),
    "bool": (lambda p: p > 0.2, TypeError),
    "complex": (lambda p: p.astype(np.complex128), TypeError),
    "float16": (lambda p: p.astype(np.float16), TypeError),
}
for arg, good in (("p_anomaly", P_ANOM), ("density", P_DENS)):
    for bad, (make, exc) in BAD_PROBABILITIES.items():
        add(f"expected_anomaly_posterior:{arg}:{bad}", eap_call(**{arg: make(good)}), exc, arg)

EAP_SCALARS: Dict[str, List[Tuple[Any, Exc]]] = {
    "n_centres": [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("3", TypeError),
                  (True, TypeError), (None, TypeError)],
    "alpha0": [(-0.5, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("1", TypeError),
               (True, TypeError), (None, TypeError)],
    "beta0": [(-0.5, ValueError), (np.nan, ValueError), (np.inf, ValueError), ("1", TypeError),
              (True, TypeError), (None, TypeError)],
}
for arg, values in EAP_SCALARS.items():
    for value, exc in values:
        add(f"expected_anomaly_posterior:{arg}={value!r}", eap_call(**{arg: value}), exc, arg)
add("expected_anomaly_posterior:alpha0=beta0=0", eap_call(alpha0=0.0, beta0=0.0), ValueError, "alpha0")
for a0, b0, name in [(-0.1, 0.9, "alpha0"), (-1.0, -1.0, "alpha0"), (np.nan, 0.5, "alpha0"),
                     (0.5, np.nan, "beta0"), (np.nan, np.nan, "alpha0")]:
    add(f"expected_anomaly_posterior:alpha0={a0!r},beta0={b0!r}", eap_call(alpha0=a0, beta0=b0),
        ValueError, name)

# -- not fitted (NotFittedError subclasses ValueError)
NOT_FITTED = named("fit") + "|fitted"
for case_id, call in {
    "SSDO.decision_function:not-fitted": lambda fx: SSDO().decision_function(Z64),
    "SSDO.predict_proba:not-fitted": lambda fx: SSDO().predict_proba(Z64),
    "EAPScorer.score_samples:not-fitted": lambda fx: EAPScorer().score_samples(Z64),
    "EAPScorer.score_samples(details):not-fitted": lambda fx: EAPScorer().score_samples(Z64, return_details=True),
}.items():
    CASES.append(Case(case_id, call, NotFittedError, (NOT_FITTED,)))

# NaN in a later chunk than the first is reported under the caller's argument name.
Z_LATE_NAN = with_value(np.random.default_rng(7).normal(size=(500, D)), 300, 1, np.nan)
add("EAPScorer.score_samples:Z:nan-in-a-later-chunk",
    lambda fx: _refit_params(fx.scorer, chunk_size=64).score_samples(Z_LATE_NAN), ValueError, "Z")
add("score_auxiliary:X_aux:nan-in-a-later-chunk",
    lambda fx: score_auxiliary(X64, Y01, with_value(np.zeros((70_000, D)), 66_000, 0, np.nan)),
    ValueError, "X_aux")  # the largest default chunk is 65536 rows


assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected(case: Case, fx: Fitted) -> None:
    with hang_guard(3.0):
        with pytest.raises(case.exc) as info:
            case.call(fx)
    for pattern in case.match:
        assert info.match(pattern)


# ----- accepted inputs: empty candidate sets --------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zero_candidate_rows_give_empty_results(fx: Fitted, dtype) -> None:
    C = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=dtype)
    got = rarity_scores(np.empty((0, 2), dtype=dtype), C, [1.0, 1.0])
    assert got.shape == (0,) and got.dtype == np.float64
    ssdo = fx.ssdo if dtype == np.float64 else fx.ssdo32
    scorer = fx.scorer if dtype == np.float64 else fx.scorer32
    empty = np.empty((0, D), dtype=dtype)
    f = ssdo.decision_function(empty)
    assert f.shape == (0,) and f.dtype == np.float64
    p = ssdo.predict_proba(empty)
    assert p.shape == (0, 2) and p.dtype == np.float64
    q = scorer.score_samples(empty)
    assert q.shape == (0,) and q.dtype == np.float64
    details = scorer.score_samples(empty, return_details=True)
    for name in DETAIL_FIELDS:
        value = getattr(details, name)
        assert value.shape == (0,) and value.dtype == np.float64, name
    assert details.k == scorer.score_samples(Z64.astype(dtype), return_details=True).k
    # a strided empty view and an empty Fortran array are fine too
    assert scorer.score_samples(np.asfortranarray(empty)).shape == (0,)
    assert scorer.score_samples(np.empty((0, 2 * D), dtype=dtype)[:, ::2]).shape == (0,)


def test_score_auxiliary_and_posterior_zero_candidates() -> None:
    q = score_auxiliary(X64, Y01, np.empty((0, D)), random_state=0)
    assert q.shape == (0,) and q.dtype == np.float64
    r = score_auxiliary(X64, Y01, np.empty((0, D)), random_state=0, return_details=True)
    assert r.quality.shape == (0,) and r.rarity.shape == (0,)
    assert expected_anomaly_posterior(np.empty(0), np.empty(0), 5, 0.1, 0.9).shape == (0,)


# ----- accepted inputs: integer data, label conventions, NumPy scalars ------------------------


def rounded(X: np.ndarray) -> np.ndarray:
    """Integer-valued data (so the integer and float64 versions hold the same numbers)."""
    return np.round(X * 4)


@pytest.mark.parametrize("int_dtype", [np.int64, np.int32, np.int16, np.uint8, np.int8])
def test_integer_data_is_converted_to_float64(int_dtype) -> None:
    # geometry; values non-negative and below 128 (uint8, int8)
    C, Q, A = rounded(C64) + 20, rounded(Q64) + 20, rounded(A64) + 20
    assert (C >= 0).all() and (Q >= 0).all() and (A >= 0).all() and C.max() < 128
    Ci, Qi, Ai = C.astype(int_dtype), Q.astype(int_dtype), A.astype(int_dtype)
    r = knn_radii(C, 3)
    assert_array_equal(knn_radii(Ci, 3), r)
    assert_array_equal(rarity_scores(Qi, Ci, r), rarity_scores(Q, C, r))
    assert_array_equal(rarity_scores(Qi, C, r), rarity_scores(Q, C, r))  # int mixed with float64
    assert estimate_k(Ci, Ai, 2, 0.8) == estimate_k(C, A, 2, 0.8)
    assert estimate_k(np.vstack([Ci, Ai]), Ai) == estimate_k(np.vstack([C, A]), A)
    assert_array_equal(knn_radii(C.tolist(), 3), r)  # plain nested lists are accepted too
    # integer radii are accepted
    assert_array_equal(rarity_scores(Q, C, np.arange(12)), rarity_scores(Q, C, np.arange(12.0)))
    if int_dtype not in (np.int64, np.int16):
        return  # estimators: two integer kinds (each refit is slow)
    Xf, Zf = rounded(X64), rounded(Z64)
    Xi, Zi = Xf.astype(int_dtype), Zf.astype(int_dtype)
    ref = SSDO(**FAST_SSDO).fit(Xf, Y01)
    det = SSDO(**FAST_SSDO).fit(Xi, Y01)
    assert det.X_train_.dtype == np.float64
    assert_array_equal(det.decision_function(Zi), ref.decision_function(Zf))
    assert_array_equal(det.predict_proba(Zi), ref.predict_proba(Zf))
    scorer = EAPScorer(random_state=0).fit(Xi, Y01)
    expected = EAPScorer(random_state=0).fit(Xf, Y01).score_samples(Zf)
    assert_array_equal(scorer.score_samples(Zi), expected)
    assert_array_equal(scorer.score_samples(Zf), expected)
    assert_array_equal(score_auxiliary(Xi, Y01, Zi, random_state=0), expected)
    # nested lists too
    assert_array_equal(score_auxiliary(Xi.tolist(), Y01.tolist(), Zi.tolist(), random_state=0), expected)


def test_label_conventions_agree(fx: Fitted) -> None:
    expected = fx.scorer.score_samples(Z64)  # = score_auxiliary(X64, Y01, Z64, random_state=0)
    for y in (2 * Y01 - 1, Y01.astype(bool), Y01.astype(np.float64), Y01.astype(np.uint8),
              (2 * Y01 - 1).astype(np.float32), Y01.tolist()):
        assert_array_equal(score_auxiliary(X64, y, Z64, random_state=0), expected)
    d1 = SSDO(**FAST_SSDO).fit(X64, 2 * Y01 - 1)
    assert_array_equal(d1.decision_function(Z64), fx.ssdo.decision_function(Z64))


def test_numpy_scalars_accepted() -> None:
    assert_array_equal(knn_radii(C64, np.int64(3)), knn_radii(C64, 3))
    assert_array_equal(knn_radii(C64, np.uint8(NC - 1)), knn_radii(C64, NC - 1))
    assert estimate_k(C64, A64, np.int32(2), np.float32(0.75)) == estimate_k(
        C64, A64, 2, float(np.float32(0.75))
    )


def test_radii_float32_and_list_accepted() -> None:
    R = 1.0 + 0.25 * np.arange(12)  # exactly representable in float32
    expected = rarity_scores(Q64, C64, R)
    assert (expected > 0).any() and (expected == 0).any()
    assert_array_equal(rarity_scores(Q64, C64, R.astype(np.float32)), expected)
    assert_array_equal(rarity_scores(Q64, C64, R.tolist()), expected)


def test_anomaly_index_integer_kinds_accepted() -> None:
    C = np.vstack([C64, A64])
    expected = estimate_k(C, A64)
    for index in (
        np.arange(NC, NC + MA),
        np.arange(NC, NC + MA, dtype=np.int32),
        np.arange(NC, NC + MA, dtype=np.uint16),
        list(range(NC, NC + MA)),
        np.repeat(np.arange(NC, NC + MA), 2)[::2],  # strided
    ):
        assert estimate_k(C, A64, anomaly_index=index) == expected


# ----- accepted inputs: non-contiguous, Fortran-ordered and read-only arrays ------------------


def layouts(M: np.ndarray) -> Dict[str, np.ndarray]:
    wide = np.repeat(M, 2, axis=1)
    tall = np.repeat(M, 2, axis=0)
    out = {
        "fortran": np.asfortranarray(M),
        "column-strided": wide[:, ::2],
        "row-strided": tall[::2],
        "reversed-twice": M[::-1][::-1],
        "negative-strides": np.ascontiguousarray(M[::-1, ::-1])[::-1, ::-1],
    }
    for name, view in out.items():
        assert_array_equal(view, M)
        if name != "reversed-twice":
            assert not view.flags.c_contiguous, name
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_layouts_give_the_same_answers(fx: Fitted, dtype) -> None:
    # geometry
    C, Q, A = C64.astype(dtype), Q64.astype(dtype), A64.astype(dtype)
    CA = np.vstack([C, A])
    r = knn_radii(C, 4)
    s = rarity_scores(Q, C, r)
    k = estimate_k(C, A, 1, 0.7)
    k_all = estimate_k(CA, A)
    cl, ql, al, cal = layouts(C), layouts(Q), layouts(A), layouts(CA)
    for name in cl:
        assert_array_equal(knn_radii(cl[name], 4), r, err_msg=name)
        assert_array_equal(rarity_scores(ql[name], cl[name], r), s, err_msg=name)
        assert_array_equal(rarity_scores(ql[name], C, r), s, err_msg=name)
        assert estimate_k(cl[name], al[name], 1, 0.7) == k, name
        assert estimate_k(cal[name], al[name]) == k_all, name
    r2 = np.repeat(r, 2)[::2]  # strided radii
    assert not r2.flags.c_contiguous
    assert_array_equal(rarity_scores(Q, C, r2), s)
    # estimators
    X, Z = X64.astype(dtype), Z64.astype(dtype)
    det = fx.ssdo if dtype == np.float64 else fx.ssdo32
    f, p = det.decision_function(Z), det.predict_proba(Z)
    scorer = _refit_params(fx.scorer if dtype == np.float64 else fx.scorer32, chunk_size=3)
    details = scorer.score_samples(Z, return_details=True)  # several chunks of a view
    zl = layouts(Z)
    for name, Xv in layouts(X).items():
        Zv = zl[name]
        assert_array_equal(det.decision_function(Zv), f, err_msg=name)
        assert_array_equal(det.predict_proba(Zv), p, err_msg=name)
        assert_array_equal(scorer.score_samples(Zv), details.quality, err_msg=name)
        if name in ("fortran", "column-strided"):  # refitting is slow: two layouts suffice
            assert_array_equal(SSDO(**FAST_SSDO).fit(Xv, Y01).decision_function(Zv), f, err_msg=name)
            other = EAPScorer(random_state=0, chunk_size=3).fit(Xv, Y01).score_samples(Zv, return_details=True)
            assert_same_details(other, details, name)
    # strided labels, strided candidates through score_auxiliary
    y_strided = np.repeat(Y01, 3)[::3]
    assert not y_strided.flags.c_contiguous
    assert_array_equal(score_auxiliary(layouts(X)["column-strided"], y_strided, zl["fortran"],
                                       random_state=0), details.quality)
    # the posterior: strided vectors and lists
    p2 = np.repeat(P_ANOM, 2)[::2]
    d2 = np.repeat(P_DENS, 2)[::2]
    assert not p2.flags.c_contiguous
    phi = expected_anomaly_posterior(P_ANOM, P_DENS, 20, 0.1, 0.9)
    assert_array_equal(expected_anomaly_posterior(p2, d2, 20, 0.1, 0.9), phi)
    assert_array_equal(expected_anomaly_posterior(P_ANOM.tolist(), P_DENS.tolist(), 20, 0.1, 0.9), phi)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_read_only_inputs_accepted(fx: Fitted, dtype) -> None:
    writable = dict(C=C64, Q=Q64, A=A64, X=X64, Z=Z64)
    writable = {name: a.astype(dtype) for name, a in writable.items()}
    writable.update(R=R64.copy(), y=Y01.copy(), p=P_ANOM.copy(), d=P_DENS.copy())
    ro = {name: a.copy() for name, a in writable.items()}
    for a in ro.values():
        a.flags.writeable = False
    w = writable
    assert_array_equal(knn_radii(ro["C"], 2), knn_radii(w["C"], 2))
    assert_array_equal(rarity_scores(ro["Q"], ro["C"], ro["R"]), rarity_scores(w["Q"], w["C"], w["R"]))
    assert estimate_k(ro["C"], ro["A"]) == estimate_k(w["C"], w["A"])
    # the writable references: the models of the fixture, fitted on the same data
    det_w = fx.ssdo if dtype == np.float64 else fx.ssdo32
    scorer_w = fx.scorer if dtype == np.float64 else fx.scorer32
    expected = scorer_w.score_samples(w["Z"], return_details=True)
    assert_array_equal(score_auxiliary(ro["X"], ro["y"], ro["Z"], random_state=0), expected.quality)
    det = SSDO(**FAST_SSDO).fit(ro["X"], ro["y"])
    assert_array_equal(det.decision_function(ro["Z"]), det_w.decision_function(w["Z"]))
    assert_array_equal(det.predict_proba(ro["Z"]), det_w.predict_proba(w["Z"]))
    scorer = EAPScorer(random_state=0).fit(ro["X"], ro["y"])
    assert_same_details(scorer.score_samples(ro["Z"], return_details=True), expected)
    assert_array_equal(expected_anomaly_posterior(ro["p"], ro["d"], 20, 0.1, 0.9),
                       expected_anomaly_posterior(w["p"], w["d"], 20, 0.1, 0.9))


# ----- inputs are never modified -------------------------------------------------------------


def inputs_at_scale(dtype, scale_exp: int) -> Dict[str, np.ndarray]:
    """Integer-valued data times 2**scale_exp in ``dtype``, in several layouts, and the other
    array arguments of the entry points."""
    s = 2.0**scale_exp
    X = (rounded(X64) * s).astype(dtype)
    Z = (rounded(Z64) * s).astype(dtype)
    return dict(
        X=X, Z=Z, y=Y01.copy(), y_pm=2 * Y01 - 1,
        X_fortran=np.asfortranarray(X), Z_strided=np.repeat(Z, 2, axis=1)[:, ::2],
        normals=X[Y01 == 0], A=X[Y01 == 1], index=np.flatnonzero(Y01),
        radii=np.linspace(0.5, 2.0, N) * s, p=P_ANOM.copy(), density=P_DENS.copy(),
    )


def _ssdo(a: Dict[str, np.ndarray], bagging: bool) -> None:
    det = SSDO(**FAST_SSDO).fit(a["X"], a["y"])
    det.decision_function(a["Z"])
    det.predict_proba(a["Z_strided"])
    SSDO(**FAST_SSDO).fit(a["X_fortran"], a["y_pm"]).predict_proba(a["Z"])


def _eap_scorer(a: Dict[str, np.ndarray], bagging: bool) -> None:
    scorer = EAPScorer(random_state=0, chunk_size=4).fit(a["X"], a["y"])
    scorer.score_samples(a["Z"])
    scorer.score_samples(a["Z_strided"], return_details=True)
    if bagging:  # bagging copies rows: at one scale per dtype (slow)
        EAPScorer(random_state=0, centres="normals", n_bags=2).fit(a["X_fortran"], a["y_pm"]).score_samples(a["Z"])


ENTRY_POINTS: Dict[str, Callable[[Dict[str, np.ndarray], bool], Any]] = {
    "knn_radii": lambda a, _: (knn_radii(a["X"], 3), knn_radii(a["X_fortran"], N - 1)),
    "rarity_scores": lambda a, _: (rarity_scores(a["Z"], a["X"], a["radii"]),
                                   rarity_scores(a["Z_strided"], a["X_fortran"], a["radii"])),
    "estimate_k": lambda a, _: (estimate_k(a["normals"], a["A"], 2),
                                estimate_k(a["X"], a["A"], anomaly_index=a["index"]),
                                estimate_k(a["X_fortran"], a["A"])),
    "SSDO": _ssdo,  # fit, decision_function, predict_proba
    "EAPScorer": _eap_scorer,  # fit, score
    "score_auxiliary": lambda a, _: score_auxiliary(a["X"], a["y"], a["Z_strided"], random_state=0),
    "expected_anomaly_posterior": lambda a, _: expected_anomaly_posterior(a["p"], a["density"], 20, 0.1, 0.9),
}

# rescaled before the core; k-NN distances far below SSDO's 1e-10 bandwidth floor (SPEC 4.2)
# make every training score equal, which SPEC 5 reports with a warning
_ALL_EQUAL = pytest.mark.filterwarnings("ignore:all training scores are equal:UserWarning")


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
@pytest.mark.parametrize(
    "dtype,scale_exp",
    [
        (np.int64, 0),
        (np.float64, 0),
        pytest.param(np.float64, -300, marks=_ALL_EQUAL),  # far outside the comfortable range
        (np.float64, 300),
        (np.float32, 0),
        pytest.param(np.float32, -60, marks=_ALL_EQUAL),
        (np.float32, 60),
    ],
)
def test_inputs_not_modified(entry: str, dtype, scale_exp: int) -> None:
    a = inputs_at_scale(dtype, scale_exp)
    arrays = list(a.values())
    before = snapshot(arrays)
    ENTRY_POINTS[entry](a, scale_exp == 0 and dtype != np.int64)
    assert_unchanged(arrays, before, entry)


def test_fitted_scorer_holds_its_own_copy() -> None:
    """Mutating the caller's training array after fit changes nothing."""
    X = X64.copy()
    scorer = EAPScorer(random_state=0).fit(X, Y01)
    expected = scorer.score_samples(Z64)
    X[...] = 0
    assert_array_equal(scorer.score_samples(Z64), expected)
