"""Verified synthesis (issue 22): the gates a proposal passes before it is solved, the vote as the
papers count it, the independent label checks (each with the attacks a proposer could try on
it), the provenance they give, and what the curriculum lets through."""

from __future__ import annotations

import json

import pytest

from checks import CheckContext, LabelItem, label_provenance, run_checks
from checks.arithmetic import ArithmeticCheck, plain_expression
from checks.base import Verdict
from schemas.config import HardforgeConfig
from schemas.provenance import ORDER, at_least
from synth.gates import (
    carries_solution,
    echoes,
    gate,
    near_copy,
    reads_as_one_question,
    shows_work,
    spelled_numbers,
    states_own_answer,
)
from synth.sqlm.algorithm import TOPICS
from synth.svs.algorithm import SYNTHESIS_PROMPT
from synth.voting import vote
from tests.conftest import ScriptedEngine

EXAMPLE = "What is 23 + 48 - 9?"

# (statement, the gate's reason or None), as the bundled model wrote them and as a proposer might game them
GATES = [
    ("23 + 48 - 9 = 42 - 9 = 22", "states its own answer"),
    ("What is 5 * 4? The answer is 20.", "states its own answer"),
    ("Compute 7 * 8. Final answer: 56", "states its own answer"),
    ("What is 9 + 9? \\boxed{18}", "states its own answer"),
    ("The answer is fifty-five. What is 17 * 3 + 4?", "states its own answer"),  # in words (red team)
    ("Add 23 + 48 to get 76 and Multiply 76 * 12 + 9", "near-copy"),  # the prompt's example numbers
    ("What is 23 + 48 - 9?", "near-copy"),
    ("What is 23 + 48 - 10?", "near-copy"),
    ("An imaginary number: Goldeneath Goldstein where the 23 is", "not a question"),
    ("What is 3 + 4? What is 5 + 6?", "not one question"),
    ("1. Find x.\n2. Find y.", "not one question"),
    ("Calculate 15 * 4 - 7. Solution: 15 * 4 = 60, 60 - 7 = 53", "states its own answer"),
    ("What is 12 * 7 + 3? Step 1: multiply", "carries solution text"),
    ("What is 6 * 7?\n```python\nprint(6 * 7)\n```", "carries solution text"),
    ("def solution(): return 22. What is 11 + 11?", "states its own answer"),  # 22 is there: caught first
    ("def solution(): return x. What is 11 + 11?", "carries solution text"),
    # fine: a fresh question, an equation with an unknown, an operand equal to the answer, "= ?"
    ("What is 17 + 56 - 4?", None),
    ("If 2x + 3 = 11, what is x?", None),
    ("Solve x + 2 * 3 = 11 for x.", None),
    ("What is 6 * 1?", None),
    ("What is 9 - 4 = ?", None),
    ("State the final answer to the following arithmetic problem: 4 + 3 - 9 =", None),
    (
        "Find the Greatest Common Divisor (GCD) of these numbers: 777, 912. Give only the GCD as your final answer.",
        None,
    ),
    ('How many times does the letter "b" appear in the text: "a big bob"?', None),
    ("The answer is one of the options below. Which is prime: 4, 6 or 7?", None),
    # the instruction after an introductory clause (a 1.5B policy's MathSmith problems, issue 32)
    ("Given a quadratic equation \\(x^2 + 3x + 2 = 0\\), find the values of \\(x\\) that satisfy it.", None),
    ("If a_1 = 1 and a_{n+1} = 2a_n, then compute a_10.", None),
    ("Given \\(a_1 = 2\\) and \\(a_{n+1} = 3a_n\\), find \\(a_4\\).", None),  # the instruction's object in math
    ("Given $a_1 = 2$ and $a_{n+1} = 3a_n$, find $a_4$.", None),
    # numbers inside algebra are no worked result (a 1.5B's MathSmith problems, gated as "'3 - 3' is 0")
    ("Let $f(x) = x^3 - 3x^2 + 2x$. Find the number of real roots of $f(x) = 0$.", None),
    ("If a_1 = 2 and a_{n+1} = a_n^2 - 1, what is a_3?", None),
    ("Since 7 - 3 = 4, what is x^2 + 7 - 3 when x = 0?", "states its own answer"),  # a run beside algebra still counts
    # a red team of that rule: a unit is no variable
    ("A box holds 7*8kg of sand (56 kg). How many kilograms of sand does it hold?", "states its own answer"),
    ("A rope is 7*8m long, that is 56 m. How long is the rope in meters?", "states its own answer"),
    ("Lena pays USD7*8 for tickets (56 USD). How much does Lena pay?", "states its own answer"),
    ("The trip took 3*4h, i.e. 12 h in all. How many hours did the trip take?", "states its own answer"),
    # material pointed at and never shown (a 0.5B's SvS variant, labelled 1 from its seed's text)
    ("What is the frequency of the letter 'z' in the given text?", "points at nothing"),
    ("Find the sum of the following numbers.", "points at nothing"),
    ("Find the sum of the following numbers: 3, 4 and 5.", None),
    ('How many times does the letter "o" appear in the given text "good food"?', None),
    ("What is the largest value in the given list [3, 9, 2]?", None),
    ("Find the mean of the given numbers 2, 4, 6.", None),
    # and a dollar amount is no math for an instruction to take
    ("The painting was sold last year, estimate $300 at the time.", "not a question"),
    # still no question: a comma before a word that is no instruction, or a statement with no ask
    ("The shop sold 12 apples, found a buyer for 3 and closed.", "not a question"),
    ("Given a triangle with sides 3, 4 and 5, the area follows.", "not a question"),
    # red team (2026-12-06): an instruction word after a comma that is a noun, or that asks nothing
    ("It rained for 6 days, and list prices went up.", "not a question"),
    ("Given the numbers 1, 2 and 3, find.", "not a question"),
    ("Tom has some apples, count them.", None),
    # red team: the answer under another label, or after the question
    ("Given 1, 2 and 3, find their sum (answer 6).", "states its own answer"),
    ("Given 1, 2 and 3, find their sum; the answer being 6.", "states its own answer"),
    ("Given 1, 2 and 3, find their sum. Expected: 6", "states its own answer"),
    ("Given 1, 2 and 3, find their sum. Output: 6", "states its own answer"),
    ("Tom has 1, 2 and 3 apples. Find the total number of apples. [key: 6]", "states its own answer"),
    ("Given 1, 2 and 3, find their sum, namely 6.", "states its own answer"),
    ("Given 1, 2 and 3, find their sum, i.e. 6.", "states its own answer"),
    ("Given 4, 1 and 1, find their sum. Expected answer = 6", "states its own answer"),
    # fine: the same words where they give no answer
    ("If Tom must answer 6 questions in 2 hours, how many minutes does each take?", None),
    ("A machine doubles its input and adds 1. Its output is 13. What was the input?", None),
    ("Given a total of 6 apples shared by 2 children, how many does each get?", None),
    ("Find the sum of three numbers, namely 4, 5 and 6.", None),
    # a comparison with nothing to compare to (the 0.5B's "How much less is 5 times 5?" got label 20)
    ("How much less is 5 times 5?", "compares with nothing"),
    ("How many more is 12 + 4?", "compares with nothing"),
    ("How much greater is 7 * 8?", "compares with nothing"),
    # fine: the reference is named, or an earlier sentence gives it
    ("How much less is 5 times 5 than 30?", None),
    ("How much are five less than 15?", None),
    ("How much greater is 7 * 8 compared to 50?", None),
    ("Tom has 5 apples and Ann has 3. How many more apples does Tom have?", None),
    ("How many more apples does Tom have than Ann if Tom has 5 and Ann has 3?", None),
    ("What is the difference between 15 and 6?", None),
    ("She has $32. How much more is needed?", None),
    # a task and a yes/no question about it (a 0.5B's SvS variant, labelled -28, read on night 3)
    ("Calculate \\(-( -4 * -7 )\\) . Is this correct?", "not one question"),
    ("Is it true that 7 is more than 5?", "asks yes or no"),  # no bare comparison, but yes or no
    ("How many more are needed to fill it?", None),
    ("5 on Monday and 8 on Tuesday. How many more were sold on Tuesday?", None),
    # a question answered yes or no (a 0.5B's SvS variant, kept with label 3 on 2026-12-07)
    ("Can 3/1 be solved in English?", "asks yes or no"),
    ("Calculate 3 + 4. Is the result odd?", "asks yes or no"),
    ("If x = 3, is x odd?", "asks yes or no"),
    ("A shop has 5 boxes; are there 20 apples in all?", "asks yes or no"),
    ("Does 12 divided by 4 equal 5?", "asks yes or no"),
    ("Can you prove that the polynomial x^2 + x + 1 is a perfect square trinomial?", "asks yes or no"),
    ("Determine whether 91 is prime.", "asks yes or no"),
    ("Show that 2^10 exceeds 1000.", "asks yes or no"),
    # fine: a request put as a question, or a question that asks what
    ("Can you find the value of 3/1?", None),
    ("Could we compute 12 * 4 for the shop?", None),
    ("Is 12 divided by 4 equal to what number?", None),
    ("How many hours does it take to fill 3 tanks at 2 hours each?", None),
    # a question whose answer is a thing, not a number: the checker's programs and its well-posed
    # question agreed on 36 for the first (a 0.5B's SQLM proposal, read on 2026-12-06)
    ("What number generator might output a number divisible by 36?", "asks for a thing"),
    ("What operation do you want to do between 3 apples and 5 oranges?", "asks for a thing"),
    ("Which formula gives 12 from 3 and 4?", "asks for a thing"),
    ("Tom has 3 bags of 4 apples. What method could he use to count them?", "asks for a thing"),
    ("Which equations have the solution x = 2?", "asks for a thing"),
    ("3 / 1 equals which formula?", "asks for a thing"),  # a 0.5B's SvS variant, kept in band on 2026-12-07
    ("The product of 3 and 4 is what operation?", "asks for a thing"),
    # fine: the question asks for a number, or names the thing it takes a number of
    ("What number is 6 times 7?", None),
    ("Which number between 1 and 20 is a multiple of both 3 and 4?", None),
    ("What is the value of the function f(x) = 2x + 1 at x = 3?", None),
    ("Which of 4, 9 and 12 is divisible by 6?", None),
    ("What fraction of 12 is 3?", None),
    ("How many operations are needed to compute 2 + 3 * 4?", None),
    ("What is the number of methods to choose 2 of 5 books?", None),
    ("What is the function value at x = 3 if f(x) = x + 1?", None),
    # a red team (2026-12-07): the same questions the first pattern missed ...
    ("What kind of generator might output a number divisible by 36?", "asks for a thing"),
    ("If n is divisible by 36, what number generator might output n?", "asks for a thing"),
    ("What number-generator might output a number divisible by 36?", "asks for a thing"),
    ("What pseudo random number generator might output a number divisible by 36?", "asks for a thing"),
    ("What's the formula that gives 12 from 3 and 4?", "asks for a thing"),
    ("Which of the formulas gives 12 from 3 and 4?", "asks for a thing"),
    ("Which formula, if any, gives 12 from 3 and 4?", "asks for a thing"),
    ("Name the operation that turns 3 and 4 into 12.", "asks for a thing"),
    # ... and numeric questions it wrongly rejected: the thing's word names a quantity's kind
    ("Which step number is the first where the running total of 3 + 5 + 7 + ... exceeds 100?", None),
    ("What approach speed, in km/h, covers 12 km in 10 minutes?", None),
    ("What machine output per hour gives 120 parts in 6 hours?", None),
    ("What step size h splits the interval [0, 2] into 8 equal parts?", None),
    ("What tool rental fee per day adds up to $60 over 4 days?", None),
    ("Find the number of operations needed to sort 3 items.", None),
]

