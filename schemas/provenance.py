"""How a problem's answer is known: its label provenance, from least to most trusted.

- ``vote``: the policy's own agreement (self-questioning's majority, MathSmith's consistency);
- ``judged``: an LLM judge said so (ASearcher's validity and uniqueness checks);
- ``inherited``: a parent's answer, kept by construction (SvS's variants);
- ``checked``: an independent check agreed with the label (exact arithmetic, a program of thought
  run in the sandbox, tests some program satisfies);
- ``executed``: code ran and produced it (Absolute Zero's tasks);
- ``ground_truth``: seed data (CHAMP, HumanEval, reasoning-gym, a user's file).

A vote alone is a candidate, not a label, and so is a label only inherited (an SvS variant can be
ill-posed and keep its seed's answer): by default synthesis keeps, and the curriculum exports,
only labels at ``checked`` or above (``synth.min_label_provenance``,
``curriculum.min_label_provenance``).
"""

from __future__ import annotations

from typing import Literal

LabelProvenance = Literal["vote", "judged", "inherited", "checked", "executed", "ground_truth"]
ORDER: tuple[str, ...] = ("vote", "judged", "inherited", "checked", "executed", "ground_truth")
DEFAULT_MINIMUM: LabelProvenance = "checked"


def rank(provenance: str | None) -> int:
    """Position in ``ORDER`` (an unknown or missing provenance ranks below every known one)."""
    return ORDER.index(provenance) if provenance in ORDER else -1


def at_least(provenance: str | None, minimum: str) -> bool:
    return rank(provenance) >= rank(minimum)


def at_least_sql(column: str, minimum: str) -> str:
    """A SQL condition on ``column`` equivalent to ``at_least`` (for warehouse queries)."""
    kept = ", ".join(f"'{p}'" for p in ORDER[rank(minimum) :])
    return f"{column} IN ({kept})"


# The provenance a problem of each synthesized source had before it was recorded (migration 9).
SOURCE_PROVENANCE_SQL = """CASE
    WHEN source = 'svs' THEN 'inherited'
    WHEN source LIKE 'azr:%' THEN 'executed'
    WHEN source = 'sqlm' OR source = 'sqlm:code' OR source = 'mathsmith' THEN 'vote'
    WHEN source LIKE 'asearcher:%' THEN 'judged'
    ELSE 'ground_truth' END"""
