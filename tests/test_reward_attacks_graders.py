"""Attacks on the text graders (issue 21): gym answers that reasoning-gym's scorers would run as
Python, gym scorers that pay for answers that did not solve the puzzle, QA and math readings that
turn a wrong number right, and a forged AZR result that used to cost its batch every grade. Each
through the verifier and through both training reward entry points."""

from __future__ import annotations

import json
import uuid
import warnings

import pytest

from schemas.config import HardforgeConfig
from schemas.gym_tasks import ALLOWED, AUDITED_VERSION, EXECUTES, GAMEABLE, OWN_SCORERS, refusal
from tests.conftest import run_cli
from verifiers import Grade, grade_isolated
from verifiers.base import GradeItem
from verifiers.gym import GymVerifier
from verifiers.math.grade import equivalent
from verifiers.qa import QaVerifier


def gym_entry(task: str, seed: int = 0) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        import reasoning_gym
    config = {"size": 1, "seed": seed}
    entry = reasoning_gym.create_dataset(task, **config)[0]
    metadata = json.loads(json.dumps(entry.get("metadata", {}), default=str))
    return {
        "statement": entry["question"],
        "answer": str(entry["answer"]),
        "extra": {"gym": {"task": task, "level": 0, "seed": seed, "index": 0, "config": config, "metadata": metadata}},
    }


def gym_grade(problem: dict, answer: str) -> Grade:
    (grade,) = GymVerifier().grade(
        [GradeItem(problem["answer"], f"<answer>{answer}</answer>", problem["statement"], problem["extra"], "strict")]
    )
    return grade


@pytest.fixture
def marker(tmp_path):
    return tmp_path / f"executed-{uuid.uuid4().hex}"


def payloads(marker) -> list[str]:
    touch = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    return [
        touch,
        f"({touch}) or 24",
        # rebinds hardforge's own pass rule for every later answer in the process
        "__import__('verifiers.gym', fromlist=['x']).__setattr__('is_pass', lambda score: True) or 24",
        f"[{touch}, 1, 2]",
    ]


@pytest.mark.parametrize("task", sorted(EXECUTES))
def test_gym_answers_are_never_run_as_python(task, marker):
    problem = gym_entry(task)
    for payload in payloads(marker):
        assert not gym_grade(problem, payload).correct
    assert not marker.exists(), f"{task}: the answer ran"
    products = gym_entry("products")  # the pass rule is intact for the answers after
    assert not gym_grade(products, str(int(products["answer"]) + 1)).correct
    assert gym_grade(products, products["answer"]).correct


@pytest.mark.parametrize("task", sorted(set(EXECUTES) - OWN_SCORERS))
def test_problems_of_refused_tasks_are_not_graded_even_with_the_right_answer(task):
    problem = gym_entry(task)
    grade = gym_grade(problem, problem["answer"])
    assert not grade.correct and grade.detail.startswith("not graded: reasoning-gym's")


def test_puzzle24_pays_only_for_the_puzzles_own_numbers():
    problem = gym_entry("puzzle24")  # numbers 1, 3, 5, 9
    assert sorted(problem["extra"]["gym"]["metadata"]["numbers"]) == [1, 3, 5, 9]
    assert gym_grade(problem, problem["answer"]).correct  # the reference solution
    assert gym_grade(problem, "(9 - 5) * (3 + 1) + 3 + 5").correct is False  # 8 numbers
    for wrong in [
        "4*3*2*1",
        "6+6+6+6",
        "10+10+9/2",
        "1*3*5+9.0",
        "(1+3+5+9)+6",
        "-1*3*5+9+18",
        "1*3**5+9",
        "1*3*5 + 9 = 24",
        "24",
        "",
        "9+5+3+1+6",
    ]:
        assert not gym_grade(problem, wrong).correct, wrong
    assert gym_grade(problem, "1*3*5+9 ").correct  # spaces are fine
    assert gym_grade(problem, "9 + 5*3*1").correct  # any order, any grouping


