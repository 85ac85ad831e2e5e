"""Lean 4 checks: response classification on recorded REPL and Kimina JSON (cross-checked with
lean-interact's own rule), the Kimina backend against a replay server on 127.0.0.1, the retry loop
with compiler and critic feedback, the lean filter, the no-toolchain path, and a run of the
formalizer and critic on the real bundled model."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from filters.lean import LeanFilter, lean_verdict, run_lean_checks
from filters.runner import run_filters
from ingest.service import ingest
from schemas.config import HardforgeConfig, LeanConfig
from tests.conftest import ScriptedEngine
from verifiers.lean.backends import KiminaBackend, NoToolchain, open_backend, toolchain_found
from verifiers.lean.classify import classify_kimina, classify_repl, split_header, statement_code
from verifiers.lean.formalize import extract_lean, formalize, parse_verdict

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "lean" / "responses.json").read_text())
POLICY = "p" * 32


@pytest.mark.parametrize(
    ("name", "status", "compiles"),
    [
        ("sorry", "sorry", True),
        ("sorry_backticks", "sorry", True),
        ("valid", "valid", True),
        ("valid_with_linter_warning", "valid", True),
        ("error", "error", False),
        ("header_error", "error", False),
        ("repl_refused", "crash", None),
    ],
)
def test_repl_classification(name, status, compiles):
    result = classify_repl(RECORDED["repl"][name])
    assert (result.status, result.compiles) == (status, compiles)
    if status == "error":
        assert result.errors and all(":" in e for e in result.errors)


@pytest.mark.parametrize(
    "name", ["sorry", "sorry_backticks", "valid", "valid_with_linter_warning", "error", "header_error"]
)
def test_classification_agrees_with_lean_interact(name):
    """lean-interact's own rule (lean_code_is_valid) on the same response, through its model."""
    from lean_interact.interface import CommandResponse

    response = CommandResponse.model_validate(RECORDED["repl"][name])
    ours = classify_repl(response.model_dump(by_alias=True, exclude_none=True))
    assert ours.compiles is response.lean_code_is_valid(allow_sorry=True)
    assert (ours.status == "valid") is response.lean_code_is_valid(allow_sorry=False)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("sorry", "sorry"),
        ("error", "error"),
        ("valid", "valid"),
        ("timeout", "timeout"),
        ("header_timeout", "timeout"),
        ("no_response", "crash"),
        ("legacy_custom_id", "valid"),
    ],
)
def test_kimina_classification(name, status):
    assert classify_kimina(RECORDED["kimina"][name]).status == status


def test_import_header_and_statement_code():
    assert split_header("import Mathlib\nimport Aesop\n\n-- note\nopen Real\ntheorem t : 1 = 1 := rfl") == (
        "import Mathlib\nimport Aesop",
        "\n-- note\nopen Real\ntheorem t : 1 = 1 := rfl",
    )
    assert split_header("theorem t : True := trivial") == ("", "theorem t : True := trivial")
    code = statement_code("theorem t (n : ℕ) (h : n = 2) : n + 1 = 3 := by\n  simp [h]", "import Mathlib")
    assert code == "import Mathlib\n\ntheorem t (n : ℕ) (h : n = 2) : n + 1 = 3 := by sorry\n"
    assert statement_code("import Mathlib.Tactic\ntheorem t : 1 = 1", "import Mathlib").startswith(
        "import Mathlib.Tactic\n"
    )


@pytest.mark.parametrize(
    ("text", "formal"),
    [
        ("```lean\ntheorem a : 1 = 1 := by sorry\n```", "theorem a : 1 = 1 := by sorry"),
        (
            "```lean4\nlemma b : 2 = 2 := sorry\n```\n```lean\ntheorem c : 3 = 3 := by sorry\n```",
            "theorem c : 3 = 3 := by sorry",
        ),
        ("```\ntheorem d : True := by sorry\n```", "theorem d : True := by sorry"),
        ("theorem e : True := by sorry\n\nThat is all.", "theorem e : True := by sorry"),
        ("```python\nprint(1)\n```", None),
        ("The answer is 5.", None),
    ],
)
def test_extract_lean(text, formal):
    assert extract_lean(text) == formal


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("The goal is fine.\nVerdict: correct", "correct"),
        ("Verdict: **Incorrect**", "incorrect"),
        ("verdict: correct ... Verdict: incorrect", "incorrect"),
        ("Looks good", "unclear"),
    ],
)
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) == verdict


