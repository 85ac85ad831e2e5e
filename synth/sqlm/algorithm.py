"""Self-questioning's pure pieces: the topic prompts, the three proposal parsers, the majority
vote and the strict acceptance band (methods.md §4, lili-chen/self-questioning-lm)."""

from __future__ import annotations

import re

from synth.voting import Vote

# The shipped topics, paraphrased; "arithmetic" is set at the bundled model's level (two or three
# numbers under 100, as reasoning-gym's easiest levels), the others follow the official prompts.
# No topic shows an example problem: 6 of 16 proposals of a Qwen2.5-Coder policy copied the one
# the arithmetic prompt showed (issue 32), and the gates rejected them as copies.
# Three levels, so that some topic is in band for each bundled policy: the 135M model adds small
# numbers sometimes and cannot multiply (4 x 15: 225, 50, 45, 50), a coder model solves both.
TOPICS: dict[str, str] = {
    "arithmetic": (
        "Write one short arithmetic problem for a student, as a question that adds or subtracts two or three small "
        "whole numbers (below 20). Choose the numbers yourself. Do not solve it. Write only the question."
    ),
    "arithmetic_large": (
        "Write one short arithmetic problem for a student, as a question that adds, subtracts or multiplies two or "
        "three whole numbers below 1000. Choose the numbers yourself. Do not solve it. Write only the question."
    ),
    "word_problem": (
        "Write one short word problem for a student about everyday things (money, distances, counts, time) whose "
        "answer is a whole number, using two or three numbers of your choice. Do not solve it. Write only the problem."
    ),
    "algebra": (
        "Create three diverse, challenging word problems that lead to linear equations with integer "
        "coefficients, at most two variables and a unique rational solution. Do not solve them. Then "
        "repeat the last one after the marker 'Selected Question:'."
    ),
    "code": (
        "Write an original LeetCode-easy style problem: the input is one line of space-separated "
        "integers, and the program prints an integer or a list. Do not solve it. Then write 5 test "
        "cases under a 'Test Cases:' header, one per line, each as INPUT ||| OUTPUT."
    ),
}
PARSERS = {"algebra": "v2", "code": "v3"}  # every other topic uses v1
_EXAMPLE = re.compile(r"for example:?\s*(.+?)\)", re.IGNORECASE | re.DOTALL)


def examples(prompt: str) -> list[str]:
    """The examples a topic prompt shows ("(for example: What is 23 + 48 - 9?)"): a proposal that
    copies one, or reuses its numbers, is rejected before it is solved."""
    return [m.strip() for m in _EXAMPLE.findall(prompt)]


def instructions(prompt: str) -> str:
    """A topic prompt without the examples it shows: its own words, which a proposal must not copy
    (the examples are ``examples``', judged as near-copies)."""
    return _EXAMPLE.sub("", prompt)


_SELECTED = re.compile(r"Selected Question\s*:", re.IGNORECASE)
_TESTS = re.compile(r"Test Cases\s*:", re.IGNORECASE)


_LABEL = re.compile(r"^\s*\**(?:question|problem)\s*(\d*)\**\s*:\s*\**\s*", re.IGNORECASE)
_NUMBERED_LABEL = re.compile(r"(?im)^\s*\**(?:question|problem)\s*\d+")


def parse_v1(output: str) -> str | None:
    """The whole output is the question (a leading "Question:" or "Problem:" label dropped). A
    numbered label stays where another follows ("Problem 1: ... Problem 2: ..."): the gate's count
    of numbered parts must still see both."""
    text = output.rsplit("</think>", 1)[-1].strip()
    label = _LABEL.match(text)
    if label and not (label.group(1) and _NUMBERED_LABEL.search(text, label.end())):
        text = text[label.end() :]
    return text.strip() or None


def parse_v2(output: str) -> str | None:
    """The text after the last 'Selected Question:' marker; None without the marker."""
    parts = _SELECTED.split(output)
    if len(parts) < 2:
        return None
    return parts[-1].strip() or None


def parse_v3(output: str) -> tuple[str, list[tuple[str, str]]] | None:
    """(description, [(input, output), ...]) from a code proposal: the description is the text
    before 'Test Cases:', each later line with '|||' is one test; None without that section or
    without a test."""
    parts = _TESTS.split(output, maxsplit=1)
    if len(parts) < 2:
        return None
    description = parts[0].rsplit("</think>", 1)[-1].strip()
    tests = []
    for line in parts[1].splitlines():
        if "|||" in line:
            given, _, expected = line.partition("|||")
            given, expected = given.strip().strip("`"), expected.strip().strip("`")
            if given and expected:
                tests.append((given, expected))
    if not description or not tests:
        return None
    return description, tests


def decide(vote: Vote) -> tuple[bool, str | None]:
    """The proposer's reward as the official code gives it: 1 iff 1 < m < n, where m counts the
    majority answer ("no answer" votes count, so "no answer" can win); a tie is not a majority."""
    if vote.answer is None:
        return False, vote.why_none()
    if 1 < vote.count < vote.n:
        return True, None
    if vote.count >= vote.n:
        return False, f"too easy: all {vote.n} solutions agree"
    return False, f"no agreement: the majority answer has {vote.count} of {vote.n} solutions"


def pass_rate_decision(rate: float) -> tuple[bool, str | None]:
    """Code topics: accepted iff the solvers' mean pass rate over the proposer's tests is strictly
    between 0 and 1."""
    if 0 < rate < 1:
        return True, None
    return False, "too easy: every solution passes every test" if rate >= 1 else "unsolvable: no solution passes a test"


def proposer_reward(in_band: bool, label_checked: bool) -> float:
    """The proposer's reward: the official binary reward (1 iff the vote is in band, 1 < m < n, or
    the pass rate is strictly between 0 and 1), paid only for a label an independent check
    confirmed. A vote or tests nothing confirmed earn the invalid-proposal value, 0: a reward that
    pays for a wrong label teaches the proposer to write wrong labels."""
    return 1.0 if in_band and label_checked else 0.0
