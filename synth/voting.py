"""Label-free answers for methods that vote (self-questioning, MathSmith): each solution's stated
answer in one canonical form, or None when it states none or it does not parse as math."""

from __future__ import annotations

from typing import Any

from rollouts.service import RolloutService
from verifiers.math.extract import as_rational, extract_answer


def stated_answers(solver: RolloutService, problems: list[dict[str, Any]], texts: list[list[str]]) -> list[list[str | None]]:
    """Plain numbers get one canonical form (12 and 12.0 vote together); the rest is checked by
    the math verifier's parser, in its worker processes."""
    raw = [[extract_answer(t, solver.extraction(p)) for t in group] for p, group in zip(problems, texts, strict=True)]
    others = sorted({a for group in raw for a in group if a is not None and as_rational(a) is None})
    parses = dict(zip(others, solver.verifiers.get("math").parses(others), strict=True)) if others else {}

    def canonical(answer: str | None) -> str | None:
        if answer is None:
            return None
        number = as_rational(answer)
        if number is not None:
            return str(number.numerator) if number.denominator == 1 else f"{number.numerator}/{number.denominator}"
        return answer.strip() if parses.get(answer) else None

    return [[canonical(a) for a in group] for group in raw]
