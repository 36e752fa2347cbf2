"""Property tests (issue 6): random shapes, exact duplicates, extreme magnitudes (1e-300 ... 1e300)
and tiny n. The core either returns finite results in range or raises a clear ValueError or
TypeError; it never crashes, hangs or emits numerical warnings (pytest turns warnings into
errors). Distances scale exactly with powers of two.

The hypothesis profile (deterministic) is registered and loaded in ``conftest.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from eap_anomaly import SSDO, estimate_k, knn_radii, rarity_scores, score_auxiliary  # noqa: E402

# Coordinates are multiples of 1/4 in [-2, 2] (exact in float32 and float64, and distinct values
# differ by at least 1/4 of the peak), times a common magnitude.
QUARTERS = st.integers(-8, 8).map(lambda v: v / 4.0)


@st.composite
def base_rows(draw, n_min: int = 2, n_max: int = 6, d_max: int = 3, d: int = 0):
    """(n, d) array of quarter-integers drawn from a small pool of rows: duplicates are common."""
    n = draw(st.integers(n_min, n_max))
    d = d or draw(st.integers(1, d_max))
    n_distinct = draw(st.integers(1, max(n, 1)))
    pool = draw(arrays(np.float64, (n_distinct, d), elements=QUARTERS))
    index = draw(arrays(np.int64, (n,), elements=st.integers(0, n_distinct - 1)))
    return pool[index]


def scaled(base: np.ndarray, exponent: int, dtype) -> np.ndarray:
    """``base * 10**exponent`` in ``dtype``; float32 may overflow to inf or flush to 0 here."""
    with np.errstate(over="ignore", under="ignore"):
        return (base * 10.0**exponent).astype(dtype)


MAGNITUDES = st.integers(-300, 300)
DTYPES = st.sampled_from([np.float64, np.float32])


def brute_force_radii(C: np.ndarray, k: int) -> np.ndarray:
    """k-th smallest distance to the other rows (duplicates counted), in float64."""
    diff = C[:, None, :] - C[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    np.fill_diagonal(dist, np.inf)
    return np.sort(dist, axis=1)[:, k - 1]


def duplicates_of(C: np.ndarray) -> np.ndarray:
    """Number of *other* rows identical to each row."""
    return (C[:, None, :] == C[None, :, :]).all(-1).sum(1) - 1


# ----- knn_radii -----------------------------------------------------------------------------


@given(base=base_rows(), exponent=MAGNITUDES, dtype=DTYPES, data=st.data())
def test_knn_radii_finite_nonnegative_and_exact_on_duplicates(base, exponent, dtype, data):
    C = scaled(base, exponent, dtype)
    n = C.shape[0]
    k = data.draw(st.integers(-1, n + 1), label="k")
    if not np.isfinite(C).all():  # float32 overflow of a 1e300 magnitude
        with pytest.raises(ValueError, match="C"):
            knn_radii(C, max(1, min(k, n - 1)))
        return
    if not 1 <= k <= n - 1:
        with pytest.raises(ValueError, match="k"):
            knn_radii(C, k)
        return
    radii = knn_radii(C, k)
    assert radii.shape == (n,) and radii.dtype == np.float64
    assert np.isfinite(radii).all() and (radii >= 0).all()
    # SPEC 1: duplicates count with multiplicity, so >= k duplicates <=> radius 0
    np.testing.assert_array_equal(radii == 0, duplicates_of(C) >= k)
    if dtype == np.float64:  # against a brute force on the unscaled quarter-integers
        reference = brute_force_radii(base, k) * 10.0**exponent
        np.testing.assert_allclose(radii, reference, rtol=1e-9)


# ----- rarity_scores -------------------------------------------------------------------------


@given(base=base_rows(), n_fresh=st.integers(0, 5), exponent=MAGNITUDES, dtype=DTYPES,
       data=st.data())
def test_rarity_is_zero_or_one_of_the_radii(base, n_fresh, exponent, dtype, data):
    d = base.shape[1]
    # queries: some rows of the centres (exact hits) plus fresh rows of the same width
    fresh = data.draw(arrays(np.float64, (n_fresh, d), elements=QUARTERS), label="fresh")
    Zb = np.vstack([base[: data.draw(st.integers(0, base.shape[0]), label="hits")], fresh])
    C, Z = scaled(base, exponent, dtype), scaled(Zb, exponent, dtype)
    assume(np.isfinite(C).all() and np.isfinite(Z).all())
    n = C.shape[0]
    k = data.draw(st.integers(1, n - 1), label="k")
    radii = knn_radii(C, k)
    rarity = rarity_scores(Z, C, radii)
    assert rarity.shape == (Z.shape[0],) and rarity.dtype == np.float64
    assert np.isfinite(rarity).all() and (rarity >= 0).all()
    assert np.isin(rarity[rarity > 0], radii).all()
    # every centre with a positive radius lies strictly inside its own ball (SPEC 2)
    own = rarity_scores(C, C, radii)
    positive = radii > 0
    assert (own[positive] > 0).all() and (own[positive] <= radii[positive]).all()
    assert np.isin(own[own > 0], radii).all()


# ----- estimate_k ----------------------------------------------------------------------------


@given(base=base_rows(n_max=7), m=st.integers(0, 4), exponent=MAGNITUDES, dtype=DTYPES,
       data=st.data())
def test_estimate_k_in_range(base, m, exponent, dtype, data):
    n, d = base.shape
    # anomalies: rows of C (then they are centres) or fresh rows
    own = data.draw(arrays(np.int64, (m,), elements=st.integers(-1, n - 1)), label="own")
    fresh = data.draw(arrays(np.float64, (m, d), elements=QUARTERS), label="fresh")
    Ab = np.where((own >= 0)[:, None], base[np.maximum(own, 0)], fresh)
    C, A = scaled(base, exponent, dtype), scaled(Ab, exponent, dtype)
    assume(np.isfinite(C).all() and np.isfinite(A).all())
    k_min = data.draw(st.integers(1, n - 1), label="k_min")
    quantile = data.draw(st.floats(0.01, 0.99), label="quantile")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "no training anomalies", UserWarning)  # m = 0 (documented)
        k = estimate_k(C, A, k_min, quantile)
        k_index = estimate_k(C, A, k_min, quantile, anomaly_index=np.where(own >= 0, own, -1))
    assert isinstance(k, int) and isinstance(k_index, int)
    assert k_min <= k <= n - 1
    assert k_min <= k_index <= n - 1


# ----- the whole pipeline --------------------------------------------------------------------


@st.composite
def training_sets(draw, exponents=MAGNITUDES):
    X = draw(base_rows(n_min=2, n_max=8))
    n, d = X.shape
    y = draw(arrays(np.int64, (n,), elements=st.integers(0, 1)))
    Z = draw(arrays(np.float64, (draw(st.integers(0, 5)), d), elements=QUARTERS))
    exponent = draw(exponents)
    centres = draw(st.sampled_from(["all", "normals"]))
    n_centres = n if centres == "all" else int((y == 0).sum())
    # k_min > n_c - 1 is covered by the validation table; here k_min always admits a k
    k_min = min(draw(st.integers(1, 3)), max(1, n_centres - 1))
    return X, y, Z, exponent, centres, k_min


def check_pipeline(X, y, Z, exponent, centres, k_min):
    Xs, Zs = scaled(X, exponent, np.float64), scaled(Z, exponent, np.float64)
    n = X.shape[0]
    normals = int((y == 0).sum())
    n_centres = n if centres == "all" else normals
    valid = normals >= 1 and n_centres >= 2
    with warnings.catch_warnings():
        # documented degenerate-data warnings (m = 0; all training scores equal): allowed.
        # Numerical warnings (overflow, invalid value, ...) stay errors.
        warnings.filterwarnings("ignore", "no training anomalies", UserWarning)
        warnings.filterwarnings("ignore", "all training scores are equal", UserWarning)
        if not valid:
            with pytest.raises(ValueError):
                score_auxiliary(Xs, y, Zs, centres=centres, k_min=k_min, random_state=0,
                                return_details=True)
            return
        result = score_auxiliary(Xs, y, Zs, centres=centres, k_min=k_min, random_state=0,
                                 return_details=True)
    l = Z.shape[0]
    for name in ("quality", "p_anomaly", "density"):
        value = getattr(result, name)
        assert value.shape == (l,) and np.isfinite(value).all(), name
        assert ((value >= 0) & (value <= 1)).all(), name
    assert np.isfinite(result.rarity).all() and (result.rarity >= 0).all()
    assert isinstance(result.k, int) and k_min <= result.k <= n_centres - 1
    assert np.isfinite(result.threshold) and result.threshold >= 0


@settings(max_examples=25)
@given(training_sets())
def test_score_auxiliary_extreme_magnitudes(case):
    """Magnitudes 1e-300 ... 1e300: finite quality in [0, 1] or a clear ValueError."""
    check_pipeline(*case)


@settings(max_examples=25)
@given(training_sets(exponents=st.integers(-12, 30)))
def test_score_auxiliary_moderate_magnitudes(case):
    """The same property for magnitudes inside float32's range (1e-12 ... 1e30)."""
    check_pipeline(*case)