# SvS's instruction text around a 0.5B's variant, kept as the problem (night of 2026-12-06)
SVS_ECHO = (
    'To determine how many times the letter "l" appears in the text "solicit contributions from states where", '
    "write one clear, realistic, explicit and unambiguous problem, in English, that would most plausibly elicit "
    'exactly this response.\n\nProblem: How many times the letter "l" appears in the text "solicit '
    'contributions from states where"?'
)


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        (SVS_ECHO, "copies its prompt's instructions"),
        ("Write one short arithmetic problem for a student: what is 3 + 4?", "copies its prompt's instructions"),
        # fine: a few of the prompt's words are ordinary words of a problem
        ("What is the answer to 3 + 4, as a whole number?", None),
        ("Write the number of letters in 'apple'.", None),
    ],
)
def test_a_statement_that_copies_its_prompts_instructions_is_gated(statement, reason):
    instructions = [SYNTHESIS_PROMPT, TOPICS["arithmetic"]]
    found = gate(statement, instructions=instructions)
    if reason is None:
        assert found is None, found
    else:
        assert found is not None and reason in found, found


def test_a_yes_or_no_question_passes_where_the_kept_answer_is_yes_or_no():
    """An SvS variant of a seed whose answer is "Yes" may ask yes or no; one whose answer is a number may not."""
    question = "Is 7 a prime number?"
    assert gate(question, answer="Yes") is None and gate(question, answer="false.") is None
    assert "asks yes or no" in gate(question, answer="7")
    assert "asks yes or no" in gate(question)  # a label still to derive: the checks derive numbers


