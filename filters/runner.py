"""Run the registered filters over the warehouse's problems and record their verdicts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from filters import FILTERS, Verdict
from schemas.config import HardforgeConfig
from schemas.records import FilterVerdict
from warehouse.db import Warehouse, records_to_arrow


@dataclass
class FilterSummary:
    checked: dict[str, int] = field(default_factory=dict)  # new verdicts per filter
    dropped: dict[str, int] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)  # new drops by reason kind

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "dropped": self.dropped, "reasons": dict(self.reasons)}


def reason_kind(reason: str) -> str:
    return reason.split(" of ", 1)[0].split(" (", 1)[0].split(":", 1)[0]


def run_filters(warehouse: Warehouse, config: HardforgeConfig, run_id: str | None = None) -> FilterSummary:
    """Run the filters in registry order over every problem, oldest first; each sees only the
    survivors of the ones before it. A verdict given under the filter's current config hash is
    kept (so a later, newer duplicate is the one dropped, and reruns add nothing); a verdict
    given under another config (a changed threshold, a new benchmark) is evaluated again."""
    problems = warehouse.arrow(
        "SELECT problem_id, domain, statement, answer, verifier, source FROM problems ORDER BY created_at, problem_id"
    ).to_pylist()
    existing = {
        (r["problem_id"], r["filter"]): (r["keep"], r["config_hash"])
        for r in warehouse.arrow("SELECT problem_id, filter, keep, config_hash FROM filter_verdicts").to_pylist()
    }
    summary = FilterSummary()
    new_rows: list[FilterVerdict] = []
    now = dt.datetime.now(dt.UTC)
    survivors = problems
    for cls in FILTERS.values():
        flt = cls(config)
        if not flt.enabled():
            continue
        digest = flt.config_hash()
        current = {pid: keep for (pid, name), (keep, h) in existing.items() if name == flt.name and h == digest}
        pending = [p for p in survivors if p["problem_id"] not in current] if flt.per_problem else survivors
        try:
            verdict_of: dict[str, Verdict] = dict(zip((p["problem_id"] for p in pending), flt(pending), strict=True))
        finally:
            flt.close()
        kept = []
        for problem in survivors:
            pid = problem["problem_id"]
            if pid in current:
                keep = current[pid]
            else:
                verdict = verdict_of[pid]
                keep = verdict.keep
                new_rows.append(
                    FilterVerdict(
                        problem_id=pid,
                        filter=flt.name,
                        keep=keep,
                        reason=verdict.reason,
                        detail=verdict.detail,
                        config_hash=digest,
                        run_id=run_id,
                        created_at=now,
                    )
                )
                summary.checked[flt.name] = summary.checked.get(flt.name, 0) + 1
                if not keep:
                    summary.dropped[flt.name] = summary.dropped.get(flt.name, 0) + 1
                    summary.reasons[reason_kind(verdict.reason or flt.name)] += 1
            if keep:
                kept.append(problem)
        survivors = kept
    with warehouse.write() as con:
        warehouse.upsert("filter_verdicts", records_to_arrow("filter_verdicts", new_rows), con)
    return summary


__all__ = ["run_filters", "FilterSummary"]
