"""Absolute Zero: the azr verifier against a model gaming it, every path with a scripted engine,
and a run on the real bundled model (the seed triplet is its only input: nothing fabricated)."""

import json

import pytest

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig, SandboxConfig
from synth.azr.method import AzrSynthesizer
from synth.runner import run_method
from tests.conftest import ScriptedEngine
from verifiers import VerifierSet
from verifiers.base import GradeItem
from verifiers.code.azr import AzrVerifier, answer_json

POLICY = "p" * 32


@pytest.fixture(scope="module")
def azr():
    verifier = AzrVerifier(SandboxConfig(workers=2, timeout_s=3.0))
    yield verifier
    verifier.close()


DOUBLE = "def f(x):\n    return x * 2"


def _grade(azr, answer, replies, mode="flexible"):
    return azr.grade([GradeItem(answer, reply, extraction=mode) for reply in replies])


def test_deduction_compares_reprs_without_running_anything(azr):
    answer = answer_json("deduction", output="'hi!'")
    grades = _grade(
        azr, answer, ["'hi!'", '"hi!"', "hi!", "`'hi'` or `'hi!'`", "'hi!' " + "x" * 5000, "__import__('os')"]
    )
    assert [g.correct for g in grades] == [True, True, False, True, False, False]
    assert _grade(azr, answer_json("deduction", output="1"), ["True", "1.0", "1"])[2].correct
    assert [g.correct for g in _grade(azr, answer_json("deduction", output="1"), ["True", "1.0"])] == [False, False]


def test_abduction_runs_the_gold_program_on_the_given_input(azr):
    answer = answer_json("abduction", program=DOUBLE, output="8")
    replies = [
        "f(4)",
        "```input\n4\n```",
        "f(4.0)",  # 8.0 is not 8
        "f(3)",
        "f(0) or 8",
        "<answer>0) or (8</answer>",
        "```input\n__import__('os').system('true')\n```",
        "```input\n*[4]\n```",
        "f(" + "9" * 5000 + ")",
        "no input at all",
    ]
    grades = _grade(azr, answer, replies)
    assert [g.correct for g in grades] == [True, True, False, False, False, False, False, False, False, False]
    assert grades[3].detail == "f(3) gave 6"
    assert grades[-1].detail == "no input given"


def test_induction_grades_on_the_hidden_inputs_only(azr):
    answer = answer_json("induction", hidden=[["5", "10"], ["'ab'", "'abab'"]])
    lookup = "```python\ndef f(x):\n    return {1: 2, 2: 4}[x]\n```"  # memorises the shown pairs
    always = "```python\nclass E:\n    def __eq__(self, o):\n        return True\n    def __repr__(self):\n        return '10'\ndef f(x):\n    return E()\n```"
    rand = "```python\nimport random\ndef f(x):\n    return x * 2 if random.random() < 2 else 0\n```"
    leave = "```python\ndef f(x):\n    raise SystemExit(0)\n```"
    grades = _grade(
        azr,
        answer,
        [
            f"```python\n{DOUBLE}\n```",
            lookup,
            always,
            rand,
            leave,
            "def f(x): return x * 2",
            "```python\ndef g(x):\n    return x\n```",
        ],
    )
    assert [g.correct for g in grades] == [True, False, False, False, False, False, False]
    # its repr says '10', but only plain values cross from the program, rebuilt on the trusted side
    assert grades[2].score == 0.0 and "not plain data" in grades[2].detail
    assert grades[3].detail.startswith("0/2 hidden inputs; banned")


# -- every path with exact outputs ---------------------------------------------------------------

