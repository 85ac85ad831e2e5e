"""One stage session: resolves the policy, builds (or reuses) the engine from a serializable spec,
holds the verifiers, owns the stage's one ``runs`` row, and closes everything. The CLI and every
flow run a stage inside one; Prefect tasks receive specs and ids, never live engines or
connections (the seam for remote engines and Ray)."""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from functools import cached_property
from pathlib import Path
from typing import Any

from engines import LazyEngine, engine_spec
from engines.base import Engine
from rollouts.policies import resolve_policy
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.engine import EngineSpec
from schemas.records import Policy, Run
from verifiers import VerifierSet
from warehouse.db import Warehouse
from warehouse.liveness import this_process


def code_version() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class StageSession:
    def __init__(
        self, config: HardforgeConfig, stage: str, *, policy: str | None = None, prefect_run_id: str | None = None
    ) -> None:
        self.config, self.stage, self._policy_spec = config, stage, policy
        self.warehouse = Warehouse(config.data_dir)
        self.verifiers = VerifierSet(config)
        self.run = Run(
            run_id=uuid.uuid4().hex,
            flow=stage,
            prefect_run_id=prefect_run_id,
            config_hash=config.digest(),
            code_version=code_version(),
            status="running",
            started_at=dt.datetime.now(dt.UTC),
            **this_process(),
        )
        self.warehouse.upsert_records("runs", [self.run])

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @cached_property
    def policy(self) -> Policy:
        return resolve_policy(self.warehouse, self.config, self._policy_spec)

    @property
    def engine_spec(self) -> EngineSpec:
        return engine_spec(self.config.engine, self.policy.model_path, self.config.rollouts.seed)

    @property
    def engine(self) -> Engine:
        return LazyEngine(self.engine_spec)

    def service(self) -> RolloutService:
        return RolloutService(self.engine, self.verifiers, self.config.rollouts, self.policy.policy_id, self.run_id)

    def note(self, counts: dict[str, Any]) -> None:
        """Figures of a run still going (e.g. its selection, so that a killed run can be resumed)."""
        self.run = self.run.model_copy(update={"counts": counts})
        self.warehouse.upsert_records("runs", [self.run])

    def finish(self, counts: dict[str, Any], status: str = "completed") -> None:
        self.run = self.run.model_copy(
            update={"status": status, "counts": counts, "finished_at": dt.datetime.now(dt.UTC)}
        )
        self.warehouse.upsert_records("runs", [self.run])

    def close(self) -> None:
        self.verifiers.close()

    def __enter__(self) -> StageSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            if kind is not None and self.run.status == "running":
                if issubclass(kind, Exception):
                    self.finish({**(self.run.counts or {}), "error": f"{kind.__name__}: {exc}"[:500]}, "failed")
                else:  # Ctrl-C, or SIGTERM (ours, or Prefect's TerminationSignal in a flow): a stop, not a failure
                    by = (
                        "Ctrl-C"
                        if kind is KeyboardInterrupt
                        else "SIGTERM"
                        if kind.__name__ in ("Terminated", "TerminationSignal")
                        else kind.__name__
                    )
                    self.finish({**(self.run.counts or {}), "stopped_by": by}, "cancelled")
        finally:
            self.close()