def test_countdown_pays_only_for_the_numbers_operators_and_exact_target():
    problem = gym_entry("countdown")  # 66, 34, 98, 54, 6 -> 164
    meta = problem["extra"]["gym"]["metadata"]
    assert gym_grade(problem, problem["answer"]).correct
    tricks = [
        "(66+34+98+54+6)*(pi-pi)+ord('¤')",  # reasoning-gym's scorer: 1.0
        "(66+34+98+54+6)*0+len('x'*164)",
        "6*(98 - 54) - 34 - 66 + 0*1",  # a number not in the puzzle
        "6*(98 - 54) - 34",  # not every number
        "6*(98 - 54) - 34 - 66.0",
        "6**(98 - 54) - 34 - 66",
        "6*(98 - 54) - 34 - 66 == 164",
    ]
    for trick in tricks:
        assert not gym_grade(problem, trick).correct, trick
    assert meta["target"] == 164


def test_gym_ingest_refuses_unaudited_and_executing_tasks_with_one_sentence(data_dir):
    for task, words in [
        ("n_queens", "runs the model's answer as Python (eval)"),
        ("game_of_life_halting", "cannot be trusted as a reward"),
    ]:
        result = run_cli(data_dir, "ingest", f"gym:{task}", "--size", "1")
        assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert run_cli(data_dir, "ingest", "gym:countdown", "--size", "1").returncode == 0


def test_the_allow_list_covers_this_reasoning_gym_exactly():
    """A reasoning-gym upgrade is a new audit: its version and its task list must be the audited ones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        import reasoning_gym
        import reasoning_gym.factory
    assert reasoning_gym.__version__ == AUDITED_VERSION
    registered = set(reasoning_gym.factory.DATASETS)
    assert ALLOWED | set(EXECUTES) | set(GAMEABLE) == registered
    assert not (ALLOWED - OWN_SCORERS) & (set(EXECUTES) | set(GAMEABLE))
    assert {"chain_sum", "basic_arithmetic", "products", "gcd", "letter_counting"} <= ALLOWED  # the default seeds
    assert refusal("no_such_task").startswith("reasoning-gym task 'no_such_task' has not been audited")


# (gold, reply, right?) as a policy would try: drop the sign, the point, the separator, the ++
QA_CASES = [
    ("-40", "40", False),
    ("1.5", "15", False),
    ("1/5", "15", False),
    ("3:45", "345", False),
    ("C++", "C", False),
    ("C#", "C", False),
    ("F#", "F", False),
    ("-40", "-40", True),
    ("1,000", "1000", True),
    ("1.5", "1.50", True),
    ("3:45", "3:45", True),
    ("C++", "c++", True),
    ("the Unix system", "Unix system!", True),
    ("$40", "40", True),
    # issue 31: normalization deleted a letter, an operator or a space that is part of the answer
    ("Vitamin A", "Vitamin", False),
    ("Plan A", "Plan", False),
    ("2^10", "210", False),
    ("x^2", "x2", False),
    ("1 2 3", "123", False),
    ("1, 2, 3", "123", False),
    ("10 20", "1020", False),
    ("U.S.", "US", True),
    ("E. coli", "E coli", True),
    ("The Beatles", "Beatles", True),
    # the independent red team
    ("5'", '5"', False),
    ("5!", "5", False),
    ("f'", "f", False),
    ("$5", "£5", False),
    ("1/2", "2/4", False),
    ("A B", "B", False),
    ('"Guido van Rossum"', "Guido van Rossum", True),
]


@pytest.mark.parametrize(("gold", "reply", "right"), QA_CASES)
def test_qa_keeps_signs_points_separators_and_suffixes(gold, reply, right):
    (grade,) = QaVerifier().grade([GradeItem(gold, f"<answer>{reply}</answer>", extraction="strict")])
    assert grade.correct is right


@pytest.mark.parametrize(
    ("gold", "predicted", "right"),
    [
        ("42", "42\\%", True),
        ("0.42", "42\\%", False),
        ("42\\%", "42", True),
        ("42\\%", "0.42", False),
        ("42%", "42", True),
        ("0.42", "42%", False),
        ("42", "42 \\%", True),
        # issue 31: the sign wrapped, or followed by spacing or words, inside the box
        ("0.42", "42\\% \\text{ of them}", False),
        ("0.42", "(42\\%)", False),
        ("0.42", "{42\\%}", False),
        ("0.42", "42\\%\\!", False),
        ("0.42", "42 percent of them", False),
        ("42", "42\\%\\ ", True),
        ("42", "\\mathbf{42\\%}", True),
        ("42", "{42\\%}", True),
        ("42", "42\\mathbf{\\%}", True),
        ("1000", "1\\,000\\%", True),
        ("0.42", "42\\mathbf{\\%}", False),
        # a space between digits lists numbers
        ("123", "1 2 3", False),
        ("12", "1 2", False),
    ],
)
def test_math_reads_percent_one_way(gold, predicted, right):
    assert equivalent(gold, predicted) is right


FORGED_CLAIM = """
import json, os, struct
claim = json.dumps({"ok": True}).encode()  # a well-formed record with no value in it
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">I", len(claim)) + claim)
    except OSError:
        pass
