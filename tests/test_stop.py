"""SIGTERM and Ctrl-C stop a run within seconds: finished batches are kept, the run rows say
cancelled (and by what), no helper process is left behind, and the same command resumes."""

import json
import signal
import subprocess
import sys
import time

import psutil

from tests.conftest import ROOT, cli_env, run_cli
from tests.test_flows import nightly_env


def _rows(data_dir, sql):
    result = run_cli(data_dir, "query", sql, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _stop_when_measuring(data_dir, args, env, sig):
    """Start the CLI, wait until its first difficulty row is stored, send ``sig``, and wait."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        env=cli_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and proc.poll() is None:
        if (data_dir / "warehouse.duckdb").exists() and _rows(data_dir, "SELECT count(*) AS n FROM difficulty")[0]["n"]:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the run finished before it could be stopped"
    helpers = psutil.Process(proc.pid).children(recursive=True)  # Prefect's local API, grading pools
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=60)  # a guard against a hang, not a speed check
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the run did not stop within 60 s of the signal") from None
    gone, alive = psutil.wait_procs(helpers, timeout=15)
    assert not alive, f"left running: {[p.cmdline()[:3] for p in alive]}"
    return proc.returncode, stderr


def test_sigterm_stops_a_nightly_and_a_rerun_resumes(tmp_path, bundled_model):
    env = nightly_env(
        bundled_model,
        HARDFORGE_NIGHTLY__SEEDS='["gym:chain_sum"]',
        HARDFORGE_NIGHTLY__ESTIMATE_LIMIT="30",
        HARDFORGE_PROGRESS_EVERY_S="1",
    )
    code, stderr = _stop_when_measuring(tmp_path, ["run", "nightly"], env, signal.SIGTERM)
    assert code == 143, stderr[-2000:]
    assert "stopped by SIGTERM" in stderr and "internal error" not in stderr
    runs = {r["flow"]: r for r in _rows(tmp_path, "SELECT flow, status, counts->>'stopped_by' AS by FROM runs")}
    assert (runs["nightly"]["status"], runs["nightly"]["by"]) == ("cancelled", "SIGTERM")
    assert (runs["estimate"]["status"], runs["estimate"]["by"]) == ("cancelled", "SIGTERM")
    assert "export" not in runs
    partial = _rows(tmp_path, "SELECT count(*) AS n FROM difficulty")[0]["n"]
    assert partial >= 1
    # every stored problem is whole: its difficulty row and both rollouts, written together
    assert _rows(tmp_path, "SELECT count(*) AS n FROM rollouts")[0]["n"] == 2 * partial

    again = run_cli(tmp_path, "run", "nightly", **env)
    assert again.returncode == 0, again.stderr[-2000:]
    estimate = _rows(tmp_path, "SELECT counts FROM runs WHERE flow = 'estimate' AND status = 'completed'")
    counts = estimate[0]["counts"]  # a JSON column comes back as a JSON value
    selected = counts["selected"]
    # stderr is a pipe here: the estimate wrote progress lines, the last one at 100%
    lines = [line for line in again.stderr.splitlines() if " | progress | estimate: " in line]
    assert lines and f"estimate: {selected - partial}/{selected - partial} problems (100%)" in lines[-1], again.stderr[
        -2000:
    ]
    assert all("problems/s" in line and "ETA" in line for line in lines)
    assert counts["resumed"] and counts["already_done"] == partial and counts["estimated"] == selected - partial
    assert _rows(
        tmp_path,
        "SELECT count(*) AS n, count(DISTINCT problem_id) AS p FROM rollouts WHERE problem_id NOT IN "
        "(SELECT problem_id FROM filter_verdicts WHERE filter = 'heldout')",
    )[0] == {"n": 2 * selected, "p": selected}


def test_ctrl_c_stops_an_estimate(tmp_path, bundled_model):
    env = {
        "HARDFORGE_ENGINE__MODEL": str(bundled_model),
        "HARDFORGE_ENGINE__BACKEND": "transformers",
        "HARDFORGE_ROLLOUTS__BATCH_PROBLEMS": "1",
        "HARDFORGE_ROLLOUTS__MAX_TOKENS": "24",
    }
    assert run_cli(tmp_path, "ingest", "gym:chain_sum", "--size", "6").returncode == 0
    code, stderr = _stop_when_measuring(tmp_path, ["estimate", "--n", "2", "--k", "1,2"], env, signal.SIGINT)
    assert code == 130, stderr[-2000:]
    assert "stopped by Ctrl-C" in stderr and "Traceback" not in stderr
    (run,) = _rows(tmp_path, "SELECT status, counts->>'stopped_by' AS by FROM runs WHERE flow = 'estimate'")
    assert run == {"status": "cancelled", "by": "Ctrl-C"}
