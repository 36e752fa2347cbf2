"""Argument checks shared by every public entry point.

Each check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError`` (wrong value,
shape or range) with a message that names the argument.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Optional, Tuple, Union

import numpy as np
from scipy import sparse

#: Comparison margins of SPEC section 2, by data dtype.
TAU = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-5}

# Magnitudes inside which squared distances neither overflow nor underflow to zero; data outside
# is rescaled by a power of two (exact) before it reaches the core.
_SAFE_RANGE = {np.dtype(np.float64): (2.0**-250, 2.0**250), np.dtype(np.float32): (2.0**-30, 2.0**30)}


class ComplexDataError(TypeError, ValueError):
    """Complex input: a ``TypeError`` (a wrong dtype, like every other) that is also the
    ``ValueError`` scikit-learn's conventions expect for it."""


def check_matrix(X: Any, name: str, *, allow_empty_rows: bool = False) -> np.ndarray:
    """Return ``X`` as a C-contiguous 2-D float32/float64 array of finite values.

    float32 and float64 arrays that are already C-contiguous are returned as they are (no copy;
    memory maps stay memory maps). Integer arrays are converted to float64, and so are object
    arrays whose entries are all real numbers (e.g. from a pandas object column); an object
    array holding anything else raises ``TypeError``. Other dtypes (bool, float16, strings)
    raise ``TypeError``; complex data raises :class:`ComplexDataError` (a ``TypeError`` and a
    ``ValueError``); sparse matrices raise ``TypeError`` (densify them explicitly).
    """
    if sparse.issparse(X):
        raise TypeError(f"{name} is a sparse {type(X).__name__}, but sparse input is not supported; "
                        f"pass {name}.toarray() (a dense array)")
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be a 2-D numeric array, got {type(X).__name__}") from exc
    kind = arr.dtype.kind
    if kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:  # float(): "argument must be a string or a real number"
            raise TypeError(f"{name} is an object array whose entries are not all real numbers: {exc}") from None
        kind = "f"
    if kind in "iu":
        arr = arr.astype(np.float64)
    elif kind == "c":
        raise ComplexDataError(f"Complex data not supported: {name} has dtype {arr.dtype}; "
                               f"it must have dtype float32 or float64")
    elif arr.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{name} must have dtype float32 or float64 (integers and object arrays of numbers are "
            f"converted to float64), got {arr.dtype}"
        )
    if arr.ndim != 2:
        hint = (f". Reshape your data: {name}.reshape(-1, 1) for a single feature, "
                f"{name}.reshape(1, -1) for a single row") if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be a 2-D array (rows x features), got {arr.ndim}-D{hint}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column: 0 feature(s) (shape={arr.shape}) "
                         f"while a minimum of 1 is required.")
    if arr.shape[0] == 0 and not allow_empty_rows:
        raise ValueError(f"{name} must have at least one row: 0 sample(s) (shape={arr.shape}) while "
                         f"a minimum of 1 is required.")
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_probabilities(values: Any, name: str) -> np.ndarray:
    """A float64 array of probabilities in [0, 1] (any shape) from float or integer input."""
    try:
        arr = np.asarray(values)
    except ValueError as exc:  # ragged sequences
        raise TypeError(f"{name} must be a numeric array, got a ragged sequence") from exc
    if arr.dtype.kind not in "iuf" or arr.dtype == np.float16:
        raise TypeError(f"{name} must be a float32/float64 (or integer) array, got {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all() or (arr < 0).any() or (arr > 1).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return arr


def check_same_dtype(**arrays: np.ndarray) -> np.dtype:
    """All arrays must share one dtype: float32 data is never silently promoted."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{n} is {d}" for n, d in dtypes.items())
        raise TypeError(f"arrays must share one dtype ({listed}); convert them explicitly")
    return next(iter(dtypes.values()))


def as_fitted_dtype(Z: np.ndarray, fitted: np.dtype, name: str = "Z") -> np.ndarray:
    """Candidates in the dtype the model was fitted with: float32 -> float64 is exact and done
    here; float64 -> float32 would lose precision silently, so it is the caller's decision."""
    if Z.dtype == fitted:
        return Z
    if fitted == np.float32:
        raise TypeError(f"{name} is {Z.dtype} but the model was fitted on float32 data; "
                        f"pass {name}.astype(np.float32) to score in float32")
    return Z.astype(fitted)


def check_candidates(Z: Any, name: str, width: int, dtype: np.dtype) -> np.ndarray:
    """Shape and dtype of candidates for a model fitted on ``width`` features of ``dtype``.

    A 2-D ndarray (a memory map included) is returned as it is, its values unread: they are
    checked chunk by chunk by :func:`check_chunk`, so the candidates are scanned once. Anything
    else is converted and fully checked here.
    """
    if isinstance(Z, np.ndarray) and Z.ndim == 2:
        check_matrix(Z[:0], name, allow_empty_rows=True)
        rows = Z
    else:
        rows = check_matrix(Z, name, allow_empty_rows=True)
    if rows.shape[1] != width:
        raise ValueError(f"{name} has {rows.shape[1]} features but the model was fitted with {width}")
    as_fitted_dtype(rows[:0], dtype, name)
    return rows


def check_chunk(rows: np.ndarray, name: str, dtype: np.dtype) -> np.ndarray:
    """One chunk of candidates accepted by :func:`check_candidates`: finite, C-contiguous, in
    the model's dtype."""
    return as_fitted_dtype(check_matrix(rows, name, allow_empty_rows=True), dtype, name)


def check_choice(value: Any, name: str, choices: Tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_same_width(reference: Tuple[str, np.ndarray], *others: Tuple[str, np.ndarray]) -> None:
    ref_name, ref = reference
    for name, a in others:
        if a.shape[1] != ref.shape[1]:
            raise ValueError(
                f"{name} has {a.shape[1]} features but {ref_name} has {ref.shape[1]}"
            )


def safe_scale(*arrays: np.ndarray, dtype: Optional[np.dtype] = None) -> float:
    """Power-of-two factor that brings the data into the range where squared distances in
    ``dtype`` (default: the data's) are exact enough (1.0 almost always). Distances and
    Isolation Forest splits scale exactly with it."""
    dtype = np.dtype(dtype or arrays[0].dtype)
    return scale_for_peak(max((float(np.abs(a).max()) for a in arrays if a.size), default=0.0), dtype)


def scale_for_peak(peak: float, dtype: np.dtype) -> float:
    """:func:`safe_scale` of data whose largest magnitude is ``peak``."""
    lo, hi = _SAFE_RANGE[np.dtype(dtype)]
    if peak == 0.0 or lo <= peak <= hi:
        return 1.0
    return float(2.0 ** -np.ceil(np.log2(peak)))


def scaled(a: np.ndarray, scale: float) -> np.ndarray:
    """``a`` times the power of two ``scale`` (exact), in its own dtype; ``a`` itself for 1."""
    return a * a.dtype.type(scale) if scale != 1.0 else a


def check_int(value: Any, name: str, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    number = int(value)
    if (low is not None and number < low) or (high is not None and number > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {number}")
    return number


def check_float(value: Any, name: str, *, low: float, high: float, low_open: bool = False,
                high_open: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if not np.isfinite(number) or too_low or too_high:
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {lb}{low}, {high}{hb}, got {number}")
    return number


def check_rank(value: Any, name: str) -> Union[int, float]:
    """A neighbour rank: an integer >= 1, or a real fraction in (0, 1] of the rows
    (:func:`resolve_rank`)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer >= 1 or a fraction in (0, 1], "
                        f"got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        if value < 1:
            raise ValueError(f"{name} must be an integer >= 1 or a fraction in (0, 1], got {value}")
        return int(value)
    number = float(value)
    if not 0.0 < number <= 1.0:  # NaN fails too
        raise ValueError(f"{name} must be an integer >= 1 or a fraction in (0, 1], got {number}")
    return number


def resolve_rank(value: Union[int, float], n: int) -> int:
    """The rank :func:`check_rank` describes, for n rows: an integer as it is, a fraction q as
    round(q n), at least 1 (callers cap it at n - 1, every other row)."""
    if isinstance(value, numbers.Integral):
        return int(value)
    return max(1, int(round(float(value) * n)))


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_count(threads: int) -> int:
    """The number of threads a core call with ``threads`` (0 = OpenMP default) will use, for
    the thread pools outside the core (scikit-learn's forest)."""
    if threads > 0:
        return threads
    from_env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0]
    return int(from_env) if from_env.isdigit() and int(from_env) > 0 else available_cpus()


def check_n_jobs(n_jobs: Any) -> int:
    """scikit-learn semantics, translated for the core: None -> 0 (OpenMP default, honouring
    OMP_NUM_THREADS); -1 -> all CPUs; -2 -> all but one; 0 -> ValueError."""
    if n_jobs is None:
        return 0
    jobs = check_int(n_jobs, "n_jobs")
    if jobs == 0:
        raise ValueError("n_jobs must be a positive integer, -1 (all CPUs) or None, got 0")
    if jobs < 0:
        return max(1, available_cpus() + 1 + jobs)
    return jobs


def check_labels(y: Any, n_rows: int, name: str = "y", rows_name: str = "X") -> np.ndarray:
    """Anomaly mask from labels in {0, 1} (1 = anomaly) or {-1, +1} (+1 = anomaly)."""
    if y is None:
        raise ValueError(f"labels are needed: this estimator requires y to be passed, but the target "
                         f"{name} is None (1 = anomaly, 0 = normal)")
    arr = np.asarray(y)
    if arr.dtype.kind == "O":  # object arrays of numbers are converted, as for the features
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Unknown label type: {name} is an object array whose entries are not all "
                            f"numbers; labels are 0/1 or -1/+1 (1 = anomaly)") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Unknown label type: {name} must hold numeric labels 0/1 or -1/+1, "
                        f"got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got {arr.ndim}-D")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} labels but {rows_name} has {n_rows} rows")
    values = set(np.unique(arr).tolist())
    if not (values <= {0, 1} or values <= {-1, 1}):
        shown = sorted(values, key=str)[:6]
        raise ValueError(f"{name} must hold labels 0/1 or -1/+1 (1 = anomaly), got values {shown}")
    mask: np.ndarray = arr == 1
    if mask.all():
        raise ValueError(f"{name} must contain at least one normal (label 0 or -1)")
    return mask
