"""Read-only SQL for users: ``hardforge query`` and ``hardforge status``."""

from __future__ import annotations

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
    kinds = _statement_types(sql)
    if len(kinds) > 1:
        raise HardforgeError("one statement per query, please.")
    if kinds[0] not in _READ_ONLY:
        raise HardforgeError(
            f"queries are read-only, so {kinds[0]} statements are refused; the warehouse is "
            "changed only through hardforge commands."
        )
    with warehouse.read() as con:
        try:
            return con.sql(sql).pl()
        except duckdb.Error as exc:
            if "read-only" in str(exc):
                raise HardforgeError("queries are read-only, and that statement writes.") from None
            raise HardforgeError(f"SQL error: {_first_line(exc)}") from None


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
