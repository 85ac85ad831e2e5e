"""Validation of one input row into problem fields, or a quarantine reason. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from schemas.records import DEFAULT_VERIFIER, DOMAINS

# Fields a user file can map columns to; statement and answer are required.
FIELDS = ("statement", "answer", "domain", "verifier", "task", "solution", "id")


@dataclass(frozen=True)
class Limits:
    max_statement_chars: int = 20_000
    max_answer_chars: int = 20_000


@dataclass(frozen=True)
class Mapping:
    """field name -> column name in the input; constants fill fields no column provides."""

    columns: dict[str, str] = field(default_factory=dict)
    domain: str = "math"
    task: str | None = None

    def column(self, name: str) -> str:
        return self.columns.get(name, name)


class Rejected(Exception):
    """A row that goes to quarantine; ``str()`` is the reason."""


def _text(value: Any, name: str, limit: int, *, numbers_ok: bool) -> str:
    if value is None:
        raise Rejected(f"missing {name}")
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (isinstance(value, str) or (is_number and numbers_ok)):
        raise Rejected(f"wrong type: {name} is {type(value).__name__}, expected text")
    if isinstance(value, float) and not math.isfinite(value):
        raise Rejected(f"wrong type: {name} is not a finite number ({value})")
    if is_number:
        value = repr(value) if isinstance(value, float) else str(value)
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Rejected(f"invalid Unicode: {name} holds a lone surrogate") from None
    if "\x00" in value:
        raise Rejected(f"NUL character in {name}")
    if not value.strip():
        raise Rejected(f"empty {name}")
    if len(value) > limit:
        raise Rejected(f"{name} too long: {len(value)} characters > {limit}")
    return value


class RowChecker:
    """Validates raw records for one input: column names are resolved once, not per row."""

    def __init__(self, mapping: Mapping, limits: Limits) -> None:
        self.mapping, self.limits = mapping, limits
        names = {name: mapping.column(name) for name in FIELDS}
        self.statement, self.answer, self.domain = names["statement"], names["answer"], names["domain"]
        self.verifier, self.task, self.solution, self.id = (
            names["verifier"],
            names["task"],
            names["solution"],
            names["id"],
        )

    def __call__(self, record: Any) -> dict[str, Any]:
        """Problem fields for a raw record (a dict from any reader), or raise ``Rejected``."""
        if not isinstance(record, dict):
            raise Rejected(f"not an object: a JSON {type(record).__name__}")
        if self.statement not in record:
            raise Rejected(f"missing statement: no column '{self.statement}'")
        if self.answer not in record:
            raise Rejected(f"missing answer: no column '{self.answer}'")
        limits = self.limits
        statement = _text(record[self.statement], "statement", limits.max_statement_chars, numbers_ok=False)
        answer = _text(record[self.answer], "answer", limits.max_answer_chars, numbers_ok=True)
        domain = record.get(self.domain)
        if domain is None:
            domain = self.mapping.domain
        if domain not in DOMAINS:
            raise Rejected(f"unknown domain: {domain!r}, expected one of {', '.join(DOMAINS)}")
        verifier = record.get(self.verifier) or DEFAULT_VERIFIER[domain]
        if not isinstance(verifier, str):
            raise Rejected(f"wrong type: verifier is {type(verifier).__name__}, expected text")
        task = record.get(self.task, self.mapping.task)
        solution = record.get(self.solution)
        ref = record.get(self.id)
        return {
            "domain": domain,
            "statement": statement,
            "answer": answer,
            "verifier": verifier,
            "task": None if task is None else str(task),
            "solution": None if solution is None else str(solution),
            "source_ref": None if ref is None else str(ref),
            "extra": record.get("__extra__"),
        }
