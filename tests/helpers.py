"""The one home of what several test modules share: data makers, the list of result fields,
result comparers and the tolerances of comparisons with the slow references.

Imported by the test modules as ``from helpers import ...`` (``tests/`` is on ``sys.path``, as
for ``reference.py``). Nothing here is a test.
"""

from __future__ import annotations

import re
from typing import Any, Optional, Sequence, Tuple

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

#: The per-candidate arrays of a result (``return_details=True``), in the CLI's column order.
DETAIL_FIELDS = ("quality", "p_anomaly", "density", "rarity")

#: Relative tolerance of a comparison with the references, by data dtype (pipeline, SPEC 4-7).
RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 1e-4}


# ----- data -----------------------------------------------------------------------------------


def labelled_data(seed: int, n: int, d: int, l: int, *, rate: float, shift: float,
                  wide: float, groups: Optional[Sequence[int]] = None, forced: int = 0):
    """Training rows ``X`` (N(0, I), anomalies shifted by ``shift`` in every coordinate), labels
    ``y`` (int64; each row an anomaly with probability ``rate``, the first ``forced`` rows
    always) and candidates ``Z`` in three groups: like the normals, like the anomalies and wide
    (N(0, wide² I)). ``groups`` gives the three group sizes (default: thirds, the rest wide)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(np.int64)
    y[:forced] = 1
    X = rng.normal(size=(n, d))
    X[y == 1] += shift
    if groups is None:
        groups = (l // 3, l // 3, l - 2 * (l // 3))
    assert sum(groups) == l, groups
    Z = np.vstack([
        rng.normal(size=(groups[0], d)),
        rng.normal(size=(groups[1], d)) + shift,
        rng.normal(scale=wide, size=(groups[2], d)),
    ])
    return X, y, Z


def blobs(rng, n, d, dtype):
    """Gaussian data with a little cluster structure."""
    centres = rng.normal(scale=4.0, size=(3, d))
    X = centres[rng.integers(0, 3, size=n)] + rng.normal(size=(n, d))
    return X.astype(dtype)


def normals_and_anomalies(rng, n_normal, m, d, dtype):
    """``blobs`` normals and ``m`` anomalies, some close to the data, some far, some in between."""
    normals = blobs(rng, n_normal, d, dtype)
    scale = rng.choice([1.0, 3.0, 10.0], size=(m, 1))
    anomalies = (rng.normal(size=(m, d)) * scale * 3).astype(dtype)
    return normals, anomalies


# ----- messages -------------------------------------------------------------------------------


def named(name: str) -> str:
    """Regex: the argument name as a whole word (``X`` does not match ``X_train``)."""
    return rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])"


# ----- comparing results ----------------------------------------------------------------------


def assert_same_details(a: Any, b: Any, label: str = "", rows: Optional[slice] = None) -> None:
    """Two results (``return_details=True``) are bit-identical: every per-candidate field, k and
    the threshold, of the same types. ``rows``: compare ``a`` with those rows of ``b`` (fields
    only)."""
    for name in DETAIL_FIELDS:
        expected = getattr(b, name) if rows is None else getattr(b, name)[rows]
        assert_array_equal(getattr(a, name), expected, err_msg=f"{label} {name}")
    if rows is not None:
        return
    assert_array_equal(np.asarray(a.k), np.asarray(b.k), err_msg=f"{label} k")
    assert_array_equal(np.asarray(a.threshold), np.asarray(b.threshold), err_msg=f"{label} threshold")
    assert type(a.k) is type(b.k), label
    assert type(a.threshold) is type(b.threshold), label


def kernel_cut_atol(alpha: float, n: int) -> float:
    """SPEC 4.3: skipping kernel terms below 2^-60 may change f by up to alpha * n * 2^-60 in
    absolute terms (visible, relatively, on the tiny f of points far from every anomaly)."""
    return alpha * n * 2.0**-60


def cut_atol_p(alpha: float, n: int, lam: float) -> float:
    """The SPEC 4.3 cut-off error carried into P(y=1|x) (and into phi, a convex combination
    with weight <= 1 on it): f' = f - min f moves by at most 2 alpha n 2^-60, and the slope of
    1 - 2^-(x/lam)^2 is at most sqrt(2 ln 2) e^-1/2 / lam < 0.72 / lam."""
    return 0.72 * 2.0 * kernel_cut_atol(alpha, n) / lam


def p_atol_of(ref: dict, alpha: float = 2.3) -> float:
    """cut_atol_p for a reference result of ref_round / ref_score_auxiliary."""
    if ref["threshold"] == 0:
        return 0.0
    return cut_atol_p(alpha, ref["ssdo"]["train"].shape[0], ref["threshold"])


def assert_details_match(res: Any, ref: dict, dtype: Any, alpha: float = 2.3) -> None:
    """A result of the package against ``ref_score_auxiliary``: within RTOL of the data dtype
    (plus the SPEC 4.3 cut-off error on P(y=1|x) and phi); density and rarity have no
    absolute slack."""
    rtol = RTOL[np.dtype(dtype)]
    p_atol = p_atol_of(ref, alpha)
    atol = {"quality": p_atol, "p_anomaly": p_atol, "density": 0.0, "rarity": 0.0}
    for field in DETAIL_FIELDS:
        got = getattr(res, field)
        assert got.dtype == np.float64, field
        assert_allclose(got, ref[field], rtol=rtol, atol=atol[field], err_msg=field)
    assert res.k == ref["k"]
    assert isinstance(res.k, (int, np.integer))
    assert_allclose(res.threshold, ref["threshold"], rtol=rtol, atol=0)


def snapshot(arrays: Sequence[np.ndarray]) -> Tuple[list, list]:
    """Copies and flags of arrays, for :func:`assert_unchanged`."""
    return ([a.copy() for a in arrays],
            [(a.flags.writeable, a.flags.c_contiguous, a.flags.f_contiguous) for a in arrays])


def assert_unchanged(arrays: Sequence[np.ndarray], before: Tuple[list, list], label: str = "") -> None:
    """Every array has the values, dtype, shape and flags it had at :func:`snapshot`."""
    copies, flags = before
    for i, (a, b, f) in enumerate(zip(arrays, copies, flags)):
        what = f"{label} input {i}"
        assert a.dtype == b.dtype and a.shape == b.shape, what
        assert_array_equal(a, b, err_msg=what)
        assert (a.flags.writeable, a.flags.c_contiguous, a.flags.f_contiguous) == f, what
