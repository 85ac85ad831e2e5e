"""The Prefect flows for real: the nightly flow with training over two nights on the bundled model,
and the schedule registered with a local server (the nightly stopped, killed and rerun is in
tests/test_stop.py)."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli_env, query_rows, run_cli

pytestmark = pytest.mark.slow


def nightly_env(model: Path, **extra: str) -> dict[str, str]:
    return {
        "HARDFORGE_ENGINE__MODEL": str(model),
        "HARDFORGE_ENGINE__BACKEND": "transformers",
        "HARDFORGE_NIGHTLY__ESTIMATE_LIMIT": "4",
        "HARDFORGE_ROLLOUTS__N": "2",
        "HARDFORGE_ROLLOUTS__K": "[1, 2]",
        "HARDFORGE_ROLLOUTS__MAX_TOKENS": "16",
        "HARDFORGE_ROLLOUTS__BATCH_PROBLEMS": "1",
        "HARDFORGE_CURRICULUM__KEEP_UNSOLVED": "true",
        "HARDFORGE_CURRICULUM__KEEP_SOLVED": "true",
        # SvS would find seeds in a killed run's figures that a clean run never had
        "HARDFORGE_NIGHTLY__SYNTHESIZE": "[]",
        # a held-out probe of two problems, two samples each: the mechanism, at a test's cost
        "HARDFORGE_NIGHTLY__PROBE": '["gym:products?levels=0&size=2&seed=1"]',
        "HARDFORGE_NIGHTLY__PROBE_N": "2",
        **extra,
    }


_query = query_rows  # the warehouse as `hardforge query --json` prints it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


READ_DEPLOYMENTS = """
import json
from prefect.client.orchestration import get_client
with get_client(sync_client=True) as client:
    out = []
    for d in client.read_deployments():
        out.append({"name": d.name, "schedules": [s.schedule.cron for s in d.schedules if hasattr(s.schedule, "cron")],
                    "active": [s.active for s in d.schedules]})
