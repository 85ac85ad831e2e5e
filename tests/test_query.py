import csv
import io
import json

import pytest

from schemas.errors import HardforgeError
from tests.conftest import run_cli
from warehouse.query import run_query


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO hints VALUES ('h', 's', 't')",
        "DELETE FROM problems",
        "UPDATE problems SET answer = '1'",
        "CREATE TABLE x (a INT)",
        "DROP TABLE problems",
        "COPY problems TO '/tmp/leak.csv'",
        "ATTACH '/tmp/other.duckdb' AS other",
        "INSTALL httpfs",
        "SET threads = 1",
    ],
)
def test_writes_and_side_effects_are_refused(warehouse, sql):
    with pytest.raises(HardforgeError, match="read-only"):
        run_query(warehouse, sql)


def test_two_statements_refused(warehouse):
    with pytest.raises(HardforgeError, match="one statement per query"):
        run_query(warehouse, "SELECT 1; SELECT 2")


def test_reads_work(warehouse):
    assert run_query(warehouse, "SELECT 41 + 1 AS x").to_dicts() == [{"x": 42}]
    assert run_query(warehouse, "DESCRIBE problems").height > 5
    assert run_query(warehouse, "SHOW TABLES").height >= 12
    assert run_query(warehouse, "EXPLAIN SELECT * FROM problems").height >= 1


def test_cli_output_formats(data_dir):
    run_cli(data_dir, "init")
    sql = "SELECT 1 AS a, 'x,y' AS b UNION ALL SELECT 2, NULL ORDER BY a"
    as_csv = run_cli(data_dir, "query", sql, "--csv")
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [["a", "b"], ["1", "x,y"], ["2", ""]]
    as_json = run_cli(data_dir, "query", sql, "--json")
    assert json.loads(as_json.stdout) == [{"a": 1, "b": "x,y"}, {"a": 2, "b": None}]
    table = run_cli(data_dir, "query", sql)
    assert "x,y" in table.stdout and "2 rows" in table.stdout


def test_every_table_writes_as_csv_and_json(data_dir):
    """A map (pass_at_k), a JSON column (runs.counts) and timestamps: CSV cells hold their JSON text,
    JSON output nests them as values (issue 35: "datatype map cannot be written to CSV", and counts
    as a string inside the JSON)."""
    import datetime as dt

    from schemas.records import Difficulty, Run
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    warehouse.init()
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    warehouse.insert_records(
        "difficulty",
        [
            Difficulty(
                problem_id="p",
                policy_id="q",
                sampling_key="k",
                n=4,
                c=1,
                pass_at_1=0.25,
                pass_at_k={1: 0.25, 4: 1.0},
                estimated_at=now,
            )
        ],
    )
    warehouse.insert_records(
        "runs", [Run(run_id="r", flow="nightly", status="completed", counts={"estimate": {"n": 3}}, started_at=now)]
    )
    from schemas.records import TABLES
    from warehouse.query import as_csv, as_json, query_result

    for table in TABLES:  # every table writes both ways (the CLI path is below)
        frame, types = query_result(warehouse, f"SELECT * FROM {table}")
        assert json.loads(as_json(frame, types)) is not None and as_csv(frame, types).count("\n") == frame.height + 1
    rows = json.loads(run_cli(data_dir, "query", "SELECT pass_at_k FROM difficulty", "--json").stdout)
    assert rows == [{"pass_at_k": {"1": 0.25, "4": 1.0}}]
    rows = json.loads(run_cli(data_dir, "query", "SELECT counts, started_at FROM runs", "--json").stdout)
    assert rows[0]["counts"] == {"estimate": {"n": 3}} and rows[0]["started_at"].startswith("2026-12-06")
    (header, row) = list(
        csv.reader(
            io.StringIO(run_cli(data_dir, "query", "SELECT pass_at_k, counts FROM difficulty, runs", "--csv").stdout)
        )
    )
    assert header == ["pass_at_k", "counts"] and json.loads(row[0]) == {"1": 0.25, "4": 1.0}
    assert json.loads(row[1]) == {"estimate": {"n": 3}}
