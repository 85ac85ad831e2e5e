"""The seed datasets through the real CLI: exact counts, and reruns change nothing."""

import json

from tests.conftest import run_cli

COUNT_SQL = (
    "SELECT (SELECT count(*) FROM problems WHERE source='champ') AS champ, "
    "(SELECT count(*) FROM problems WHERE source='humaneval') AS humaneval, "
    "(SELECT count(*) FROM concepts) AS concepts, (SELECT count(*) FROM hints) AS hints, "
    "(SELECT count(*) FROM quarantine) AS quarantine"
)


def _counts(data_dir):
    result = run_cli(data_dir, "query", COUNT_SQL, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]


def test_champ_and_humaneval_exact_counts_and_idempotent(data_dir):
    for _ in range(2):
        for seed in ("champ", "humaneval"):
            result = run_cli(data_dir, "ingest", seed)
            assert result.returncode == 0, result.stderr
        assert _counts(data_dir) == {
            "champ": 270,
            "humaneval": 164,
            "concepts": 89,
            "hints": 456,
            "quarantine": 0,
        }
    status = run_cli(data_dir, "status")
    assert status.returncode == 0 and "humaneval" in status.stdout


def test_seed_rows_carry_what_later_stages_need(data_dir):
    run_cli(data_dir, "ingest", "champ")
    run_cli(data_dir, "ingest", "humaneval")
    rows = json.loads(
        run_cli(
            data_dir,
            "query",
            "SELECT source, source_ref, domain, verifier, answer, solution IS NOT NULL AS has_solution, "
            "json_extract_string(extra, '$.entry_point') AS entry_point, "
            "json_array_length(extra -> '$.ch_list') AS n_ch "
            "FROM problems WHERE source_ref IN ('P_Combinatorics_1', 'HumanEval/0') ORDER BY source",
            "--json",
        ).stdout
    )
    champ, human = rows
    assert (champ["domain"], champ["verifier"], champ["answer"], champ["has_solution"]) == ("math", "math", "239", True)
    assert champ["n_ch"] == 4
    assert (human["domain"], human["verifier"], human["entry_point"]) == ("code", "code", "has_close_elements")
    assert human["answer"].rstrip().endswith("check(has_close_elements)")
