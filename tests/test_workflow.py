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
    q = scorer.score_samples(Z)
    got = copy.copy(scorer).set_params(chunk_size=chunk_size).select(Z, top)
    assert got.dtype == np.int64
    assert np.array_equal(got, reference_order(q)[:min(top, Z.shape[0])])


def test_select_ties_go_to_the_lower_index(data, scorer):
    Z = data[2]
    q = scorer.score_samples(Z)
    far = np.arange(240, 300)
    assert np.unique(q[far]).size == 1  # P_x = 0: exactly the prior mean
    best_far = scorer.select(Z[far], 10)
    assert np.array_equal(best_far, np.arange(10))


@pytest.mark.parametrize("fraction, count", [(0.1, 30), (1.0, 300), (0.5, 150), (1e-9, 1), (0.0051, 2)])
def test_select_fraction(data, scorer, fraction, count):
    Z = data[2]
    got = scorer.select(Z, fraction)
    assert got.size == count
    assert np.array_equal(got, reference_order(scorer.score_samples(Z))[:count])


def test_select_min_quality(data, scorer):
    Z = data[2]
    q = scorer.score_samples(Z)
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
    (["--preset", "tuned"], EAPScorer.tuned(random_state=0)),
    (["--prior", "sklearn", "--outside", "tail", "--whiten", "0.9"],
     EAPScorer(random_state=0, prior="sklearn", outside="tail", whiten=0.9)),
    (["--ssdo-k", "30"], EAPScorer(random_state=0, ssdo_k=30)),
    (["--preset", "tuned", "--ssdo-k", "0.5"], EAPScorer.tuned(random_state=0, ssdo_k=0.5)),
])
def test_fit_options_override_the_preset_and_are_saved(tmp_path, capsys, train_file, data, options,
                                                        expected):
    model = tmp_path / "model.npz"
    rc, out = run(capsys, ["fit", "--train", train_file, *options, "--save", model])
    assert rc == 0, out.err
    loaded = EAPScorer.load(model)
    assert loaded.get_params() == expected.get_params()
    X, y, Z = data
    assert np.array_equal(loaded.score_samples(Z), expected.fit(X, y).score_samples(Z))
    np.save(tmp_path / "aux.npy", Z)
    rc, out = run(capsys, ["score", "--model", model, "--aux", tmp_path / "aux.npy",
                           "--out", tmp_path / "q.npy", "--no-progress"])
    assert rc == 0, out.err
    (line,) = [line for line in out.err.splitlines() if line.startswith("model ")]
    for name, value in expected.get_params().items():
        assert f"{name}={value!r}" in line
    if expected.choose_from is not None:  # the choice the validation made is shown too
        assert "; chosen ssdo_k=" in line and "(validation AUC " in line


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
                                    ["--k", "x"], ["--preset", "tuning"], ["--centres", "some"],
                                    ["--prior", "numpy"], ["--outside", "far"], ["--whiten", "-1"],
                                    ["--ssdo-k", "0"], ["--ssdo-k", "1.5"], ["--ssdo-k", "nan"],
                                    ["--ssdo-k", "x"]])
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
    assert ("paper = EAPScorer(), authors = EAPScorer.authors_code(), tuned = EAPScorer.tuned() "
            "(docs/quality.md; about 15x the cost) (default: paper)") in text
    assert "(default: the preset's: paper 10, authors 5, tuned 10)" in text  # --ssdo-k
    assert "(default: the preset's: paper 0, authors 100, tuned 0)" in text  # --n-bags
    assert "(default: the preset's: paper 1, authors 5, tuned 1)" in text  # --k-min
    assert "(default: the preset's: paper zero, authors zero, tuned tail)" in text  # --outside
    assert "(default: the preset's: paper native, authors native, tuned knn)" in text  # --prior
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
    cut = float(np.median(scorer.score_samples(Z)))
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


# --------------------------------------------------------------------------- compare


@pytest.fixture(scope="module")
def generated(data):
    X, y, _ = data
    from eap_anomaly.demo import generate

    return generate(X, y, 80, seed=1)


