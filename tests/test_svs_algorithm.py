import pytest

from synth.svs.algorithm import (
    decide,
    extract_problem,
    in_band,
    is_under_performing,
    positive_synthesis,
    synthesis_prompt,
)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("```text\nWhat is 2+2?\n```", "What is 2+2?"),
        ("intro\n```text\nFirst?\n```\nthen\n```text\nSecond?\n```", "First?"),  # the first text block
        ("```\nGeneric block?\n```", "Generic block?"),
        ("```markdown\nTagged other?\n```", "Tagged other?"),
        ("```python\nx = 1\n```\n```text\nPreferred?\n```", "Preferred?"),  # text block wins over an earlier block
        ("<think>```text\nDraft?\n```</think>\n```text\nFinal?\n```", "Final?"),  # after the last </think>
        ("<think>only thinking ```text\nhidden\n```</think> no block", None),
        ("**Reconstructed Question:**\nHow many primes are below 10?", "How many primes are below 10?"),
        ("## Reconstructed Question\nFind x.", "Find x."),
        (
            "```text\nLet $f(x) = \\frac{1}{x}$ with {braces {nested}}. Find f(2).\n```",
            "Let $f(x) = \\frac{1}{x}$ with {braces {nested}}. Find f(2).",
        ),
        ("```text\n\n```", None),
        ("no block at all", None),
        ("", None),
    ],
)
def test_extract_problem(output, expected):
    assert extract_problem(output) == expected


@pytest.mark.parametrize(
    ("accuracy", "expected"),
    [(0.0, False), (0.124, False), (0.125, True), (0.25, True), (0.5, True), (0.501, False), (1.0, False)],
)
def test_under_performing_band_is_inclusive(accuracy, expected):
    assert is_under_performing(accuracy) is expected


@pytest.mark.parametrize(("k", "expected"), [(0, False), (1, True), (4, True), (5, True), (6, False), (8, False)])
def test_positive_synthesis_band_for_g8(k, expected):
    assert positive_synthesis(k, 8) is expected


@pytest.mark.parametrize(
    ("k", "group", "accepted", "reason"),
    [
        (0, 8, False, "unsolvable: 0/8 solutions reach the original answer"),
        (1, 8, True, None),
        (5, 8, True, None),
        (6, 8, False, "too easy: 6/8 solutions reach the original answer"),
        (8, 8, False, "too easy: 8/8 solutions reach the original answer"),
        (1, 4, True, None),  # 4 * 0.125 = 0.5 <= 1
        (3, 4, False, "too easy: 3/4 solutions reach the original answer"),  # 3 > 4*0.625 = 2.5
    ],
)
def test_decide(k, group, accepted, reason):
    assert decide(k, group) == (accepted, reason)


def test_in_band_edges():
    assert in_band(0.125, (0.125, 0.5)) and in_band(0.5, (0.125, 0.5))


def test_synthesis_prompt_holds_the_solution():
    prompt = synthesis_prompt("  The sum is \\boxed{4}.  ")
    assert "The sum is \\boxed{4}." in prompt and "{REPLACE}" not in prompt and "```text" in prompt
