"""The user's workflow end to end (issue 15): presets and options on the command line, streaming
selection of the best candidates (``EAPScorer.select``, ``eap-anomaly select``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from eap_anomaly import EAPScorer
from eap_anomaly.cli import main
from eap_anomaly.selection import TopSelection, check_top

N_TRAIN, D = 300, 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(15)
    y = (rng.random(N_TRAIN) < 0.08).astype(np.int64)
    X = rng.normal(size=(N_TRAIN, D))
    X[y == 1] += 2.5
    Z = np.vstack([
        rng.normal(size=(120, D)) + 2.5,            # realistic
        rng.normal(size=(120, D)),                  # indistinguishable
        rng.normal(size=(60, D)) + 100.0,           # far away: P_x = 0, all tied at the prior mean
    ])
    return X, y, Z


@pytest.fixture(scope="module")
def scorer(data):
    X, y, _ = data
    return EAPScorer(random_state=0).fit(X, y)


def reference_order(q: np.ndarray) -> np.ndarray:
    """Descending quality, ties by lower index: the contract of select."""
    return np.lexsort((np.arange(q.size), -q))


# --------------------------------------------------------------------------- select


@pytest.mark.parametrize("top", [1, 7, 30, 299, 300, 1000])
@pytest.mark.parametrize("chunk_size", [None, 7, 64])
def test_select_top_count_equals_a_full_sort(data, scorer, top, chunk_size):
    Z = data[2]
    q = scorer.score(Z)
    got = copy.copy(scorer).set_params(chunk_size=chunk_size).select(Z, top)
    assert got.dtype == np.int64
    assert np.array_equal(got, reference_order(q)[:min(top, Z.shape[0])])


def test_select_ties_go_to_the_lower_index(data, scorer):
    Z = data[2]
    q = scorer.score(Z)
    far = np.arange(240, 300)
    assert np.unique(q[far]).size == 1  # P_x = 0: exactly the prior mean
    best_far = scorer.select(Z[far], 10)
    assert np.array_equal(best_far, np.arange(10))


@pytest.mark.parametrize("fraction, count", [(0.1, 30), (1.0, 300), (0.5, 150), (1e-9, 1), (0.0051, 2)])
def test_select_fraction(data, scorer, fraction, count):
    Z = data[2]
    got = scorer.select(Z, fraction)
    assert got.size == count
    assert np.array_equal(got, reference_order(scorer.score(Z))[:count])


def test_select_min_quality(data, scorer):
    Z = data[2]
    q = scorer.score(Z)
    cut = float(np.median(q))
    got = scorer.select(Z, min_quality=cut)
    assert np.array_equal(got, reference_order(q)[:int((q >= cut).sum())])
    assert np.all(q[got] >= cut) and np.all(np.diff(q[got]) <= 0)
    both = scorer.select(Z, 5, min_quality=cut)
    assert np.array_equal(both, got[:5])
    assert scorer.select(Z, min_quality=2.0).size == 0  # quality <= 1


def test_select_empty_candidates(scorer):
    assert scorer.select(np.empty((0, D)), 0.5).size == 0
    assert scorer.select(np.empty((0, D)), 3).size == 0


@pytest.mark.parametrize("kwargs, error, words", [
    ({}, ValueError, ["top", "min_quality"]),
    ({"top": 0}, ValueError, ["top"]),
    ({"top": -3}, ValueError, ["top"]),
    ({"top": 1.5}, ValueError, ["top"]),
    ({"top": 0.0}, ValueError, ["top"]),
    ({"top": float("nan")}, ValueError, ["top"]),
    ({"top": True}, TypeError, ["top"]),
    ({"top": "10"}, TypeError, ["top"]),
    ({"top": 3, "min_quality": float("nan")}, ValueError, ["min_quality"]),
    ({"min_quality": "high"}, TypeError, ["min_quality"]),
])
def test_select_validation_names_the_argument(data, scorer, kwargs, error, words):
    with pytest.raises(error) as info:
        scorer.select(data[2], **kwargs)
    for word in words:
        assert word in str(info.value)


def test_top_selection_streams_with_bounded_memory():
    rng = np.random.default_rng(0)
    for trial in range(30):
        l = int(rng.integers(1, 400))
        scores = rng.integers(0, 6, size=l).astype(float)  # many ties
        top = int(rng.integers(1, 50))
        kept = TopSelection(top)
        start = 0
        while start < l:
            stop = min(l, start + int(rng.integers(1, 40)))
            kept.add(scores[start:stop], payload=np.arange(start, stop)[:, None])
            assert kept.scores.size <= top
            start = stop
        index, got_scores, payload = kept.result()
        assert np.array_equal(index, reference_order(scores)[:top])
        assert np.array_equal(got_scores, scores[index])
        assert np.array_equal(payload[:, 0], index)


def test_check_top_rounds_fractions_half_up():
    assert check_top(0.5, 3) == 2 and check_top(0.1, 30) == 3 and check_top(0.25, 2) == 1
    assert check_top(5, None) == 5
    with pytest.raises(ValueError, match="number of rows"):
        check_top(0.5, None)


# --------------------------------------------------------------------------- CLI options


def run(capsys, argv):
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr()


@pytest.fixture()
def train_file(tmp_path, data):
    X, y, _ = data
    np.savez(tmp_path / "train.npz", X=X, y=y)
    return tmp_path / "train.npz"


@pytest.mark.parametrize("options, expected", [
    ([], EAPScorer(random_state=0)),
    (["--preset", "paper", "--k-min", "3"], EAPScorer(random_state=0, k_min=3)),
    (["--preset", "authors", "--n-bags", "2"], EAPScorer.authors_code(random_state=0, n_bags=2)),
    (["--preset", "authors", "--n-bags", "2", "--centres", "all", "--k", "5", "--alpha0", "0.1",
      "--beta0", "0.9", "--seed", "4"],
     EAPScorer.authors_code(random_state=4, n_bags=2, centres="all", k=5, alpha0=0.1, beta0=0.9)),
])
def test_fit_options_override_the_preset_and_are_saved(tmp_path, capsys, train_file, data, options,
                                                        expected):
    model = tmp_path / "model.npz"
    rc, out = run(capsys, ["fit", "--train", train_file, *options, "--save", model])
    assert rc == 0, out.err
    loaded = EAPScorer.load(model)
    assert loaded.get_params() == expected.get_params()
    X, y, Z = data
    assert np.array_equal(loaded.score(Z), expected.fit(X, y).score(Z))
    np.save(tmp_path / "aux.npy", Z)
    rc, out = run(capsys, ["score", "--model", model, "--aux", tmp_path / "aux.npy",
                           "--out", tmp_path / "q.npy", "--no-progress"])
    assert rc == 0, out.err
    (line,) = [line for line in out.err.splitlines() if line.startswith("model ")]
    for name, value in expected.get_params().items():
        assert f"{name}={value!r}" in line


def test_fit_options_are_refused_with_a_saved_model(tmp_path, capsys, train_file, data):
    model = tmp_path / "model.npz"
    assert run(capsys, ["fit", "--train", train_file, "--save", model])[0] == 0
    np.save(tmp_path / "aux.npy", data[2])
    rc, out = run(capsys, ["score", "--model", model, "--preset", "authors", "--k-min", "3",
                           "--aux", tmp_path / "aux.npy", "--out", tmp_path / "q.npy"])
    assert rc == 2
    assert "--preset, --k-min" in out.err and "--train" in out.err
    assert not (tmp_path / "q.npy").exists()


@pytest.mark.parametrize("option", [["--k-min", "0"], ["--n-bags", "-1"], ["--alpha0", "-1"],
                                    ["--k", "x"], ["--preset", "tuning"], ["--centres", "some"]])
def test_bad_fit_options_exit_2(tmp_path, capsys, train_file, option):
    with pytest.raises(SystemExit) as info:
        main(["fit", "--train", str(train_file), *option, "--save", str(tmp_path / "m.npz")])
    assert info.value.code == 2
    assert option[0] in capsys.readouterr().err


@pytest.mark.parametrize("command", ["fit", "score", "select"])
def test_help_states_the_defaults(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "paper = EAPScorer(), authors = EAPScorer.authors_code() (default: paper)" in text
    assert "(default: the preset's: paper 0, authors 100)" in text  # --n-bags
    assert "(default: the preset's: paper 1, authors 5)" in text  # --k-min
    assert "(default: 0)" in text  # --seed


# --------------------------------------------------------------------------- CLI select


@pytest.mark.parametrize("aux_fmt, out_suffix", [("npy", ".npy"), ("csv", ".csv"), ("parquet", ".parquet")])
def test_select_command_writes_the_best_rows_and_indices(tmp_path, capsys, train_file, data, scorer,
                                                         aux_fmt, out_suffix):
    Z = data[2]
    aux = tmp_path / f"aux.{aux_fmt}"
    if aux_fmt == "npy":
        np.save(aux, Z)
    elif aux_fmt == "csv":
        with open(aux, "w") as f:
            f.write(",".join(f"f{i}" for i in range(D)) + "\n")
            np.savetxt(f, Z, delimiter=",", fmt="%.17g")
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        pa = pytest.importorskip("pyarrow")
        pq.write_table(pa.table({f"f{i}": Z[:, i] for i in range(D)}), aux)
    model = tmp_path / "model.npz"
    assert run(capsys, ["fit", "--train", train_file, "--save", model])[0] == 0
    kept, idx = tmp_path / f"kept{out_suffix}", tmp_path / f"idx{out_suffix}"
    rc, out = run(capsys, ["select", "--model", model, "--aux", aux, "--top", "0.1", "--out", kept,
                           "--indices", idx, "--chunk-size", "17", "--no-progress"])
    assert rc == 0, out.err
    expected = scorer.select(Z, 0.1)
    if out_suffix == ".npy":
        got_rows, got_idx = np.load(kept), np.load(idx)
        assert got_idx.dtype == np.int64 and got_rows.dtype == Z.dtype and got_rows.shape == (30, D)
    elif out_suffix == ".csv":
        with open(kept) as f:
            assert f.readline().strip() == ",".join(f"f{i}" for i in range(D))  # the input's header
        got_rows = np.loadtxt(kept, delimiter=",", skiprows=1, ndmin=2)
        got_idx = np.loadtxt(idx, delimiter=",", skiprows=1, dtype=np.int64)
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        got_rows = np.column_stack([c.to_numpy() for c in pq.read_table(kept).columns])
        got_idx = pq.read_table(idx).column("index").to_numpy()
    assert np.array_equal(got_idx, expected)
    assert np.array_equal(got_rows, Z[expected])
    assert "kept 30 of 300 candidates" in out.err


def test_select_command_count_and_min_quality(tmp_path, capsys, train_file, data, scorer):
    Z = data[2]
    np.save(tmp_path / "aux.npy", Z)
    cut = float(np.median(scorer.score(Z)))
    rc, out = run(capsys, ["select", "--train", train_file, "--aux", tmp_path / "aux.npy",
                           "--min-quality", repr(cut), "--out", tmp_path / "kept.npy", "--no-progress"])
    assert rc == 0, out.err
    assert np.array_equal(np.load(tmp_path / "kept.npy"), Z[scorer.select(Z, min_quality=cut)])
    rc, out = run(capsys, ["select", "--train", train_file, "--aux", tmp_path / "aux.npy", "--top", "3",
                           "--out", tmp_path / "three.npy", "--no-progress"])
    assert rc == 0, out.err
    assert np.array_equal(np.load(tmp_path / "three.npy"), Z[scorer.select(Z, 3)])


@pytest.mark.parametrize("top", ["0", "1.5", "-2", "ten"])
def test_select_command_bad_top_exits_2(tmp_path, capsys, train_file, top):
    with pytest.raises(SystemExit) as info:
        main(["select", "--train", str(train_file), "--aux", "a.npy", "--top", top, "--out", "k.npy"])
    assert info.value.code == 2
    assert "--top" in capsys.readouterr().err


def test_select_command_needs_top_or_min_quality(tmp_path, capsys, train_file, data):
    np.save(tmp_path / "aux.npy", data[2])
    rc, out = run(capsys, ["select", "--train", train_file, "--aux", tmp_path / "aux.npy",
                           "--out", tmp_path / "kept.npy"])
    assert rc == 2 and "--top" in out.err and not (tmp_path / "kept.npy").exists()
