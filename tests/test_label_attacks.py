"""Attacks on the label checks and the proposer rewards (issue 31), as a proposer would try them,
through both proposer reward entry points: TRL's (``trainer.rewards.ProposerReward``, what the
bundled trainer calls) and verl's (``trainer.verl_proposer_reward``, which reaches the policy over
an OpenAI-compatible server, here one on 127.0.0.1 answering from a script). Each attack was paid,
or graded right, on the code before this issue; the controls (honest proposals) are still paid.
The solvers and checkers are scripted (exact outputs); the sandbox, the checks and the judge are real."""

from __future__ import annotations

import json
import time

import pytest

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from synth import rewards as ladder
from synth.azr.method import AzrSynthesizer
from synth.gates import gate
from synth.proposer import ProposerJudge, proposer_rows
from synth.sqlm.method import SqlmSynthesizer
from tests.conftest import ScriptedEngine, ScriptedServer
from trainer.rewards import ProposerReward
from verifiers import VerifierSet

POLICY = "p" * 32
ROUTES = ["trl", "verl"]


def _program(value: str) -> str:
    # a program that computes (``return 84`` or ``value = 84; return value`` states a value and is
    # no program of thought)
    return f"```python\ndef solution():\n    value = {value}\n    return value * 1\n```"


def script_for(proposals: list[str], solvers: dict[str, list[str]], programs: dict[str, str] | None = None):
    """The model: ``proposals`` for a proposer prompt, ``solvers[key]`` for a solver prompt whose
    statement contains ``key``, programs returning ``programs[key]`` for a checker prompt."""

    def script(chat, n):
        content = chat[-1]["content"]
        if "solution()" in content:
            value = next((v for k, v in (programs or {}).items() if k in content), "0")
            return [_program(value)] * n
        if "arithmetic problem" in content or content.startswith("Write a short Python function f"):
            return (proposals * n)[:n]
        for key, answers in sorted(solvers.items(), key=lambda kv: -len(kv[0])):
            if key in content:
                return (answers * n)[:n]
        return ["I do not know."] * n

    return script


def rewards(route, tmp_path, monkeypatch, method_cls, proposals, solvers, programs=None, independent=False):
    """The proposer rewards of ``proposals`` (siblings of one prompt) through ``route``; the
    program-of-thought checker's programs return ``programs[key]``, and it is the policy itself
    unless ``independent`` (then a model of its own, as ``checks.program_of_thought`` names one)."""
    from warehouse.db import Warehouse

    script = script_for(proposals, solvers, programs)
    config = HardforgeConfig(data_dir=tmp_path / "data")
    config.sandbox.workers = 2
    warehouse = Warehouse(tmp_path / "w")
    warehouse.init()
    if route == "trl":
        import synth.labels

        if independent:
            other = ScriptedEngine(script)
            monkeypatch.setattr(
                synth.labels, "choose_checker", lambda *a: synth.labels.Checker("scripted", "another model", True, "x")
            )
            monkeypatch.setattr(synth.labels, "checker_engine", lambda cfg, service, checker: other)
        verifiers = VerifierSet(config)
        try:
            service = RolloutService(ScriptedEngine(script), verifiers, config.rollouts, POLICY, "run")
            method = method_cls(config)
            (row,) = proposer_rows(method, warehouse, service, 1)
            reward = ProposerReward(ProposerJudge({method.name: method}, service))
            k = len(proposals)
            return reward(
                prompts=[row["prompt"]] * k,
                completions=proposals,
                role=["proposer"] * k,
                method=[method.name] * k,
                seed=[row["seed"]] * k,
                group=[row["group"]] * k,
            )
        finally:
            verifiers.close()
    import trainer.verl_proposer_reward as verl

    server = ScriptedServer(script)
    env = {
        "HARDFORGE_DATA_DIR": str(tmp_path / "data"),
        "HARDFORGE_ENGINE__URLS": json.dumps([server.url]),
        "HARDFORGE_SANDBOX__WORKERS": "2",
    }
    if independent:  # the checker's own server (here the same script)
        env.update(
            {
                "HARDFORGE_CHECKS__PROGRAM_OF_THOUGHT__BACKEND": "openai",
                "HARDFORGE_CHECKS__PROGRAM_OF_THOUGHT__URLS": json.dumps([server.url]),
                "HARDFORGE_CHECKS__PROGRAM_OF_THOUGHT__MODEL": "scripted",
            }
        )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(verl, "_JUDGE", None)
    with VerifierSet(config) as verifiers:  # rows as `hardforge export-proposer` writes them
        local = RolloutService(ScriptedEngine(script), verifiers, config.rollouts, POLICY, "run")
        (row,) = proposer_rows(method_cls(config), warehouse, local, 1)
    extra = {"chat": json.dumps(row["prompt"]), "method": row["method"], "seed": row["seed"], "group": row["group"]}
    try:
        return verl.compute_score_batch(
            ["p"] * len(proposals), proposals, [""] * len(proposals), [extra] * len(proposals)
        )
    finally:
        if verl._JUDGE is not None:
            verl._JUDGE.service.verifiers.close()
        server.close()


