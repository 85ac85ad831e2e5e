from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _pytest.nodeid import NodeId

ROOT = Path(__file__).resolve().parents[1]
# Keep library caches of the test process itself out of the home directory.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", str(ROOT / ".cache" / "hf"))
os.environ.setdefault("PREFECT_HOME", str(ROOT / ".cache" / "prefect"))
# One torch thread per test process (engines/hf.py reads it): the two xdist workers each keep a
# core, and a model test beside a busy worker ran 2-5x slower with two threads than with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    # as a user runs it: Prefect's home is under the data dir (set by the CLI itself)
    private = {"PREFECT_HOME", "PREFECT_RESULTS_LOCAL_STORAGE_PATH", "PREFECT_MEMO_STORE_PATH"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARDFORGE_") and k not in private}
    # as in process (``_checker_is_chosen_by_each_test``): no bundled Qwen checker is converted into
    # each test's data directory and loaded unless the test names one
    env.update(
        {
            "HARDFORGE_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT),
            "HARDFORGE_CHECKS__PROGRAM_OF_THOUGHT__MODEL": "policy",
            # the tests' policy is the 135M, where speed matters (the product's default is the 0.5B)
            "HARDFORGE_ENGINE__MODEL": "bundled",
            **extra,
        }
    )
    return env


def query_rows(data_dir: Path, sql: str) -> list[dict]:
    """What ``hardforge query SQL --json`` prints, read in this process: a ``query`` subprocess costs
    a core for seconds, taken from the runs under test (the command itself: tests/test_query.py)."""
    import json

    from warehouse.db import Warehouse
    from warehouse.query import as_json, query_result

    frame, types = query_result(Warehouse(data_dir), sql)
    return json.loads(as_json(frame, types))


def run_cli(data_dir: Path, *args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    """Run the real ``hardforge`` CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        env=cli_env(data_dir, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Make ``xdist_group`` marks take effect: pytest-xdist 3.8 groups a test by writing the group into
    ``item._nodeid``, but pytest 9.2 reads a node's id from ``item._id``, so without this copy every
    group is silently ignored and ``--dist loadgroup`` spreads a group over both workers."""
    # the tests whose processes keep both cores busy (a Ray cluster, a nightly's grading pools) run
    # last on the real-model worker, when the other worker has most likely run out of tests
    items.sort(key=lambda item: item.get_closest_marker("both_cores") is not None)
    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if grouped and grouped != item.nodeid:
            item._id = NodeId.parse(grouped)


@pytest.fixture(autouse=True)
def _both_cores_for_the_tests_that_run_last(request, monkeypatch):
    """The ``both_cores`` tests run last, when the other worker is most likely done: their
    processes may use every core."""
    if request.node.get_closest_marker("both_cores") is not None:
        monkeypatch.setenv("OMP_NUM_THREADS", str(os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _checker_is_chosen_by_each_test(request, monkeypatch):
    """``checks.program_of_thought.model = "auto"`` picks a bundled Qwen coder as the checker; a test
    that scripts its model's outputs would load it. Here ``auto`` finds no bundled checker (so it
    is the policy, whose agreement is not independent) unless the test is marked ``real_checker``;
    tests of an independent checker name one (``scripted_checker`` or a model folder)."""
    if request.node.get_closest_marker("real_checker") is None:
        monkeypatch.setattr("synth.labels.AUTO_CHECKERS", ())


@pytest.fixture
def scripted_checker(monkeypatch):
    """Make the program-of-thought checker an independent scripted engine: ``scripted_checker(script)``
    (like every ScriptedEngine it calls a statement well posed unless the script answers that itself)."""

    def install(script, relation: str = "another family (scripted), other weights"):
        from synth.labels import Checker

        engine = ScriptedEngine(script)
        monkeypatch.setattr("synth.labels.choose_checker", lambda *a, **k: Checker("scripted", relation, True, "x"))
        monkeypatch.setattr("synth.labels.checker_engine", lambda config, service, checker: engine)
        return engine

    return install


@pytest.fixture(scope="session")
def checker_model() -> Path:
    """The bundled Qwen2.5-Coder-0.5B converted once per checkout: the real checker of the tests."""
    from engines.bundled import ensure_bundled_model

    return ensure_bundled_model(ROOT / ".cache" / "models", "bundled:qwen2.5-coder-0.5b")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def warehouse(data_dir: Path):
    from warehouse.db import Warehouse

    wh = Warehouse(data_dir)
    wh.init()
    return wh


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    """The bundled SmolLM2 converted once per checkout (tests share it; conversion takes ~40 s)."""
    from engines.bundled import ensure_bundled_model

    return ensure_bundled_model(ROOT / ".cache" / "models")


@pytest.fixture
def real_config(data_dir: Path, bundled_model: Path):
    """A config on the real bundled model, sized for a 2-core CI machine."""
    from schemas.config import HardforgeConfig

    cfg = HardforgeConfig(data_dir=data_dir)
    cfg.engine.model = str(bundled_model)
    cfg.engine.backend = "transformers"
    cfg.rollouts.n = 4
    cfg.rollouts.k = [1, 2, 4]
    cfg.rollouts.max_tokens = 48
    cfg.rollouts.batch_problems = 2
    # the policy as checker (tests pick no bundled coder): short programs, like the rest of this size
    cfg.checks.program_of_thought.max_tokens = 128
    return cfg


def scripted_answer(script, chat, n):
    """``script(chat, n)``, except that a question whether a statement is well posed is answered yes
    unless the script answers it itself with yes or no."""
    from checks.program_of_thought import POSED

    if POSED.split("{statement}")[1].strip() not in chat[-1]["content"]:
        return script(chat, n)
    try:
        replies = script(chat, n)
    except (AssertionError, KeyError, StopIteration, ValueError, IndexError):
        replies = []
    return replies if replies and replies[0].strip().lower() in ("yes", "no") else ["yes"] * n


class ScriptedEngine:
    """Returns fixed completions: only for tests that need exact model outputs. As a checker it
    calls every statement well posed (program of thought asks that of a label its programs derived)
    unless its script answers that question itself with yes or no."""

    name = "scripted"
    model_path = "scripted"

    def __init__(self, script):
        self.script = script  # callable(chat, n) -> list[str]
        self.calls = []

    def _answer(self, chat, n):
        return scripted_answer(self.script, chat, n)

    def generate(self, prompts, params):
        from schemas.engine import Completion

        self.calls.append((prompts, params))
        return [
            [Completion(text, 10, len(text.split()), "stop") for text in self._answer(chat, params.n)]
            for chat in prompts
        ]

    def count_tokens(self, prompt):
        return sum(len(m["content"].split()) for m in prompt)

    def close(self):
        pass


class ScriptedServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that answers from a script (chat, n) -> texts:
    for entry points that reach the policy only over HTTP (verl's proposer reward), where a test
    needs exact model outputs. Like ScriptedEngine it calls every statement well posed unless its
    script answers that itself."""

    def __init__(self, script, model: str = "scripted"):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.script, self.requests = script, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send({"data": [{"id": model}]})

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(request)
                texts = scripted_answer(outer.script, request["messages"], request.get("n", 1))
                choices = [
                    {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                    for i, t in enumerate(texts)
                ]
                self._send({"choices": choices, "usage": {"prompt_tokens": 10, "completion_tokens": 5 * len(texts)}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