class Replay(BaseHTTPRequestHandler):
    """A Kimina Lean Server stand-in that answers /api/check from the recordings: the code's
    marker comment names the recording to return."""

    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Replay.seen.append(body)
        if self.path != "/api/check":
            self.send_error(404)
            return
        results = []
        for snippet in body["snippets"]:
            name = next(
                (
                    n
                    for n in RECORDED["kimina"]
                    if f"-- {n}\n" in snippet["code"] or snippet["code"].rstrip().endswith(f"-- {n}")
                ),
                None,
            )
            if name is None:
                name = "error" if "Prime7" in snippet["code"] else "sorry"
            results.append({**RECORDED["kimina"][name], "id": snippet["id"]})
        data = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def kimina():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Replay.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_kimina_backend_over_http(kimina):
    backend = open_backend(LeanConfig(kimina_url=kimina, timeout_s=5))
    assert isinstance(backend, KiminaBackend) and backend.toolchain() == f"kimina {kimina}"
    codes = [
        "theorem a : 1 = 1 := by sorry",
        "theorem b : Prime7 := by sorry",
        "theorem c : True := trivial\n-- timeout",
    ]
    assert [r.status for r in backend.check(codes)] == ["sorry", "error", "timeout"]
    assert Replay.seen[-1]["snippets"][1] == {"id": "1", "code": codes[1]} and Replay.seen[-1]["timeout"] == 5
    down = KiminaBackend(LeanConfig(kimina_url="http://127.0.0.1:9", timeout_s=1))
    (result,) = down.check(["theorem a : True := trivial"])
    assert result.status == "crash" and result.compiles is None and "did not answer" in result.detail


def test_no_toolchain_is_one_sentence_and_compiles_nothing(monkeypatch):
    monkeypatch.setattr("verifiers.lean.backends.find_lake", lambda: None)
    backend = open_backend(LeanConfig())
    assert isinstance(backend, NoToolchain) and not toolchain_found(LeanConfig())
    (result,) = backend.check(["theorem a : True := trivial"])
    assert (result.status, result.compiles) == ("no toolchain", None)
    assert result.detail.startswith("no Lean 4 toolchain: install elan")
    assert (
        open_backend(LeanConfig(backend="kimina")).reason == "lean.backend is 'kimina' but lean.kimina_url is not set"
    )


BAD = "```lean\ntheorem s : Prime7 12 := by sorry\n```"
GOAL_WRONG = "```lean\ntheorem s : (12 : ℕ) + 30 - 7 = 36 := by sorry\n```"
RIGHT = "```lean\ntheorem s : (12 : ℕ) + 30 - 7 = 35 := by sorry\n```"


def formalizer(chat, n):
    content = chat[0]["content"]
    if content.startswith("Check whether this Lean 4 statement"):
        return [
            "The goal states 36 but 12 + 30 - 7 is 35.\nVerdict: incorrect"
            if "= 36" in content
            else "Faithful.\nVerdict: correct"
        ]
    if "Problem: What is 12 + 30 - 7?" in content:
        if "judged it incorrect" in content:
            return [RIGHT]
        if "does not compile" in content and "unknown identifier" not in content:
            return [GOAL_WRONG]
        return [BAD]
    return ["I cannot write Lean."]


def test_the_retry_loop_on_recorded_answers(kimina):
    config = LeanConfig(kimina_url=kimina, max_attempts=3)
    first, never = formalize(
        ["What is 12 + 30 - 7?", "Prove that 2 is prime."], ScriptedEngine(formalizer), KiminaBackend(config), config
    )
    assert [h["status"] for h in first.history] == ["error", "sorry", "sorry"]
    assert [h.get("verdict") for h in first.history] == [None, "incorrect", "correct"]
    assert first.done and first.verdict == "correct" and first.result.compiles and first.attempts == 3
    assert first.formal == "theorem s : (12 : ℕ) + 30 - 7 = 35 := by sorry"
    sent = [s["code"] for body in Replay.seen for s in body["snippets"]]
    assert sent[0].startswith("import Mathlib\n\ntheorem s : Prime7 12 := by sorry")
    assert (never.attempts, never.formal, never.result, never.done) == (3, "", None, False)