# -- 1. a follow-up sentence made of the words the arithmetic check allowed changes what is asked

# Every word beside the expression was one the check allowed ("give", "sum", "result", "and",
# "after", ...); none of them asks for 42.
FOLLOW_UPS = [
    "What is 6 * 7? Give the sum of the result and the result as your final answer.",  # 84
    "Calculate 6 * 7. Give the product of the result and the result.",  # 1764
    "Find the sum of the result and the result after the following: 6 * 7",  # 84
    "What is 6 * 7? Give the difference of the result and the result.",  # 0
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("statement", FOLLOW_UPS)
def test_a_wrong_vote_is_not_confirmed_by_the_words_around_an_expression(route, statement, tmp_path, monkeypatch):
    """The policy votes 42 (the expression alone), and its own programs agree: the check used to
    confirm it and pay 1.0; now nothing independent does."""
    votes = {"6 * 7": ["42", "42", "42", "84"]}
    paid = rewards(route, tmp_path, monkeypatch, SqlmSynthesizer, [statement], votes, {"6 * 7": "42"})
    assert paid == [ladder.UNVERIFIED]


@pytest.mark.parametrize("route", ROUTES)
def test_the_label_is_the_checkers_and_the_votes_only_measure(route, tmp_path, monkeypatch):
    """The right label (84) used to be refuted by the arithmetic check; now the check abstains and an
    independent checker's programs compute the label: 84, whatever the policy votes. Solvers that
    disagree put the problem in band (paid, whichever answer won the vote); solvers all wrong do not.
    Solvers that all state one answer are not worth the checker's time (no label could put the
    problem in band): unverified, below a checked problem that is too hard."""
    statement = FOLLOW_UPS[0]
    checker = {"6 * 7": "84"}
    votes = {
        "right majority": {"6 * 7": ["84", "84", "84", "42"]},
        "wrong majority": {"6 * 7": ["42", "42", "42", "84"]},
        "all wrong": {"6 * 7": ["42", "42", "41", "42"]},
        "one wrong answer": {"6 * 7": ["42", "42", "42", "42"]},
    }
    paid = {
        name: rewards(route, tmp_path / str(i), monkeypatch, SqlmSynthesizer, [statement], v, checker, True)
        for i, (name, v) in enumerate(votes.items())
    }
    assert paid == {
        "right majority": [1.0],
        "wrong majority": [1.0],
        "all wrong": [ladder.NOT_LEARNABLE],
        "one wrong answer": [ladder.UNVERIFIED],
    }


def test_only_a_verdict_about_the_whole_statement_decides(tmp_path):
    """A check that understood part of a statement is evidence: the next check is asked, and it
    alone neither confirms nor refutes."""
    from checks import CheckContext, LabelItem, label_provenance, run_checks

    config = HardforgeConfig(data_dir=tmp_path)
    engine = ScriptedEngine(lambda chat, n: [_program("84")] * n)
    context = CheckContext(config, sandbox=lambda: pytest.fail("no program runs"), checker=lambda: engine)
    context.independence = lambda: (False, "the policy")
    (verdicts,) = run_checks(context, "math", [LabelItem(FOLLOW_UPS[0], "42")], names=["arithmetic"])
    assert [(v.outcome, v.scope) for v in verdicts] == [("agree", "part")]
    assert label_provenance("vote", verdicts) == ("vote", None)
    (verdicts,) = run_checks(context, "math", [LabelItem(FOLLOW_UPS[0], "84")], names=["arithmetic"])
    assert [(v.outcome, v.scope) for v in verdicts] == [("disagree", "part")]
    assert label_provenance("vote", verdicts) == ("vote", None)  # not rejected on part of the statement


def test_an_svs_variant_is_not_upgraded_by_part_of_its_statement(tmp_path, scripted_checker):
    """A variant that keeps its parent's 42 but asks for 84: the arithmetic check understood only
    part of it, so it does not upgrade the label (it once did, to checked); with the policy as the
    checker the label stays inherited, and an independent checker's programs (84) reject it."""
    from synth.base import Candidate, Decision, Seed
    from synth.svs.method import SvsSynthesizer

    config = HardforgeConfig(data_dir=tmp_path)
    seed = Seed("r", "p", {"statement": "What is 40 + 2?", "answer": "42"})
    outcomes = []
    for checker in ("policy", "independent"):
        if checker == "independent":
            scripted_checker(lambda chat, n: [_program("84")] * n)
        candidate = Candidate(seed, 0, "", "", {"domain": "math", "statement": FOLLOW_UPS[0], "answer": "42"})
        decision = Decision(
            True, None, {"reward": 1.0}, provenance="inherited", checks={"base": "inherited", "checks": []}
        )
        policy = ScriptedEngine(lambda chat, n: [_program("42")] * n)
        with VerifierSet(config) as verifiers:
            SvsSynthesizer(config)._check_labels(
                RolloutService(policy, verifiers, config.rollouts, POLICY, "run"), [candidate], [decision]
            )
        outcomes.append((decision.accepted, decision.provenance, (decision.reason or "").split(":")[0]))
    assert outcomes == [(True, "inherited", ""), (False, "inherited", "label check failed")]


# -- 2. the same expression respelled is the same problem


@pytest.mark.parametrize("route", ROUTES)
def test_a_respelled_expression_is_paid_once(route, tmp_path, monkeypatch):
    respelled = [
        "What is (12 + 30)?",
        "What is +12 + 30?",
        "What is 12 + (+30)?",
        "What is 12.0 + 30?",
        "What is 30 + 12?",
    ]
    proposals = ["What is 12 + 30?", *respelled, "What is 12 × 30?"]
    solvers = {
        "12 + 30": ["42", "42", "41", "42"],
        "30 + 12": ["42", "42", "41", "42"],
        "12 × 30": ["360", "360", "36", "360"],
    }
    for spelling in ("+12 + 30", "12 + (+30)", "12.0 + 30", "(12 + 30)"):
        solvers[spelling] = ["42", "42", "41", "42"]
    paid = rewards(route, tmp_path, monkeypatch, SqlmSynthesizer, proposals, solvers)
    assert paid == [1.0] + [ladder.REJECTED] * len(respelled) + [1.0]  # a new expression is paid


def test_a_respelled_expression_is_stored_once_by_the_nightly(warehouse):
    """Two nights' batches propose the same expression respelled: one problem is stored, the
    second proposal is a duplicate before any solver is asked."""
    from synth.runner import run_method

    config = HardforgeConfig(data_dir=warehouse.data_dir)
    config.synth.sqlm.topics, config.synth.sqlm.proposals, config.synth.sqlm.batch_seeds = ["arithmetic"], 1, 1
    spellings = iter(["What is 12 + 30?", "What is ((12)) + +30.0?"])
    engine = ScriptedEngine(
        lambda chat, n: (
            [next(spellings)] if "arithmetic problem" in chat[-1]["content"] else ["42", "42", "41", "42"][:n]
        )
    )
    with VerifierSet(config) as verifiers:
        service = RolloutService(engine, verifiers, config.rollouts, POLICY, "run")
        first = run_method(SqlmSynthesizer(config), warehouse, service, limit=1)
        second = run_method(SqlmSynthesizer(config), warehouse, service, limit=1)
    assert (first.accepted, second.accepted, dict(second.reasons)) == (1, 0, {"duplicate": 1})
    assert warehouse.scalar("SELECT count(*) FROM problems WHERE source = 'sqlm'") == 1


# -- 3. a statement that gives its own answer, wherever it stands

STATED = [
    "If 6 * 7 = 42, what is 6 * 7?",
    "Given that 12 + 30 = 42, what is 12 + 30?",
    "What is 6 * 7, which equals 42?",
    "Compute 6 * 7 (which is 42).",
    "6 * 7 equals 42; what is 6 * 7?",
    "What is 6 \\times 7 = 42?",
    "What is 12 + 30, i.e. the total is 42?",
]


@pytest.mark.parametrize("statement", STATED)
def test_a_statement_that_gives_its_answer_is_gated(statement):
    found = gate(statement)
    assert found is not None and "states its own answer" in found, found


@pytest.mark.parametrize(
    "statement", ["If 2x + 3 = 11, what is x?", "Solve x + 2 * 3 = 11 for x.", "What is 9 - 4 = ?"]
)
def test_an_equation_with_an_unknown_is_not_gated(statement):
    assert gate(statement) is None


@pytest.mark.parametrize("route", ROUTES)
def test_a_gated_statement_is_not_paid(route, tmp_path, monkeypatch):
    """Even with an independent checker that agrees (the answer is given away in the question)."""
    votes, programs = {"6 * 7": ["42", "42", "41", "42"]}, {"6 * 7": "42"}
    paid = rewards(route, tmp_path, monkeypatch, SqlmSynthesizer, [STATED[0]], votes, programs, True)
    assert paid == [ladder.REJECTED]


# -- 4. Absolute Zero: a program whose value a clock, entropy or the environment decides

CLOCKED = {
    "clock, module by name": "def f(a):\n    m = __import__('ti' + 'me')\n    return a + int(m.time()) // 10**7",
    "coarse clock": "def f(a):\n    m = __import__('ti' + 'me')\n    return a + int(m.clock_gettime(5)) // 10**7",
    "date": "import importlib\ndef f(a):\n    return a + importlib.import_module('date' + 'time').date.today().year % 2",
    "file times": "def f(a):\n    import os\n    return a + int(os.stat('.').st_mtime) // 10**7",
    "process times": "def f(a):\n    import os\n    return a + int(os.times().elapsed) // 10**7",
    "uuid1": "def f(a):\n    import uuid\n    return a + uuid.uuid1().time // 10**17",
    "entropy": "def f(a):\n    return a + __import__('os').urandom(1)[0] // 128",
    "random by name": "def f(a):\n    return a + __import__('ran' + 'dom').randint(0, 1)",
    "pid": "def f(a):\n    import os\n    return a + os.getpid() % 2",
    "environment": "def f(a):\n    import os\n    return a + len(getattr(os, 'envi' + 'ron'))",
    "hash seed": "def f(a):\n    return a + hash('azr') % 1000003",
    "address": "def f(a):\n    return a + id(object()) % 1000003",
}


def _today(name: str, a: int = 3) -> str:
    """What the program returned when the test ran (the learnable answer the old check stored)."""
    import os
    import uuid

    values = {
        "clock, module by name": a + int(time.time()) // 10**7,
        "coarse clock": a + int(time.clock_gettime(5)) // 10**7,
        "date": a + __import__("datetime").date.today().year % 2,
        "file times": a + int(time.time()) // 10**7,
        "process times": a + int(os.times().elapsed) // 10**7,
        "uuid1": a + uuid.uuid1().time // 10**17,
    }
    return str(values.get(name, a))


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", sorted(CLOCKED))
def test_a_program_that_reads_a_clock_entropy_or_its_environment_is_invalid(route, name, tmp_path, monkeypatch):
    """Half the solvers state what the program returned moments ago: learnable (reward 0.5) for the
    old two runs moments apart; now the sealed runs refuse it: an invalid task."""
    proposal = f"```python\n{CLOCKED[name]}\n\nprint(f(3))\n```"
    solvers = {"What does f(3)": [_today(name), "0"]}
    paid = rewards(route, tmp_path, monkeypatch, AzrSynthesizer, [proposal], solvers)
    assert paid == [ladder.REJECTED]


@pytest.mark.parametrize("route", ROUTES)
def test_honest_programs_are_learnable(route, tmp_path, monkeypatch):
    honest = [
        "def f(a):\n    return sorted(set(a))[::-1]",
        "import collections, fractions, heapq\ndef f(a):\n    c = collections.Counter(a)\n"
        "    return (c.most_common(1)[0][0], str(fractions.Fraction(len(a), 6)), heapq.nsmallest(2, a))",
    ]
    proposals = [f"```python\n{p}\n\nprint(f([3, 1, 2, 3]))\n```" for p in honest]
    solvers = {"What does f([3, 1, 2, 3])": ["[3, 2, 1]", "(3, '2/3', [1, 2])", "0", "1"]}
    paid = rewards(route, tmp_path, monkeypatch, AzrSynthesizer, proposals, solvers)
    assert paid == [0.75, 0.75]  # each solved by 2 of 8: learnability 1 - 1/4


COPIES = [
    "def f(a):\n    # a new function\n    return a",
    "def f(x):\n    return x",
    'def f(a):\n    """Return what it is given."""\n    return a',
]


@pytest.mark.parametrize("route", ROUTES)
def test_the_prompts_reference_respelled_is_a_copy(route, tmp_path, monkeypatch):
    """The first deduction prompt shows AZR's seed `def f(a): return a`; a comment, a docstring or
    another argument name does not make it new (it used to be paid)."""
    proposals = [f"```python\n{p}\n\nprint(f(5))\n```" for p in COPIES]
    paid = rewards(route, tmp_path, monkeypatch, AzrSynthesizer, proposals, {"What does f(5)": ["5", "4"]})
    assert paid == [ladder.REJECTED] * len(COPIES)  # a copy: rejected, as a gated proposal is


def test_sealed_calls_see_no_clock_here():
    """On this machine the sealed workers' clock entry points are system calls (the precondition
    of the attacks above failing for the right reason)."""
    from verifiers.code.sandbox import CodeSandbox

    with CodeSandbox(workers=1) as box:
        assert box.clock_sealed, [w.clock_note for w in box.sealed_workers()]
        (clock,) = box.run_calls(["def f(a):\n    return __import__('ti' + 'me').time()"], ["0"], banned=())
        (honest,) = box.run_calls(["def f(a):\n    return {3, 1, 2}"], ["0"], banned=())
    assert clock.status == "crash" and "clock" in clock.detail
    assert (honest.status, honest.value) == ("passed", "{1, 2, 3}")


# -- 5. what the independent red team found (issue 31), kept as regressions

FRAME_WALK = """
def _outer(key):
    try:
        raise ValueError
    except ValueError as e:
        frame = e.__traceback__.tb_frame
    while frame is not None:
        if key in frame.f_locals:
            return frame.f_locals[key]
        frame = frame.f_back
DEADLINE = _outer("deadline")
def f(a):
    return int(DEADLINE) // 100 + a
"""
COUNTER = """
import sys
def _request():
    frame = sys._getframe(1)
    while frame is not None and "request" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals["request"]["workdir"]
WORKDIR = _request()
def f(a):
    return WORKDIR
"""
SEALED_LEAKS = {
    "the zygote's deadline through a traceback's frames": FRAME_WALK,
    "the request counter through sys._getframe": COUNTER,
    "a generator's frame": "G = (x for x in [1])\nF = G.gi_frame.f_back\ndef f(a):\n    return str(F)",
    "the kernel's version": "import os\nU = os.uname()\ndef f(a):\n    return U.release",
    "the CPUs": "import os\ndef f(a):\n    return sorted(os.sched_getaffinity(0))",
    "the zygote's heap": "import sys\nB = sys.getallocatedblocks()\ndef f(a):\n    return B",
}


def test_a_sealed_call_sees_no_frame_history_or_machine_of_the_harness():
    """Each was 'passed' with a value that changed between requests, or with the machine's."""
    from verifiers.code.sandbox import CodeSandbox

    with CodeSandbox(workers=1) as box:
        results = box.run_calls(list(SEALED_LEAKS.values()), ["3"] * len(SEALED_LEAKS), banned=())
        counts = [box.run_calls(["import gc\nC = gc.get_count()\ndef f(a):\n    return C"], ["0"])[0] for _ in range(2)]
    for name, result in zip(SEALED_LEAKS, results, strict=True):
        assert not result.passed, (name, result)
    # the collector's counts are the same at every request: collected before the program runs
    assert [c.status for c in counts] == ["passed", "passed"] and counts[0].value == counts[1].value


@pytest.mark.parametrize(
    ("statement", "label"),
    [
        ("What is the sum of 1,234 and 2?", "237"),  # a thousands separator read as a list
        ("What is the sum of 1,234 and 2?", "1236"),
        ("What is the product of 1,5 and 2?", "10"),
        ("Compute 2 + 3!", "5"),  # a factorial read as punctuation
        ("What is 5 - 3!", "2"),
        ("What is 0x10 + 1?", "1"),  # a base prefix read as a multiplication
    ],
)
def test_notation_the_check_does_not_read_decides_nothing(statement, label):
    from checks.arithmetic import ArithmeticCheck
    from checks.base import LabelItem

    (verdict,) = ArithmeticCheck().check([LabelItem(statement, label)])
    assert not verdict.decides, verdict


GIVEN_AWAY = [
    "Note that 23 x 48 = 1104. What is 23 x 48?",
    "Given 23 + 48 - 9 == 62, what is 23 + 48 - 9?",
    "Given 23 + 48 - 9 = +62, what is 23 + 48 - 9?",
    "Given 23 + 48 - 9 = (62), what is 23 + 48 - 9?",
    "Given that 23 + 48 - 9 is sixty-two, what is 23 + 48 - 9?",
    "Given that 23 plus 48 minus 9 is 62, what is 23 plus 48 minus 9?",
    "23 + 48 - 9 → 62. What is 23 + 48 - 9?",
    "23 + 48 - 9 ＝ 62. What is 23 + 48 - 9?",
    "23 + 48 - 9 := 62. What is 23 + 48 - 9?",
    "e.g.23 + 48 - 9 = 62. What is 23 + 48 - 9?",
    "Since [23 + 48 - 9] = 62, what is 23 + 48 - 9?",
    "Note \\frac{1}{2} + \\frac{1}{3} = 5/6. What is \\frac{1}{2} + \\frac{1}{3}?",
    "The answer is: 62. What is 23 + 48 - 9?",
    "The answer would be 62. What is 23 + 48 - 9?",
    "Its value is 62. What is 23 + 48 - 9?",
    "Total = 62. What is 23 + 48 - 9?",
    "Hint: 62. What is 23 + 48 - 9?",
    "Hint: 23 + 48 - 9 ≈ 62. What is 23 + 48 - 9?",
    "Compute 23 + 48 - 9 (expected output 62).",
    "What is 23 + 48 - 9, i.e. 62?",
    "Find 7 * 8; that's 56.",
    "If x = 62 = 23 + 48 - 9, what is x?",
    "Let y = 23 + 48 - 9 (so y = 62). What is y?",
]


@pytest.mark.parametrize("statement", GIVEN_AWAY)
def test_an_answer_given_away_in_any_phrasing_is_gated(statement):
    found = gate(statement)
    assert found is not None and "states its own answer" in found, found


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Let a = 2 and A = 5. Find a*A - a.", "Let A = 2 and a = 5. Find a*A - a."),  # two variables
        ("Find the mean of 1,2,3.", "Find the mean of 12,3."),
        ("How many digits does 10! have?", "How many digits does 10 have?"),
    ],
)
def test_different_problems_keep_different_keys(a, b):
    from synth.base import statement_key

    assert statement_key("math", a) != statement_key("math", b)