print(json.dumps(out))
"""


def test_serve_registers_the_nightly_schedule(tmp_path, data_dir):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect_home = tmp_path / "server-home"
    server_env = {**cli_env(data_dir), "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    serve = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{api}/health", timeout=2).read() == b"true":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Prefect server did not become healthy")
        client_env = {**cli_env(data_dir), "PREFECT_API_URL": api, "PREFECT_HOME": str(prefect_home)}
        serve = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "serve"],
            cwd=ROOT,
            env={**client_env, "HARDFORGE_NIGHTLY__CRON": "15 2 * * *"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        found = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not found:
            time.sleep(1)
            out = subprocess.run(
                [sys.executable, "-c", READ_DEPLOYMENTS], env=client_env, capture_output=True, text=True
            )
            if out.returncode == 0:
                found = [d for d in json.loads(out.stdout) if d["name"] == "nightly"]
            assert serve.poll() is None, serve.stderr.read().decode()[-2000:]
        assert found and found[0]["schedules"] == ["15 2 * * *"] and found[0]["active"] == [True]
    finally:
        if serve is not None:  # stop serve before the server (serve hangs if the server goes first)
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_serve_starts_its_own_server_and_stops_it(tmp_path, data_dir):
    """Scheduling in one command: without PREFECT_API_URL, serve starts a local Prefect server (its
    database under the data dir), registers the schedule there, and SIGTERM stops both."""
    import psutil

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**cli_env(data_dir), "HARDFORGE_NIGHTLY__CRON": "45 1 * * *"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        found, family = [], []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not found:
            time.sleep(1)
            assert serve.poll() is None, serve.stderr.read().decode()[-2000:]
            family = psutil.Process(serve.pid).children(recursive=True)
            out = subprocess.run(
                [sys.executable, "-c", READ_DEPLOYMENTS],
                env={**cli_env(data_dir), "PREFECT_API_URL": api},
                capture_output=True,
                text=True,
            )
            if out.returncode == 0:
                found = [d for d in json.loads(out.stdout) if d["name"] == "nightly"]
        assert found and found[0]["schedules"] == ["45 1 * * *"] and found[0]["active"] == [True]
        assert urllib.request.urlopen(api.removesuffix("/api"), timeout=5).status == 200  # the UI
        assert list((data_dir / "prefect").glob("v*/prefect.db"))  # its database is the data dir's
        os.killpg(serve.pid, signal.SIGTERM)
        assert serve.wait(60) == 143 and "serve: stopped" in serve.stderr.read().decode()  # as documented
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    assert family and not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{api}/health", timeout=2)


@pytest.mark.xdist_group("model")
@pytest.mark.both_cores
def test_nightly_with_training_closes_the_loop(data_dir, bundled_model):
    """Two nights, each training both roles (the solver on the curriculum, self-questioning's
    proposer on fresh topic prompts): each night measures its seeds before it synthesizes, so SvS
    has seeds on the first night and, on the second, from the trained policy's own measurements."""
    env = nightly_env(
        bundled_model,
        HARDFORGE_NIGHTLY__ESTIMATE_LIMIT="2",
        HARDFORGE_NIGHTLY__SYNTHESIZE='["svs"]',
        HARDFORGE_NIGHTLY__SYNTHESIZE_LIMIT="2",
        HARDFORGE_NIGHTLY__TRAIN_ROLES='["solver", "proposer"]',
        # every measured problem is an SvS seed, so whether the night has seeds does not hang on
        # what the 135M model happened to get right
        HARDFORGE_SYNTH__SVS__UNDER_LOW="0",
        HARDFORGE_SYNTH__SVS__UNDER_HIGH="1",
        HARDFORGE_SYNTH__SVS__GROUP="2",
        HARDFORGE_SYNTH__SVS__SOLUTIONS="1",
        HARDFORGE_SYNTH__SVS__MAX_TOKENS="32",
        HARDFORGE_SYNTH__SQLM__SOLVERS="3",
        HARDFORGE_TRAIN__ENABLED="true",
        HARDFORGE_TRAIN__PROPOSER_METHODS='["sqlm"]',
        HARDFORGE_TRAIN__MAX_STEPS="2",
        HARDFORGE_TRAIN__NUM_GENERATIONS="2",
        HARDFORGE_TRAIN__PER_DEVICE_TRAIN_BATCH_SIZE="4",  # 2 prompts a step: 1 solver + 1 proposer
        HARDFORGE_TRAIN__MAX_COMPLETION_LENGTH="8",
    )
    first = run_cli(data_dir, "run", "nightly", **env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "  synthesized: svs " in first.stdout, first.stdout  # the summary says what synthesis made
    policies = _query(
        data_dir,
        "SELECT policy_id, parent_policy_id, curriculum_id, model_path, meta FROM policies ORDER BY created_at",
    )
    assert len(policies) == 2
    base, trained = policies
    assert trained["parent_policy_id"] == base["policy_id"] and trained["curriculum_id"]
    assert (data_dir / trained["model_path"] / "model.safetensors").exists()  # relative to the data dir
    meta = trained["meta"]  # a JSON column comes back as a JSON value
    assert meta["role"] == "both" and meta["prompts_per_step"] == {"solver": 1, "proposer": 1}
    assert meta["proposer_methods"] == ["sqlm"]
    train_run = _query(data_dir, "SELECT counts FROM runs WHERE flow = 'train' AND status = 'completed'")[0]
    counts = train_run["counts"]
    assert counts["steps"] == 2 and counts["role"] == "both"
    assert all(m["proposer"]["sqlm"]["proposals"] == 2 for m in counts["metrics"])  # one group of G=2 a step
    # night 1: SvS seeded from the seeds measured earlier that night (before, it had none)
    night_one = _query(data_dir, f"SELECT count(*) AS n FROM synth_attempts WHERE policy_id = '{base['policy_id']}'")
    assert night_one[0]["n"] > 0
    # the night's engines left before training (held, the 0.5B's night outgrew 24 GiB): the probe
    # started the night's policy again, after the training
    night = _query(data_dir, "SELECT counts FROM runs WHERE flow = 'nightly' AND status = 'completed'")[0]["counts"]
    starts = [s["model"] for s in night["wall"]["engine_starts"]]
    assert starts.count(starts[0]) == 2 and len(starts) >= 3, starts
    # the next night measures its seeds with the trained policy first: SvS seeds from its own figures
    second = run_cli(data_dir, "run", "nightly", **env)
    assert second.returncode == 0, second.stderr[-3000:]
    seeded = _query(
        data_dir,
        f"""SELECT count(*) AS n, count(json_extract_string(a.meta, '$.seeded_from_policy')) AS inherited
        FROM synth_attempts a WHERE a.method = 'svs' AND a.policy_id = '{trained["policy_id"]}'""",
    )[0]
    assert seeded["n"] > 0 and seeded["inherited"] == 0, seeded
    by_policy = _query(
        data_dir,
        "SELECT policy_id, count(*) AS n FROM difficulty WHERE problem_id NOT IN "
        "(SELECT problem_id FROM filter_verdicts WHERE filter = 'heldout') GROUP BY 1",
    )
    assert {r["policy_id"]: r["n"] for r in by_policy}.get(trained["policy_id"]) >= 2  # its seeds, and any synthesized
    # the held-out probe was never estimated, exported or trained on, and measured every policy
    (probe,) = _query(
        data_dir,
        """SELECT count(DISTINCT problem_id) AS problems, count(DISTINCT policy_id) AS policies,
        count(*) FILTER (WHERE problem_id IN (SELECT problem_id FROM curriculum_items)) AS exported
        FROM difficulty WHERE problem_id IN (SELECT problem_id FROM filter_verdicts WHERE filter = 'heldout')""",
    )
    assert probe == {"problems": 2, "policies": 3, "exported": 0}
    # the second night's report draws the drift between two policies on common problems (how many
    # hangs on what the signal rule passed over) beside the held-out curve over the three policies
    run_id = _query(data_dir, "SELECT run_id FROM runs WHERE flow = 'nightly' ORDER BY started_at DESC LIMIT 1")[0][
        "run_id"
    ]
    page = (data_dir / "reports" / f"nightly-{run_id[:8]}.html").read_text()
    drift = page[page.index('<section id="drift">') : page.index('<section id="heldout">')]
    assert "<svg" in drift and "<td>" in drift
    heldout = page[page.index('<section id="heldout">') : page.index('<section id="yield">')]
    assert "<svg" in heldout and heldout.count("<tr>") == 1 + 3
