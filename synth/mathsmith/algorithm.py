"""MathSmith's pure pieces (methods.md §2, Jasaxion/MathSmith): the concept-sampled prompt with
the nine difficulty strategies, the ``<rationale>``/``<problem>`` parser, and the three reward
terms of ``mathsmith_reward_batch.py`` plus the consistency filter of ``answer_sampler_vllm.py``."""

from __future__ import annotations

import re

from synth.voting import Vote, vote

SAMPLE_CONCEPTS = 5  # SAMPLE_NUM
TARGET_SAME_ANSWER_COUNT = 3  # of the n = 6 solver samples

STRATEGIES = (
    "Multi-step reasoning: the solution needs several sequential logical steps.",
    "Cross-topic integration: it combines distinct areas of mathematics.",
    "Implicit or reverse logic: hidden conditions or backward deduction.",
    "Distractors: misleading or extraneous conditions.",
    "Abstract modelling: a complex scenario turned into mathematics.",
    "Multiple solution paths: several non-trivial approaches work.",
    "Advanced manipulation: sophisticated algebraic or geometric transformations.",
    "Extreme conditions: limits or boundary values.",
    "Non-standard representation: a familiar concept presented unconventionally.",
)

_RATIONALE = re.compile(r"<rationale>(.*?)</rationale>", re.DOTALL | re.IGNORECASE)
_PROBLEM = re.compile(r"<problem>(.*?)</problem>", re.DOTALL | re.IGNORECASE)
_HEADED = re.compile(
    r"(?:^|\n)\s*\**problem\**\s*:\s*(.+?)(?=\n\s*\**(?:solution|answer|rationale)\**\s*:|\Z)",
    re.DOTALL | re.IGNORECASE,
)
_STEP = re.compile(r"step\s*(\d+)", re.IGNORECASE)


def render_concepts(concepts: list[tuple[str, str]]) -> str:
    """The numbered list "i. Concept: Explanation" of QM_sampler."""
    return "\n".join(f"{i}. {name}: {text}" for i, (name, text) in enumerate(concepts, start=1))


RATIONALE_FIRST = (
    "First explain briefly, in at most five steps of one sentence each (Step 1, Step 2, ...), how the concepts "
    "connect and which features you use, inside <rationale></rationale>. Then write the problem alone, "
    "self-contained, inside <problem></problem>. Do not solve it."
)
# The problem first: a small policy's rationale runs on and cuts the problem off (Qwen2.5-Coder-0.5B:
# 1 of 16 outputs parsed with the rationale first, 12 of 16 with the problem first; docs/synthesis/mathsmith.md)
PROBLEM_FIRST = (
    "Reply in this format, and write nothing else:\n"
    "<problem>the problem, self-contained, with one numerical answer</problem>\n"
    "<rationale>Step 1: ... Step 2: ... (at most five short steps: how the concepts connect and which features "
    "you use)</rationale>\nDo not solve the problem."
)


def synthesis_prompt(concepts: list[tuple[str, str]], problem_first: bool = True) -> str:
    strategies = "\n".join(f"{chr(ord('a') + i)}. {s}" for i, s in enumerate(STRATEGIES))
    return (
        "Here are some mathematical concepts:\n"
        f"{render_concepts(concepts)}\n\n"
        "Pick some of these concepts that fit together naturally and write ONE challenging problem from them. "
        "It must need real insight, have a single numerical answer, and use at least two of these difficulty features:\n"
        f"{strategies}\n\n" + (PROBLEM_FIRST if problem_first else RATIONALE_FIRST)
    )


# the prompt's own words, both formats, without the concepts it is filled with (synth.gates'
# copies_instructions: a problem that repeats them is the request, not a problem)
INSTRUCTIONS = (synthesis_prompt([], problem_first=True), RATIONALE_FIRST)


def parse_output(output: str, *, require_tags: bool = True) -> tuple[str | None, str] | str:
    """(rationale, problem), or the reason the output has none. The official parser needs both
    blocks; with ``require_tags`` off a "Problem:" header also gives the problem (up to a
    "Solution:"/"Answer:" line), and a missing rationale is None (its format score stays 0)."""
    output = output.rsplit("</think>", 1)[-1]
    rationale, problem = _RATIONALE.findall(output), _PROBLEM.findall(output)
    rationale_text = rationale[-1].strip() if rationale and rationale[-1].strip() else None
    if problem and problem[-1].strip():
        if rationale_text is None and require_tags:
            return "unparsable: no <rationale>...</rationale>"
        return rationale_text, problem[-1].strip()
    if not require_tags:
        headed = _HEADED.findall(output)
        if headed and headed[-1].strip():
            return rationale_text, headed[-1].strip()
    return "unparsable: no <problem>...</problem>" + ("" if require_tags else " and no 'Problem:' header")


def step_count(rationale: str) -> int:
    """Distinct "Step N" labels in the rationale (case-insensitive)."""
    return len({int(n) for n in _STEP.findall(rationale)})


def step_score(steps: int) -> float:
    """Peaks at exactly 5 distinct steps: n/5 up to 5, then down to 0 at 10."""
    return steps / 5 if steps <= 5 else max(1 - (steps - 5) / 5, 0.0)


def format_score(parsed: bool, steps: int) -> float:
    """0.7 for both blocks plus 0.3 x the step score; 0 without them."""
    return 0.7 + 0.3 * step_score(steps) if parsed else 0.0


def cot_score(lengths: list[int], budget: int) -> float:
    """Mean solver reasoning length over the budget (the official divides by 32,768 tokens)."""
    return min(sum(lengths) / len(lengths) / budget, 1.0) if lengths and budget > 0 else 0.0


def consistency(answers: list[str | None], target: int = TARGET_SAME_ANSWER_COUNT) -> tuple[Vote, bool]:
    """The vote and whether it makes the problem valid: the most frequent answer occurs at least
    ``target`` times, counted as the official code groups them (a missing answer is a group of its
    own, so it can be the most frequent, and then there is no label); a tie is not a majority."""
    counted = vote(answers)
    return counted, counted.answer is not None and counted.count >= target


def total_reward(r_format: float, r_cot: float, r_consist: float) -> float:
    """The HC variant: R = r_format + 0.7 r_cot + 0.3 r_consist, all zero without the format."""
    if r_format <= 0:
        return 0.0
    return r_format + 0.7 * r_cot + 0.3 * r_consist


def proposer_reward(r_format: float, r_cot: float, consistent: bool, label_checked: bool, label_failed: bool) -> float:
    """The HC reward for a consistent label an independent check confirmed; the invalid-proposal
    value, 0, for anything else: a label a check found wrong, a vote no check confirmed (three
    agreeing solvers are not a label), or no consistent answer at all. The official code pays
    format and CoT length to any formatted problem, which pays most for a problem nobody can
    answer: a proposer learns to write ambiguous problems."""
    if label_failed or not (consistent and label_checked):
        return 0.0
    return total_reward(r_format, r_cot, 1.0)
