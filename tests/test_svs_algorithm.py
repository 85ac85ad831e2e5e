import pytest

from synth.svs.algorithm import (
    copies_demonstration,
    decide,
    extract_problem,
    in_band,
    is_under_performing,
    positive_synthesis,
    synthesis_chat,
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


# what a 0.5B coder writes for the prompt's ```text / <the problem> example (bench/synthesis.py):
# the format it means, not the spelling asked for; the gates still judge what is extracted
@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            '<text>\nDetermine how many times "l" appears in "free the witness".\n</text>',
            'Determine how many times "l" appears in "free the witness".',
        ),
        ("<problem>How many primes are below 10?</problem> The answer is 4.", "How many primes are below 10?"),
        ("```text\n<Problem: Calculate 3/1>\n```", "Calculate 3/1"),
        ("```text\n<The question>\nWhat is 23 times 60?\n```", "What is 23 times 60?"),
        ("```text\n< response>\n-7 / 1 = -7\n```", "-7 / 1 = -7"),  # the gate rejects it: it states its answer
        ('<the problem: determine how many letters m are in "names">', 'determine how many letters m are in "names"'),
        # a python block is a solution, not a problem: the problem written before it is taken
        (
            "<What is 23 times 60? Answer using Python code.>\n\n```python\nprint(23 * 60)\n```",
            "What is 23 times 60? Answer using Python code.",
        ),
        ("```python\nprint(23 * 60)\n```", "print(23 * 60)"),  # nothing else: the gate rejects the code
        ("```text\n<Plausible solution>\n```", "Plausible solution"),  # the gates reject a placeholder
        ("<b>bold</b> then ```text\nWhat is 2+2?\n```", "What is 2+2?"),  # the text block first
        ("```text\n<>\n```", None),
        # the tag written again as the block's first line is wrapping, not the problem's words
        ("```plaintext\ntext\nMultiply \\(4 \\times 1\\).\n```", "Multiply \\(4 \\times 1\\)."),
        ("```text\ntext\n```", None),  # the tag alone: no problem at all
        (
            "```text\nText messages cost 5 cents each. How much do 7 cost?\n```",
            "Text messages cost 5 cents each. How much do 7 cost?",
        ),
    ],
)
def test_extract_problem_reads_what_a_small_policy_means(output, expected):
    assert extract_problem(output) == expected


def test_a_relaxed_extraction_still_meets_the_gates():
    # attacks: what the relaxed reading extracts still faces the gates that stop answers and solutions
    from synth.gates import gate

    seed = "Compute the product 23 * 60."
    for output in (
        "<text>What is 23 times 60? The answer is 1380.</text>",
        "```text\n<Problem: 23 * 60 = 1380>\n```",
        "<problem>What is 23 times 60?\n```python\nprint(23 * 60)\n```</problem>",
    ):
        assert gate(extract_problem(output), seeds=[seed]) is not None, output


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


def test_the_demonstration_comes_before_the_seeds_prompt():
    shown = synthesis_chat("2 * 3 = 6", demonstration=True)
    assert [m["role"] for m in shown] == ["user", "assistant", "user"]
    assert shown[-1]["content"] == synthesis_prompt("2 * 3 = 6") and "```text" in shown[1]["content"]
    assert synthesis_chat("2 * 3 = 6") == shown  # on by default, as svs.demonstration is
    assert synthesis_chat("2 * 3 = 6", demonstration=False) == [shown[-1]]  # the official prompt alone


@pytest.mark.parametrize(
    ("statement", "seed", "copied"),
    [
        ("What is 12 multiplied by 4?", "What is 2 * 3?", True),
        ("A crate holds 4 boxes of 12 eggs each; how many eggs?", "What is 2 * 3?", True),
        ("What is 2 multiplied by 3?", "What is 2 * 3?", False),  # its words, the seed's numbers
        ("What is 12 multiplied by 4?", "What is 12 * 4?", False),  # the seed's own numbers
        ("What is 12 multiplied by 5?", "What is 2 * 3?", False),
    ],
)
def test_a_copy_of_the_demonstration_reuses_its_numbers(statement, seed, copied):
    assert (copies_demonstration(statement, seed) is not None) is copied


def test_a_variant_that_slips_into_another_language_is_gated():
    """A 0.5B night's curriculum kept this SvS variant (label 4, from "Calculate 4 * 1."): the
    policy went on in Chinese mid-sentence. A problem whose sources are in that script may use it."""
    from synth.gates import gate, switches_language

    garbled = "Multiply 4 by 1, and for an educational assessment设详细目标： theoretical solution面对简单jumbled1）"
    assert gate(garbled, seeds=["Calculate 4 * 1."], answer="4") == "gate: switches language: '设详细目标：'"
    assert gate("Why did the bus stop halfway down山路 that night?") is not None
    assert switches_language("计算 4 乘以 1 的结果是多少?", ["盒子里有 4 个苹果, 每个 1 元, 一共多少元?"]) is None
    assert gate("Find 4 × 1 in a prompt of concepts.", prompt="概念: 乘法") is None
    assert gate("If θ = 2π/3, what is cos(θ)?") is None  # Greek is mathematics, not another language
