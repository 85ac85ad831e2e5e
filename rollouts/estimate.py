"""Difficulty for the current policy: sample n completions per problem, grade, store every
rollout, and write ``difficulty`` rows with pass@k (through the rollout service).

Each batch of problems is written in one transaction (its rollouts and its difficulty rows), and
problems that already have a difficulty row for (policy, sampling key) are skipped, so a killed
run resumes where it stopped and no rollout is stored twice.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from engines.base import Engine
from rollouts.selection import nightly_selection, plan_selection, select_problems
from rollouts.service import Measured, RolloutService, batch_params, difficulty_from_counts
from schemas.config import HardforgeConfig, RolloutConfig
from verifiers import REGISTRY, VerifierSet
from warehouse.db import Warehouse, records_to_arrow
from warehouse.queries import difficulty_rows


@dataclass
class Progress:
    problems_done: int
    problems_total: int
    completion_tokens: int
    elapsed_s: float

    @property
    def problems_per_s(self) -> float:
        return self.problems_done / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.problems_per_s
        return (self.problems_total - self.problems_done) / rate if rate else None


@dataclass
class EstimateSummary:
    policy_id: str
    sampling_key: str
    selected: int = 0
    already_done: int = 0
    estimated: int = 0
    rollouts: int = 0
    correct: int = 0
    in_band: int = 0  # problems whose estimate after this run is 0 < pass@1 < 1: what GRPO learns from
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    generate_s: float = 0.0
    grade_s: float = 0.0
    write_s: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> problems

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def estimate(
    warehouse: Warehouse,
    engine: Engine | RolloutService,
    policy_id: str,
    problems: list[dict[str, Any]],
    config: RolloutConfig,
    *,
    run_id: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    verifiers: VerifierSet | None = None,
    verifier_config: HardforgeConfig | None = None,
    since: dt.datetime | None = None,
) -> EstimateSummary:
    """Measure ``problems``. One already measured under its current sampling key is skipped,
    unless it is marked ``remeasure`` and was last measured before ``since`` (the start of the
    selection): then it gets another round of n samples, pooled with the earlier ones."""
    run_id = run_id or uuid.uuid4().hex
    own = verifiers is None and not isinstance(engine, RolloutService)
    if isinstance(engine, RolloutService):
        service = engine.with_config(config, estimating=True)
    else:
        verifiers = verifiers if verifiers is not None else VerifierSet(verifier_config)
        service = RolloutService(engine, verifiers, config, policy_id, run_id, estimating=True)
    summary = EstimateSummary(policy_id, "", selected=len(problems))
    todo, summary.already_done, summary.skipped = pending(warehouse, service, problems, since)
    summary.sampling_key = ",".join(sorted({service.key(p) for p in problems}))
    todo.sort(key=lambda item: service.budget(item[0]))
    start = time.monotonic()
    try:
        for offset in range(0, len(todo), config.batch_problems):
            _estimate_batch(warehouse, service, todo[offset : offset + config.batch_problems], summary)
            summary.elapsed_s = time.monotonic() - start
            if progress:
                progress(Progress(summary.estimated, len(todo), summary.completion_tokens, summary.elapsed_s))
    finally:
        if own:
            service.verifiers.close()
    summary.elapsed_s = time.monotonic() - start
    return summary


def _estimate_batch(
    warehouse: Warehouse,
    service: RolloutService,
    batch: list[tuple[dict[str, Any], dict[str, Any] | None]],
    summary: EstimateSummary,
) -> None:
    before = dict(service.timings)
    measured = service.measure([p for p, _ in batch], [previous for _, previous in batch])
    t1 = time.perf_counter()
    summary.generate_s += service.timings["generate_s"] - before["generate_s"]
    summary.grade_s += service.timings["grade_s"] - before["grade_s"]
    summary.rollouts += store(warehouse, measured_tables(measured))
    summary.write_s += time.perf_counter() - t1
    summary.estimated += len(batch)
    summary.correct += sum(m.correct for m in measured)
    summary.in_band += in_band(measured)
    summary.completion_tokens += sum(c.completion_tokens for m in measured for c in m.completions)


def in_band(measured: list[Measured]) -> int:
    return sum(0 < m.difficulty.pass_at_1 < 1 for m in measured)


def in_band_per_mtok(in_band_items: int, completion_tokens: int) -> float | None:
    """The estimate's yield: in-band problems found per million completion tokens generated."""
    return round(in_band_items / completion_tokens * 1e6, 1) if completion_tokens else None


Pending = list[tuple[dict[str, Any], dict[str, Any] | None]]


def pending(
    warehouse: Warehouse, service: RolloutService, problems: list[dict[str, Any]], since: dt.datetime | None
) -> tuple[Pending, int, dict[str, int]]:
    """(what to measure, with each problem's previous difficulty row or None; how many are already
    done; skipped reasons). A problem measured under its current sampling key is done, unless it
    is marked ``remeasure`` and was last measured before ``since``."""
    keyed = [(p, service.key(p)) for p in problems]
    before = difficulty_rows(warehouse, service.policy_id, {key for _, key in keyed})
    todo: Pending = []
    done, skipped = 0, {}
    for problem, key in keyed:
        previous = before.get((problem["problem_id"], key))
        fresh = previous is not None and since is not None and previous["estimated_at"] >= since
        if previous is not None and (fresh or not problem.get("remeasure")):
            done += 1
        elif problem["verifier"] not in REGISTRY:
            reason = f"no '{problem['verifier']}' verifier"
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            todo.append((problem, previous))
    return todo, done, skipped


def measured_tables(measured: list[Measured]) -> dict[str, pa.Table]:
    return {
        "rollouts": records_to_arrow("rollouts", [r for m in measured for r in m.rollouts]),
        "difficulty": records_to_arrow("difficulty", [m.difficulty for m in measured]),
    }


def store(warehouse: Warehouse, tables: dict[str, pa.Table]) -> int:
    """One batch's rollouts and difficulty rows in one transaction; returns the new rollouts."""
    with warehouse.write() as con:
        new = warehouse.insert("rollouts", tables["rollouts"], con)
        warehouse.upsert("difficulty", tables["difficulty"], con)
    return new


def measure_remote(service: RolloutService, todo: Pending) -> dict[str, Any]:
    """Measure on a worker that has no warehouse: the rows come back as Arrow IPC bytes, for the
    flow (the one writer) to ``store``."""
    measured = service.measure([p for p, _ in todo], [previous for _, previous in todo])
    return {
        "tables": {name: _ipc(table) for name, table in measured_tables(measured).items()},
        "estimated": len(todo),
        "correct": sum(m.correct for m in measured),
        "in_band": in_band(measured),
        "completion_tokens": sum(c.completion_tokens for m in measured for c in m.completions),
    }


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


__all__ = [
    "estimate",
    "in_band",
    "in_band_per_mtok",
    "pending",
    "store",
    "measured_tables",
    "measure_remote",
    "from_ipc",
    "select_problems",
    "nightly_selection",
    "plan_selection",
    "difficulty_from_counts",
    "batch_params",
    "EstimateSummary",
    "Progress",
]