def test_compare_sets_table(data, scorer, generated):
    from eap_anomaly import compare_sets

    cmp = compare_sets(scorer, generated, random_state=0, n_boot=200)
    assert [r.name for r in cmp.rows] == list(generated)
    prior = scorer.alpha0_ / (scorer.alpha0_ + scorer.beta0_)
    assert cmp.prior_mean == pytest.approx(prior)
    for row in cmp.rows:
        Z = generated[row.name]
        d = scorer.score_samples(Z, return_details=True)
        assert np.array_equal(cmp.quality[row.name], d.quality)
        assert row.n == Z.shape[0]
        assert row.mean == pytest.approx(d.quality.mean()) and row.median == pytest.approx(np.median(d.quality))
        assert row.mean_low <= row.mean <= row.mean_high
        assert row.above_prior == pytest.approx(np.mean(d.quality > prior))
        assert row.unrealistic == pytest.approx(np.mean(d.density == 0))
        assert row.indistinguishable == pytest.approx(np.mean((d.density > 0) & (d.p_anomaly < 0.5)))
    again = compare_sets(scorer, generated, random_state=0, n_boot=200)
    assert again.rows == cmp.rows  # seeded
    table = cmp.to_markdown()
    assert table.splitlines()[0].startswith("| set | n | mean | mean 95 % CI |")
    assert all(name in table for name in generated)


def test_compare_sets_judges_far_rows_unrealistic(data, scorer):
    from eap_anomaly import compare_sets

    Z = data[2]
    cmp = compare_sets(scorer, {"normal": Z[120:240], "far": Z[240:]}, n_boot=50)
    far = cmp.rows[1]
    assert far.unrealistic == 1.0 and far.indistinguishable == 0.0 and far.above_prior == 0.0
    assert far.mean_low == far.mean == far.mean_high == pytest.approx(cmp.prior_mean)
    assert cmp.rows[0].indistinguishable > 0.5


@pytest.mark.parametrize("kwargs, error, word", [
    ({"n_boot": 0}, ValueError, "n_boot"), ({"confidence": 1.0}, ValueError, "confidence"),
])
def test_compare_sets_validation(scorer, generated, kwargs, error, word):
    from eap_anomaly import compare_sets

    with pytest.raises(error, match=word):
        compare_sets(scorer, generated, **kwargs)
    with pytest.raises(ValueError, match="sets"):
        compare_sets(scorer, {})
    with pytest.raises(ValueError, match="smote"):
        compare_sets(scorer, {"smote": np.ones((3, D + 1))})


