"""A nightly end to end, then the same nightly stopped by SIGTERM in the middle of estimation,
resumed and SIGKILLed there, and rerun: SIGTERM and Ctrl-C stop a run within seconds (finished
batches kept, the run rows say cancelled and by what, no helper process left behind); the next
command marks a killed run crashed; the rerun resumes, and ends with the same rows and the same
export as the uninterrupted run. One test, because each nightly costs a Prefect start and a model
load. Then `hardforge estimate` alone: stopped by Ctrl-C, resumed and SIGKILLed, and rerun, with
every rollout stored exactly once."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import duckdb
import psutil
import pytest

from tests.conftest import ROOT, cli_env, query_rows, run_cli
from tests.test_flows import nightly_env

_rows = query_rows  # the warehouse as `hardforge query --json` prints it


def _curriculum(data_dir):
    (row,) = _rows(data_dir, "SELECT curriculum_id, out_dir FROM curricula ORDER BY created_at DESC LIMIT 1")
    manifest = json.loads((data_dir / row["out_dir"] / "manifest.json").read_text())  # relative to the data dir
    items = _rows(
        data_dir,
        f"SELECT position, problem_id FROM curriculum_items WHERE curriculum_id = '{row['curriculum_id']}' ORDER BY position",
    )
    return manifest, items


def _warehouse_rows(data_dir):
    return {
        "rollouts": _rows(
            data_dir, "SELECT count(*) AS n, count(DISTINCT (problem_id, sample_idx)) AS u FROM rollouts"
        )[0],
        "difficulty": _rows(data_dir, "SELECT count(*) AS n FROM difficulty")[0]["n"],
        "problems": _rows(data_dir, "SELECT count(*) AS n FROM problems")[0]["n"],
        "verdicts": _rows(data_dir, "SELECT count(*) AS n FROM filter_verdicts")[0]["n"],
    }


def _measured(data_dir) -> int:
    """The difficulty rows stored so far, read here with DuckDB (read-only, between the writer's
    transactions): a `query` subprocess per poll would cost 1.5 s of CPU, a core taken from the run
    under test."""
    path = data_dir / "warehouse.duckdb"
    if not path.exists():
        return 0
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute("SELECT count(*) FROM difficulty").fetchone()[0]
    except duckdb.Error:  # the writer holds the lock, or has not made the table yet: ask again
        return 0


def _stop_when_measuring(data_dir, args, env, sig, after=0):
    """Start the CLI, wait until it has stored more than ``after`` difficulty rows, send ``sig``
    (SIGKILL: to its whole process group), and wait. Returns its exit code and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        env=cli_env(data_dir, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and proc.poll() is None:
        if _measured(data_dir) > after:
            break
        time.sleep(0.3)
    assert proc.poll() is None, "the run finished before it could be stopped mid-estimation"
    if sig == signal.SIGKILL:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return proc.returncode, proc.stderr.read()
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


@pytest.mark.xdist_group("model")
@pytest.mark.both_cores
def test_nightly_end_to_end_then_stopped_killed_and_rerun(tmp_path, bundled_model):
    env = nightly_env(bundled_model, HARDFORGE_NIGHTLY__ESTIMATE_LIMIT="6", HARDFORGE_PROGRESS_EVERY_S="1")
    # 1. an uninterrupted run, with its artifacts
    clean = tmp_path / "clean"
    result = run_cli(clean, "run", "nightly", **env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "6 problems estimated" in result.stdout
    manifest, items = _curriculum(clean)
    assert manifest["counts"]["items"] == 6 and len(items) == 6
    out_dir = clean / _rows(clean, "SELECT out_dir FROM curricula")[0]["out_dir"]
    assert sorted(os.listdir(out_dir)) == ["README.md", "manifest.json", *[s["file"] for s in manifest["shards"]]]
    from importlib.metadata import version

    with sqlite3.connect(clean / "prefect" / f"v{version('prefect')}" / "prefect.db") as db:
        keys = {row[0] for row in db.execute("SELECT key FROM artifact")}
        flows = {
            row[0]
            for row in db.execute(
                "SELECT f.name FROM flow_run r JOIN flow f ON r.flow_id = f.id WHERE r.state_type = 'COMPLETED'"
            )
        }
    assert {
        "nightly-summary",
        "problems-by-source",
        "filter-reasons",
        "pass-at-1-histogram",
        "ingest-counts",
        "synthesis",
        "nightly-report",
    } <= keys
    (page,) = (clean / "reports").glob("nightly-*.html")  # the linked page of plots
    # pass@1, the held-out curve (one policy so far), the estimate's yield and the curriculum; no drift or synthesis yet
    assert page.read_text().count("<svg") == 4
    assert {"nightly", "ingest", "synthesize", "filter", "estimate", "export"} <= flows
    runs = _rows(clean, "SELECT flow, status, prefect_run_id FROM runs WHERE flow = 'nightly'")
    assert runs[0]["status"] == "completed" and runs[0]["prefect_run_id"]

    # 2. the same nightly elsewhere, stopped by SIGTERM once it has measured a problem
    stopped = tmp_path / "stopped"
    code, stderr = _stop_when_measuring(stopped, ["run", "nightly"], env, signal.SIGTERM)
    assert code == 143, stderr[-2000:]
    assert "stopped by SIGTERM" in stderr and "internal error" not in stderr
    runs = {r["flow"]: r for r in _rows(stopped, "SELECT flow, status, counts->>'stopped_by' AS by FROM runs")}
    assert (runs["nightly"]["status"], runs["nightly"]["by"]) == ("cancelled", "SIGTERM")
    assert (runs["estimate"]["status"], runs["estimate"]["by"]) == ("cancelled", "SIGTERM")
    assert "export" not in runs
    terminated = _measured(stopped)
    assert 1 <= terminated < 6
    # every stored problem is whole: its difficulty row and both rollouts, written together
    assert _rows(stopped, "SELECT count(*) AS n FROM rollouts")[0]["n"] == 2 * terminated

    # 3. resumed, and SIGKILLed (its whole process group) once it has measured one more
    _stop_when_measuring(stopped, ["run", "nightly"], env, signal.SIGKILL, after=terminated)
    # the next command marks the dead process's runs crashed (the nightly's and its estimate's; the
    # resumed estimate marked the one SIGTERM stopped interrupted)
    dead = _rows(stopped, "SELECT flow, status FROM runs WHERE status NOT IN ('completed', 'cancelled', 'interrupted')")
    assert {r["flow"] for r in dead} >= {"nightly", "estimate"} and {r["status"] for r in dead} == {"crashed"}
    killed = _warehouse_rows(stopped)["difficulty"]
    assert terminated < killed < 6

    # 4. the rerun resumes where the kill left it ...
    again = run_cli(stopped, "run", "nightly", **env)
    assert again.returncode == 0, again.stderr[-3000:]
    counts = _rows(stopped, "SELECT counts FROM runs WHERE flow = 'estimate' AND status = 'completed'")[0]["counts"]
    assert counts["resumed"] and counts["already_done"] == killed and counts["estimated"] == 6 - killed
    # stderr is a pipe here: the estimate wrote progress lines, the last one at 100%
    lines = [line for line in again.stderr.splitlines() if " | progress | estimate: " in line]
    left = 6 - killed
    assert lines and f"estimate: {left}/{left} problems (100%)" in lines[-1], again.stderr[-2000:]
    assert all("problems/s" in line and "ETA" in line for line in lines)

    # 5. ... with no duplicate, no missing row, and the same export as the uninterrupted run
    after, expected = _warehouse_rows(stopped), _warehouse_rows(clean)
    assert after == expected
    assert after["rollouts"]["n"] == after["rollouts"]["u"] == 6 * 2 + 2 * 2  # and the held-out probe's 2 x 2
    stopped_manifest, stopped_items = _curriculum(stopped)
    assert stopped_items == items
    assert stopped_manifest["curriculum_id"] == manifest["curriculum_id"]
    assert [s["sha256"] for s in stopped_manifest["shards"]] == [s["sha256"] for s in manifest["shards"]]


@pytest.mark.xdist_group("model")
def test_an_estimate_stopped_by_ctrl_c_then_killed_resumes_without_duplicates(tmp_path, bundled_model):
    env = {
        "HARDFORGE_ENGINE__MODEL": str(bundled_model),
        "HARDFORGE_ENGINE__BACKEND": "transformers",
        "HARDFORGE_ROLLOUTS__BATCH_PROBLEMS": "1",
        "HARDFORGE_ROLLOUTS__MAX_TOKENS": "24",
    }
    assert run_cli(tmp_path, "ingest", "gym:chain_sum", "--size", "6").returncode == 0
    estimate = ["estimate", "--n", "2", "--k", "1,2"]
    code, stderr = _stop_when_measuring(tmp_path, estimate, env, signal.SIGINT)
    assert code == 130, stderr[-2000:]
    assert "stopped by Ctrl-C" in stderr and "Traceback" not in stderr
    (run,) = _rows(tmp_path, "SELECT status, counts->>'stopped_by' AS by FROM runs WHERE flow = 'estimate'")
    assert run == {"status": "cancelled", "by": "Ctrl-C"}
    stopped = _measured(tmp_path)

    # resumed, then SIGKILLed once it has measured one more; the rerun measures only the rest
    _stop_when_measuring(tmp_path, estimate, env, signal.SIGKILL, after=stopped)
    killed = _measured(tmp_path)
    assert stopped < killed < 6
    rerun = run_cli(tmp_path, *estimate, **env)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{6 - killed} problems estimated, {killed} already done" in rerun.stdout
    # every rollout exactly once
    assert _rows(tmp_path, "SELECT count(*) AS n FROM difficulty") == [{"n": 6}]
    assert _rows(tmp_path, "SELECT count(*) AS n, count(DISTINCT (problem_id, sample_idx)) AS u FROM rollouts") == [
        {"n": 12, "u": 12}
    ]
