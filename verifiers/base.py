"""What every verifier takes and returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class GradeItem:
    """One completion to grade against one problem's reference."""

    answer: str  # math/qa: the reference answer; code: the test program
    completion: str
    statement: str = ""
    extra: dict[str, Any] | None = None
    extraction: str = "strict"  # answer extraction mode for math-style verifiers


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None  # what was graded: the extracted answer, or the extracted program
    score: float
    detail: str | None = None  # e.g. "no answer found", "timeout", "failed: AssertionError"


class Verifier(Protocol):
    name: str

    def grade(self, items: list[GradeItem]) -> list[Grade]: ...

    def close(self) -> None: ...
