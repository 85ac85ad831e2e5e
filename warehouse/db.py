"""The DuckDB warehouse: one file under the data directory.

DuckDB lets one process write at a time, and a read-only reader also locks the file. So every
connection is held only for one unit of work (open, run in one transaction, close), and opening
retries on lock conflicts with backoff: a reader in another process waits at most about one write.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from schemas.errors import HardforgeError
from schemas.records import TABLES, Record, arrow_schema, json_columns
from warehouse.liveness import owner_gone
from warehouse.migrations import LATEST_VERSION, MIGRATIONS

DB_FILE = "warehouse.duckdb"
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock", "database is locked")


def _is_lock_conflict(exc: Exception) -> bool:
    return isinstance(exc, duckdb.Error) and any(m in str(exc) for m in _LOCK_MARKERS)


class Warehouse:
    def __init__(self, data_dir: Path | str, lock_timeout_s: float | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_FILE
        self.lock_timeout_s = (
            lock_timeout_s if lock_timeout_s is not None else float(os.environ.get("HARDFORGE_LOCK_TIMEOUT_S", "120"))
        )
        self._checked_version = False

    # -- connections ----------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {
            "extension_directory": str(self.data_dir / ".duckdb" / "extensions"),
            "autoinstall_known_extensions": False,
        }

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config=self._config())
            except duckdb.Error as exc:
                if not _is_lock_conflict(exc):
                    raise HardforgeError(f"cannot open the warehouse {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise HardforgeError(
                        f"the warehouse {self.path} stayed locked by another process for "
                        f"{self.lock_timeout_s:.0f} s; try again when that process has finished."
                    ) from None
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction; the connection is closed (and the lock released) at the end."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            if not self._checked_version:
                self._migrate(con)
                if self._checked_version:
                    self._mark_crashed(con, _gone_runs(con))
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection, held only for the caller's block."""
        if not self.path.exists():
            raise HardforgeError(f"no warehouse at {self.path} yet; run `hardforge init` (or ingest something) first.")
        if not self._checked_version:
            con = self._connect(read_only=True)
            try:  # one connection for both checks: the schema version, then (when current) dead runs
                version = self._version(con)
                gone = _gone_runs(con) if version == LATEST_VERSION else []
            finally:
                con.close()
            self._refuse_newer(version)
            if version < LATEST_VERSION:
                self.init()
            elif gone:  # a write only when some run's process died; best effort: a reader must not fail on it
                try:
                    with self.write() as writable:
                        self._mark_crashed(writable, gone)
                except (HardforgeError, duckdb.Error):
                    pass  # a read-only data dir, or a writer holding the lock: the next command marks them
            self._checked_version = True
        con = self._connect(read_only=True)
        try:
            yield con
        finally:
            con.close()

    # -- migrations -----------------------------------------------------------------------------
    def init(self) -> int:
        """Create or upgrade the database; returns the schema version."""
        with self.write():
            pass
        return LATEST_VERSION

    @staticmethod
    def _version(con: duckdb.DuckDBPyConnection) -> int:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()[0]
        if not exists:
            return 0
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _refuse_newer(self, version: int) -> None:
        if version > LATEST_VERSION:
            raise HardforgeError(
                f"the warehouse {self.path} has schema version {version}, newer than this "
                f"hardforge understands ({LATEST_VERSION}); upgrade hardforge to open it."
            )

    def _migrate(self, con: duckdb.DuckDBPyConnection, upto: int = LATEST_VERSION) -> None:
        version = self._version(con)
        self._refuse_newer(version)
        if version < upto:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    "version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMPTZ)"
                )
                for number, description, sql in MIGRATIONS:
                    if version < number <= upto:
                        con.execute(sql)
                        con.execute("INSERT INTO schema_version VALUES (?, ?, now())", [number, description])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        self._checked_version = upto == LATEST_VERSION

    @staticmethod
    def _mark_crashed(con: duckdb.DuckDBPyConnection, run_ids: list[str]) -> None:
        if run_ids:
            con.execute(
                "UPDATE runs SET status = 'crashed', noticed_at = now() "
                "WHERE status = 'running' AND list_contains(?, run_id)",
                [run_ids],
            )

    def migrate_to(self, version: int) -> None:
        """Bring a database to an older schema version (used to test upgrades)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            self._migrate(con, upto=version)
        finally:
            con.close()
        self._checked_version = False

    def version(self) -> int:
        with self.read() as con:
            return self._version(con)

    # -- writes ---------------------------------------------------------------------------------
    def insert(self, table: str, rows: pa.Table, con: duckdb.DuckDBPyConnection | None = None) -> int:
        """Insert rows whose key is not present yet; returns how many were new.

        Idempotent: rows are keyed by content hashes, so a rerun after a crash adds nothing twice.
        """
        if rows.num_rows == 0:
            return 0
        spec = TABLES[table]
        columns = ", ".join(rows.column_names)
        key = ", ".join(spec.key)
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) SELECT DISTINCT ON ({key}) {columns} FROM __hf_staging"
        if con is None:
            with self.write() as own:
                return self.insert(table, rows, own)
        return int(_run_staged(con, rows, sql).fetchone()[0])

    def upsert(self, table: str, rows: pa.Table, con: duckdb.DuckDBPyConnection) -> None:
        """Insert or replace by key, inside the caller's transaction."""
        if rows.num_rows:
            key = ", ".join(TABLES[table].key)
            sql = (
                f"INSERT OR REPLACE INTO {table} ({', '.join(rows.column_names)}) "
                f"SELECT DISTINCT ON ({key}) * FROM __hf_staging"
            )
            _run_staged(con, rows, sql)

    def upsert_records(self, table: str, records: Sequence[Record]) -> None:
        """Insert or replace by key: for rows that change state (a run: running, then done)."""
        rows = records_to_arrow(table, records)
        sql = f"INSERT OR REPLACE INTO {table} ({', '.join(rows.column_names)}) SELECT * FROM __hf_staging"
        with self.write() as con:
            _run_staged(con, rows, sql)

    def insert_records(
        self,
        table: str,
        records: Sequence[Record],
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> int:
        return self.insert(table, records_to_arrow(table, records), con)

    # -- reads ----------------------------------------------------------------------------------
    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self.read() as con:
            return con.sql(sql, params=params or None).to_arrow_table()

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.read() as con:
            row = con.execute(sql, params or []).fetchone()
            return None if row is None else row[0]


def _run_staged(con: duckdb.DuckDBPyConnection, rows: pa.Table, sql: str) -> duckdb.DuckDBPyConnection:
    """Run ``sql`` with ``rows`` visible as the table ``__hf_staging``."""
    con.register("__hf_staging", rows)
    try:
        return con.execute(sql)
    finally:
        con.unregister("__hf_staging")


def _gone_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Runs still marked running whose process is certainly gone (warehouse.liveness)."""
    rows = con.execute(
        "SELECT run_id, host, pid, process FROM runs WHERE status = 'running' AND pid IS NOT NULL"
    ).fetchall()
    return [run_id for run_id, *owner in rows if owner_gone(*owner)]


def records_to_arrow(table: str, records: Sequence[Record]) -> pa.Table:
    """Arrow table of ``records`` in the table's schema (JSON fields serialized as text)."""
    spec = TABLES[table]
    schema = arrow_schema(spec.record)
    as_json = set(json_columns(spec.record))
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for record in records:
        for name in schema.names:
            value = getattr(record, name)
            if name in as_json and value is not None:
                value = json.dumps(value, sort_keys=True, ensure_ascii=False)
            elif isinstance(value, dict):
                value = list(value.items())
            columns[name].append(value)
    return pa.table(columns, schema=schema)
