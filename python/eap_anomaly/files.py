"""Reading training data and streaming candidates from .npy, .npz, .csv and .parquet files, and
writing scores as they come. Used by the command line; every failure is a ``ValueError`` whose
message names the file."""

from __future__ import annotations

import csv
import itertools
import os
import tempfile
from typing import Any, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

SUFFIXES = (".npy", ".npz", ".csv", ".parquet")


def _suffix(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {SUFFIXES}")
    return suffix


def _require(path: str) -> None:
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ValueError("reading or writing .parquet needs pyarrow: pip install 'eap-anomaly[parquet]'") from exc
    return pq


def _csv_header(path: str) -> Optional[List[str]]:
    with open(path, newline="") as f:
        first = next(csv.reader(f), None)
    if first is None:
        raise ValueError(f"{path}: the file is empty")
    # A header is a row of names: a row mixing numbers and text is a data row with a typo, and
    # is left for the numeric parser to reject.
    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return False

    if any(numeric(v) for v in first):
        return None
    return [v.strip() for v in first]


def read_training(path: str, labels: Optional[str]) -> Tuple[np.ndarray, np.ndarray]:
    """Features and labels. ``labels`` names the label column: a column name (.csv with a header,
    .parquet), an array key (.npz: features under "X", labels under ``labels`` or "y"), or a column
    index (.npy, .csv without header; default: the last column)."""
    _require(path)
    suffix = _suffix(path)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            key = labels or "y"
            for name in ("X", key):
                if name not in data.files:
                    raise ValueError(f"{path}: no array {name!r} (arrays: {', '.join(data.files)})")
            return np.asarray(data["X"]), np.asarray(data[key])
    if suffix == ".parquet":
        table = _pyarrow().read_table(path)
        key = labels or "y"
        if key not in table.column_names:
            raise ValueError(f"{path}: no column {key!r} (columns: {', '.join(table.column_names)})")
        y = table.column(key).to_numpy()
        X = np.column_stack([table.column(c).to_numpy() for c in table.column_names if c != key])
        return X, y
    if suffix == ".npy":
        matrix, header = np.load(path, allow_pickle=False), None
    else:
        header = _csv_header(path)
        matrix = _load_csv_rows(path, header is not None)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ValueError(f"{path}: expected a table with feature columns and a label column")
    column = _label_column(path, labels, header, matrix.shape[1])
    return np.delete(matrix, column, axis=1), matrix[:, column]


def _label_column(path: str, labels: Optional[str], header: Optional[List[str]], width: int) -> int:
    if labels is None:
        return width - 1
    if header is not None and labels in header:
        return header.index(labels)
    try:
        column = int(labels)
    except ValueError:
        raise ValueError(f"{path}: no label column {labels!r}") from None
    if not -width <= column < width:
        raise ValueError(f"{path}: label column {column} out of range for {width} columns")
    return column % width


def _parse_csv(path: str, lines: Iterable[str], dtype: npt.DTypeLike = np.float64) -> np.ndarray:
    try:
        return np.loadtxt(lines, delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a numeric CSV table ({exc})") from None


def _load_csv_rows(path: str, skip_header: bool) -> np.ndarray:
    with open(path) as f:
        return _parse_csv(path, itertools.islice(f, int(skip_header), None))


def candidate_chunks(path: str, chunk_size: int, csv_dtype: npt.DTypeLike) -> Tuple[int, Iterator[np.ndarray]]:
    """Number of candidate rows (or -1 when unknown) and an iterator over chunks of rows;
    .npy files are memory-mapped and .csv files read chunk by chunk, so memory stays bounded.
    Binary files keep their dtype; CSV text is parsed as ``csv_dtype`` (one rounding)."""
    _require(path)
    suffix = _suffix(path)
    if suffix == ".npy":
        Z = np.load(path, mmap_mode="r", allow_pickle=False)
        return Z.shape[0], (Z[i:i + chunk_size] for i in range(0, Z.shape[0], chunk_size))
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            if "X" not in data.files:
                raise ValueError(f"{path}: no array 'X' (arrays: {', '.join(data.files)})")
            Z = data["X"]
        return Z.shape[0], (Z[i:i + chunk_size] for i in range(0, Z.shape[0], chunk_size))
    if suffix == ".parquet":
        reader = _pyarrow().ParquetFile(path)
        return reader.metadata.num_rows, (
            np.column_stack([column.to_numpy() for column in batch.columns])
            for batch in reader.iter_batches(batch_size=chunk_size)
        )
    skip = _csv_header(path) is not None

    def rows() -> Iterator[np.ndarray]:
        with open(path) as f:
            lines = itertools.islice(f, int(skip), None)
            while True:
                block = list(itertools.islice(lines, chunk_size))
                if not block:
                    return
                yield _parse_csv(path, block, csv_dtype)

    return -1, rows()


def count_rows(path: str, chunk_size: int, csv_dtype: npt.DTypeLike) -> int:
    """Number of candidate rows of ``path``, reading it once when the format does not store it."""
    total, chunks = candidate_chunks(path, chunk_size, csv_dtype)
    return total if total >= 0 else sum(block.shape[0] for block in chunks)


def candidate_columns(path: str, width: int) -> List[str]:
    """Column names of a candidate file: its own (a .csv header, .parquet columns) when it has
    ``width`` of them, else x0, x1, ..."""
    names: Optional[List[str]] = None
    suffix = _suffix(path)
    if suffix == ".csv":
        names = _csv_header(path)
    elif suffix == ".parquet":
        names = list(_pyarrow().ParquetFile(path).schema_arrow.names)
    if names is None or len(names) != width:
        names = [f"x{i}" for i in range(width)]
    return names


class ScoreWriter:
    """Writes result columns chunk by chunk to a temporary file beside ``path`` and moves it into
    place only on :meth:`commit`; on failure nothing that looks complete is left behind."""

    def __init__(self, path: str, columns: List[str], n_rows: int, dtype: npt.DTypeLike = np.float64,
                 matrix: bool = False) -> None:
        self.path, self.columns, self.n_rows = path, columns, n_rows
        self.dtype = np.dtype(dtype)
        self.vector = len(columns) == 1 and not matrix  # a .npy of one column is 1-D unless matrix
        self.suffix = _suffix(path)
        if self.suffix == ".npy" and n_rows < 0:
            raise ValueError(f"{path}: .npy output needs a known number of rows; write .csv instead")
        if self.suffix == ".npz":
            raise ValueError(f"{path}: write scores as .npy, .csv or .parquet")
        folder = os.path.dirname(os.path.abspath(path))
        fd, self.tmp = tempfile.mkstemp(suffix=self.suffix, dir=folder, prefix=".partial-")
        os.close(fd)
        self.written = 0
        self._out: Any
        if self.suffix == ".npy":
            shape = (n_rows,) if self.vector else (n_rows, len(columns))
            self._out = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=self.dtype, shape=shape)
        elif self.suffix == ".csv":
            self._out = open(self.tmp, "w")
            self._out.write(",".join(columns) + "\n")
        else:
            import pyarrow as pa

            self._schema = pa.schema([(c, pa.from_numpy_dtype(self.dtype)) for c in columns])
            self._out = _pyarrow().ParquetWriter(self.tmp, self._schema)

    def write(self, values: np.ndarray) -> None:
        values = values.reshape(values.shape[0], -1)
        if self.suffix == ".npy":
            self._out[self.written:self.written + values.shape[0]] = values[:, 0] if self.vector else values
        elif self.suffix == ".csv":
            np.savetxt(self._out, values, delimiter=",", fmt="%d" if self.dtype.kind in "iu" else "%.17g")
        else:
            import pyarrow as pa

            self._out.write_table(pa.table({c: values[:, i] for i, c in enumerate(self.columns)},
                                           schema=self._schema))
        self.written += values.shape[0]

    def commit(self) -> None:
        self._close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self._close()
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)

    def _close(self) -> None:
        if self._out is None:
            return
        if self.suffix == ".npy":
            self._out.flush()
            del self._out
            self._out = None
        else:
            self._out.close()
            self._out = None
