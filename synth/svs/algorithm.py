"""SvS's pure pieces: the synthesis prompt, problem extraction, the two bands and the decision.
Numbers and rules from shared/specs/methods.md §1 (the official MasterVito/SvS code)."""

from __future__ import annotations

import re

UNDER_PERFORMING = (0.125, 0.5)  # acc band of problems whose correct solutions seed synthesis
POSITIVE_SYNTHESIS = (0.125, 0.625)  # band of k/G for an accepted variant: 1..5 of 8

# A paraphrase of the official template; {REPLACE} receives the correct solution.
SYNTHESIS_PROMPT = """You are an expert in educational assessment and problem design. Below is a model's response \
to a math problem; the response is guaranteed to be correct.

Response:
{REPLACE}

Infer the topic, the kind of reasoning and calculation, and the likely learning objective. Then write \
one clear, realistic, explicit and unambiguous problem, in English, that would most plausibly elicit \
exactly this response. Output only the problem, inside a fenced code block tagged `text`:
```text
<the problem>
```"""

_TEXT_BLOCK = re.compile(r"```text[ \t]*\n?(.*?)```", re.DOTALL)
_ANY_BLOCK = re.compile(r"```([^\n`]*)\n?(.*?)```", re.DOTALL)
# a block of code is a solution, never the problem: a small policy often solves instead of asking
_CODE_TAGS = {"python", "py", "python3", "output", "bash", "sh", "console", "json"}
# the official Qwen3 fallback: the text after a "Reconstructed Question" header, up to a blank line
_HEADER = re.compile(
    r"(?:\*\*|#+\s*)?Reconstructed Question\s*(?:\*\*)?\s*:?\s*(?:\*\*)?[ \t]*\n?(.*?)(?:\n[ \t]*\n|\Z)",
    re.DOTALL | re.IGNORECASE,
)
# the ```text block spelled as a tag (<text>...</text>, <problem>...</problem>), as small policies do
_TAG_BLOCK = re.compile(r"<(text|problem|question)>[ \t]*\n?(.*?)</\1>", re.DOTALL | re.IGNORECASE)
# the prompt's "<the problem>" placeholder kept around the problem: "<Problem: Calculate 3/1>"
_BRACKETED_LINE = re.compile(r"^[ \t]*<([^<>\n]{10,})>[ \t]*$", re.M)
_PLACEHOLDER_LINE = re.compile(r"\A[ \t]*<[^<>\n]{0,30}>[ \t]*\n")
# the block's tag written again as its first line ("```plaintext\ntext\nMultiply 4 by 1.": a 0.5B
# night, 2026-12-07), or as all of it ("```text\ntext\n```": no problem)
_TAG_LINE = re.compile(r"\A[ \t]*(?:text|plaintext|plain|txt|markdown)[ \t]*(?:\n|\Z)", re.IGNORECASE)
_LABEL = re.compile(r"\A(?:the\s+)?(?:problem|question)\s*:\s*", re.IGNORECASE)


def synthesis_prompt(solution: str) -> str:
    return SYNTHESIS_PROMPT.replace("{REPLACE}", solution.strip())


# Our deviation for small policies (svs.demonstration): one worked exchange before the seed's prompt,
# so the reply's form (a question in a ```text block, no answer, no solution) is shown, not only
# described. Its solution is a bare computation, as most seeds' are, and its problem asks for that
# computation in plain words: a story ("A box holds 12 eggs ...") taught a 0.5B stories that lost
# the answer. A reply that reuses its numbers is a copy (``copies_demonstration``).
DEMONSTRATION_SOLUTION = "12 × 4 = 48"
DEMONSTRATION_PROBLEM = "What is 12 multiplied by 4?"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def copies_demonstration(statement: str, seed: str = "") -> str | None:
    """The demonstration's problem proposed back: its numbers (12 and 4) reused where the seed has
    not both. Its words with the seed's numbers are a variant like any other: the checks decide
    whether it keeps the answer."""
    shown = set(_NUMBER.findall(DEMONSTRATION_PROBLEM))
    if shown <= set(_NUMBER.findall(statement)) and not shown <= set(_NUMBER.findall(seed)):
        return "gate: near-copy: reuses the numbers of the demonstration's problem"
    return None


