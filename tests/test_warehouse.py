import datetime as dt
import subprocess
import sys

import pytest

from schemas.errors import HardforgeError
from schemas.records import TABLES, Quarantine, arrow_schema
from warehouse.db import Warehouse
from warehouse.migrations import LATEST_VERSION

DUCK_TO_ARROW = {
    "VARCHAR": "string",
    "JSON": "string",
    "BIGINT": "int64",
    "DOUBLE": "double",
    "BOOLEAN": "bool",
    "TIMESTAMP WITH TIME ZONE": "timestamp[us, tz=UTC]",
    "MAP(BIGINT, DOUBLE)": "map<int64, double>",
}


def test_migrated_tables_match_record_types(warehouse):
    with warehouse.read() as con:
        for name, spec in TABLES.items():
            rows = con.execute(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [name],
            ).fetchall()
            schema = arrow_schema(spec.record)
            assert [r[0] for r in rows] == schema.names, name
            for (col, duck_type, nullable), field in zip(rows, schema, strict=True):
                assert DUCK_TO_ARROW[duck_type] == str(field.type), (name, col)
                assert (nullable == "YES") == field.nullable, (name, col)


def test_older_database_is_upgraded(data_dir):
    old = Warehouse(data_dir)
    old.migrate_to(1)
    with _raw(old) as con:
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 1
    fresh = Warehouse(data_dir)
    assert fresh.version() == LATEST_VERSION
    assert fresh.scalar("SELECT count(*) FROM concepts") == 0


def _raw(wh):
    from contextlib import closing

    import duckdb

    return closing(duckdb.connect(str(wh.path), read_only=True))


def test_newer_database_is_refused(data_dir, warehouse):
    import duckdb

    con = duckdb.connect(str(warehouse.path))
    con.execute("INSERT INTO schema_version VALUES (99, 'future', now())")
    con.close()
    with pytest.raises(HardforgeError, match="schema version 99, newer than this hardforge"):
        Warehouse(data_dir).version()
    with pytest.raises(HardforgeError, match="newer than this hardforge"):
        with Warehouse(data_dir).write():
            pass


def test_insert_is_idempotent(warehouse):
    now = dt.datetime.now(dt.UTC)
    rows = [
        Quarantine(quarantine_id=str(i % 3), source="s", locator=str(i), reason="r", created_at=now) for i in range(6)
    ]
    assert warehouse.insert_records("quarantine", rows) == 3
    assert warehouse.insert_records("quarantine", rows) == 0
    assert warehouse.scalar("SELECT count(*) FROM quarantine") == 3


def test_missing_warehouse_is_one_sentence(data_dir):
    with pytest.raises(HardforgeError, match="no warehouse at .* run `hardforge init`"):
        Warehouse(data_dir).version()


HOLD_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_reader_waits_for_a_writer_in_another_process(warehouse):
    holder = _hold_lock(warehouse.path, 1.0)
    try:
        assert Warehouse(warehouse.data_dir).scalar("SELECT count(*) FROM problems") == 0
    finally:
        holder.wait()


def test_lock_held_too_long_is_one_sentence(warehouse):
    holder = _hold_lock(warehouse.path, 3.0)
    try:
        with pytest.raises(HardforgeError, match="stayed locked by another process"):
            Warehouse(warehouse.data_dir, lock_timeout_s=0.3).scalar("SELECT 1")
    finally:
        holder.wait()
