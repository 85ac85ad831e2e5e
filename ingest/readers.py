"""Readers turn an input file into raw rows: ``(line, record or Rejected, raw text)``.

Every reader yields the same shape, so seeds and user files go through one validation and
write path. File-level problems (missing, unreadable, unknown format) raise ``HardforgeError``
with one sentence; row-level problems become ``Rejected`` rows for the quarantine.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from ingest.rows import Mapping, Rejected
from schemas.errors import HardforgeError

RAW_LIMIT = 2_000  # characters of the raw input kept in the quarantine
RawRow = tuple[int, Any, str]
FORMATS = ("jsonl", "csv", "parquet", "datasets")


def _raw(data: bytes | str) -> str:
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="backslashreplace")
    return data[:RAW_LIMIT]


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            return "datasets"
        raise HardforgeError(
            f"{path} is a folder but not a `datasets` folder saved with save_to_disk "
            "(no dataset_info.json or dataset_dict.json)."
        )
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffixes and suffixes[-1] in (".csv", ".tsv"):
        return "csv"
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    raise HardforgeError(
        f"cannot tell the format of {path}: use a .jsonl, .csv or .parquet file, a `datasets` folder, or pass --format."
    )


def check_readable(path: Path) -> None:
    if not path.exists():
        raise HardforgeError(f"input {path} does not exist.")
    try:
        if path.is_file():
            with path.open("rb") as fh:
                fh.read(1)
    except OSError as exc:
        raise HardforgeError(f"input {path} cannot be read ({exc.strerror}).") from None


def read_jsonl(path: Path) -> Iterator[RawRow]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (Windows tools)
                line = line[3:]
            if not line.strip():
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, Rejected(f"invalid UTF-8: byte {exc.start}"), _raw(line)
                continue
            try:
                yield number, orjson.loads(line), _raw(line.rstrip(b"\r\n"))
            except orjson.JSONDecodeError as exc:
                yield number, Rejected(f"bad JSON: {exc}"), _raw(line.rstrip(b"\r\n"))


def read_csv(path: Path) -> Iterator[RawRow]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:  # -sig: a BOM is dropped
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise HardforgeError(f"{path} is empty: a CSV file needs a header row.") from None
        except csv.Error as exc:
            raise HardforgeError(f"{path} has an unreadable header row ({exc}).") from None
        while True:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, Rejected(f"bad CSV: {exc}"), ""
                continue
            raw = delimiter.join(fields)
            if not any(f.strip() for f in fields):
                continue
            if any(_has_surrogate(f) for f in fields):
                yield line, Rejected("invalid UTF-8"), _raw(raw.encode("utf-8", "surrogateescape"))
                continue
            if len(fields) != len(header):
                yield line, Rejected(f"bad CSV: {len(fields)} fields, header has {len(header)}"), _raw(raw)
                continue
            yield line, dict(zip(header, fields, strict=True)), _raw(raw)


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and any("\udc80" <= ch <= "\udcff" for ch in text)


def _arrow_rows(batches: Iterator[Any]) -> Iterator[RawRow]:
    number = 0
    for batch in batches:
        for record in batch.to_pylist():
            number += 1
            raw = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
            yield number, record, _raw(raw)


def read_parquet(path: Path) -> Iterator[RawRow]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise HardforgeError(f"{path} is not a readable Parquet file ({exc}).") from None
    yield from _arrow_rows(reader.iter_batches(batch_size=65_536))


def read_datasets(path: Path) -> Iterator[RawRow]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise HardforgeError(f"{path} is not a readable `datasets` folder ({exc}).") from None
    splits = loaded.values() if isinstance(loaded, datasets.DatasetDict) else [loaded]
    for split in splits:
        yield from _arrow_rows(iter(split.data.to_batches(max_chunksize=65_536)))


READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet, "datasets": read_datasets}


def columns_of(path: Path, fmt: str) -> list[str] | None:
    """The column names of a columnar input (None for JSONL, whose rows may differ)."""
    if fmt == "csv":
        with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
            first = fh.readline()
        if not first.strip():
            raise HardforgeError(f"{path} is empty: a CSV file needs a header row.")
        return next(csv.reader(io.StringIO(first), delimiter="\t" if path.suffix == ".tsv" else ","), [])
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(path).names
        except Exception as exc:
            raise HardforgeError(f"{path} is not a readable Parquet file ({exc}).") from None
    if fmt == "datasets":
        import datasets

        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise HardforgeError(f"{path} is not a readable `datasets` folder ({exc}).") from None
        first = next(iter(loaded.values())) if isinstance(loaded, datasets.DatasetDict) else loaded
        return list(first.column_names)
    return None


def check_mapping(path: Path, fmt: str, mapping: Mapping) -> None:
    """For columnar inputs, a mapped column that does not exist is a file-level error."""
    columns = columns_of(path, fmt)
    if columns is None:
        return
    for name in ("statement", "answer"):
        if mapping.column(name) not in columns:
            raise HardforgeError(
                f"{path} has no column '{mapping.column(name)}' for the {name}; its columns are "
                f"{', '.join(columns) or 'none'} (map one with --map {name}=COLUMN)."
            )
    for name, column in mapping.columns.items():
        if column not in columns:
            raise HardforgeError(f"{path} has no column '{column}' (mapped to {name}).")
