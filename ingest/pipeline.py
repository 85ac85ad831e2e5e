"""The one ingest path: raw rows -> validated problems + quarantine rows -> warehouse, in batches.

Each batch is one short write transaction, and every key is a content hash, so a rerun after a
crash neither duplicates nor loses rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from ingest.readers import RawRow
from ingest.rows import Limits, Mapping, Rejected, RowChecker
from schemas.keys import content_key, problem_id
from schemas.records import Problem, Quarantine, arrow_schema
from warehouse.db import Warehouse

PROBLEM_SCHEMA = arrow_schema(Problem)
QUARANTINE_SCHEMA = arrow_schema(Quarantine)


@dataclass
class IngestSummary:
    source: str
    rows: int = 0
    inserted: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    chosen: dict[str, Any] = field(default_factory=dict)  # what a gym levels=auto request resolved to

    @property
    def accepted(self) -> int:
        return self.rows - sum(self.quarantined.values())

    @property
    def already_present(self) -> int:
        """Valid rows that were already in the warehouse (or repeated in the input)."""
        return self.accepted - self.inserted

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "inserted": self.inserted,
            "already_present": self.already_present,
            "quarantined": sum(self.quarantined.values()),
            "quarantine_reasons": dict(self.quarantined.most_common()),
            **({"chosen": self.chosen} if self.chosen else {}),
        }


def reason_kind(reason: str) -> str:
    """The part of a quarantine reason before its detail, for counting."""
    return reason.split(":", 1)[0]


# Columns that vary per row; the rest are the same for a whole ingest and are built with
# pa.repeat (converting a Python datetime per row costs more than everything else together).
_PROBLEM_ROW_COLUMNS = (
    "problem_id",
    "domain",
    "statement",
    "answer",
    "verifier",
    "task",
    "source_ref",
    "solution",
    "extra",
)
_QUARANTINE_ROW_COLUMNS = ("quarantine_id", "locator", "reason", "raw")


class _Batch:
    def __init__(self) -> None:
        self.problems: dict[str, list[Any]] = {name: [] for name in _PROBLEM_ROW_COLUMNS}
        self.quarantine: dict[str, list[Any]] = {name: [] for name in _QUARANTINE_ROW_COLUMNS}
        self.size = 0


def _table(schema: pa.Schema, columns: dict[str, list[Any]], constants: dict[str, Any]) -> pa.Table:
    rows = len(next(iter(columns.values())))
    arrays = [
        pa.array(columns[f.name], f.type)
        if f.name in columns
        else pa.repeat(pa.scalar(constants.get(f.name), f.type), rows)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def ingest_rows(
    warehouse: Warehouse,
    source: str,
    rows: Iterable[RawRow],
    mapping: Mapping | None = None,
    limits: Limits | None = None,
    *,
    locator: Callable[[int], str] | None = None,
    run_id: str | None = None,
    batch_rows: int = 200_000,
    progress: Callable[[int], None] | None = None,
) -> IngestSummary:
    mapping = mapping or Mapping()
    limits = limits or Limits()
    locator = locator or (lambda line: f"{source}:{line}")
    run_id = run_id or uuid.uuid4().hex
    now = dt.datetime.now(dt.UTC)
    summary = IngestSummary(source)
    check_row = RowChecker(mapping, limits)
    batch = _Batch()

    def flush() -> None:
        nonlocal batch
        if batch.size == 0:
            return
        # seed data: the answers come with the problems
        constants = {
            "source": source,
            "created_run": run_id,
            "run_id": run_id,
            "created_at": now,
            "label_provenance": "ground_truth",
        }
        problems = _table(PROBLEM_SCHEMA, batch.problems, constants)
        quarantine = _table(QUARANTINE_SCHEMA, batch.quarantine, constants)
        with warehouse.write() as con:
            summary.inserted += warehouse.insert("problems", problems, con)
            warehouse.insert("quarantine", quarantine, con)
        if progress:
            progress(summary.rows)
        batch = _Batch()

    for line, record, raw in rows:
        summary.rows += 1
        batch.size += 1
        where = locator(line)
        try:
            if isinstance(record, Rejected):
                raise record
            fields = check_row(record)
        except Rejected as rejected:
            reason = str(rejected)
            summary.quarantined[reason_kind(reason)] += 1
            q = batch.quarantine
            q["quarantine_id"].append(content_key(source, where, reason, raw))
            q["locator"].append(where)
            q["reason"].append(reason)
            q["raw"].append(raw)
        else:
            p = batch.problems
            p["problem_id"].append(problem_id(fields["domain"], fields["statement"], fields["answer"]))
            for name in ("domain", "statement", "answer", "verifier", "task", "solution"):
                p[name].append(fields[name])
            p["source_ref"].append(fields["source_ref"] or where)
            extra = fields["extra"]
            p["extra"].append(None if extra is None else orjson.dumps(extra).decode())
        if batch.size >= batch_rows:
            flush()
    flush()
    return summary
