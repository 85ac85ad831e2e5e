"""The estimate stage as one call: resolve the policy, load the engine, sample, grade, store."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

from engines import load_engine
from rollouts.estimate import EstimateSummary, Progress, estimate, select_problems
from rollouts.policies import resolve_policy
from schemas.config import HardforgeConfig
from schemas.records import Run
from warehouse.db import Warehouse


def run_estimate(
    warehouse: Warehouse,
    config: HardforgeConfig,
    *,
    policy: str | None = None,
    where: str | None = None,
    limit: int | None = None,
    run_id: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    announce: Callable[[str], None] | None = None,
) -> EstimateSummary:
    run_id = run_id or uuid.uuid4().hex
    started = dt.datetime.now(dt.UTC)
    chosen = resolve_policy(warehouse, config, policy)
    problems = select_problems(warehouse, where, limit)
    engine = load_engine(config.engine, Path(chosen.model_path), seed=config.rollouts.seed)
    if announce:
        announce(f"policy {chosen.name} ({chosen.policy_id[:12]}), engine {engine.name}, {len(problems)} problems selected")
    try:
        summary = estimate(
            warehouse, engine, chosen.policy_id, problems, config.rollouts,
            run_id=run_id, progress=progress, verifier_config=config,
        )
    finally:
        engine.close()
    warehouse.insert_records(
        "runs",
        [
            Run(
                run_id=run_id, flow="estimate", config_hash=config.digest(), status="completed",
                counts=summary.as_dict(), started_at=started, finished_at=dt.datetime.now(dt.UTC),
            )
        ],
    )
    return summary