def test_lean_checks_rows_and_the_filter(kimina, warehouse, tmp_path):
    path = tmp_path / "two.jsonl"
    path.write_text(
        json.dumps({"statement": "What is 12 + 30 - 7?", "answer": "35"})
        + "\n"
        + json.dumps({"statement": "Prove that 2 is prime, then say yes.", "answer": "yes"})
        + "\n"
        + json.dumps({"statement": "What is six plus one, in words?", "answer": "seven"})
        + "\n"
    )
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.lean.kimina_url, cfg.lean.max_attempts, cfg.lean.filter = kimina, 3, "drop"
    ingest(warehouse, str(path), cfg)
    problems = warehouse.arrow(
        "SELECT problem_id, statement FROM problems WHERE statement NOT LIKE '%in words%' ORDER BY statement"
    ).to_pylist()
    report = run_lean_checks(warehouse, ScriptedEngine(formalizer), cfg, problems, policy_id=POLICY, run_id="r1")
    assert (report.checked, report.compiled, report.not_compiled, report.no_compiler) == (2, 1, 0, 1)
    rows = {
        r["statement"]: r
        for r in warehouse.arrow(
            "SELECT p.statement, l.* FROM lean_checks l JOIN problems p USING (problem_id)"
        ).to_pylist()
    }
    checked = rows["What is 12 + 30 - 7?"]
    assert (checked["compiles"], checked["critic_verdict"], checked["status"], checked["attempts"]) == (
        True,
        "correct",
        "sorry",
        3,
    )
    assert checked["toolchain"] == f"kimina {kimina}" and len(json.loads(checked["messages"])["attempts"]) == 3
    assert rows["Prove that 2 is prime, then say yes."]["status"] == "no formalization"
    again = run_lean_checks(warehouse, ScriptedEngine(formalizer), cfg, problems, policy_id=POLICY)
    assert (again.checked, again.already_checked) == (0, 2)  # a rerun adds nothing

    assert LeanFilter(cfg).enabled()
    summary = run_filters(warehouse, cfg)
    verdicts = {
        r["statement"]: (r["keep"], r["reason"])
        for r in warehouse.arrow(
            "SELECT p.statement, f.keep, f.reason FROM filter_verdicts f JOIN problems p USING (problem_id) WHERE f.filter = 'lean'"
        ).to_pylist()
    }
    assert verdicts["What is 12 + 30 - 7?"] == (True, None)
    assert verdicts["Prove that 2 is prime, then say yes."] == (
        False,
        "Lean: the critic judged the formalization not at all",
    )
    assert verdicts["What is six plus one, in words?"] == (True, None)  # not checked: kept
    assert summary.dropped.get("lean") == 1
    cfg.lean.filter = "flag"  # a changed mode re-evaluates: flagged, kept
    run_filters(warehouse, cfg)
    flagged = warehouse.scalar("SELECT reason FROM filter_verdicts WHERE filter = 'lean' AND reason LIKE 'flagged%'")
    assert flagged == "flagged: Lean: the critic judged the formalization not at all"


@pytest.mark.parametrize(
    ("check", "flag", "keep", "reason"),
    [
        (None, False, True, None),
        (
            {"compiles": False, "critic_verdict": None, "status": "error"},
            False,
            False,
            "Lean: the formal statement does not compile (error)",
        ),
        ({"compiles": None, "critic_verdict": "correct", "status": "no toolchain"}, False, True, None),
        (
            {"compiles": True, "critic_verdict": "incorrect", "status": "sorry"},
            True,
            True,
            "flagged: Lean: the critic judged the formalization incorrect",
        ),
    ],
)
def test_lean_verdict(check, flag, keep, reason):
    verdict = lean_verdict(check, flag)
    assert (verdict.keep, verdict.reason) == (keep, reason)


def test_the_filter_is_off_by_default_without_a_toolchain(monkeypatch, data_dir):
    monkeypatch.setattr("verifiers.lean.backends.find_lake", lambda: None)
    assert not LeanFilter(HardforgeConfig(data_dir=data_dir)).enabled()


def test_lean_on_the_real_model(real_config, data_dir, monkeypatch):
    """Autoformalization and critic by the bundled model on CHAMP and gym problems; no toolchain."""
    from engines.bundled import resolve_model
    from engines.hf import TransformersEngine
    from rollouts.policies import resolve_policy
    from rollouts.selection import select_problems
    from warehouse.db import Warehouse

    monkeypatch.setattr("verifiers.lean.backends.find_lake", lambda: None)
    warehouse = Warehouse(data_dir)
    warehouse.init()
    ingest(warehouse, "champ", real_config)
    ingest(warehouse, "gym:chain_sum", real_config, gym_options={"size": 2, "levels": "0"})
    policy = resolve_policy(warehouse, real_config)
    # one attempt of 128 tokens per problem: the real model's path, not its quality (CI's time)
    real_config.lean.max_attempts, real_config.lean.max_tokens, real_config.lean.critic_max_tokens = 1, 128, 64
    problems = select_problems(warehouse, "source = 'champ'", 1) + select_problems(warehouse, "source LIKE 'gym:%'", 1)
    engine = TransformersEngine(resolve_model(policy.model_path, real_config.models_dir), batch_size=64)
    report = run_lean_checks(warehouse, engine, real_config, problems, policy_id=policy.policy_id)
    rows = warehouse.arrow("SELECT status, compiles, critic_verdict, toolchain, attempts FROM lean_checks").to_pylist()
    assert len(rows) == 2 and report.note.startswith("no Lean 4 toolchain")
    assert all(r["compiles"] is None and r["toolchain"] == "none" for r in rows)
    assert {r["status"] for r in rows} <= {"no toolchain", "no formalization"}
    assert all(r["critic_verdict"] in (None, "correct", "incorrect", "unclear") for r in rows)
    print(json.dumps(report.as_dict()))
