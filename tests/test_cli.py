"""The command line ``eap-anomaly fit | score`` and its file handling (issue 7).

The CLI fits ``EAPScorer(random_state=--seed, n_jobs=--n-jobs)`` with ``--seed`` 0 by default, so
its output must equal ``EAPScorer(random_state=seed).fit(X, y).score_samples(Z)`` from Python exactly.
"""

from __future__ import annotations

import gc
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest

from eap_anomaly import EAPScorer
from eap_anomaly import files as eap_files
from eap_anomaly.cli import DETAIL_COLUMNS, main
from helpers import DETAIL_FIELDS, labelled_data

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

N_TRAIN, N_AUX, D = 2000, 3000, 4
FEATURES = [f"f{i}" for i in range(D)]
ERROR_PREFIX = "eap-anomaly: error:"


# --------------------------------------------------------------------------- data and helpers


@pytest.fixture(scope="module")
def data():
    return labelled_data(7, N_TRAIN, D, N_AUX, rate=0.05, shift=3.0, wide=5.0)


@pytest.fixture(scope="module")
def reference(data):
    """What the CLI must reproduce: the default seed is 0."""
    X, y, _ = data
    return EAPScorer(random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def expected(reference, data):
    return reference.score_samples(data[2])


@pytest.fixture(scope="module")
def expected_details(reference, data):
    r = reference.score_samples(data[2], return_details=True)
    return np.column_stack([getattr(r, c) for c in DETAIL_COLUMNS])


@pytest.fixture(scope="module")
def model(tmp_path_factory, data):
    """A model saved by ``eap-anomaly fit`` (shared by the scoring tests)."""
    folder = tmp_path_factory.mktemp("model")
    X, y, _ = data
    np.savez(folder / "train.npz", X=X, y=y)
    assert main(["fit", "--train", str(folder / "train.npz"), "--save", str(folder / "model.npz")]) == 0
    return folder / "model.npz"


@pytest.fixture(scope="module")
def aux_npy(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("aux") / "aux.npy"
    np.save(path, data[2])
    return path


def write_csv(path: Path, matrix: np.ndarray, header: Optional[List[str]] = None) -> None:
    with open(path, "w") as f:
        if header is not None:
            f.write(",".join(header) + "\n")
        np.savetxt(f, matrix, delimiter=",", fmt="%.17g")  # %.17g: exact round trip


def write_parquet(path: Path, columns: dict) -> None:
    pq.write_table(pa.table(columns), path)


def write_training(folder: Path, fmt: str, X: np.ndarray, y: np.ndarray):
    """Training file of one format and the --labels arguments that read it."""
    if fmt == "npy":  # labels: the last column by default
        np.save(folder / "train.npy", np.column_stack([X, y]))
        return folder / "train.npy", []
    if fmt == "npy-index":  # labels in column 0, named by index
        np.save(folder / "train.npy", np.column_stack([y, X]))
        return folder / "train.npy", ["--labels", "0"]
    if fmt == "npz":
        np.savez(folder / "train.npz", X=X, y=y)
        return folder / "train.npz", []
    if fmt == "npz-key":
        np.savez(folder / "train.npz", X=X, target=y)
        return folder / "train.npz", ["--labels", "target"]
    if fmt == "csv":  # header; the label column in the middle, named
        write_csv(folder / "train.csv", np.column_stack([X[:, :2], y, X[:, 2:]]),
                  FEATURES[:2] + ["label"] + FEATURES[2:])
        return folder / "train.csv", ["--labels", "label"]
    if fmt == "csv-noheader":  # no header: the last column by default
        write_csv(folder / "train.csv", np.column_stack([X, y]))
        return folder / "train.csv", []
    if fmt == "parquet":
        write_parquet(folder / "train.parquet", {**{f: X[:, i] for i, f in enumerate(FEATURES)}, "y": y})
        return folder / "train.parquet", []
    if fmt == "parquet-name":
        write_parquet(folder / "train.parquet",
                      {"is_anomaly": y, **{f: X[:, i] for i, f in enumerate(FEATURES)}})
        return folder / "train.parquet", ["--labels", "is_anomaly"]
    raise AssertionError(fmt)


def write_candidates(folder: Path, fmt: str, Z: np.ndarray) -> Path:
    if fmt == "npy":
        np.save(folder / "aux.npy", Z)
        return folder / "aux.npy"
    if fmt == "npz":
        np.savez(folder / "aux.npz", X=Z)
        return folder / "aux.npz"
    if fmt == "csv":
        write_csv(folder / "aux.csv", Z, FEATURES)
        return folder / "aux.csv"
    if fmt == "csv-noheader":
        write_csv(folder / "aux.csv", Z)
        return folder / "aux.csv"
    if fmt == "parquet":
        write_parquet(folder / "aux.parquet", {f: Z[:, i] for i, f in enumerate(FEATURES)})
        return folder / "aux.parquet"
    raise AssertionError(fmt)


def read_output(path: Path, columns: List[str]) -> np.ndarray:
    """The output matrix (a vector when one column), checking the column names where stored."""
    suffix = path.suffix
    if suffix == ".npy":
        out = np.load(path, allow_pickle=False)
        assert out.dtype == np.float64
        assert out.ndim == (1 if len(columns) == 1 else 2)
        return out
    if suffix == ".csv":
        with open(path) as f:
            assert f.readline().strip() == ",".join(columns)
        out = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    elif suffix == ".parquet":
        table = pq.read_table(path)
        assert table.column_names == columns
        assert all(t == pa.float64() for t in table.schema.types)
        out = np.column_stack([table.column(c).to_numpy() for c in columns])
    else:
        raise AssertionError(suffix)
    return out[:, 0] if len(columns) == 1 else out


def run_cli(capsys, argv: List[str]):
    rc = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return rc, captured.err


def error_lines(stderr: str) -> List[str]:
    return [line for line in stderr.splitlines() if line.startswith(ERROR_PREFIX)]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "train_fmt, aux_fmt, out_suffix",
    [
        ("npy", "npy", ".npy"),
        ("npz", "npz", ".csv"),
        ("csv", "csv", ".csv"),
        ("parquet", "parquet", ".parquet"),
    ],
)
def test_fit_then_score_round_trip(tmp_path, capsys, data, expected, train_fmt, aux_fmt, out_suffix):
    X, y, Z = data
    train, labels = write_training(tmp_path, train_fmt, X, y)
    aux = write_candidates(tmp_path, aux_fmt, Z)
    model_path, out = tmp_path / "model.npz", tmp_path / f"quality{out_suffix}"

    rc, err = run_cli(capsys, ["fit", "--train", train, *labels, "--save", model_path])
    assert rc == 0, err
    assert model_path.is_file()
    assert "saved to" in err and ERROR_PREFIX not in err
    assert EAPScorer.load(model_path).get_params()["random_state"] == 0

    rc, err = run_cli(capsys, ["score", "--model", model_path, "--aux", aux, "--out", out])
    assert rc == 0, err
    assert f"scored {N_AUX} candidates" in err
    got = read_output(out, ["quality"])
    assert got.shape == (N_AUX,)
    assert np.array_equal(got, expected)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".partial-")) == []