def test_a_formula_may_be_asked_for_where_the_kept_answer_is_one():
    """An SvS variant keeps its seed's answer: where that answer is a formula, a question asking
    for a formula is the right question; where it is a number, it is not."""
    question = "What formula gives the sum of the first n odd numbers?"
    assert gate(question, answer="n^2") is None
    assert "asks for a thing" in gate(question, answer="36")
    assert "asks for a thing" in gate(question)  # a label still to derive: the checks derive numbers
    assert gate(question, answer="n(n+1)/2") is None and gate(question, answer="2n") is None
    # a number however it is written is no formula (a red team: each of these skipped the gate)
    for number in ("2\\sqrt{3}", "90^\\circ", "\\boxed{36}", "12\\%", "-\\frac12", "36 cm", "x = 36", "\\pi"):
        assert "asks for a thing" in (gate(question, answer=number) or ""), number


@pytest.mark.parametrize(("statement", "reason"), GATES)
def test_gates(statement, reason):
    found = gate(statement, references=[EXAMPLE])
    if reason is None:
        assert found is None, found
    else:
        assert found is not None and reason in found, found


def test_each_gate_alone():
    assert states_own_answer("x + 3 = 10, find x") is None
    assert states_own_answer("12 + 30 = 42") is not None
    assert carries_solution("Let's solve it: 4") is not None
    assert reads_as_one_question("Name a colour.") is None
    assert (
        near_copy("Two trains leave at 3 and 4 o'clock.", ["A train leaves at 3; another at 4."], numbers=False) is None
    )
    assert near_copy("What is the sum of 1, 2 and 3?", ["What is the sum of 1, 2 and 3 ?"], numbers=False) is not None


