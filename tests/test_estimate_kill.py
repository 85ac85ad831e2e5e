"""SIGKILL in the middle of `hardforge estimate`, then a rerun: every rollout exactly once."""

import json
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, cli_env, run_cli


def _count(data_dir, sql):
    result = run_cli(data_dir, "query", sql, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)[0]["n"]


@pytest.mark.xdist_group("model")
def test_killed_estimate_resumes_without_duplicates(data_dir, bundled_model):
    env = {
        "HARDFORGE_ENGINE__MODEL": str(bundled_model),
        "HARDFORGE_ENGINE__BACKEND": "transformers",
        "HARDFORGE_ROLLOUTS__BATCH_PROBLEMS": "1",
        "HARDFORGE_ROLLOUTS__MAX_TOKENS": "24",
    }
    assert run_cli(data_dir, "ingest", "champ").returncode == 0
    args = [sys.executable, "-m", "flows.cli", "estimate", "--limit", "5", "--n", "2", "--k", "1,2"]
    proc = subprocess.Popen(
        args, cwd=ROOT, env=cli_env(data_dir, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = _count(data_dir, "SELECT count(*) AS n FROM difficulty")
        if done >= 1:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the run finished before we could kill it"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = _count(data_dir, "SELECT count(*) AS n FROM difficulty")
    assert 1 <= partial < 5
    rerun = run_cli(data_dir, "estimate", "--limit", "5", "--n", "2", "--k", "1,2", **env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{5 - partial} problems estimated, {partial} already done" in rerun.stdout
    assert _count(data_dir, "SELECT count(*) AS n FROM difficulty") == 5
    assert _count(data_dir, "SELECT count(*) AS n FROM rollouts") == 10
    assert _count(data_dir, "SELECT count(DISTINCT (problem_id, sample_idx)) AS n FROM rollouts") == 10
