"""The estimate flow on a local Ray cluster through Prefect's Ray task runner: two workers measure
chunks with the real bundled model and send the rows back; the flow is the one writer. The same
problems measured in process give the same figures (same seeds, same prompts)."""

import json

from tests.conftest import run_cli
from tests.test_flows import nightly_env


def _rows(data_dir, sql):
    result = run_cli(data_dir, "query", sql, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_estimate_on_a_local_ray_cluster(tmp_path, bundled_model):
    env = nightly_env(bundled_model, HARDFORGE_NIGHTLY__ESTIMATE_LIMIT="6", HARDFORGE_CLUSTER__CHUNK_PROBLEMS="2")
    results = {}
    for name, cluster in (("ray", {"HARDFORGE_CLUSTER__ENABLED": "true", "HARDFORGE_CLUSTER__WORKERS": "2"}), ("local", {})):
        data_dir = tmp_path / name
        assert run_cli(data_dir, "ingest", "gym:chain_sum", "--size", "6", **env).returncode == 0
        result = run_cli(data_dir, "run", "estimate", **env, **cluster)
        assert result.returncode == 0, result.stderr[-3000:]
        results[name] = _rows(data_dir, "SELECT problem_id, n, c FROM difficulty ORDER BY problem_id")
        counts = _rows(data_dir, "SELECT problem_id, count(*) AS r FROM rollouts GROUP BY 1")
        assert len(counts) == 6 and all(c["r"] == 2 for c in counts)  # every problem complete, none twice
        run = _rows(data_dir, "SELECT status, counts FROM runs WHERE flow = 'estimate'")[0]
        assert run["status"] == "completed" and json.loads(run["counts"])["estimated"] == 6
    assert [r["problem_id"] for r in results["ray"]] == [r["problem_id"] for r in results["local"]]
    assert all(r["n"] == 2 for r in results["ray"])
    # a rerun on the cluster finds nothing left to do
    again = run_cli(tmp_path / "ray", "run", "estimate", **env, HARDFORGE_CLUSTER__ENABLED="true")
    assert again.returncode == 0, again.stderr[-3000:]
    assert _rows(tmp_path / "ray", "SELECT count(*) AS n FROM rollouts")[0]["n"] == 12


def test_synthesis_on_a_local_ray_cluster(tmp_path, bundled_model):
    """Self-questioning with the real model: two workers propose and validate a batch of seeds each
    (their solver rollouts graded there), the flow decides and stores every attempt once."""
    from schemas.keys import content_key

    env = nightly_env(bundled_model, HARDFORGE_NIGHTLY__SYNTHESIZE='["sqlm"]', HARDFORGE_NIGHTLY__SYNTHESIZE_LIMIT="2",
                      HARDFORGE_SYNTH__SQLM__PROPOSALS="2", HARDFORGE_SYNTH__SQLM__BATCH_SEEDS="1",
                      HARDFORGE_SYNTH__SQLM__MAX_TOKENS="48", HARDFORGE_ROLLOUTS__MAX_TOKENS="48", HARDFORGE_CLUSTER__ENABLED="true", HARDFORGE_CLUSTER__WORKERS="2")
    result = run_cli(tmp_path, "run", "synthesize", **env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("(propose-batch pid=") >= 2  # the batches ran in Ray workers
    attempts = _rows(tmp_path, "SELECT attempt_id, accepted, reason, problem_id FROM synth_attempts")
    expected = {content_key("sqlm", f"arithmetic#{seed}", str(i)) for seed in (0, 1) for i in range(2)}
    assert {a["attempt_id"] for a in attempts} == expected  # both batches, each candidate once
    assert all(a["accepted"] or a["reason"] for a in attempts)
    accepted = {a["problem_id"] for a in attempts if a["accepted"]}
    stored = _rows(tmp_path, "SELECT p.problem_id, count(r.rollout_id) AS r FROM problems p "
                             "LEFT JOIN rollouts r USING (problem_id) GROUP BY 1")
    # every accepted problem is stored once, with the solver rollouts its worker graded
    assert {s["problem_id"] for s in stored} == accepted and all(s["r"] == 4 for s in stored)
    run = _rows(tmp_path, "SELECT status, counts FROM runs WHERE flow = 'synthesize'")[0]
    assert run["status"] == "completed" and json.loads(run["counts"])["synthesize"][0]["candidates"] == 4