@pytest.mark.parametrize(
    ("text", "worked"),
    [
        ("42", False),
        ("\\boxed{42}", False),
        ("6 * 7 = 42, so \\boxed{42}", True),
        ("First multiply the two numbers, then add the rest to get the total of \\boxed{42}", True),
    ],
)
def test_shows_work(text, worked):
    assert shows_work(text) is worked


def test_echoes():
    statement = "A box has 42 apples and 6 pears. How many apples?"
    assert echoes("\\boxed{42}", "42", statement)  # repeats a number of the statement, no work
    assert not echoes("42 - 0 = \\boxed{42}", "42", statement)  # shows work
    assert not echoes("\\boxed{48}", "48", statement)  # not a number of the statement
    # the answer smuggled in words (red team): "forty-two" is 42
    assert echoes("\\boxed{42}", "42", "The secret code is forty-two. What is the secret code?")
    assert spelled_numbers("one hundred and five, three thousand two hundred, twelve") == {"105", "3200", "12"}


# SQLM and MathSmith count "no answer" as a vote and never take a tie as a majority
VOTES = [
    (["5", "5", "7", "7"], None, 2, True),
    (["5", "5", "7", None], "5", 2, False),
    ([None, None, "5", "5"], None, 2, True),
    ([None, None, None, "5"], None, 3, False),
    (["5", "5", "5", "5"], "5", 4, False),
    ([], None, 0, False),
]


