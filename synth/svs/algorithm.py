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
_ANY_BLOCK = re.compile(r"```[^\n`]*\n?(.*?)```", re.DOTALL)
# the official Qwen3 fallback: the text after a "Reconstructed Question" header, up to a blank line
_HEADER = re.compile(
    r"(?:\*\*|#+\s*)?Reconstructed Question\s*(?:\*\*)?\s*:?\s*(?:\*\*)?[ \t]*\n?(.*?)(?:\n[ \t]*\n|\Z)",
    re.DOTALL | re.IGNORECASE,
)


def synthesis_prompt(solution: str) -> str:
    return SYNTHESIS_PROMPT.replace("{REPLACE}", solution.strip())


# our fallback for a small policy that writes no block: a line that is a question ("What is 58 +
# 26?", "Question: ..."), the first one; the gates decide whether it states its answer or copies
_QUESTION_LINE = re.compile(r"^[ \t]*(?:\**(?:question|problem)\**[ \t]*:[ \t]*)?(\S[^\n]{10,}\?)[ \t]*$", re.M | re.I)


def extract_problem(output: str) -> str | None:
    """The synthesized problem: after the last ``</think>``, the first ```text block, else the
    first fenced block, else the text after a "Reconstructed Question" header up to the first
    blank line (so a solution written after it stays out), else (our fallback) the first line that
    is a question; None if none."""
    text = output.rsplit("</think>", 1)[-1]
    for pattern in (_TEXT_BLOCK, _ANY_BLOCK, _HEADER, _QUESTION_LINE):
        match = pattern.search(text)
        if match:
            problem = match.group(1).strip()
            return problem or None
    return None


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
