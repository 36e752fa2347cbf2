"""Argument validation of knn_radii, rarity_scores and estimate_k: every bad input raises the
right exception type naming the argument; accepted conversions give the same results; inputs
are never modified."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from eap_anomaly import estimate_k, knn_radii, rarity_scores

RNG = np.random.default_rng(2024)
C64 = RNG.normal(size=(12, 3))
Z64 = RNG.normal(size=(7, 3)) * 1.5
A64 = RNG.normal(size=(4, 3)) * 3
R64 = np.linspace(0.5, 2.0, 12)


def call(fn, C=None, Z=None, A=None, radii=None, **kwargs):
    """Call one of the three functions with defaults for the arguments not given."""
    C = C64 if C is None else C
    if fn == "knn_radii":
        kwargs.setdefault("k", 2)
        return knn_radii(C, **kwargs)
    if fn == "rarity_scores":
        return rarity_scores(Z64 if Z is None else Z, C, R64 if radii is None else radii, **kwargs)
    if fn == "estimate_k":
        return estimate_k(C, A64 if A is None else A, **kwargs)
    raise AssertionError(fn)


# (function, argument name) pairs for every matrix argument
MATRIX_ARGS = [
    ("knn_radii", "C"),
    ("rarity_scores", "Z"),
    ("rarity_scores", "C"),
    ("estimate_k", "C"),
    ("estimate_k", "A"),
]
FUNCTIONS = ["knn_radii", "rarity_scores", "estimate_k"]


def named(name: str) -> str:
    """Regex: the argument name as a whole word."""
    return rf"(?<![A-Za-z_]){re.escape(name)}(?![A-Za-z_])"


def default_of(arg):
    return {"C": C64, "Z": Z64, "A": A64}[arg]


def with_value(arr, i, j, value):
    out = arr.copy()
    out[i, j] = value
    return out


BAD_VALUES = {
    "nan": lambda X: with_value(X, 1, 2, np.nan),
    "+inf": lambda X: with_value(X, 0, 0, np.inf),
    "-inf": lambda X: with_value(X, X.shape[0] - 1, 1, -np.inf),
    "nan-float32": lambda X: with_value(X.astype(np.float32), 0, 1, np.nan),
    "0-d": lambda X: np.asarray(1.0),
    "1-d": lambda X: X[0].copy(),
    "3-d": lambda X: X.reshape(1, *X.shape).copy(),
    "zero-columns": lambda X: np.empty((X.shape[0], 0)),
}


@pytest.mark.parametrize("fn,arg", MATRIX_ARGS)
@pytest.mark.parametrize("bad", list(BAD_VALUES))
def test_bad_matrix_values_raise_value_error(fn, arg, bad):
    value = BAD_VALUES[bad](default_of(arg))
    if bad == "nan-float32":
        # all arrays float32, so the NaN, not a dtype mix, is what is reported
        kwargs = {a: default_of(a).astype(np.float32) for a in "CZA"}
        kwargs[arg] = value
        with pytest.raises(ValueError, match=named(arg)):
            call(fn, **kwargs)
        return
    with pytest.raises(ValueError, match=named(arg)):
        call(fn, **{arg: value})


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_zero_centres_raise(fn):
    with pytest.raises(ValueError, match=named("C")):
        call(fn, C=np.empty((0, 3)))


@pytest.mark.parametrize("fn", ["knn_radii", "estimate_k"])
def test_one_centre_raises(fn):
    """n_c < 2: there is no other centre (SPEC 1 and 3)."""
    with pytest.raises(ValueError, match=named("C")):
        call(fn, C=C64[:1].copy())


def test_empty_queries_and_anomalies_are_allowed():
    assert rarity_scores(np.empty((0, 3)), C64, R64).shape == (0,)
    with pytest.warns(UserWarning):
        k = estimate_k(C64, np.empty((0, 3)))
    assert k == int(1 + 0.95 * 10)


@pytest.mark.parametrize(
    "fn,arg,value",
    [
        ("rarity_scores", "Z", Z64[:, :2].copy()),
        ("rarity_scores", "Z", np.hstack([Z64, Z64])),
        ("estimate_k", "A", A64[:, :2].copy()),
        ("estimate_k", "A", np.hstack([A64, A64[:, :1]])),
    ],
)
def test_mismatched_feature_counts(fn, arg, value):
    with pytest.raises(ValueError, match=named(arg)):
        call(fn, **{arg: value})
    with pytest.raises(ValueError, match="features"):
        call(fn, **{arg: value})


BAD_DTYPES = {
    "object-with-text": lambda X: np.where(np.arange(X.shape[0])[:, None] == 0, "one", X.astype(object)),
    "str": lambda X: X.astype(str),
    "bytes": lambda X: X.astype(bytes),
    "bool": lambda X: X > 0,
    "complex": lambda X: X.astype(np.complex128),
    "float16": lambda X: X.astype(np.float16),
    "longdouble": lambda X: X.astype(np.longdouble),
}


@pytest.mark.parametrize("fn,arg", MATRIX_ARGS)
@pytest.mark.parametrize("bad", list(BAD_DTYPES))
def test_bad_dtypes_raise_type_error(fn, arg, bad):
    value = BAD_DTYPES[bad](default_of(arg))
    if bad == "longdouble" and value.dtype == np.float64:
        pytest.skip("long double is float64 on this platform")
    with pytest.raises(TypeError, match=named(arg)):
        call(fn, **{arg: value})


@pytest.mark.parametrize("fn,arg", MATRIX_ARGS)
def test_ragged_list_raises_type_error(fn, arg):
    with pytest.raises(TypeError, match=named(arg)):
        call(fn, **{arg: [[1.0, 2.0, 3.0], [1.0, 2.0]]})


@pytest.mark.parametrize("fn", ["rarity_scores", "estimate_k"])
@pytest.mark.parametrize("first32", [True, False])
def test_mixed_float32_float64_raises_type_error(fn, first32):
    other = "Z" if fn == "rarity_scores" else "A"
    C = C64.astype(np.float32) if first32 else C64
    O = default_of(other) if first32 else default_of(other).astype(np.float32)
    with pytest.raises(TypeError, match=named(other)):
        call(fn, C=C, **{other: O})
    with pytest.raises(TypeError, match=named("C")):
        call(fn, C=C, **{other: O})


def rounded(X):
    """Integer-valued data (so the integer and float64 versions hold the same numbers)."""
    return np.round(X * 4)


@pytest.mark.parametrize("int_dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_integer_arrays_are_converted_to_float64(int_dtype):
    C = rounded(C64) + 20  # non-negative for uint8
    Z = rounded(Z64) + 20
    A = rounded(A64) + 20
    assert (C >= 0).all() and (Z >= 0).all() and (A >= 0).all() and C.max() < 128
    Ci, Zi, Ai = C.astype(int_dtype), Z.astype(int_dtype), A.astype(int_dtype)
    r = knn_radii(C, 3)
    assert_array_equal(knn_radii(Ci, 3), r)
    assert_array_equal(rarity_scores(Zi, Ci, r), rarity_scores(Z, C, r))
    assert_array_equal(rarity_scores(Zi, C, r), rarity_scores(Z, C, r))  # int mixed with float64
    assert estimate_k(Ci, Ai, 2, 0.8) == estimate_k(C, A, 2, 0.8)
    assert estimate_k(np.vstack([Ci, Ai]), Ai) == estimate_k(np.vstack([C, A]), A)
    # plain nested lists are accepted too
    assert_array_equal(knn_radii(C.tolist(), 3), r)
    # integer radii are accepted
    assert_array_equal(rarity_scores(Z, C, np.arange(12)), rarity_scores(Z, C, np.arange(12.0)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_and_fortran_inputs(dtype):
    wideC = np.repeat(C64, 2, axis=1).astype(dtype)  # C = wideC[:, ::2]
    wideZ = np.repeat(Z64, 2, axis=1).astype(dtype)
    wideA = np.repeat(A64, 2, axis=1).astype(dtype)
    C, Z, A = (np.ascontiguousarray(w[:, ::2]) for w in (wideC, wideZ, wideA))
    views = dict(C=wideC[:, ::2], Z=wideZ[:, ::2], A=wideA[:, ::2])
    assert not views["C"].flags.c_contiguous
    fortran = dict(C=np.asfortranarray(C), Z=np.asfortranarray(Z), A=np.asfortranarray(A))
    assert not fortran["C"].flags.c_contiguous
    r = knn_radii(C, 4)
    s = rarity_scores(Z, C, r)
    k = estimate_k(C, A, 1, 0.7)
    k_all = estimate_k(np.vstack([C, A]), A)
    for alt in (views, fortran):
        assert_array_equal(knn_radii(alt["C"], 4), r)
        assert_array_equal(rarity_scores(alt["Z"], alt["C"], r), s)
        assert_array_equal(rarity_scores(alt["Z"], C, r), s)
        assert estimate_k(alt["C"], alt["A"], 1, 0.7) == k
        assert estimate_k(np.asfortranarray(np.vstack([C, A])), alt["A"]) == k_all
    # strided radii
    r2 = np.repeat(r, 2)[::2]
    assert not r2.flags.c_contiguous
    assert_array_equal(rarity_scores(Z, C, r2), s)


# ----- scalar arguments ----------------------------------------------------------------------

N = C64.shape[0]


@pytest.mark.parametrize(
    "k,exc",
    [
        (0, ValueError),
        (-1, ValueError),
        (N, ValueError),
        (N + 5, ValueError),
        (1.5, TypeError),
        (2.0, TypeError),
        (np.float64(2.0), TypeError),
        (True, TypeError),
        (np.bool_(True), TypeError),
        ("2", TypeError),
        (None, TypeError),
    ],
)
def test_bad_k(k, exc):
    with pytest.raises(exc, match=named("k")):
        knn_radii(C64, k)


def test_numpy_integer_k_accepted():
    assert_array_equal(knn_radii(C64, np.int64(3)), knn_radii(C64, 3))
    assert_array_equal(knn_radii(C64, np.uint8(N - 1)), knn_radii(C64, N - 1))


@pytest.mark.parametrize(
    "kwargs,exc,name",
    [
        ({"k_min": 0}, ValueError, "k_min"),
        ({"k_min": -3}, ValueError, "k_min"),
        ({"k_min": 1.5}, TypeError, "k_min"),
        ({"k_min": 1.0}, TypeError, "k_min"),
        ({"k_min": True}, TypeError, "k_min"),
        ({"k_min": None}, TypeError, "k_min"),
        ({"quantile": 0}, ValueError, "quantile"),
        ({"quantile": 0.0}, ValueError, "quantile"),
        ({"quantile": 1}, ValueError, "quantile"),
        ({"quantile": 1.0}, ValueError, "quantile"),
        ({"quantile": -0.5}, ValueError, "quantile"),
        ({"quantile": 1.5}, ValueError, "quantile"),
        ({"quantile": float("nan")}, ValueError, "quantile"),
        ({"quantile": float("inf")}, ValueError, "quantile"),
        ({"quantile": "0.9"}, TypeError, "quantile"),
        ({"quantile": True}, TypeError, "quantile"),
        ({"quantile": None}, TypeError, "quantile"),
    ],
)
def test_bad_estimate_k_scalars(kwargs, exc, name):
    with pytest.raises(exc, match=named(name)):
        estimate_k(C64, A64, **kwargs)


def test_numpy_scalars_accepted_by_estimate_k():
    assert estimate_k(C64, A64, np.int32(2), np.float32(0.75)) == estimate_k(
        C64, A64, 2, float(np.float32(0.75))
    )


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize(
    "n_jobs,exc",
    [(0, ValueError), ("a", TypeError), (1.5, TypeError), (2.0, TypeError), (True, TypeError)],
)
def test_bad_n_jobs(fn, n_jobs, exc):
    with pytest.raises(exc, match=named("n_jobs")):
        call(fn, n_jobs=n_jobs)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_good_n_jobs(fn):
    expected = call(fn, n_jobs=1)
    for n_jobs in (-1, -2, None, 2, np.int64(3)):
        got = call(fn, n_jobs=n_jobs)
        if fn == "estimate_k":
            assert got == expected
        else:
            assert_array_equal(got, expected)


# ----- radii ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "radii,exc",
    [
        (R64[:-1], ValueError),
        (np.append(R64, 1.0), ValueError),
        (R64.reshape(1, -1), ValueError),
        (R64.reshape(-1, 1), ValueError),
        (np.float64(1.0), ValueError),
        (np.where(np.arange(12) == 3, -0.5, R64), ValueError),
        (np.where(np.arange(12) == 0, np.nan, R64), ValueError),
        (np.where(np.arange(12) == 5, np.inf, R64), ValueError),
        (R64.astype(np.complex128), TypeError),
        (R64 > 1, TypeError),
        (R64.astype(object), TypeError),
        (R64.astype(str), TypeError),
        (R64.astype(np.float16), TypeError),
    ],
)
def test_bad_radii(radii, exc):
    with pytest.raises(exc, match=named("radii")):
        rarity_scores(Z64, C64, radii)


def test_radii_float32_and_list_accepted():
    R = 1.0 + 0.25 * np.arange(12)  # exactly representable in float32
    expected = rarity_scores(Z64, C64, R)
    assert (expected > 0).any() and (expected == 0).any()
    assert_array_equal(rarity_scores(Z64, C64, R.astype(np.float32)), expected)
    assert_array_equal(rarity_scores(Z64, C64, R.tolist()), expected)


# ----- anomaly_index -------------------------------------------------------------------------

M = A64.shape[0]


@pytest.mark.parametrize(
    "index,exc",
    [
        (np.full(M + 1, -1), ValueError),
        (np.full(M - 1, -1), ValueError),
        (np.full((M, 1), -1), ValueError),
        (np.full((1, M), -1), ValueError),
        (np.int64(-1), ValueError),
        (np.array([0, 1, 2, N]), ValueError),
        (np.array([0, 1, 2, N + 100]), ValueError),
        (np.array([0, -2, 2, 3]), ValueError),
        (np.array([0.0, 1.0, 2.0, 3.0]), TypeError),
        (np.array([-1.0, -1.0, -1.0, -1.0]), TypeError),
        (np.array([True, False, True, False]), TypeError),
        (np.array(["0", "1", "2", "3"]), TypeError),
    ],
)
def test_bad_anomaly_index(index, exc):
    with pytest.raises(exc, match=named("anomaly_index")):
        estimate_k(C64, A64, anomaly_index=index)


def test_anomaly_index_integer_kinds_accepted():
    C = np.vstack([C64, A64])
    expected = estimate_k(C, A64)
    for index in (
        np.arange(N, N + M),
        np.arange(N, N + M, dtype=np.int32),
        np.arange(N, N + M, dtype=np.uint16),
        list(range(N, N + M)),
        np.repeat(np.arange(N, N + M), 2)[::2],  # strided
    ):
        assert estimate_k(C, A64, anomaly_index=index) == expected


# ----- inputs are never modified -------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype,scale_exp",
    [
        (np.int64, 0),
        (np.float64, 0),
        (np.float64, -300),  # far outside the comfortable range: the data get rescaled
        (np.float64, 300),
        (np.float32, 0),
        (np.float32, -60),
        (np.float32, 60),
    ],
)
def test_inputs_not_modified(dtype, scale_exp):
    s = 2.0**scale_exp
    C = (rounded(C64) * s).astype(dtype)
    Z = (rounded(Z64) * s).astype(dtype)
    A = (rounded(A64) * s).astype(dtype)
    CA = np.vstack([C, A])
    radii = R64 * s
    index = np.arange(N, N + M)
    fortran_C = np.asfortranarray(C)
    strided_Z = np.repeat(Z, 2, axis=1)[:, ::2]
    inputs = [C, Z, A, CA, radii, index, fortran_C, strided_Z]
    before = [x.copy() for x in inputs]
    flags = [x.flags.writeable for x in inputs]

    knn_radii(C, 3)
    knn_radii(fortran_C, N - 1)
    rarity_scores(Z, C, radii)
    rarity_scores(strided_Z, fortran_C, radii)
    estimate_k(C, A, 2)
    estimate_k(CA, A, anomaly_index=index)
    estimate_k(CA, A)

    for x, b, f in zip(inputs, before, flags):
        assert x.dtype == b.dtype and x.shape == b.shape
        assert_array_equal(x, b)
        assert x.flags.writeable == f


def test_read_only_inputs_accepted():
    C, Z, A = C64.copy(), Z64.copy(), A64.copy()
    for x in (C, Z, A):
        x.flags.writeable = False
    r = knn_radii(C, 2)
    assert_array_equal(r, knn_radii(C64, 2))
    assert_array_equal(rarity_scores(Z, C, r), rarity_scores(Z64, C64, r))
    assert estimate_k(C, A) == estimate_k(C64, A64)