@pytest.mark.parametrize(("answers", "answer", "count", "tie"), VOTES)
def test_vote_table(answers, answer, count, tie):
    counted = vote(answers)
    assert (counted.answer, counted.count, counted.tie) == (answer, count, tie)
    assert counted.ratio == (count / len(answers) if answers else 0.0)


# -- exact arithmetic: plain statements only, computed exactly, never eval'd

ARITHMETIC = [
    ("What is 23 + 48 - 9?", "62", "agree"),
    ("What is 23 + 48 - 9?", "22", "disagree"),
    ("What is 23 plus 48 minus 9?", "62", "agree"),
    ("Calculate -1515 / 5 + -( -2842 * -5436 ) * -6892.", "106475279601", "agree"),
    ("Solve the following multiplication: 1663 * 5242. Give only the result as your final answer.", "8717446", "agree"),
    ("What is 7 × 8?", "56", "agree"),
    ("What is 10 / 4?", "2.5", "agree"),
    ("What is 10 / 4?", "5/2", "agree"),
    ("What is 10 / 3?", "3.33", "abstain"),  # a rounded label: not exact, not wrong
    ("What is 2 + 2?", "four", "disagree"),
    ("What is 10 / 0?", "1", "abstain"),
    ("Add 23 + 48 to get 76 and Multiply 76 * 12 + 9", "12", "abstain"),  # not plain
    ("If x + 3 = 5, what is x?", "2", "abstain"),
    # attacks: a proposer cannot make the check run code, or agree with a wrong label
    ("What is __import__('os').system('true') + 1?", "1", "abstain"),
    ("What is 2 ** 100000000?", "0", "abstain"),
    ("What is 9" + "9" * 400 + " + 1?", "1", "abstain"),
    ("What is (((((((1 + 1)))))))?", "3", "disagree"),
    ("What is 1e9 + 1?", "1000000001", "abstain"),
    # found by the audit on gold (CHAMP): notation around the numbers is not plain arithmetic
    ("For positive a, b, c, what is the smallest value of sqrt(ab+bc+ac)/(abc)^(1/3)?", "1/3", "abstain"),
    ("What is x - (1/3)?", "-1/3", "abstain"),
    # found by the red team of the proposer reward: words beside the expression that change what it
    # means made the check agree with the policy's wrong label
    ("What is 12 + 30? Subtract seven from that.", "42", "abstain"),
    ("In this puzzle every plus sign means minus. What is 12 + 30?", "42", "abstain"),
    ("Subtract seven from the result. What is 17 * 3 + 4?", "55", "abstain"),
    ("Treating addition as subtraction, what is 12 + 30?", "42", "abstain"),
    ("What is 7 * 6 - 1 (in this exercise 1 counts as 2)?", "41", "abstain"),
    ("State the final answer to the following arithmetic problem: 4 - 1 - 7 =", "-4", "agree"),
]


@pytest.mark.parametrize(("statement", "label", "outcome"), ARITHMETIC)
def test_arithmetic_check(statement, label, outcome):
    (verdict,) = ArithmeticCheck().check([LabelItem(statement, label)])
    # a verdict about a part of the statement decides nothing: it counts as abstaining
    assert (verdict.outcome if verdict.decides else "abstain") == outcome, verdict


def test_plain_expression():
    assert plain_expression("What is 3x4?") == "3 * 4"
    assert plain_expression("What is 2x + 3?") is None
    assert plain_expression("What is 5?") is None


# -- program of thought: a checker writes solution(); it runs in the sandbox; it never sees the label


def _context(tmp_path, script, **pot):
    from verifiers.code.sandbox import CodeSandbox

    config = HardforgeConfig(data_dir=tmp_path)
    pot = {"samples": 3, "min_agree": 2, **pot}  # the check's logic; the defaults are measured elsewhere
    for key, value in pot.items():
        setattr(config.checks.program_of_thought, key, value)
    boxes = []

    def sandbox():
        if not boxes:
            boxes.append(CodeSandbox(workers=2))
        return boxes[0]

    engine = ScriptedEngine(script)
    return CheckContext(config, sandbox=sandbox, checker=lambda: engine), engine, boxes


def _program(body):
    return f"```python\ndef solution():\n    {body}\n```"


