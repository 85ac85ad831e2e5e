"""Read-only SQL for users: ``hardforge query`` and ``hardforge status``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl

from schemas.errors import HardforgeError
from schemas.records import TABLES
from warehouse.db import Warehouse

# Statement types a user query may run; everything else could change data or files.
_READ_ONLY = {"SELECT", "EXPLAIN", "PRAGMA"}


def _statement_types(sql: str) -> list[str]:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise HardforgeError(f"SQL error: {_first_line(exc)}") from None
    if not statements:
        raise HardforgeError("the query is empty.")
    return [s.type.name for s in statements]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def run_query(warehouse: Warehouse, sql: str) -> pl.DataFrame:
    return query_result(warehouse, sql)[0]


def query_result(
    warehouse: Warehouse, sql: str, views: dict[str, Any] | None = None
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The rows of a read-only query, and the DuckDB type of each column (JSON and MAP columns
    are written as JSON values by ``as_csv`` and ``as_json``). ``views``: Arrow tables the query may
    name as tables (``in_band``), registered on its connection only."""
    kinds = _statement_types(sql)
    if len(kinds) > 1:
        raise HardforgeError("one statement per query, please.")
    if kinds[0] not in _READ_ONLY:
        raise HardforgeError(
            f"queries are read-only, so {kinds[0]} statements are refused; the warehouse is "
            "changed only through hardforge commands."
        )
    with warehouse.read() as con:
        for name, table in (views or {}).items():
            con.register(name, table)
        try:
            relation = con.sql(sql)
            if relation is None:  # a PRAGMA that returns nothing
                return pl.DataFrame(), {}
            return relation.pl(), {n: str(t) for n, t in zip(relation.columns, relation.types, strict=True)}
        except duckdb.Error as exc:
            if "read-only" in str(exc):
                raise HardforgeError("queries are read-only, and that statement writes.") from None
            raise HardforgeError(f"SQL error: {_first_line(exc)}") from None


def _plain(value: Any, kind: str) -> Any:
    """A cell as a JSON value: a JSON column parsed, a MAP an object, dates and times as text."""
    if value is None:
        return None
    if kind == "JSON" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if kind.startswith("MAP(") and isinstance(value, list):
        return {str(e["key"]): _plain(e["value"], "") for e in value}
    if isinstance(value, list):
        return [_plain(v, "") for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, "") for k, v in value.items()}
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def as_json(frame: pl.DataFrame, types: dict[str, str]) -> str:
    """A JSON array of row objects; JSON, MAP, LIST and STRUCT cells as JSON values."""
    rows = [{k: _plain(v, types.get(k, "")) for k, v in row.items()} for row in frame.iter_rows(named=True)]
    return json.dumps(rows, ensure_ascii=False)


def as_csv(frame: pl.DataFrame, types: dict[str, str]) -> str:
    """CSV with a header; a nested cell (JSON, MAP, LIST, STRUCT) is its JSON text."""
    nested = [c for c, dtype in frame.schema.items() if dtype.is_nested() or types.get(c, "").startswith("MAP(")]
    if nested:
        frame = frame.with_columns(
            pl.Series(
                c,
                [
                    None if v is None else json.dumps(_plain(v, types.get(c, "")), ensure_ascii=False)
                    for v in frame[c].to_list()
                ],
                dtype=pl.String,
            )
            for c in nested
        )
    return frame.write_csv()


def status_counts(warehouse: Warehouse) -> tuple[list[tuple[str, int]], list[tuple]]:
    with warehouse.read() as con:
        tables = [(name, con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]) for name in TABLES]
        sources = con.execute(
            """
            SELECT 'problems', source, domain, count(*) FROM problems GROUP BY ALL
            UNION ALL
            SELECT 'quarantine', source, '', count(*) FROM quarantine GROUP BY ALL
            ORDER BY 1, 2, 3
            """
        ).fetchall()
    return tables, sources


def run_statuses(warehouse: Warehouse, crashed: int = 5) -> tuple[list[tuple[str, int]], list[dict]]:
    """Runs per status, and the latest ``crashed`` runs whose process died (newest first)."""
    with warehouse.read() as con:
        by_status = con.execute("SELECT status, count(*) FROM runs GROUP BY ALL ORDER BY 2 DESC, 1").fetchall()
        columns = ("run_id", "flow", "started_at", "noticed_at", "host", "pid")
        dead = con.execute(
            f"SELECT {', '.join(columns)} FROM runs WHERE status = 'crashed' "
            "ORDER BY noticed_at DESC, started_at DESC LIMIT ?",
            [int(crashed)],
        ).fetchall()
    dead = [dict(zip(columns, row, strict=True)) for row in dead]
    return by_status, dead