PROPOSALS = {
    "learnable": "```python\ndef f(x):\n    return x * 2\n\nprint(f(21))\n```",
    "learnable again": "```python\ndef f(x):\n    return x * 2\n\nprint(f(21))\n```",  # a duplicate of this batch
    # (the reference's own `return a` would be a copy: the same program up to its names)
    "too easy": "```python\ndef f(x):\n    return abs(x)\n\nprint(f(7))\n```",
    "unsolved": "```python\ndef f(x):\n    return x * 3 + 1\n\nprint(f(5))\n```",
    "unparsable": "I would rather not.",
    "two functions": "```python\ndef g(x):\n    return x\ndef f(x):\n    return g(x)\n\nprint(f(1))\n```",
    "banned": "```python\nimport random\ndef f(x):\n    return random.random() + x\n\nprint(f(1))\n```",
    "nondeterministic": "```python\ndef f(x):\n    return hash('azr' + str(x))\n\nprint(f(1))\n```",
    "timeout": "```python\ndef f(x):\n    while True:\n        x += 1\n\nprint(f(1))\n```",
    "error": "```python\ndef f(x):\n    return x / 0\n\nprint(f(1))\n```",
    "returns None": "```python\ndef f(x):\n    print(x)\n\nprint(f(1))\n```",
    "not literal": "```python\ndef f(x):\n    return object\n\nprint(f(1))\n```",
    "too long": "```python\ndef f(x):\n    return 'x' * x\n\nprint(f(1000))\n```",
    "copy": "```python\ndef f(a):\n    return a\n\nprint(f('Hello world'))\n```",
}
DEDUCTION_SOLVERS = {"f(21)": ["42", "41"] * 4, "f(7)": ["7"] * 8, "f(5)": ["15"] * 8}
PROGRAMS = {"x * 2": lambda x: x * 2, "x * 3 + 1": lambda x: x * 3 + 1}


def _script(chat, n):
    content = chat[0]["content"]
    if content.startswith("Write a short Python function f"):
        return list(PROPOSALS.values())[:n]
    if "What does f(" in content:
        return next(v for k, v in DEDUCTION_SOLVERS.items() if f"What does {k}" in content)[:n]
    if "Find an input" in content:
        return (["f(21)", "f(20)"] * 4)[:n] if "returns 42" in content else ["f(0)"] * n
    if content.startswith("Here is a Python function"):
        calls = "\n".join(f"f({i})" for i in range(1, 11))
        return [
            f"```python\n{calls}\n```\nMessage: doubles its input",
            "```python\nf(1)\nf(2)\n```\nMessage: too few",
            f"```python\n{calls}\nf(None)\n```",
            "```python\n" + "\n".join(f"f({i})" for i in [None, *range(2, 11)]) + "\n```\nMessage: x",
        ][:n]
    if content.startswith("Write a Python function f that gives"):
        right = "```python\ndef f(x):\n    return x * 2\n```"
        return ([right, "```python\ndef f(x):\n    return 0\n```", right, "no code"] * 2)[:n]
    raise AssertionError(content)


def _run(warehouse, cfg, limit):
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(_script), verifiers, cfg.rollouts, POLICY, "run")
        return run_method(AzrSynthesizer(cfg), warehouse, service, limit=limit)