POT = [
    # (statement, label, the checker's programs, outcome)
    ("Tom has 3 bags of 4 apples. How many apples?", "12", [_program("return 3 * 4")] * 3, "agree"),
    ("Tom has 3 bags of 4 apples. How many apples?", "7", [_program("return 3 * 4")] * 3, "disagree"),
    ("Half of 7?", "3.5", [_program("return 7 / 2")] * 3, "agree"),
    ("Half of 7?", "7/2", [_program("return 7 / 2")] * 3, "agree"),
    (
        "Tom has 3 bags of 4 apples. How many apples?",
        "12",
        [_program("return 12"), _program("return 13"), "no code"],
        "abstain",
    ),
    ("Tom has 3 bags of 4 apples. How many apples?", "12", ["I cannot"] * 3, "abstain"),
    # attacks on the check: programs that fake a number, escape, or read what they should not
    ("Q?", "12", [_program("class N(int):\n        __eq__ = lambda s, o: True\n    return N(5)")] * 3, "abstain"),
    ("Q?", "12", [_program("import os\n    os._exit(0)")] * 3, "abstain"),
    ("Q?", "12", [_program("return open('/proc/self/environ').read()")] * 3, "abstain"),
    ("Q?", "12", [_program("while True:\n        pass")] * 3, "abstain"),
    ("Q?", "12", [_program("return '12'")] * 3, "abstain"),  # text is not a number
    # a relative tolerance once let a large integer label 500 off agree
    ("What is 123456789 * 9999 + 500?", "1234444433211", [_program("return 123456789 * 9999 + 500")] * 3, "disagree"),
    ("What is 123456789 * 9999 + 500?", "1234444433711", [_program("return 123456789 * 9999 + 500")] * 3, "agree"),
    ("Third of 1?", "0.3333333333", [_program("return 1 / 3")] * 3, "agree"),
    # programs that agree on a value while another computes its negation read the statement two
    # ways: "the difference between 7 and 10" got -3 (3 of 4 programs) where its convention says 3
    (
        "What is the difference between 7 and 10?",
        "-3",
        [_program("return 7 - 10"), _program("return 7 - 10"), _program("return 10 - 7")],
        "abstain",
    ),
    ("What is 7 - 10?", "-3", [_program("return 7 - 10")] * 3, "agree"),
]


@pytest.mark.parametrize(("statement", "label", "programs", "outcome"), POT)
def test_program_of_thought_check(tmp_path, statement, label, programs, outcome):
    context, engine, boxes = _context(tmp_path, lambda chat, n: programs[:n], timeout_s=2.0)
    try:
        (verdicts,) = run_checks(context, "math", [LabelItem(statement, label)], names=["program_of_thought"])
    finally:
        for box in boxes:
            box.close()
    assert verdicts[-1].outcome == outcome, verdicts
    prompt = engine.calls[0][0][0][0]["content"]
    assert statement in prompt and f" {label}" not in prompt.replace(statement, "")  # the checker never sees the label


def test_the_policy_checking_itself_is_not_independent(tmp_path):
    """With the policy as the checker, programs agreeing with the label leave it unchecked (the
    policy agreeing with itself again); programs refuting it still reject it."""
    context, engine, boxes = _context(tmp_path, lambda chat, n: [_program("return 3 * 4")] * n)
    context.independence = lambda: (False, "the policy")
    items = [
        LabelItem("Tom has 3 bags of 4 apples. How many apples?", "12"),
        LabelItem("Tom has 3 bags of 4 apples. How many?", "7"),
    ]
    try:
        verdicts = run_checks(context, "math", items, names=["program_of_thought"])
    finally:
        for box in boxes:
            box.close()
    assert [v[-1].outcome for v in verdicts] == ["abstain", "disagree"]
    assert "not independent" in verdicts[0][-1].reason


