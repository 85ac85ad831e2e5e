"""Votes of methods that label by the policy's agreement (self-questioning, MathSmith): each
solution's stated answer in one canonical form (None when it states none, or it does not parse as
math), and the one vote function both methods count with.

How the papers count: a solution that states no answer votes for "no answer" (SQLM's official
``Counter`` over the extracted values includes ``None``; MathSmith groups missing answers under a
sentinel), so "no answer" can win, and then there is no label. One deviation, on purpose: a tie
for the most votes is not a majority (the official code takes the value seen first).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifiers.math.extract import as_rational, extract_answer, normalize_answer

if TYPE_CHECKING:
    from rollouts.service import RolloutService


def stated_answers(
    solver: RolloutService, problems: list[dict[str, Any]], texts: list[list[str]]
) -> list[list[str | None]]:
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


@dataclass(frozen=True)
class Vote:
    answer: str | None  # the label the vote gives; None when "no answer" won or the top is tied
    count: int  # votes for the most voted value ("no answer" included)
    n: int
    tie: bool = False
    no_answer_won: bool = False

    @property
    def ratio(self) -> float:
        """TTRL's majority ratio: the share of votes for the most voted value."""
        return self.count / self.n if self.n else 0.0

    def why_none(self) -> str:
        if self.n == 0:
            return "no answer: there were no solutions"
        if self.tie:
            return f"no majority: the most voted answers are tied at {self.count} of {self.n}"
        return f"no answer: {self.count} of {self.n} solutions state no answer that parses"


def vote(answers: list[str | None]) -> Vote:
    """The majority of ``answers`` with "no answer" (None) counted as a value, a tie not a majority."""
    counts = Counter(answers)
    if not counts:
        return Vote(None, 0, 0)
    ranked = counts.most_common()
    top_value, top = ranked[0]
    tie = len(ranked) > 1 and ranked[1][1] == top
    no_answer_won = top_value is None and not tie
    return Vote(None if tie or top_value is None else top_value, top, len(answers), tie, no_answer_won)


def same_answer(a: str | None, b: str | None) -> bool:
    """Two answers are the same number, or the same loose string."""
    if a is None or b is None:
        return False
    x, y = as_rational(a), as_rational(b)
    if x is not None and y is not None:
        return x == y
    return normalize_answer(a) == normalize_answer(b)