def test_every_path_with_exact_outputs(warehouse):
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.sandbox.workers = 2
    azr = cfg.synth.azr
    azr.tasks, azr.proposals, azr.timeout_s = ["deduction"], len(PROPOSALS), 2.0
    cfg.synth.keep_out_of_band = False  # AZR's own acceptance, 0 < s̄ < 1 (the default keeps a too-easy task)
    report = _run(warehouse, cfg, limit=1)
    assert (report.candidates, report.extractable, report.accepted) == (14, 10, 1)  # the duplicate is never solved
    assert dict(report.reasons) == {
        "duplicate": 1,
        "too easy": 1,
        "unsolved": 1,
        "unparsable": 1,
        "invalid": 5,
        "banned": 1,
        "nondeterministic": 1,
        "output too long": 1,
        "copy": 1,
    }
    attempts = {
        json.loads(a["meta"])["candidate"]: a for a in warehouse.arrow("SELECT * FROM synth_attempts").to_pylist()
    }
    reasons = {name: attempts[i]["reason"] for i, name in enumerate(PROPOSALS)}
    assert reasons["two functions"].startswith("invalid: one function f")
    assert "timeout" in reasons["timeout"] and "ZeroDivisionError" in reasons["error"]
    assert reasons["returns None"] == "invalid: f returns None"
    assert "not plain data" in reasons["not literal"]  # refused where it runs: only plain values come back
    metas = {name: json.loads(attempts[i]["meta"]) for i, name in enumerate(PROPOSALS)}
    assert (metas["learnable"]["s_bar"], metas["learnable"]["r_propose"], metas["learnable"]["reward"]) == (
        0.5,
        0.5,
        0.5,
    )
    assert metas["learnable"]["solver_rewards"] == [1.0, -0.5] * 4
    assert metas["too easy"]["reward"] == metas["unsolved"]["reward"] == -0.5
    assert metas["unparsable"]["reward"] == metas["banned"]["reward"] == -1.0
    (problem,) = warehouse.arrow("SELECT * FROM problems").to_pylist()
    assert (problem["task"], problem["source"], problem["verifier"], problem["domain"]) == (
        "deduction",
        "azr:deduction",
        "azr",
        "code",
    )
    assert json.loads(problem["answer"]) == {"task": "deduction", "output": "42"}
    assert "What does f(21) return?" in problem["statement"]
    assert warehouse.arrow("SELECT n, c FROM difficulty").to_pylist() == [{"n": 8, "c": 4}]
    # every valid task enters the buffer once, learnable or not
    buffer = warehouse.arrow("SELECT task, input, output FROM azr_buffer ORDER BY output").to_pylist()
    assert buffer == [
        {"task": "deduction", "input": "5", "output": "16"},
        {"task": "deduction", "input": "21", "output": "42"},
        {"task": "deduction", "input": "7", "output": "7"},
    ]

    # abduction: the references come from its own buffer, empty so far: the seed triplet
    azr.tasks = ["abduction"]
    report = _run(warehouse, cfg, limit=1)
    assert report.accepted == 1
    prompt = warehouse.scalar(
        "SELECT prompt FROM synth_attempts WHERE json_extract_string(meta, '$.task') = 'abduction' LIMIT 1"
    )
    assert "print(f('Hello world'))" in prompt
    answer = json.loads(warehouse.scalar("SELECT answer FROM problems WHERE task = 'abduction'"))
    assert answer == {"task": "abduction", "program": "def f(x):\n    return x * 2", "output": "42"}

    # the next deduction prompt shows the deduction buffer's entries
    azr.tasks, azr.proposals = ["deduction"], 1
    _run(warehouse, cfg, limit=1)
    prompt = warehouse.scalar("SELECT prompt FROM synth_attempts WHERE meta->>'$.seed_key' = 'deduction#1' LIMIT 1")
    assert "print(f(21))" in prompt and "print(f(5))" in prompt and "Hello world" not in prompt


# -- out of band: only a too-easy task is kept (red team, 2026-12-06) ------------------------------

# an interpreter fact: every sealed worker returns the same value, so the run is deterministic, but
# the shown program does not determine it (the label is the jail's, not the statement's)
INTERPRETER_FACT = "```python\nimport sys\ndef f(x):\n    return x + len(sys.modules)\n\nprint(f(0))\n```"
# an induction message that contradicts the hidden half: solvers follow it and are graded wrong
LYING_HINT = (
    "```python\n" + "\n".join(f"f({i})" for i in range(1, 11)) + "\n```\n"
    "Message: returns its input unchanged for inputs up to 5, and its input plus one above 5"
)


def _attacks(chat, n):
    content = chat[0]["content"]
    if content.startswith("Write a short Python function f"):
        return [INTERPRETER_FACT, PROPOSALS["too easy"]][:n]
    if "What does f(" in content:
        return ["7"] * n if "What does f(7)" in content else ["70"] * n
    if content.startswith("Here is a Python function"):
        return [LYING_HINT] * n
    if content.startswith("Write a Python function f that gives"):
        return ["```python\ndef f(x):\n    return x if x <= 5 else x + 1\n```"] * n
    raise AssertionError(content)