@pytest.mark.parametrize("train_fmt", ["npy-index", "npz-key", "csv-noheader", "parquet-name"])
def test_fit_reads_every_label_convention(tmp_path, capsys, data, aux_npy, expected, train_fmt):
    X, y, _ = data
    train, labels = write_training(tmp_path, train_fmt, X, y)
    rc, err = run_cli(capsys, ["fit", "--train", train, *labels, "--save", tmp_path / "m.npz"])
    assert rc == 0, err
    rc, err = run_cli(capsys, ["score", "--model", tmp_path / "m.npz", "--aux", aux_npy,
                               "--out", tmp_path / "q.npy", "--no-progress"])
    assert rc == 0, err
    assert np.array_equal(np.load(tmp_path / "q.npy"), expected)


def test_float32_model_follows_the_dtype_policy(tmp_path, capsys, data, aux_npy):
    """A float32 .npy gives a float32 model. It refuses float64 candidate files (as
    EAPScorer.score_samples does), scores float32 ones, and parses CSV text in float32."""
    X, y, Z = data
    X32, Z32 = X.astype(np.float32), Z.astype(np.float32)
    np.save(tmp_path / "train.npy", np.column_stack([X32, y.astype(np.float32)]))
    rc, err = run_cli(capsys, ["fit", "--train", tmp_path / "train.npy", "--save", tmp_path / "m.npz"])
    assert rc == 0, err
    assert EAPScorer.load(tmp_path / "m.npz").dtype_ == np.float32
    rc, err = run_cli(capsys, ["score", "--model", tmp_path / "m.npz", "--aux", aux_npy,
                               "--out", tmp_path / "q.npy"])
    assert rc == 2 and "--aux" in err and "float64" in err, err
    assert not (tmp_path / "q.npy").exists()
    r = EAPScorer(random_state=0).fit(X32, y).score_samples(Z32, return_details=True)
    expected = np.column_stack([getattr(r, c) for c in DETAIL_COLUMNS])
    np.save(tmp_path / "aux32.npy", Z32)
    np.savetxt(tmp_path / "aux.csv", Z, delimiter=",", fmt="%.17g")
    for aux in ("aux32.npy", "aux.csv"):
        rc, err = run_cli(capsys, ["score", "--model", tmp_path / "m.npz", "--aux", tmp_path / aux,
                                   "--out", tmp_path / "q.csv", "--details", "--chunk-size", "1000"])
        assert rc == 0, err
        assert np.array_equal(read_output(tmp_path / "q.csv", DETAIL_COLUMNS), expected), aux


