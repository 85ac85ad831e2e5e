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