@settings(max_examples=25)
@given(base=base_rows(n_min=2, n_max=8), labels=st.data(), exponent=st.integers(-12, 30))
def test_ssdo_scores_finite_and_probabilities_in_range(base, labels, exponent):
    n, d = base.shape
    y = labels.draw(arrays(np.int64, (n,), elements=st.integers(0, 1)), label="y")
    X = scaled(base, exponent, np.float64)
    Z = scaled(labels.draw(arrays(np.float64, (3, d), elements=QUARTERS), label="Z"), exponent, np.float64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "all training scores are equal", UserWarning)
        if (y == 1).all():
            with pytest.raises(ValueError, match="y"):
                SSDO(n_estimators=10, random_state=0).fit(X, y)
            return
        det = SSDO(n_estimators=10, random_state=0).fit(X, y)
    f = det.decision_function(Z)
    assert np.isfinite(f).all() and np.isfinite(det.decision_scores_).all()
    p = det.predict_proba(Z)
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


# ----- exact scaling by powers of two --------------------------------------------------------


@st.composite
def power_of_two_scaling(draw, dtype):
    """(C, j): C = quarters * 2**e0, and C * 2**j stays normal and finite for the dtype."""
    base = draw(base_rows(n_min=2, n_max=10, d_max=4))
    assume((base != 0).any())
    if dtype == np.float64:
        e0 = draw(st.integers(-200, 200))
        j = draw(st.integers(-1000 - e0, 1000 - e0))
    else:
        e0 = draw(st.integers(-40, 40))
        j = draw(st.integers(-120 - e0, 120 - e0))
    return (base * 2.0**e0).astype(dtype), j


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_knn_radii_scale_exactly_with_powers_of_two(dtype, data):
    C, j = data.draw(power_of_two_scaling(dtype), label="C, j")
    n = C.shape[0]
    k = data.draw(st.integers(1, n - 1), label="k")
    sC = np.ldexp(C, j)  # exact: C * 2**j, still normal and finite by construction
    assert sC.dtype == dtype and np.isfinite(sC).all()
    assert (np.abs(sC[C != 0]) >= np.finfo(dtype).tiny).all()
    np.testing.assert_array_equal(knn_radii(sC, k), np.ldexp(knn_radii(C, k), j))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_rarity_and_k_hat_scale_with_powers_of_two(dtype, data):
    C, j = data.draw(power_of_two_scaling(dtype), label="C, j")
    n = C.shape[0]
    k = data.draw(st.integers(1, n - 1), label="k")
    sC = np.ldexp(C, j)
    radii = knn_radii(C, k)
    Z = C[::-1] * dtype(0.75)  # exact: quarters * 3/4 needs two more bits
    sZ = np.ldexp(Z, j)
    np.testing.assert_array_equal(rarity_scores(sZ, sC, np.ldexp(radii, j)),
                                  np.ldexp(rarity_scores(Z, C, radii), j))
    A = C[: max(1, n // 2)]
    assert estimate_k(sC, np.ldexp(A, j)) == estimate_k(C, A)