def test_compare_command(tmp_path, capsys, train_file, scorer, generated):
    from eap_anomaly import compare_sets

    pytest.importorskip("matplotlib")
    model = tmp_path / "model.npz"
    assert run(capsys, ["fit", "--train", train_file, "--save", model])[0] == 0
    files = []
    for name, Z in generated.items():
        np.save(tmp_path / f"{name}.npy", Z)
        files.append(tmp_path / f"{name}.npy")
    rc, out = run(capsys, ["compare", "--model", model, "--aux", *files, "--out", tmp_path / "cmp",
                           "--n-boot", "100", "--chunk-size", "13"])
    assert rc == 0, out.err
    expected = compare_sets(scorer, generated, n_boot=100, random_state=0)
    assert out.out.strip() == expected.to_markdown().strip()
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["comparison.csv", "comparison.md",
                                                                   "comparison.png"]
    import csv

    with open(tmp_path / "cmp" / "comparison.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["name"] for r in table] == list(generated)
    for row, ref in zip(table, expected.rows):
        assert float(row["mean"]) == ref.mean and float(row["mean_low"]) == ref.mean_low
        assert int(row["n"]) == ref.n


def test_compare_command_without_matplotlib(tmp_path, capsys, train_file, generated, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    name, Z = next(iter(generated.items()))
    np.save(tmp_path / "a.npy", Z)
    np.save(tmp_path / "b.npy", Z[:10])
    rc, out = run(capsys, ["compare", "--train", train_file, "--aux", tmp_path / "a.npy", tmp_path / "b.npy",
                           "--names", "first", "second", "--out", tmp_path / "cmp", "--n-boot", "20"])
    assert rc == 0, out.err
    assert "warning: matplotlib is missing" in out.err
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["comparison.csv", "comparison.md"]
    assert "| first | 80 |" in out.out and "| second | 10 |" in out.out


@pytest.mark.parametrize("names, words", [(["a"], "2 --aux"), (["a", "a"], "differ")])
def test_compare_command_names(tmp_path, capsys, train_file, generated, names, words):
    Z = next(iter(generated.values()))
    np.save(tmp_path / "a.npy", Z)
    rc, out = run(capsys, ["compare", "--train", train_file, "--aux", tmp_path / "a.npy", tmp_path / "a.npy",
                           "--names", *names, "--out", tmp_path / "cmp"])
    assert rc == 2 and words in out.err


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize("progress, tty, shown", [(True, True, True), (True, False, False),
                                                  (False, True, False)])
def test_progress_bar_needs_a_terminal_and_no_no_progress(monkeypatch, progress, tty, shown):
    import argparse
    import io
    import sys

    from eap_anomaly.cli import progress_bar

    class Stream(io.StringIO):
        def isatty(self):
            return tty

    stream = Stream()
    monkeypatch.setattr(sys, "stderr", stream)
    with progress_bar(argparse.Namespace(progress=progress), 10, "rows", "score") as bar:
        bar.update(10)
    assert ("score" in stream.getvalue()) == shown


# --------------------------------------------------------------------------- scikit-learn conventions


def test_score_is_the_mean_quality_and_ignores_y(data, scorer):
    Z = data[2]
    q = scorer.score_samples(Z)
    mean = scorer.score(Z)
    assert isinstance(mean, float)
    assert mean == pytest.approx(q.mean(), rel=1e-12)
    assert scorer.score(Z, np.ones(Z.shape[0])) == mean
    assert copy.copy(scorer).set_params(chunk_size=7).score(Z) == pytest.approx(mean, rel=1e-12)
    with pytest.raises(ValueError, match="Z"):
        scorer.score(np.empty((0, D)))


def test_object_arrays_of_numbers_are_converted_like_integers(data, scorer):
    X, y, Z = data
    assert np.array_equal(scorer.score_samples(Z.astype(object)), scorer.score_samples(Z))
    assert scorer.score_samples(np.empty((0, D), dtype=object)).shape == (0,)
    refit = EAPScorer(random_state=0).fit(X.astype(object), y.astype(object))
    assert np.array_equal(refit.score_samples(Z), scorer.score_samples(Z))
    bad = Z.astype(object)
    bad[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="Z.*argument must be a string or a real number"):
        scorer.score_samples(bad)


def test_sparse_complex_and_1d_messages(data, scorer):
    import scipy.sparse as sp

    from eap_anomaly._validation import ComplexDataError

    X, y, Z = data
    with pytest.raises(TypeError, match="X is a sparse .* sparse input is not supported"):
        EAPScorer().fit(sp.csr_matrix(X), y)
    with pytest.raises(TypeError, match="Z is a sparse"):
        scorer.score_samples(sp.csr_array(Z))
    with pytest.raises(ComplexDataError, match="Complex data not supported: Z"):
        scorer.score_samples(Z.astype(complex))
    assert issubclass(ComplexDataError, TypeError) and issubclass(ComplexDataError, ValueError)
    with pytest.raises(ValueError, match="Reshape your data"):
        scorer.score_samples(Z[0])
    with pytest.raises(ValueError, match="requires y to be passed"):
        EAPScorer().fit(X, None)


def test_sklearn_tags_declare_a_semi_supervised_binary_estimator():
    from sklearn.utils import get_tags

    from eap_anomaly import SSDO

    for est in (SSDO(), EAPScorer()):
        tags = get_tags(est)
        assert tags.target_tags.required and tags.estimator_type is None
        assert tags.classifier_tags is not None and not tags.classifier_tags.multi_class
