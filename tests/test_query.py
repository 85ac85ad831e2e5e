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