@pytest.mark.parametrize("task", ["deduction", "induction"])
def test_an_unsolved_task_is_never_kept_out_of_band(warehouse, task):
    """An executed label is the jail's answer, not necessarily the statement's: a task no solver
    gets (an interpreter fact; a hint the hidden half contradicts) is ill-posed as often as hard, so
    the default keeps only a too-easy one (every solver right: the statement determines its label)."""
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.sandbox.workers = 2
    cfg.synth.azr.tasks, cfg.synth.azr.proposals, cfg.synth.azr.timeout_s = [task], 2, 2.0
    assert cfg.synth.keep_out_of_band
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(_attacks), verifiers, cfg.rollouts, POLICY, "run")
        run_method(AzrSynthesizer(cfg), warehouse, service, limit=1)
    attempts = warehouse.arrow("SELECT reason, accepted, reward FROM synth_attempts ORDER BY reason").to_pylist()
    kept = warehouse.arrow("SELECT statement FROM problems").column("statement").to_pylist()
    if task == "deduction":
        assert [(a["reason"], a["accepted"]) for a in attempts] == [
            ("out of band: too easy: every solver sample is right (s̄ = 1)", True),
            ("unsolved: no solver sample is right (s̄ = 0)", False),
        ]
        assert len(kept) == 1 and "f(7)" in kept[0]
    else:  # both proposals are the same lie: one is a duplicate of the other
        assert not any(a["accepted"] for a in attempts) and kept == []
        assert any(a["reason"].startswith("unsolved") for a in attempts)


def test_induction_and_a_small_fifo_buffer(warehouse):
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.sandbox.workers = 2
    azr = cfg.synth.azr
    azr.tasks, azr.proposals, azr.timeout_s = ["deduction"], 1, 2.0
    _run(warehouse, cfg, limit=1)  # x * 2 on 21: the one program in the buffers
    azr.tasks, azr.proposals = ["induction"], 4
    report = _run(warehouse, cfg, limit=1)
    assert report.accepted == 1
    assert dict(report.reasons) == {"unparsable": 2, "invalid": 1}
    prompt = warehouse.scalar("SELECT prompt FROM synth_attempts WHERE meta->>'$.task' = 'induction' LIMIT 1")
    assert "return x * 2" in prompt
    problem = warehouse.arrow(
        "SELECT statement, answer, method_meta FROM problems WHERE task = 'induction'"
    ).to_pylist()[0]
    assert "f(1) returns 2" in problem["statement"] and "f(6)" not in problem["statement"]
    assert "Hint: doubles its input" in problem["statement"]
    assert json.loads(problem["answer"])["hidden"] == [[str(i), str(2 * i)] for i in range(6, 11)]
    assert json.loads(problem["method_meta"])["s_bar"] == 0.5
    pairs = json.loads(warehouse.scalar("SELECT io FROM azr_buffer WHERE task = 'induction'"))["pairs"]
    assert len(pairs) == 10
    # a cap of 2 per task keeps the newest entries (FIFO); the induction buffer is untouched
    azr.tasks, azr.buffer_cap = ["deduction"], 2
    _run(warehouse, cfg, limit=1)  # x * 2 on 21 is now a copy of a reference; x on 7, 3x + 1 on 5 are new
    rows = warehouse.arrow("SELECT task, input FROM azr_buffer ORDER BY task, input").to_pylist()
    assert rows == [
        {"task": "deduction", "input": "5"},
        {"task": "deduction", "input": "7"},
        {"task": "induction", "input": None},
    ]


def test_azr_on_the_real_model(real_config, data_dir):
    from engines.bundled import resolve_model
    from engines.hf import TransformersEngine
    from rollouts.policies import resolve_policy
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    warehouse.init()
    policy = resolve_policy(warehouse, real_config)
    real_config.synth.azr.proposals = 4
    engine = TransformersEngine(resolve_model(policy.model_path, real_config.models_dir), batch_size=64)
    with VerifierSet(real_config) as verifiers:
        service = RolloutService(engine, verifiers, real_config.rollouts, policy.policy_id, "real")
        report = run_method(AzrSynthesizer(real_config), warehouse, service, limit=3)
    assert (report.seeds, report.candidates) == (3, 12)
    attempts = warehouse.arrow("SELECT accepted, reason, output, meta FROM synth_attempts").to_pylist()
    assert len(attempts) == 12 and all(a["output"] for a in attempts)
    assert all(a["accepted"] or a["reason"] for a in attempts)
    assert {json.loads(a["meta"])["task"] for a in attempts} == {"deduction", "abduction", "induction"}
    assert all("reward" in json.loads(a["meta"]) for a in attempts)
    print(json.dumps(report.as_dict()))
