"""What every label check takes and returns. A check looks at a proposed problem and its label
with something other than the policy's own agreement (exact arithmetic, a program run in the
sandbox, tests a program satisfies) and says ``agree``, ``disagree`` or ``abstain``, with why, and
how much of the statement its verdict covers: ``statement`` (it understood all of it: the verdict
decides) or ``part`` (it understood a piece: evidence, recorded, never a decision alone).

A check that can compute the answer from the statement alone says what it computed (``value``).
Given no label (``LabelItem.label`` None), such a check *derives* one: its verdict agrees with the
value it computed, and that value becomes the label (``checks.derive_labels``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Outcome = Literal["agree", "disagree", "abstain"]
Scope = Literal["statement", "part"]


@dataclass(frozen=True)
class LabelItem:
    statement: str
    label: str | None  # math: the answer; stdio: the tests as JSON [[input, output], ...]; None: derive one
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
    value: str | None = None  # the answer the check computed from the statement alone, when it could

    @property
    def decides(self) -> bool:
        """An agreement or disagreement about the whole statement."""
        return self.outcome != "abstain" and self.scope == "statement"

    @property
    def derived(self) -> str | None:
        """The label this verdict gives a statement that has none: a value computed from the whole
        statement by a check whose agreement counts."""
        return self.value if self.decides and self.outcome == "agree" else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LabelCheck(Protocol):
    name: str
    applies_to: tuple[str, ...]  # the verifiers whose labels it can check

    def check(self, items: list[LabelItem]) -> list[Verdict]: ...


def abstain(check: str, reason: str, **detail: Any) -> Verdict:
    return Verdict(check, "abstain", reason, detail)