@pytest.mark.parametrize("aux_fmt", ["npy", "npz", "csv", "csv-noheader", "parquet"])
def test_candidate_formats_give_the_same_scores(tmp_path, capsys, data, model, expected, aux_fmt):
    aux = write_candidates(tmp_path, aux_fmt, data[2])
    rc, err = run_cli(capsys, ["score", "--model", model, "--aux", aux, "--out", tmp_path / "q.csv"])
    assert rc == 0, err
    assert np.array_equal(read_output(tmp_path / "q.csv", ["quality"]), expected)


@pytest.mark.parametrize("out_suffix", [".npy", ".csv", ".parquet"])
@pytest.mark.parametrize("details", [False, True], ids=["quality", "details"])
def test_output_formats_and_details(tmp_path, capsys, model, aux_npy, expected, expected_details,
                                    out_suffix, details):
    out = tmp_path / f"result{out_suffix}"
    argv = ["score", "--model", model, "--aux", aux_npy, "--out", out] + (["--details"] if details else [])
    rc, err = run_cli(capsys, argv)
    assert rc == 0, err
    columns = DETAIL_COLUMNS if details else ["quality"]
    got = read_output(out, columns)
    if details:
        assert DETAIL_COLUMNS == list(DETAIL_FIELDS)
        assert got.shape == (N_AUX, 4)
        assert np.array_equal(got, expected_details)
        assert np.array_equal(got[:, 0], expected)
    else:
        assert got.shape == (N_AUX,)
        assert np.array_equal(got, expected)
    assert os.listdir(tmp_path) == [out.name]


def test_csv_candidates_to_npy_output_is_right_or_a_clean_error(tmp_path, capsys, data, model, expected):
    """A .csv has no row count up front; .npy output must then either work or fail cleanly."""
    aux = write_candidates(tmp_path, "csv", data[2])
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "q.npy"
    rc, err = run_cli(capsys, ["score", "--model", model, "--aux", aux, "--out", out])
    if rc == 0:
        assert np.array_equal(np.load(out), expected)
    else:
        assert rc == 2
        assert len(error_lines(err)) == 1 and "Traceback" not in err
        assert os.listdir(tmp_path / "out") == []


# --------------------------------------------------------------------------- one-shot mode, options


@pytest.mark.parametrize("train_fmt", ["csv", "npz"])
def test_one_shot_train_and_score(tmp_path, capsys, data, aux_npy, expected, train_fmt):
    X, y, _ = data
    train, labels = write_training(tmp_path, train_fmt, X, y)
    out = tmp_path / "q.npy"
    rc, err = run_cli(capsys, ["score", "--train", train, *labels, "--aux", aux_npy, "--out", out])
    assert rc == 0, err
    assert np.array_equal(np.load(out), expected)
    # nothing but the inputs and the result: one-shot mode saves no model
    assert sorted(os.listdir(tmp_path)) == sorted([train.name, out.name])


