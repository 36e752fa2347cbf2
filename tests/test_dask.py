"""Scoring Dask collections on a distributed cluster of worker processes (issue 7).

``eap_anomaly.dask.score_samples(scorer, candidates, n_jobs=None)`` must equal local scoring exactly.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from eap_anomaly import EAPScorer  # noqa: E402
from eap_anomaly.dask import score_samples  # noqa: E402
from helpers import labelled_data  # noqa: E402

D = 4


@pytest.fixture(scope="module")
def data():
    return labelled_data(3, 600, D, 1000, rate=0.08, shift=3.0, wide=5.0, groups=(400, 300, 300))


@pytest.fixture(scope="module")
def scorer(data):
    X, y, _ = data
    return EAPScorer(random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def expected(scorer, data):
    return scorer.score_samples(data[2])


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one Dask thread each; every test computes on them."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    try:
        client.wait_for_workers(2, timeout=120)
        yield client
    finally:
        client.close()
        cluster.close()


def compute(client, lazy):
    """Compute on the cluster (explicitly, not through whatever scheduler is the default)."""
    return client.compute(lazy).result()


def test_cluster_has_two_worker_processes(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids


def test_uneven_row_chunks_equal_local_scoring(client, scorer, data, expected):
    Z = data[2]
    rows = (137, 1, 400, 0, 212, 250)
    assert sum(rows) == Z.shape[0]
    candidates = da.from_array(Z, chunks=(rows, D))
    lazy = score_samples(scorer, candidates)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == (Z.shape[0],) and lazy.dtype == np.float64
    assert lazy.chunks == (rows,)  # one block of results per block of rows
    got = compute(client, lazy)
    assert got.dtype == np.float64 and got.shape == (Z.shape[0],)
    assert np.array_equal(got, expected)
    # the blocks were scored in the worker processes, which had to import the package for it
    imported = client.run(lambda: "eap_anomaly.scorer" in sys.modules)
    assert any(imported.values())


def test_chunks_split_along_columns_equal_local_scoring(client, scorer, data, expected):
    Z = data[2]
    candidates = da.from_array(Z, chunks=((300, 300, 400), (1, 3)))
    assert candidates.numblocks == (3, 2)
    lazy = score_samples(scorer, candidates)
    assert lazy.chunks == ((300, 300, 400),)
    assert np.array_equal(compute(client, lazy), expected)


def test_many_small_chunks_equal_local_scoring(client, scorer, data, expected):
    candidates = da.from_array(data[2], chunks=(93, 2))
    assert np.array_equal(compute(client, score_samples(scorer, candidates)), expected)


def test_scorer_enters_the_graph_once(scorer, data):
    lazy = score_samples(scorer, da.from_array(data[2], chunks=(100, 2)))
    graph = dict(lazy.__dask_graph__())
    scorer_keys = [key for key in graph if "EAPScorer" in str(key)]
    assert len(scorer_keys) == 1
    assert lazy.numblocks == (10,)


def test_float32_scorer_equals_local_scoring(client, data):
    X, y, Z = data
    scorer32 = EAPScorer(random_state=1, centres="normals").fit(X.astype(np.float32), y)
    Z32 = Z.astype(np.float32)
    got = compute(client, score_samples(scorer32, da.from_array(Z32, chunks=(250, D))))
    assert np.array_equal(got, scorer32.score_samples(Z32))


def test_float32_scorer_refuses_float64_blocks_like_local_scoring(client, data):
    X, y, Z = data
    scorer32 = EAPScorer(random_state=1).fit(X.astype(np.float32), y)
    with pytest.raises(TypeError, match="float32"):
        scorer32.score_samples(Z)
    with pytest.raises(TypeError, match="float32"):
        compute(client, score_samples(scorer32, da.from_array(Z, chunks=(500, D))))


def test_float64_scorer_converts_float32_blocks_like_local_scoring(client, scorer, data):
    Z32 = data[2].astype(np.float32)
    got = compute(client, score_samples(scorer, da.from_array(Z32, chunks=(250, D))))
    assert np.array_equal(got, scorer.score_samples(Z32))


def test_bagged_scorer_equals_local_scoring(client, data):
    X, y, Z = data
    bagged = EAPScorer(random_state=2, n_bags=2).fit(X, y)
    got = compute(client, score_samples(bagged, da.from_array(Z, chunks=(333, D))))
    assert np.array_equal(got, bagged.score_samples(Z))


@pytest.mark.parametrize("columns", ["named", "integer"])
def test_dask_dataframe_equals_local_scoring(client, scorer, data, expected, columns):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    Z = data[2]
    names = [f"f{i}" for i in range(D)] if columns == "named" else list(range(D))
    frame = dd.from_pandas(pd.DataFrame(Z, columns=names), npartitions=3)
    lazy = score_samples(scorer, frame)
    assert isinstance(lazy, da.Array)
    assert lazy.shape == (Z.shape[0],)
    assert np.array_equal(compute(client, lazy), expected)


def test_n_jobs_override(client, scorer, data, expected):
    candidates = da.from_array(data[2], chunks=(400, D))
    got = compute(client, score_samples(scorer, candidates, n_jobs=1))
    assert np.array_equal(got, expected)
    assert scorer.n_jobs is None  # the caller's scorer is not modified
    assert np.array_equal(compute(client, score_samples(scorer, candidates, n_jobs=2)), expected)


def test_local_schedulers_give_the_same_result(scorer, data, expected):
    lazy = score_samples(scorer, da.from_array(data[2], chunks=(300, D)))
    (sync,) = dask.compute(lazy, scheduler="synchronous")
    (threads,) = dask.compute(lazy, scheduler="threads")
    assert np.array_equal(sync, expected)
    assert np.array_equal(threads, expected)


def test_nan_in_a_block_raises_on_compute(client, scorer, data):
    Z = data[2].copy()
    Z[750, 1] = np.nan
    lazy = score_samples(scorer, da.from_array(Z, chunks=(250, D)))
    with pytest.raises(ValueError, match="NaN"):
        compute(client, lazy)


@pytest.mark.parametrize("n_jobs, error", [(0, ValueError), ("2", TypeError), (1.5, TypeError)])
def test_bad_n_jobs_raises(scorer, data, n_jobs, error):
    with pytest.raises(error):
        score_samples(scorer, da.from_array(data[2], chunks=(250, D)), n_jobs=n_jobs)


@pytest.mark.parametrize("width", [D - 1, D + 1])
def test_wrong_width_raises_value_error(scorer, width):
    candidates = da.zeros((20, width), chunks=(10, width))
    with pytest.raises(ValueError, match="features"):
        score_samples(scorer, candidates)


@pytest.mark.parametrize("shape", [(20,), (5, 2, 2)], ids=["1-D", "3-D"])
def test_wrong_dimensions_raise_value_error(scorer, shape):
    with pytest.raises(ValueError, match="2-D"):
        score_samples(scorer, da.zeros(shape, chunks=5))


@pytest.mark.parametrize("candidates", [np.zeros((5, D)), [[0.0] * D] * 5, None],
                         ids=["numpy", "list", "None"])
def test_not_a_dask_collection_raises_type_error(scorer, candidates):
    with pytest.raises(TypeError, match="Dask"):
        score_samples(scorer, candidates)


def test_unfitted_scorer_raises_not_fitted(data):
    with pytest.raises(NotFittedError):
        score_samples(EAPScorer(), da.from_array(data[2], chunks=(250, D)))
