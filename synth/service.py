"""The synthesize stage as one call, for the CLI and the flow. Adding a method is one registry line."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path

from engines import load_engine
from rollouts.policies import resolve_policy
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from schemas.records import Run
from synth.base import SynthReport
from warehouse.db import Warehouse


def _svs(warehouse, engine, policy_id, config, limit, run_id) -> SynthReport:
    from synth.svs.run import run_svs

    return run_svs(warehouse, engine, policy_id, config, limit=limit, run_id=run_id)


METHODS: dict[str, Callable[..., SynthReport]] = {"svs": _svs}


def run_synthesis(
    warehouse: Warehouse,
    config: HardforgeConfig,
    method: str,
    *,
    policy: str | None = None,
    limit: int | None = None,
    run_id: str | None = None,
    announce: Callable[[str], None] | None = None,
) -> SynthReport:
    if method not in METHODS:
        raise HardforgeError(f"unknown synthesis method '{method}'; methods: {', '.join(METHODS)}.")
    run_id = run_id or uuid.uuid4().hex
    started = dt.datetime.now(dt.UTC)
    chosen = resolve_policy(warehouse, config, policy)
    engine = load_engine(config.engine, Path(chosen.model_path), seed=config.rollouts.seed)
    if announce:
        announce(f"{method}: policy {chosen.name} ({chosen.policy_id[:12]}), engine {engine.name}")
    try:
        report = METHODS[method](warehouse, engine, chosen.policy_id, config, limit, run_id)
    finally:
        engine.close()
    warehouse.insert_records("runs", [Run(
        run_id=run_id, flow=f"synthesize:{method}", config_hash=config.digest(), status="completed",
        counts=report.as_dict(), started_at=started, finished_at=dt.datetime.now(dt.UTC),
    )])
    return report