os._exit(0)
"""


def test_a_forged_azr_record_fails_alone_and_the_batch_keeps_its_grades():
    from schemas.config import SandboxConfig
    from verifiers.code.azr import AzrVerifier, answer_json

    answer = answer_json("induction", hidden=[["5", "10"], ["'ab'", "'abab'"]])
    honest = "```python\ndef f(x):\n    return x * 2\n```"
    forged = f"```python\ndef f(x):\n    return x\n{FORGED_CLAIM}\n```"
    items = [GradeItem(answer, c, "", None, "flexible") for c in (honest, forged, honest)]
    items.append(GradeItem("{not json", honest, "", None, "flexible"))  # a broken problem in the same batch
    verifier = AzrVerifier(SandboxConfig(workers=2, timeout_s=5.0))
    try:
        grades = grade_isolated(verifier, items)
    finally:
        verifier.close()
    assert [g.correct for g in grades] == [True, False, True, False]
    assert "without a result" in grades[1].detail and grades[3].detail.startswith("grader error")


def test_one_item_that_breaks_a_verifier_does_not_cost_the_batch():
    class Fragile:
        name = "fragile"

        def grade(self, items):
            if any(item.answer == "boom" for item in items):
                raise RuntimeError("boom")
            return [Grade(True, item.answer, 1.0) for item in items]

    grades = grade_isolated(Fragile(), [GradeItem("a", ""), GradeItem("boom", ""), GradeItem("c", "")])
    assert [g.correct for g in grades] == [True, False, True] and "RuntimeError: boom" in grades[1].detail


def test_both_reward_entry_points_refuse_the_text_attacks(tmp_path, monkeypatch, marker):
    from trainer.rewards import VerifierReward
    from trainer.verl_reward import compute_score

    monkeypatch.setenv("HARDFORGE_DATA_DIR", str(tmp_path / "data"))
    puzzle, queens = gym_entry("puzzle24"), gym_entry("n_queens")
    cases = [  # (verifier, gold, statement, extra, completion, expected)
        ("gym", puzzle["answer"], puzzle["statement"], puzzle["extra"], "<answer>1*3*5+9</answer>", 1.0),
        ("gym", puzzle["answer"], puzzle["statement"], puzzle["extra"], "<answer>4*3*2*1</answer>", 0.0),
        ("gym", queens["answer"], queens["statement"], queens["extra"], f"<answer>{payloads(marker)[0]}</answer>", 0.0),
        ("qa", "-40", "What is the lowest temperature?", {}, "<answer>40</answer>", 0.0),
        ("qa", "-40", "What is the lowest temperature?", {}, "<answer>-40</answer>", 1.0),
        ("math", "0.42", "What fraction?", {}, "\\boxed{42\\%}", 0.0),
        ("math", "42", "What percent?", {}, "\\boxed{42\\%}", 1.0),
        ("math", "0.42", "What fraction?", {}, "\\boxed{42\\% \\text{ of them}}", 0.0),
        ("math", "0.42", "What fraction?", {}, "\\boxed{{42\\%}}", 0.0),
        ("qa", "Vitamin A", "Which vitamin?", {}, "<answer>Vitamin</answer>", 0.0),
        ("qa", "2^10", "How many?", {}, "<answer>210</answer>", 0.0),
        *[
            ("gym", e["answer"], e["statement"], e["extra"], f"<answer>{r}</answer>", 0.0)
            for e, r in _wrong_gym_replies()
        ],
    ]
    reward = VerifierReward(HardforgeConfig(data_dir=tmp_path / "data"))
    try:
        for verifier, gold, statement, extra, completion, expected in cases:
            info = {"extra": json.dumps(extra), "source": "attack", "verifier": verifier}
            got = reward([completion], [gold], [verifier], [statement], [info], [0])
            assert got == [expected], (verifier, completion, "TRL")
            score = compute_score("attack", completion, gold, {**info, "statement": statement})
            assert score == expected, (verifier, completion, "verl")
    finally:
        reward.close()
    assert not marker.exists()


def _numeric_codeio() -> dict:
    """A codeio problem whose answer holds a number."""
    from verifiers.gym_audit import json_coerced

    for seed in range(50):
        entry = gym_entry("codeio", seed)
        if json_coerced(entry["answer"]):
            return entry
    raise AssertionError("no codeio problem with a number in 50 seeds")


def _wrong_gym_replies() -> list[tuple[dict, str]]:
    """(problem, reply) that the re-audit of issue 31 found paid at 1.0."""
    from decimal import Decimal

    pool = gym_entry("pool_matrix")["answer"]
    off = "\n".join(" ".join(f"{float(v) * 1.009:.4f}" for v in line.split()) for line in pool.splitlines())
    decimal = Decimal(gym_entry("decimal_arithmetic")["answer"])
    from verifiers.gym_audit import json_coerced

    codeio = _numeric_codeio()
    return [
        (gym_entry("complex_arithmetic"), "nan"),
        (gym_entry("complex_arithmetic"), "-inf"),
        (gym_entry("pool_matrix"), off),
        (gym_entry("decimal_arithmetic"), str(decimal + Decimal(1).scaleb(decimal.as_tuple().exponent))),
        (codeio, json_coerced(codeio["answer"])[0]),
    ]


def test_the_scorers_that_paid_wrong_replies_pay_nothing_now():
    """complex_arithmetic paid min(1, exp(-nan)) = 1.0 for 'nan'; pool_matrix took every entry 0.9%
    off; decimal_arithmetic one unit off in the last place; codeio a number quoted as a string.
    Their right answers still pass."""
    for entry, reply in _wrong_gym_replies():
        assert gym_grade(entry, reply).correct is False, (entry["extra"]["gym"]["task"], reply)
        assert gym_grade(entry, entry["answer"]).correct is True, entry["extra"]["gym"]["task"]


def test_no_wrong_reply_passes_any_graded_gym_task():
    """The battery (NaN and infinities, empty values, numbers 0.9% off or an integer off by one, a
    rounded gold off in its last place, JSON with its numbers quoted) on every graded task at its
    lowest and next level: nothing passes (bench/gym_audit.py runs three levels, two problems each)."""
    from verifiers.gym_audit import sweep

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = sweep(sorted(ALLOWED), levels=2, per_level=1)
    assert found == [], found[:10]


@pytest.mark.parametrize("task", ["time_intervals", "number_format", "polynomial_equations"])
def test_the_scorers_the_red_team_gamed_are_refused(task):
    """time_intervals paid '5 hours' for '5 days', number_format any number within 0.01 of the
    answer, polynomial_equations the roots followed by text that does not parse."""
    reason = refusal(task)
    assert reason is not None and "cannot be trusted as a reward" in reason
    entry = gym_entry(task)
    assert gym_grade(entry, entry["answer"]).correct is False  # refused, even when right
