"""Stages as plain functions over the warehouse: the Prefect flows are thin wrappers around
these, and tests call them directly."""

from __future__ import annotations

import datetime as dt
from typing import Any

from filters.runner import FilterSummary, run_filters
from schemas.config import HardforgeConfig
from warehouse.db import Warehouse


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