def test_checks_run_in_order_and_stop_at_a_verdict(tmp_path):
    context, engine, boxes = _context(tmp_path, lambda chat, n: [_program("return 60 + 2")] * n)
    items = [LabelItem(EXAMPLE, "62"), LabelItem("Tom has 62 marbles. How many?", "62"), LabelItem(EXAMPLE, "22")]
    try:
        verdicts = run_checks(context, "math", items)
    finally:
        for box in boxes:
            box.close()
    assert [[v.outcome for v in found] for found in verdicts] == [["agree"], ["abstain", "agree"], ["disagree"]]
    # only the statement the arithmetic check could not decide went to the checker (programs, then well posed?)
    asked = {chat[-1]["content"].split("\n")[0] for prompts, _ in engine.calls for chat in prompts}
    assert asked == {"Problem: Tom has 62 marbles. How many?"}


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([], ("vote", None)),
        (["abstain", "abstain"], ("vote", None)),
        (["abstain", "agree"], ("checked", None)),
        (["disagree"], (None, "label check failed")),
        (["agree", "disagree"], (None, "label check failed")),
    ],
)
def test_label_provenance(outcomes, expected):
    provenance, reason = label_provenance("vote", [Verdict("c", o, "why") for o in outcomes])
    assert provenance == expected[0] and (reason or "").startswith(expected[1] or "")


def test_provenance_order():
    assert ORDER == ("vote", "judged", "inherited", "checked", "executed", "ground_truth")
    assert at_least("checked", "inherited") and not at_least("vote", "inherited") and not at_least(None, "vote")


# -- satisfiable tests: proposed tests count only if some program passes all of them

ADD = "print(sum(map(int, input().split())))"
SATISFIABLE = [
    ([["1 2", "3"], ["5 5", "10"]], [ADD, "print(0)"], "agree"),
    ([["1 2", "3"], ["5 5", "11"]], [ADD, "print(0)"], "abstain"),  # no program passes all
    ([["1 2", "3"], ["1 2", "4"]], [ADD], "disagree"),  # one input, two outputs: no program can
    ("not json", [ADD], "disagree"),
    ([["1 2", "3"]], [], "abstain"),
    # a program that reads the expected output would need it: it is never in the sandbox
    ([["1 2", "3"]], ["import os\nprint(os.environ.get('EXPECTED', ''))"], "abstain"),
]


@pytest.mark.parametrize(("tests", "programs", "outcome"), SATISFIABLE)
def test_satisfiable_tests_check(tmp_path, tests, programs, outcome):
    from checks.satisfiable_tests import SatisfiableTestsCheck
    from verifiers.code.sandbox import CodeSandbox

    label = tests if isinstance(tests, str) else json.dumps(tests)
    with CodeSandbox(workers=2) as box:
        (verdict,) = SatisfiableTestsCheck(box).check(
            [LabelItem("Sum them.", label, "code", "stdio", {"programs": programs})]
        )
    assert verdict.outcome == outcome, verdict


@pytest.mark.parametrize(
    ("statement", "expression"),
    [
        # the word forms of small coders' self-questioning proposals (nightly, 2026-12-07): "4 programs
        # compute 16, but the checker does not find the problem well posed (3 of 4 yes)"
        ("What is the sum of the numbers 3, 5, and 8?", "(3) + (5) + (8)"),
        ("What is the total sum of 10, 20, and 30?", "(10) + (20) + (30)"),
        ("Find the total of 4 and 5.", "(4) + (5)"),
        ("Add 50 and 100.", "(50) + (100)"),
        ("Multiply 7 by 6.", "(7) * (6)"),
        ("What's the difference between 15 and 6?", "(15) - (6)"),
        # what the words do not say exactly: no reading
        ("What's the difference between 6 and 15?", None),  # 9 or -9
        ("What is the difference between 1, 2 and 3?", None),
        ("What is the sum of the numbers 3, 5, and 8 apples?", None),
        ("Add 3 and 4, then double it.", None),
        ("Add 3 to 4 percent.", None),
        ("What is the sum of the numbers below 10?", None),
        ("Multiply 7 by 6 and add 1.", None),
        # red team 3 (2026-12-07): the sign compared as floats, two products read as one
        ("What is the difference between 9007199254740992 and 9007199254740993?", None),
        ("Find the difference between 123456789012345678 and 123456789012345679.", None),
        ("What is the difference between 0.1 and 0.10000000000000001?", None),
        ("Multiply 3 by 4 and 5 by 6.", None),
        ("Multiply 3 by 4 and 5.", None),
        ("Multiply 3 and 4.", "(3) * (4)"),
    ],
)
def test_the_word_forms_plain_arithmetic_reads(statement, expression):
    assert plain_expression(statement) == expression