def test_negative_zero_is_zero():
    from synth.base import statement_key

    assert statement_key("math", "What is 5 + -0?") == statement_key("math", "What is 5 + 0?")


# -- 6. what the review of the whole change found

TRACED = """
import sys
FRAMES = []
sys.settrace(lambda frame, event, arg: FRAMES.append(frame))
def f(a):
    return a
f(0)
sys.settrace(None)
def f(a):
    frame = FRAMES[0]
    while frame is not None and "deadline" not in frame.f_locals:
        frame = frame.f_back
    return int(frame.f_locals["deadline"]) // 100 if frame else a
"""


def test_a_sealed_call_cannot_trace_its_way_out_or_read_the_collectors_history():
    from verifiers.code.sandbox import CodeSandbox

    stats = "import gc\ndef f(a):\n    return gc.get_stats()[0]['collections'] + a"
    with CodeSandbox(workers=1) as box:
        traced, collected = box.run_calls([TRACED, stats], ["3", "3"], banned=())
    assert not traced.passed and "settrace" in (traced.detail or ""), traced
    assert not collected.passed, collected  # each sealed worker's collector has its own history


def test_nested_functions_keep_their_own_names_in_a_programs_form():
    from synth.azr.algorithm import program_form

    a = "def f(a):\n    def g(b):\n        return a + b\n    return g(1)"
    b = "def f(a):\n    def g(b):\n        return b + b\n    return g(1)"
    assert program_form(a) != program_form(b)


