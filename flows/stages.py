"""Stages as plain functions over the warehouse: the Prefect flows are thin wrappers around
these, and tests call them directly."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from filters import FILTER_ORDER, Verdict
from filters.benchmarks import load_benchmark
from filters.decontam import BenchmarkIndex, decontaminate
from filters.dedup import exact_dedup, near_dedup
from filters.validity import check_validity
from schemas.config import HardforgeConfig
from schemas.records import FilterVerdict
from warehouse.db import Warehouse


@dataclass
class FilterSummary:
    checked: dict[str, int] = field(default_factory=dict)  # new verdicts per filter
    dropped: dict[str, int] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)  # new drops by reason kind

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "dropped": self.dropped, "reasons": dict(self.reasons)}


def _reason_kind(reason: str) -> str:
    return reason.split(" of ", 1)[0].split(" (", 1)[0].split(":", 1)[0]


def run_filters(warehouse: Warehouse, config: HardforgeConfig, run_id: str | None = None) -> FilterSummary:
    """Run the filters in order over every problem, oldest first; each filter sees only the
    survivors of the ones before it. A problem keeps its verdict once given (a later, newer
    duplicate is the one dropped), so reruns are stable and add only new rows."""
    cfg = config.filters
    problems = warehouse.arrow(
        "SELECT problem_id, domain, statement, answer, verifier, source FROM problems ORDER BY created_at, problem_id"
    ).to_pylist()
    existing = {
        (r["problem_id"], r["filter"]): r["keep"]
        for r in warehouse.arrow("SELECT problem_id, filter, keep FROM filter_verdicts").to_pylist()
    }
    index = None
    if cfg.benchmarks:
        index = BenchmarkIndex(cfg.ngram)
        for spec in cfg.benchmarks:
            name, texts = load_benchmark(spec)
            index.add(name, texts)
    summary = FilterSummary()
    new_rows: list[FilterVerdict] = []
    now = dt.datetime.now(dt.UTC)
    survivors = problems
    from verifiers.math.grade import MathVerifier

    with MathVerifier(timeout_s=config.rollouts.grade_timeout_s) as math:
        for name in FILTER_ORDER:
            if (name == "near_dedup" and not cfg.near_dedup) or (name == "decontamination" and index is None):
                continue
            per_row = name in ("validity", "decontamination")
            pending = [p for p in survivors if (p["problem_id"], name) not in existing] if per_row else survivors
            if name == "validity":
                computed = check_validity(pending, cfg, math.parses)
            elif name == "exact_dedup":
                computed = exact_dedup(pending)
            elif name == "near_dedup":
                computed = near_dedup(pending, cfg.minhash_threshold, cfg.minhash_perm, cfg.shingle_words)
            else:
                computed = decontaminate(pending, index)
            verdict_of: dict[str, Verdict] = {p["problem_id"]: v for p, v in zip(pending, computed, strict=True)}
            kept = []
            for problem in survivors:
                key = (problem["problem_id"], name)
                if key in existing:
                    keep = existing[key]
                else:
                    verdict = verdict_of[problem["problem_id"]]
                    keep = verdict.keep
                    new_rows.append(FilterVerdict(
                        problem_id=problem["problem_id"], filter=name, keep=verdict.keep, reason=verdict.reason,
                        detail=verdict.detail, run_id=run_id, created_at=now,
                    ))
                    summary.checked[name] = summary.checked.get(name, 0) + 1
                    if not verdict.keep:
                        summary.dropped[name] = summary.dropped.get(name, 0) + 1
                        summary.reasons[_reason_kind(verdict.reason or name)] += 1
                if keep:
                    kept.append(problem)
            survivors = kept
    warehouse.insert_records("filter_verdicts", new_rows)
    return summary


def export_latest(warehouse: Warehouse, config: HardforgeConfig, policy: str | None = None, run_id: str | None = None):
    from curricula.export import export_curriculum
    from rollouts.policies import resolve_policy

    chosen = resolve_policy(warehouse, config, policy)
    return export_curriculum(
        warehouse, chosen.policy_id, config.curriculum, config.rollouts, config.data_dir / "curricula", run_id=run_id
    )


def record_training(warehouse: Warehouse, config: HardforgeConfig, result, run_id: str | None = None) -> dict[str, Any]:
    """Training metrics into ``runs`` (one row per training run)."""
    import uuid

    from schemas.records import Run

    summary = result.summary()
    now = dt.datetime.now(dt.UTC)
    warehouse.insert_records("runs", [Run(
        run_id=run_id or uuid.uuid4().hex, flow="train", config_hash=config.digest(), status="completed",
        counts=summary, started_at=now - dt.timedelta(seconds=result.seconds), finished_at=now,
    )])
    return summary


def pass_at_1_histogram(warehouse: Warehouse, policy_id: str, bins: int = 8) -> list[dict[str, Any]]:
    rows = warehouse.arrow(
        f"""
        SELECT least(floor(pass_at_1 * {bins}), {bins - 1})::INT AS bin, count(*) AS problems
        FROM difficulty WHERE policy_id = ? GROUP BY 1 ORDER BY 1
        """,
        [policy_id],
    ).to_pylist()
    counts = {r["bin"]: r["problems"] for r in rows}
    return [
        {"pass@1": f"[{b / bins:.3f}, {(b + 1) / bins:.3f}{']' if b == bins - 1 else ')'}", "problems": counts.get(b, 0)}
        for b in range(bins)
    ]


__all__ = ["run_filters", "export_latest", "pass_at_1_histogram", "FilterSummary"]
