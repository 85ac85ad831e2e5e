"""What every label check takes and returns. A check looks at a proposed problem and its label
with something other than the policy's own agreement (exact arithmetic, a program run in the
sandbox, tests a program satisfies) and says ``agree``, ``disagree`` or ``abstain``, with why, and
how much of the statement its verdict covers: ``statement`` (it understood all of it: the verdict
decides) or ``part`` (it understood a piece: evidence, recorded, never a decision alone)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Outcome = Literal["agree", "disagree", "abstain"]
Scope = Literal["statement", "part"]


@dataclass(frozen=True)
class LabelItem:
    statement: str
    label: str  # math: the answer; stdio: the tests as JSON [[input, output], ...]
    domain: str = "math"
    verifier: str = "math"
    evidence: dict[str, Any] = field(default_factory=dict)  # e.g. the solvers' programs


@dataclass(frozen=True)
class Verdict:
    check: str
    outcome: Outcome
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
    scope: Scope = "statement"

    @property
    def decides(self) -> bool:
        """An agreement or disagreement about the whole statement."""
        return self.outcome != "abstain" and self.scope == "statement"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LabelCheck(Protocol):
    name: str
    applies_to: tuple[str, ...]  # the verifiers whose labels it can check

    def check(self, items: list[LabelItem]) -> list[Verdict]: ...


def abstain(check: str, reason: str, **detail: Any) -> Verdict:
    return Verdict(check, "abstain", reason, detail)