def test_one_shot_details_and_seed(tmp_path, capsys, data, aux_npy):
    X, y, Z = data
    train, labels = write_training(tmp_path, "parquet", X, y)
    out = tmp_path / "d.parquet"
    rc, err = run_cli(capsys, ["score", "--train", train, *labels, "--seed", "5", "--aux", aux_npy,
                               "--out", out, "--details", "--n-jobs", "1"])
    assert rc == 0, err
    r = EAPScorer(random_state=5).fit(X, y).score_samples(Z, return_details=True)
    got = read_output(out, DETAIL_COLUMNS)
    assert np.array_equal(got, np.column_stack([getattr(r, c) for c in DETAIL_COLUMNS]))


def test_seed_is_honoured_by_fit(tmp_path, capsys, data, aux_npy, expected):
    X, y, Z = data
    train, _ = write_training(tmp_path, "npz", X, y)
    rc, err = run_cli(capsys, ["fit", "--train", train, "--seed", "11", "--save", tmp_path / "m.npz"])
    assert rc == 0, err
    loaded = EAPScorer.load(tmp_path / "m.npz")
    assert loaded.random_state == 11
    assert np.array_equal(loaded.score_samples(Z), EAPScorer(random_state=11).fit(X, y).score_samples(Z))
    assert not np.array_equal(loaded.score_samples(Z), expected)  # the seed matters, so the check above means something


@pytest.mark.parametrize("extra", [["--model", "MODEL", "--train", "TRAIN"], []], ids=["both", "neither"])
def test_score_needs_exactly_one_of_model_and_train(tmp_path, capsys, data, model, aux_npy, extra):
    X, y, _ = data
    train, _ = write_training(tmp_path, "npz", X, y)
    extra = [model if a == "MODEL" else train if a == "TRAIN" else a for a in extra]
    (tmp_path / "out").mkdir()
    rc, err = run_cli(capsys, ["score", *extra, "--aux", aux_npy, "--out", tmp_path / "out" / "q.npy"])
    assert rc == 2
    assert len(error_lines(err)) == 1
    assert "--model" in error_lines(err)[0] and "--train" in error_lines(err)[0]
    assert os.listdir(tmp_path / "out") == []


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_chunk_size_must_be_positive(tmp_path, capsys, model, aux_npy, value):
    with pytest.raises(SystemExit) as exc:
        main(["score", "--model", str(model), "--aux", str(aux_npy), "--out", str(tmp_path / "q.npy"),
              "--chunk-size", value])
    assert exc.value.code == 2
    assert "--chunk-size" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- chunking / streaming


@pytest.mark.parametrize("n_jobs", [None, "1"])
def test_small_chunks_of_a_memory_mapped_npy_equal_one_big_chunk(tmp_path, capsys, data, model,
                                                                  expected, monkeypatch, n_jobs):
    """A file "too large to load at once": the .npy is memory-mapped and scored 7 rows at a time,
    each chunk written as it comes; the result equals scoring everything at once."""
    rows = 703  # 100 full chunks of 7 and a short one
    aux = tmp_path / "aux.npy"
    np.save(aux, data[2][:rows])
    blocks, writes = [], []
    real_score, real_write = EAPScorer.score_samples, eap_files.ScoreWriter.write

    def spy_score(self, Z, return_details=False):
        blocks.append((type(Z), Z.shape[0], self.chunk_size))
        return real_score(self, Z, return_details=return_details)

    def spy_write(self, values):
        writes.append(values.shape[0])
        # written as they come: every earlier chunk is already in the temporary file
        assert self.written == sum(writes[:-1])
        return real_write(self, values)

    monkeypatch.setattr(EAPScorer, "score_samples", spy_score)
    monkeypatch.setattr(eap_files.ScoreWriter, "write", spy_write)
    big, small = tmp_path / "big.npy", tmp_path / "small.npy"
    rc, err = run_cli(capsys, ["score", "--model", model, "--aux", aux, "--out", big, "--no-progress"])
    assert rc == 0, err
    assert len(blocks) == 1 and blocks[0][1] == rows
    blocks.clear()
    writes.clear()

    argv = ["score", "--model", model, "--aux", aux, "--out", small, "--chunk-size", "7", "--no-progress"]
    rc, err = run_cli(capsys, argv + (["--n-jobs", n_jobs] if n_jobs else []))
    assert rc == 0, err
    assert len(blocks) == math.ceil(rows / 7) == 101
    assert all(issubclass(kind, np.memmap) for kind, _, _ in blocks)  # never loaded whole
    assert [r for _, r, _ in blocks] == [7] * 100 + [3]
    assert all(chunk == 7 for _, _, chunk in blocks)
    assert writes == [r for _, r, _ in blocks]

    assert np.array_equal(np.load(small), np.load(big))
    assert np.array_equal(np.load(small), expected[:rows])