def synthesis_chat(solution: str, demonstration: bool = True) -> list[dict[str, str]]:
    """The synthesis prompt for one correct solution, after the demonstration exchange if asked."""
    shown = [
        {"role": "user", "content": synthesis_prompt(DEMONSTRATION_SOLUTION)},
        {"role": "assistant", "content": f"```text\n{DEMONSTRATION_PROBLEM}\n```"},
    ]
    return [*(shown if demonstration else []), {"role": "user", "content": synthesis_prompt(solution)}]


# our fallback for a small policy that writes no block: a line that is a question ("What is 58 +
# 26?", "Question: ..."), the first one; the gates decide whether it states its answer or copies
_QUESTION_LINE = re.compile(r"^[ \t]*(?:\**(?:question|problem)\**[ \t]*:[ \t]*)?(\S[^\n]{10,}\?)[ \t]*$", re.M | re.I)


def _unwrapped(problem: str) -> str:
    """The problem without the prompt's placeholder around it: a first line that is only the
    block's tag ("text") or a placeholder ("<The question>"), angle brackets around the whole
    ("<Problem: ...>"), and a leading "Problem:" label. Only wrapping is taken off: the words are
    the policy's."""
    problem = _TAG_LINE.sub("", problem.strip(), count=1).strip()
    problem = _PLACEHOLDER_LINE.sub("", problem, count=1).strip()
    if problem.startswith("<") and problem.endswith(">") and "<" not in problem[1:-1] and ">" not in problem[1:-1]:
        problem = problem[1:-1].strip()
    return _LABEL.sub("", problem, count=1).strip()


def _found(text: str) -> str | None:
    match = _TEXT_BLOCK.search(text) or _TAG_BLOCK.search(text)
    if match:
        return match.group(match.lastindex or 1)
    blocks = list(_ANY_BLOCK.finditer(text))
    prose = [b for b in blocks if b.group(1).strip().lower() not in _CODE_TAGS]
    if prose:
        return prose[0].group(2)
    for pattern in (_HEADER, _BRACKETED_LINE, _QUESTION_LINE):
        match = pattern.search(text)
        if match:
            return match.group(1)
    return blocks[0].group(2) if blocks else None  # only code: the gates say why it is no problem


def extract_problem(output: str) -> str | None:
    """The synthesized problem: after the last ``</think>``, the first ```text block (or the same
    block written as a <text>/<problem> tag), else the first fenced block that is not code, else
    the text after a "Reconstructed Question" header up to the first blank line (so a solution
    written after it stays out), else (our fallbacks for a small policy) a line in the prompt's
    angle brackets, the first line that is a question, or a code block (which the gates reject);
    the prompt's placeholder is taken off (``_unwrapped``); None if nothing is left."""
    found = _found(output.rsplit("</think>", 1)[-1])
    if found is None:
        return None
    return _unwrapped(found) or None


def in_band(value: float, band: tuple[float, float]) -> bool:
    """Closed interval on both ends, as the official code compares (<=, <=)."""
    low, high = band
    return low <= value <= high


def is_under_performing(accuracy: float, band: tuple[float, float] = UNDER_PERFORMING) -> bool:
    return in_band(accuracy, band)


def positive_synthesis(correct: int, group: int, band: tuple[float, float] = POSITIVE_SYNTHESIS) -> bool:
    """Reward 1 iff G*low <= k <= G*high (for G = 8: 1 <= k <= 5)."""
    low, high = band
    return group * low <= correct <= group * high


def decide(correct: int, group: int, band: tuple[float, float] = POSITIVE_SYNTHESIS) -> tuple[bool, str | None]:
    """Accept a variant, or the reason it is rejected."""
    if positive_synthesis(correct, group, band):
        return True, None
    if correct < group * band[0]:
        return False, f"unsolvable: {correct}/{group} solutions reach the original answer"
    return False, f"too easy: {correct}/{group} solutions reach the original answer"


def variational_reward(correct: int, group: int, echo: bool, band: tuple[float, float] = POSITIVE_SYNTHESIS) -> float:
    """SvS's reward of the synthesis sample: 1 iff the variant's solve count is in the positive band
    (G*0.125 <= k <= G*0.625), else 0; a variant whose accepting replies only echo a number of its
    statement earns the invalid value, 0."""
    return 1.0 if positive_synthesis(correct, group, band) and not echo else 0.0
