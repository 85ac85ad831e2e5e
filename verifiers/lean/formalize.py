"""Autoformalization with compiler and critic feedback (CriticLean's loop, methods.md §7.1):

1. the formalizer (the policy, or any engine) writes a Lean 4 theorem for the statement, proof
   ``sorry``, in a ```lean block;
2. the backend compiles it; on an error the next attempt sees the code and the compiler's errors;
3. when it compiles (or when no compiler exists: nothing is then recorded as compiled), the critic
   judges fidelity with CriticLean's rubric (premises, goal, quantifier and logical structure
   against the natural-language statement); on "incorrect" the next attempt sees the critique;
4. until a formalization compiles and is judged correct, or ``max_attempts``.

All problems of a call advance together: one generate call per attempt for the formalizer, one
compile batch, one generate call for the critic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemas.config import LeanConfig
from schemas.engine import SamplingParams
from verifiers.lean.backends import LeanBackend
from verifiers.lean.classify import LeanResult, statement_code

_LEAN_BLOCK = re.compile(r"```[ \t]*(?:lean4?|Lean4?)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
EXAMPLE = "theorem example_sum : (7 : ℕ) + 5 = 12 := by sorry"
_THEOREM = re.compile(r"\b(theorem|lemma|example)\b", re.IGNORECASE)
_VERDICT = re.compile(r"verdict\s*[:：]?\s*\**\s*(correct|incorrect)", re.IGNORECASE)


def extract_lean(text: str) -> str | None:
    """What the formalizer wrote: the last fenced block (```lean, ```lean4 or untagged) that
    states a theorem or lemma, else a ``theorem`` declaration written without a fence (up to a
    blank line); None without one. The compiler, where there is one, decides whether it is Lean."""
    blocks = [b for b in _LEAN_BLOCK.findall(text) if _THEOREM.search(b)]
    if blocks:
        return blocks[-1].strip()
    bare = re.search(r"^(theorem|lemma)\s.*?(?=\n\s*\n|\Z)", text, re.MULTILINE | re.DOTALL)
    return bare.group(0).strip() if bare else None


def parse_verdict(text: str) -> str:
    """correct | incorrect from the critic's "Verdict: ..." line; unclear without one (an unclear
    verdict never passes)."""
    found = _VERDICT.findall(text)
    return found[-1].lower() if found else "unclear"


def formalize_prompt(statement: str, previous: str | None = None, feedback: str | None = None) -> str:
    text = (
        "Translate this math problem into a Lean 4 theorem statement using Mathlib. State exactly what the problem "
        "says: its hypotheses as hypotheses, its question as the goal (put the expected answer in the goal). Do not "
        "prove it: the proof is `sorry`. Reply with one ```lean code block, as in this example.\n\n"
        f"Example problem: What is 7 + 5?\n```lean\n{EXAMPLE}\n```\n\n"
        f"Problem: {statement.strip()}"
    )
    if previous is not None:
        text += f"\n\nYour previous attempt:\n```lean\n{previous}\n```\nWhat was wrong with it:\n{feedback}\n\nWrite a corrected version."
    return text


def critic_prompt(statement: str, formal: str) -> str:
    return (
        "Check whether this Lean 4 statement is a faithful formalization of the math problem. Check each point: "
        "1. the premises (every hypothesis of the problem, nothing extra or contradictory); 2. the goal (what is asked, "
        "with the right answer); 3. quantifiers and the logical structure (for all / exists, implications, the types "
        "such as natural numbers versus reals).\n\n"
        f"Problem: {statement.strip()}\n\nLean 4:\n```lean\n{formal}\n```\n\n"
        "Explain briefly, then end with one line: Verdict: correct, or Verdict: incorrect."
    )


@dataclass
class Formalization:
    statement: str
    formal: str = ""
    result: LeanResult | None = None
    verdict: str | None = None
    done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return len(self.history)


def _compile_feedback(result: LeanResult) -> str:
    return "It does not compile:\n" + "\n".join(result.errors[:8])


def formalize(
    statements: list[str], engine: Any, backend: LeanBackend, config: LeanConfig, seed: int = 0
) -> list[Formalization]:
    states = [Formalization(s) for s in statements]
    feedback: dict[int, tuple[str, str]] = {}  # state -> (previous code, what was wrong)
    for attempt in range(config.max_attempts):
        active = [i for i, s in enumerate(states) if not s.done]
        if not active:
            break
        prompts = [
            [{"role": "user", "content": formalize_prompt(states[i].statement, *feedback.get(i, (None, None)))}]
            for i in active
        ]
        params = SamplingParams(n=1, temperature=config.temperature, max_tokens=config.max_tokens, seed=seed + attempt)
        texts = [group[0].text for group in engine.generate(prompts, params)]
        written: list[int] = []
        for i, text in zip(active, texts, strict=True):
            formal = extract_lean(text)
            if formal is None or "example_sum" in formal:
                why = "no ```lean block with a theorem" if formal is None else "the prompt's example copied"
                states[i].history.append({"attempt": attempt + 1, "output": text, "problem": why})
                feedback[i] = (text.strip()[:400], f"That is not a formalization of this problem: {why}.")
                continue
            states[i].formal = formal
            written.append(i)
        results = backend.check([statement_code(states[i].formal, config.header) for i in written])
        to_judge: list[int] = []
        for i, result in zip(written, results, strict=True):
            states[i].result = result
            entry = {
                "attempt": attempt + 1,
                "formal": states[i].formal,
                "status": result.status,
                "errors": result.errors[:8],
            }
            states[i].history.append(entry)
            if result.status in ("error", "timeout") or (result.status == "crash" and result.errors):
                feedback[i] = (
                    states[i].formal,
                    _compile_feedback(result) if result.errors else f"It did not compile: {result.detail}",
                )
            else:
                to_judge.append(i)
        if not to_judge:
            continue
        critic = SamplingParams(n=1, temperature=0.0, max_tokens=config.critic_max_tokens, seed=seed)
        replies = [
            group[0].text
            for group in engine.generate(
                [[{"role": "user", "content": critic_prompt(states[i].statement, states[i].formal)}] for i in to_judge],
                critic,
            )
        ]
        for i, reply in zip(to_judge, replies, strict=True):
            verdict = parse_verdict(reply)
            states[i].verdict = verdict
            states[i].history[-1].update(critique=reply, verdict=verdict)
            if verdict == "correct":
                states[i].done = True
            else:
                feedback[i] = (states[i].formal, f"A reviewer judged it {verdict}: {reply.strip()[:600]}")
    return states
