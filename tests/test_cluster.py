"""A nightly on a local Ray cluster through Prefect's Ray task runner, with the real bundled
model: two workers propose and validate synthesis batches (self-questioning; the solver
rollouts graded there) and measure estimate chunks, and send the rows back; the flow is the one
writer, so every attempt and every rollout is stored once."""

import pytest

from tests.conftest import query_rows, run_cli
from tests.test_flows import nightly_env

_rows = query_rows  # the warehouse as `hardforge query --json` prints it


@pytest.mark.xdist_group("model")
@pytest.mark.both_cores
def test_a_nightly_on_a_local_ray_cluster(tmp_path, bundled_model):
    from schemas.keys import content_key

    env = nightly_env(
        bundled_model,
        HARDFORGE_NIGHTLY__SEEDS='["gym:chain_sum?size=6"]',
        HARDFORGE_NIGHTLY__ESTIMATE_LIMIT="4",
        HARDFORGE_NIGHTLY__SYNTHESIZE='["sqlm"]',
        HARDFORGE_NIGHTLY__SYNTHESIZE_LIMIT="2",
        HARDFORGE_SYNTH__SQLM__PROPOSALS="2",
        HARDFORGE_SYNTH__SQLM__TOPICS='["arithmetic"]',  # the seeds' keys below are its
        HARDFORGE_SYNTH__SQLM__BATCH_SEEDS="1",
        HARDFORGE_SYNTH__SQLM__MAX_TOKENS="48",
        HARDFORGE_ROLLOUTS__MAX_TOKENS="32",
        HARDFORGE_CLUSTER__ENABLED="true",
        HARDFORGE_CLUSTER__WORKERS="2",
        HARDFORGE_CLUSTER__CHUNK_PROBLEMS="2",
        HARDFORGE_NIGHTLY__PROBE="[]",
    )  # the probe measures in the flow's process: another model load
    result = run_cli(tmp_path, "run", "nightly", **env)
    assert result.returncode == 0, result.stderr[-3000:]
    # both stages ran in the two Ray workers, which loaded the model once each for the whole night
    loads = [line for line in result.stderr.splitlines() if "engine: transformers" in line]
    # (the night measures its seeds first, so a worker's first task is an estimate chunk)
    assert len(loads) == 2 and all("(measure-chunk pid=" in line or "(propose-batch pid=" in line for line in loads), (
        loads
    )

    # synthesis: both batches, each candidate once; every accepted problem stored once with its solver rollouts
    attempts = _rows(tmp_path, "SELECT attempt_id, accepted, reason, problem_id FROM synth_attempts")
    expected = {content_key("sqlm", f"arithmetic#{seed}", str(i)) for seed in (0, 1) for i in range(2)}
    assert {a["attempt_id"] for a in attempts} == expected
    assert all(a["accepted"] or a["reason"] for a in attempts)
    accepted = {a["problem_id"] for a in attempts if a["accepted"]}
    assert {
        r["problem_id"] for r in _rows(tmp_path, "SELECT problem_id FROM problems WHERE source = 'sqlm'")
    } == accepted

    # estimate: the selection measured in chunks of 2, n = 2 each
    # --json writes a JSON column as its value (an object)
    estimate = _rows(tmp_path, "SELECT counts FROM runs WHERE flow = 'estimate' AND status = 'completed'")[0]["counts"]
    assert estimate["estimated"] == estimate["selected"] == 4 and estimate["rollouts"] == 8 and estimate["workers"] >= 1
    # every difficulty row (synthesis or estimate) has exactly its n rollouts: nothing lost, nothing twice
    assert (
        _rows(
            tmp_path,
            """
        SELECT count(*) AS bad FROM difficulty d WHERE n <> (SELECT count(*) FROM rollouts r
            WHERE r.problem_id = d.problem_id AND r.policy_id = d.policy_id AND r.sampling_key = d.sampling_key)""",
        )[0]["bad"]
        == 0
    )
    assert _rows(tmp_path, "SELECT count(*) - count(DISTINCT rollout_id) AS dup FROM rollouts")[0]["dup"] == 0
    runs = _rows(tmp_path, "SELECT flow, status FROM runs")
    assert all(r["status"] == "completed" for r in runs) and {r["flow"] for r in runs} >= {
        "nightly",
        "synthesize",
        "estimate",
        "export",
    }