@pytest.mark.parametrize("aux_fmt", ["csv", "parquet", "npz"])
@pytest.mark.parametrize("details", [False, True], ids=["quality", "details"])
def test_small_chunks_of_streamed_formats(tmp_path, capsys, data, model, expected, expected_details,
                                          aux_fmt, details):
    rows = 500  # 72 chunks of 7 (the last one short)
    aux = write_candidates(tmp_path, aux_fmt, data[2][:rows])
    out = tmp_path / "q.csv"
    rc, err = run_cli(capsys, ["score", "--model", model, "--aux", aux, "--out", out, "--chunk-size", "7"]
                      + (["--details"] if details else []))
    assert rc == 0, err
    got = read_output(out, DETAIL_COLUMNS if details else ["quality"])
    assert np.array_equal(got, expected_details[:rows] if details else expected[:rows])


def test_interrupted_run_leaves_nothing_behind(tmp_path, capsys, model, aux_npy, monkeypatch):
    real_score = EAPScorer.score_samples
    calls = []

    def interrupt_on_third_chunk(self, Z, return_details=False):
        calls.append(Z.shape[0])
        if len(calls) == 3:
            assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".partial-")]
            raise KeyboardInterrupt
        return real_score(self, Z, return_details=return_details)

    monkeypatch.setattr(EAPScorer, "score_samples", interrupt_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        main(["score", "--model", str(model), "--aux", str(aux_npy), "--out", str(tmp_path / "q.csv"),
              "--chunk-size", "100"])
    assert len(calls) == 3
    assert os.listdir(tmp_path) == []


def test_failed_run_keeps_an_existing_output_unchanged(tmp_path, capsys, model, data):
    Z = data[2].copy()
    np.save(tmp_path / "good.npy", Z)
    out = tmp_path / "q.npy"
    rc, err = run_cli(capsys, ["score", "--model", model, "--aux", tmp_path / "good.npy", "--out", out])
    assert rc == 0, err
    before = out.read_bytes()
    Z[-1, 0] = np.nan
    np.save(tmp_path / "bad.npy", Z)
    rc, err = run_cli(capsys, ["score", "--model", model, "--aux", tmp_path / "bad.npy", "--out", out,
                               "--chunk-size", "500"])
    assert rc == 2
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["bad.npy", "good.npy", "q.npy"]


# --------------------------------------------------------------------------- bad inputs


def _bad_case(name: str, folder: Path, data, model: Path, aux_npy: Path) -> List:
    """argv of a failing run; outputs go to folder/"out", which must stay empty."""
    X, y, Z = data
    out = folder / "out"
    q = out / "q.csv"

    def score(aux, *more):
        return ["score", "--model", model, "--aux", aux, "--out", q, "--chunk-size", "7", *more]

    def fit(train, *more):
        return ["fit", "--train", train, *more, "--save", out / "model.npz"]

    if name == "missing-aux":
        return score(folder / "nope.npy")
    if name == "missing-train":
        return fit(folder / "nope.csv")
    if name == "missing-model":
        return ["score", "--model", folder / "nope.npz", "--aux", aux_npy, "--out", q]
    if name == "missing-train-one-shot":
        return ["score", "--train", folder / "nope.npz", "--aux", aux_npy, "--out", q]
    if name == "aux-suffix":
        (folder / "aux.txt").write_text("1,2,3,4\n")
        return score(folder / "aux.txt")
    if name == "aux-no-suffix":
        np.save(folder / "aux.npy", Z)
        os.rename(folder / "aux.npy", folder / "aux")
        return score(folder / "aux")
    if name == "out-suffix":
        return ["score", "--model", model, "--aux", aux_npy, "--out", out / "q.txt"]
    if name == "out-npz":
        return ["score", "--model", model, "--aux", aux_npy, "--out", out / "q.npz"]
    if name == "train-suffix":
        (folder / "train.json").write_text("{}")
        return fit(folder / "train.json")
    if name == "aux-csv-non-numeric":  # a bad cell well after the first chunks
        write_csv(folder / "aux.csv", Z, FEATURES)
        lines = (folder / "aux.csv").read_text().splitlines()
        lines[50] = "0.5,abc,1,2"
        (folder / "aux.csv").write_text("\n".join(lines) + "\n")
        return score(folder / "aux.csv")
    if name == "aux-csv-non-numeric-first-row":  # no header; a typo in the first data row
        write_csv(folder / "aux.csv", Z)
        lines = (folder / "aux.csv").read_text().splitlines()
        lines[0] = "0.5,abc,1,2"
        (folder / "aux.csv").write_text("\n".join(lines) + "\n")
        return ["score", "--model", model, "--aux", folder / "aux.csv", "--out", q]
    if name == "train-csv-non-numeric":
        write_csv(folder / "train.csv", np.column_stack([X, y]), FEATURES + ["label"])
        lines = (folder / "train.csv").read_text().splitlines()
        lines[30] = "1,2,x3,4,0"
        (folder / "train.csv").write_text("\n".join(lines) + "\n")
        return fit(folder / "train.csv", "--labels", "label")
    if name == "aux-npy-nan":  # NaN in a late chunk: earlier chunks were already written
        Zb = Z.copy()
        Zb[150, 2] = np.nan
        np.save(folder / "aux.npy", Zb)
        return score(folder / "aux.npy")
    if name == "aux-npy-inf":
        Zb = Z.copy()
        Zb[-1, 0] = np.inf
        np.save(folder / "aux.npy", Zb)
        return ["score", "--model", model, "--aux", folder / "aux.npy", "--out", out / "q.npy"]
    if name == "aux-csv-nan":
        Zb = Z.copy()
        Zb[200, 1] = np.nan
        write_csv(folder / "aux.csv", Zb)
        return score(folder / "aux.csv")
    if name == "aux-parquet-nan":
        Zb = Z.copy()
        Zb[300, 3] = np.nan
        write_parquet(folder / "aux.parquet", {f: Zb[:, i] for i, f in enumerate(FEATURES)})
        return ["score", "--model", model, "--aux", folder / "aux.parquet", "--out", out / "q.parquet",
                "--chunk-size", "7"]
    if name == "train-nan":
        Xb = X.copy()
        Xb[5, 0] = np.nan
        np.savez(folder / "train.npz", X=Xb, y=y)
        return fit(folder / "train.npz")
    if name == "aux-npy-too-many-columns":
        np.save(folder / "aux.npy", np.column_stack([Z, Z[:, 0]]))
        return ["score", "--model", model, "--aux", folder / "aux.npy", "--out", out / "q.npy"]
    if name == "aux-npy-too-few-columns":
        np.save(folder / "aux.npy", Z[:, :2])
        return score(folder / "aux.npy")
    if name == "aux-npy-1d":
        np.save(folder / "aux.npy", Z[:, 0])
        return score(folder / "aux.npy")
    if name == "aux-csv-wrong-width":
        write_csv(folder / "aux.csv", Z[:, :3], FEATURES[:3])
        return score(folder / "aux.csv")
    if name == "aux-csv-ragged-row":
        write_csv(folder / "aux.csv", Z, FEATURES)
        lines = (folder / "aux.csv").read_text().splitlines()
        lines[40] = "1,2,3"
        (folder / "aux.csv").write_text("\n".join(lines) + "\n")
        return score(folder / "aux.csv")
    if name == "aux-parquet-string-column":
        write_parquet(folder / "aux.parquet", {"f0": Z[:, 0], "f1": Z[:, 1], "f2": Z[:, 2],
                                               "f3": [str(v) for v in Z[:, 3]]})
        return score(folder / "aux.parquet")
    if name == "aux-npz-no-X":
        np.savez(folder / "aux.npz", Z=Z)
        return score(folder / "aux.npz")
    if name == "aux-csv-empty":
        (folder / "aux.csv").write_text("")
        return score(folder / "aux.csv")
    if name == "train-csv-wrong-label-name":
        write_csv(folder / "train.csv", np.column_stack([X, y]), FEATURES + ["label"])
        return fit(folder / "train.csv", "--labels", "lable")
    if name == "train-parquet-wrong-label-name":
        write_parquet(folder / "train.parquet", {**{f: X[:, i] for i, f in enumerate(FEATURES)}, "y": y})
        return fit(folder / "train.parquet", "--labels", "target")
    if name == "train-npz-wrong-label-key":
        np.savez(folder / "train.npz", X=X, y=y)
        return fit(folder / "train.npz", "--labels", "labels")
    if name == "train-npy-label-index-out-of-range":
        np.save(folder / "train.npy", np.column_stack([X, y]))
        return fit(folder / "train.npy", "--labels", "9")
    if name == "train-labels-outside-0-1":
        yb = y.copy()
        yb[10] = 2
        write_csv(folder / "train.csv", np.column_stack([X, yb]), FEATURES + ["label"])
        return fit(folder / "train.csv", "--labels", "label")
    if name == "train-labels-fraction":
        yb = y.astype(float)
        yb[10] = 0.5
        np.savez(folder / "train.npz", X=X, y=yb)
        return fit(folder / "train.npz")
    if name == "train-one-shot-bad-labels":
        yb = y.copy()
        yb[0] = 3
        np.save(folder / "train.npy", np.column_stack([X, yb]))
        return ["score", "--train", folder / "train.npy", "--aux", aux_npy, "--out", q]
    if name == "train-npy-one-column":
        np.save(folder / "train.npy", X[:, :1])
        return fit(folder / "train.npy")
    if name == "model-is-not-a-model":
        np.save(folder / "model.npy", Z)
        return ["score", "--model", folder / "model.npy", "--aux", aux_npy, "--out", q]
    if name == "model-is-data-npz":
        np.savez(folder / "model.npz", X=X, y=y)
        return ["score", "--model", folder / "model.npz", "--aux", aux_npy, "--out", q]
    if name == "model-truncated":
        raw = Path(model).read_bytes()
        (folder / "model.npz").write_bytes(raw[: len(raw) // 3])
        return ["score", "--model", folder / "model.npz", "--aux", aux_npy, "--out", q]
    if name == "model-missing-array":
        with np.load(model, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files if k != "round0/rho_sum"}
        np.savez(folder / "model.npz", **arrays)
        return ["score", "--model", folder / "model.npz", "--aux", aux_npy, "--out", q]
    if name == "out-is-a-directory":
        (out / "q.npy").mkdir()
        return ["score", "--model", model, "--aux", aux_npy, "--out", out / "q.npy"]
    if name == "out-folder-missing":
        return ["score", "--model", model, "--aux", aux_npy, "--out", out / "no-such-folder" / "q.npy"]
    if name == "save-folder-missing":
        np.savez(folder / "train.npz", X=X, y=y)
        return ["fit", "--train", folder / "train.npz", "--save", out / "no-such-folder" / "m.npz"]
    if name == "n-jobs-zero":
        return score(aux_npy, "--n-jobs", "0")
    raise AssertionError(name)


BAD_CASES = [
    "missing-aux", "missing-train", "missing-model", "missing-train-one-shot",
    "aux-suffix", "aux-no-suffix", "out-suffix", "out-npz", "train-suffix",
    "aux-csv-non-numeric", "aux-csv-non-numeric-first-row", "train-csv-non-numeric",
    "aux-npy-nan", "aux-npy-inf", "aux-csv-nan", "aux-parquet-nan", "train-nan",
    "aux-npy-too-many-columns", "aux-npy-too-few-columns", "aux-npy-1d", "aux-csv-wrong-width",
    "aux-csv-ragged-row", "aux-parquet-string-column", "aux-npz-no-X", "aux-csv-empty",
    "train-csv-wrong-label-name", "train-parquet-wrong-label-name", "train-npz-wrong-label-key",
    "train-npy-label-index-out-of-range",
    "train-labels-outside-0-1", "train-labels-fraction", "train-one-shot-bad-labels",
    "train-npy-one-column",
    "model-is-not-a-model", "model-is-data-npz",
    "model-truncated",
    "model-missing-array", "out-is-a-directory", "out-folder-missing", "save-folder-missing",
    "n-jobs-zero",
]


@pytest.mark.parametrize("progress", [False, True], ids=["no-progress", "progress"])
@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_gives_one_error_line_exit_2_and_no_output(tmp_path, capsys, data, model, aux_npy,
                                                             case, progress):
    (tmp_path / "out").mkdir()
    argv = _bad_case(case, tmp_path, data, model, aux_npy)
    if not progress:
        argv = argv + ["--no-progress"] if argv[0] == "score" else argv
    before = sorted(os.listdir(tmp_path / "out"))  # empty, or the directory in the way
    escaped = None
    try:
        rc = main([str(a) for a in argv])
    except Exception as exc:  # an escaped exception is a failure of this contract
        escaped = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"  # not the traceback: it pins files
    gc.collect()
    err = capsys.readouterr().err
    assert escaped is None, f"main() raised {escaped} instead of returning 2"
    assert rc == 2, err
    assert "Traceback" not in err
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert len(lines[0]) > len(ERROR_PREFIX) + 5  # says what went wrong
    if not progress or argv[0] == "fit":
        # nothing else on stderr but the loaded model's parameters
        assert [line for line in err.strip().splitlines() if not line.startswith("model ")] == lines
    # no output, complete-looking or partial, and no leftover temporary files
    assert sorted(os.listdir(tmp_path / "out")) == before
    for name in before:
        assert os.listdir(tmp_path / "out" / name) == []


@pytest.mark.parametrize("case, words", [
    ("missing-aux", ["nope.npy"]),
    ("aux-suffix", ["aux.txt", "unsupported"]),
    ("aux-csv-non-numeric", ["aux.csv"]),
    ("aux-npy-nan", ["NaN"]),
    ("aux-npy-too-few-columns", ["2 features", "4"]),
    ("train-csv-wrong-label-name", ["train.csv", "lable"]),
    ("train-labels-outside-0-1", ["0/1"]),
])
def test_bad_input_error_names_the_problem(tmp_path, capsys, data, model, aux_npy, case, words):
    (tmp_path / "out").mkdir()
    argv = _bad_case(case, tmp_path, data, model, aux_npy)
    rc, err = run_cli(capsys, argv + (["--no-progress"] if argv[0] == "score" else []))
    assert rc == 2
    (line,) = error_lines(err)
    for word in words:
        assert word in line, line


# --------------------------------------------------------------------------- as a process


def _run_module(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eap_anomaly.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_subprocess_fit_and_score(tmp_path, data, expected, aux_npy):
    X, y, _ = data
    train, labels = write_training(tmp_path, "csv", X, y)
    done = _run_module("fit", "--train", train, *labels, "--save", "model.npz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "model.npz").is_file()
    done = _run_module("score", "--model", "model.npz", "--aux", aux_npy, "--out", "q.parquet",
                       "--chunk-size", "1000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # results go to the file, messages to stderr
    assert np.array_equal(read_output(tmp_path / "q.parquet", ["quality"]), expected)


def test_subprocess_bad_input_exit_code_and_one_line(tmp_path, model):
    np.save(tmp_path / "aux.npy", np.ones((10, D + 1)))
    done = _run_module("score", "--model", model, "--aux", "aux.npy", "--out", "q.npy", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(error_lines(done.stderr)) == 1, done.stderr
    assert sorted(os.listdir(tmp_path)) == ["aux.npy"]
