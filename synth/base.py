"""The contract every synthesis method follows: propose -> validate -> accept or reject with a
reason. Every candidate becomes a ``synth_attempts`` row; an accepted one also becomes a
``problems`` row with ``parent_id``, ``source`` = the method and the method's figures in
``method_meta``, plus whatever rollouts and difficulty the method measured on the way."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from schemas.records import Difficulty, Problem, Rollout, SynthAttempt
from warehouse.db import Warehouse, records_to_arrow


@dataclass
class Outcome:
    """One candidate and what became of it."""

    attempt: SynthAttempt
    problem: Problem | None = None
    rollouts: list[Rollout] = field(default_factory=list)
    difficulty: Difficulty | None = None


@dataclass
class SynthReport:
    method: str
    seeds: int = 0
    prompts_over_length: int = 0
    candidates: int = 0
    extractable: int = 0
    accepted: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    already_done: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "seeds": self.seeds, "prompts_over_length": self.prompts_over_length,
            "candidates": self.candidates, "extractable": self.extractable, "accepted": self.accepted,
            "extractable_pct": round(100 * self.extractable / self.candidates, 1) if self.candidates else 0.0,
            "accepted_pct": round(100 * self.accepted / self.candidates, 1) if self.candidates else 0.0,
            "rejections": dict(self.reasons.most_common()), "already_done": self.already_done,
            "elapsed_s": round(self.elapsed_s, 1),
            "seconds_per_accepted": round(self.elapsed_s / self.accepted, 1) if self.accepted else None,
        }


def reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def record_outcomes(warehouse: Warehouse, outcomes: list[Outcome], report: SynthReport) -> None:
    """All of one batch's attempts, problems, rollouts and difficulty rows in one transaction."""
    for outcome in outcomes:
        if outcome.attempt.accepted:
            report.accepted += 1
        elif outcome.attempt.reason:
            report.reasons[reason_kind(outcome.attempt.reason)] += 1
    problems = [o.problem for o in outcomes if o.problem is not None]
    rollouts = [r for o in outcomes for r in o.rollouts]
    difficulty = [o.difficulty for o in outcomes if o.difficulty is not None]
    with warehouse.write() as con:
        warehouse.insert("synth_attempts", records_to_arrow("synth_attempts", [o.attempt for o in outcomes]), con)
        warehouse.insert("problems", records_to_arrow("problems", problems), con)
        warehouse.insert("rollouts", records_to_arrow("rollouts", rollouts), con)
        warehouse.insert("difficulty", records_to_arrow("difficulty", difficulty), con)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