@pytest.mark.parametrize(
    "statement",
    [
        "Tom ate 1/2 of a pizza and Ann ate 1/2 of a cake. What fraction did they eat in all?",
        "On 10/5, Sam had 2 apples and got 3 more. How many apples does Sam have?",
    ],
)
def test_a_number_written_as_a_fraction_is_not_a_worked_result(statement):
    assert gate(statement) is None


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("x = 5", (True, "checked", "")),  # spelled otherwise: the math verifier compares
        ("5 cm", (True, "checked", "")),
        ("6", (False, "inherited", "label check failed")),
    ],
)
def test_an_svs_variant_is_compared_with_its_seeds_answer_as_math(answer, outcome, tmp_path, scripted_checker):
    """The checker's programs compute 5 for a variant of a seed whose answer is "x = 5": the same
    answer (the loose string match called it different and rejected a right variant)."""
    from synth.base import Candidate, Decision, Seed
    from synth.svs.method import SvsSynthesizer

    config = HardforgeConfig(data_dir=tmp_path)
    scripted_checker(lambda chat, n: [_program("10 // 2")] * n)
    seed = Seed("r", "p", {"statement": "Solve 2x = 10.", "answer": answer})
    statement = "Tom splits 10 apples equally between 2 friends. How many apples does each friend get?"
    candidate = Candidate(seed, 0, "", "", {"domain": "math", "statement": statement, "answer": answer})
    decision = Decision(True, None, {"reward": 1.0}, provenance="inherited", checks={"base": "inherited", "checks": []})
    policy = ScriptedEngine(lambda chat, n: [_program("5")] * n)
    with VerifierSet(config) as verifiers:
        SvsSynthesizer(config)._check_labels(
            RolloutService(policy, verifiers, config.rollouts, POLICY, "run"), [candidate], [decision]
        )
    assert (decision.accepted, decision.provenance, (decision.reason or "").split(":")[0]) == outcome
