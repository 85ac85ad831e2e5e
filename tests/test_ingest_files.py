"""Ingest of user files: every kind of bad row is quarantined with its reason, the rest goes in,
and file-level problems are one sentence with a non-zero exit, never a traceback."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.service import ingest
from schemas.config import HardforgeConfig, IngestConfig
from schemas.errors import HardforgeError
from tests.conftest import run_cli

CONFIG = HardforgeConfig(ingest=IngestConfig(max_statement_chars=200, max_answer_chars=50))

# (line content, expected reason prefix); None = a valid row.
JSONL_CASES = [
    (b'{"statement": "What is 1+1?", "answer": "2"}', None),
    (b'{"statement": "What is 2+2?", "answer": 4}', None),  # numbers are fine as answers
    (b'{"statement": "broken", "answer": ', "bad JSON"),
    (b"[1, 2, 3]", "not an object"),
    (b'"just a string"', "not an object"),
    (b'{"answer": "1"}', "missing statement"),
    (b'{"statement": "no answer here"}', "missing answer"),
    (b'{"statement": "null answer", "answer": null}', "missing answer"),
    (b'{"statement": "   \\t ", "answer": "1"}', "empty statement"),
    (b'{"statement": "empty answer", "answer": "  "}', "empty answer"),
    (json.dumps({"statement": "x" * 201, "answer": "1"}).encode(), "statement too long"),
    (json.dumps({"statement": "long answer", "answer": "9" * 51}).encode(), "answer too long"),
    (b'{"statement": 12345, "answer": "1"}', "wrong type"),
    (b'{"statement": "list answer", "answer": [1, 2]}', "wrong type"),
    (b'{"statement": "bool answer", "answer": true}', "wrong type"),
    (b'{"statement": "dict statement?", "answer": {"a": 1}}', "wrong type"),
    (b'{"statement": "bad byte \xff here", "answer": "1"}', "invalid UTF-8"),
    (b'{"statement": "nul \\u0000 inside", "answer": "1"}', "NUL character in statement"),
    (b'{"statement": "lone \\ud800 surrogate", "answer": "1"}', None),  # reason checked below
    (b'{"statement": "physics?", "answer": "1", "domain": "physics"}', "unknown domain"),
]


def _reasons(warehouse):
    rows = warehouse.arrow("SELECT locator, reason FROM quarantine ORDER BY locator").to_pylist()
    return {r["locator"]: r["reason"] for r in rows}


def test_jsonl_bad_rows_are_quarantined_with_reasons(tmp_path, warehouse):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in JSONL_CASES) + b"\n\n")
    summary = ingest(warehouse, str(path), CONFIG)
    reasons = _reasons(warehouse)
    for number, (_, expected) in enumerate(JSONL_CASES, start=1):
        locator = f"mixed.jsonl:{number}"
        if expected is None and b"ud800" not in JSONL_CASES[number - 1][0]:
            assert locator not in reasons
        elif b"ud800" in JSONL_CASES[number - 1][0]:
            # orjson refuses lone surrogates while parsing; either way it is quarantined
            assert reasons[locator].startswith(("bad JSON", "invalid Unicode")), reasons[locator]
        else:
            assert reasons[locator].startswith(expected), (locator, reasons[locator])
    assert summary.rows == len(JSONL_CASES)
    assert summary.inserted == 2
    assert warehouse.scalar("SELECT count(*) FROM problems") == 2
    assert warehouse.scalar("SELECT answer FROM problems WHERE statement = 'What is 2+2?'") == "4"
    # the raw input is kept, bad bytes escaped
    raw = warehouse.scalar("SELECT raw FROM quarantine WHERE reason LIKE 'invalid UTF-8%'")
    assert "\\xff" in raw
    # a rerun adds nothing, neither problems nor quarantine rows
    again = ingest(warehouse, str(path), CONFIG)
    assert again.inserted == 0 and again.already_present == 2
    assert warehouse.scalar("SELECT count(*) FROM quarantine") == len(JSONL_CASES) - 2


def test_csv_with_mapping_and_bad_rows(tmp_path, warehouse):
    path = tmp_path / "probs.csv"
    path.write_bytes(
        b"question,final,kind\n"
        b'"What is 3+3, really?",6,math\n'
        b"too,many,fields,here\n"
        b"bad \xfe byte,1,math\n"
        b"no answer,,math\n"
        b"code one,assert f() == 1,code\n"
    )
    summary = ingest(
        warehouse, str(path), CONFIG, columns={"statement": "question", "answer": "final", "domain": "kind"}
    )
    reasons = _reasons(warehouse)
    assert reasons["probs.csv:3"].startswith("bad CSV: 4 fields, header has 3")
    assert reasons["probs.csv:4"].startswith("invalid UTF-8")
    assert reasons["probs.csv:5"].startswith("empty answer")
    assert summary.inserted == 2
    rows = warehouse.arrow("SELECT statement, domain, verifier FROM problems ORDER BY statement").to_pylist()
    assert rows == [
        {"statement": "What is 3+3, really?", "domain": "math", "verifier": "math"},
        {"statement": "code one", "domain": "code", "verifier": "code"},
    ]


def test_parquet_wrong_types_and_nan(tmp_path, warehouse):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"q": ["a?", "b?", "c?"], "a": [1.5, float("nan"), None]}), path)
    summary = ingest(warehouse, str(path), CONFIG, columns={"statement": "q", "answer": "a"})
    reasons = _reasons(warehouse)
    assert reasons["p.parquet:2"].startswith("wrong type: answer is not a finite number")
    assert reasons["p.parquet:3"].startswith("missing answer")
    assert summary.inserted == 1
    bad = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"statement": [1, 2], "answer": ["x", "y"]}), bad)
    summary = ingest(warehouse, str(bad), CONFIG)
    assert summary.quarantined == {"wrong type": 2}


def test_datasets_folder(tmp_path, warehouse):
    import datasets

    folder = tmp_path / "ds"
    datasets.Dataset.from_dict(
        {"problem": ["p1", "p2", "p3"], "solution": ["1", None, "3"], "src": ["a", "b", "c"]}
    ).save_to_disk(str(folder))
    summary = ingest(
        warehouse,
        str(folder),
        CONFIG,
        columns={"statement": "problem", "answer": "solution", "id": "src"},
        source="mydata",
    )
    assert (summary.rows, summary.inserted, dict(summary.quarantined)) == (3, 2, {"missing answer": 1})
    refs = warehouse.arrow("SELECT source, source_ref FROM problems ORDER BY source_ref").to_pylist()
    assert refs == [{"source": "mydata", "source_ref": "a"}, {"source": "mydata", "source_ref": "c"}]


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (lambda d: d / "nope.jsonl", {}, "does not exist"),
        (lambda d: _mkdir(d / "plain_dir"), {}, "is a folder but not a `datasets` folder"),
        (lambda d: _write(d / "x.txt", b"hello"), {}, "cannot tell the format"),
        (lambda d: _write(d / "x.parquet", b"not parquet at all"), {}, "is not a readable Parquet file"),
        (lambda d: _write(d / "x.csv", b""), {}, "is empty: a CSV file needs a header row"),
        (lambda d: _write(d / "y.csv", b"a,b\n1,2\n"), {}, "has no column 'statement'"),
        (
            lambda d: _write(d / "z.csv", b"statement,answer\n1,2\n"),
            {"columns": {"task": "kind"}},
            "has no column 'kind'",
        ),
        (lambda d: _write(d / "x.jsonl", b"{}"), {"domain": "physics"}, "unknown domain 'physics'"),
        (lambda d: _write(d / "w.jsonl", b"{}"), {"fmt": "xml"}, "unknown --format 'xml'"),
    ],
)
def test_file_level_errors_are_one_sentence(tmp_path, warehouse, make, kwargs, message):
    path = make(tmp_path)
    with pytest.raises(HardforgeError, match=message.replace("(", r"\(")):
        ingest(warehouse, str(path), CONFIG, **kwargs)


def _mkdir(path):
    path.mkdir()
    return path


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/no/such/file.jsonl"], "does not exist"),
        (["ingest", "x.jsonl", "--map", "statement"], "--map takes FIELD=COLUMN"),
        (["ingest", "x.jsonl", "--map", "colour=c"], "unknown field 'colour'"),
        (["query", "DROP TABLE problems"], "refused"),
        (["query", "SELEC 1"], "SQL error"),
        (["query", "SELECT * FROM no_such_table"], "SQL error"),
    ],
)
def test_cli_errors_have_no_traceback(data_dir, args, message):
    run_cli(data_dir, "init")
    result = run_cli(data_dir, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cli_bad_config_has_no_traceback(data_dir):
    result = run_cli(data_dir, "status", HARDFORGE_INGEST__BATCH_ROWS="lots")
    assert result.returncode != 0
    assert "bad value for config key 'ingest.batch_rows'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_ingest_summary_counts_reasons(tmp_path, data_dir):
    path = tmp_path / "few.jsonl"
    path.write_bytes(b'{"statement": "q1", "answer": "1"}\n{"statement": "q2"}\nnot json\n')
    result = run_cli(data_dir, "ingest", str(path))
    assert result.returncode == 0, result.stderr
    assert "3 rows read, 1 new problems, 0 already present, 2 quarantined" in result.stdout
    assert "quarantined 1: missing answer" in result.stdout
    assert "quarantined 1: bad JSON" in result.stdout


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "bom.jsonl",
            b'\xef\xbb\xbf{"statement": "What is one plus one?", "answer": "2"}\n{"statement": "And two plus two?", "answer": "4"}\n',
        ),
        ("bom.csv", b"\xef\xbb\xbfstatement,answer\nWhat is one plus one?,2\nAnd two plus two?,4\n"),
    ],
)
def test_a_byte_order_mark_loses_no_row(tmp_path, warehouse, name, content):
    """Windows tools start UTF-8 files with a BOM: the first row (or the header) must survive it."""
    path = tmp_path / name
    path.write_bytes(content)
    summary = ingest(warehouse, str(path), CONFIG)
    assert (summary.rows, summary.inserted, sum(summary.quarantined.values())) == (2, 2, 0)
    statements = warehouse.arrow("SELECT statement FROM problems ORDER BY statement").column("statement").to_pylist()
    assert statements == ["And two plus two?", "What is one plus one?"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "x.jsonl", "--bogus"], "No such option: --bogus"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["ingest", "a.jsonl", "b.jsonl"], "unexpected extra argument"),
        (["ingest"], "Missing argument"),
    ],
)
def test_usage_errors_print_usage_and_exit_2(data_dir, args, message):
    result = run_cli(data_dir, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Usage: hardforge") and "--help' for help" in result.stderr
    assert message in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
