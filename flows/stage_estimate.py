"""The estimate stage: chunks of problems measured in this process or on Ray workers, the engines
and verifiers shared within a process, and the nightly's selection (re-exported by ``flows.stages``)."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from flows.session import StageSession
from schemas.config import HardforgeConfig
from schemas.engine import EngineSpec
from warehouse.db import Warehouse
from warehouse.queries import PASSED_FILTERS

ESTIMATE_CHUNK = 16  # problems per estimate chunk (one Prefect task)
_VERIFIERS: dict[str, Any] = {}  # config digest -> VerifierSet shared by this process's chunks


def estimate_chunk(
    config: dict[str, Any],
    spec: dict[str, Any],
    policy_id: str,
    run_id: str,
    problems: list[dict[str, Any]],
    since: str | None,
) -> dict[str, Any]:
    """Estimate one chunk from serializable arguments: the engine and verifiers are built on first
    use and reused by later chunks in the same process."""
    from engines import LazyEngine
    from rollouts.estimate import estimate

    cfg = HardforgeConfig.model_validate(config)
    verifiers = shared_verifiers(cfg)
    summary = estimate(
        Warehouse(cfg.data_dir),
        LazyEngine(EngineSpec(**spec)),
        policy_id,
        problems,
        cfg.rollouts,
        run_id=run_id,
        verifiers=verifiers,
        since=dt.datetime.fromisoformat(since) if since else None,
    )
    return summary.as_dict()


def release_shared() -> None:
    """Close the engines and verifiers that chunks of this process shared."""
    from engines import release_engines

    while _VERIFIERS:
        _VERIFIERS.popitem()[1].close()
    release_engines()
    return_freed_memory()


def return_freed_memory() -> None:
    """Hand what was freed back to the box: glibc keeps freed heap pages for reuse, so an engine's
    gigabytes stayed in this process after it closed (elsewhere: nothing to do)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def shared_verifiers(cfg: HardforgeConfig) -> Any:
    from verifiers import VerifierSet

    if cfg.digest() not in _VERIFIERS:
        _VERIFIERS[cfg.digest()] = VerifierSet(cfg)
    return _VERIFIERS[cfg.digest()]


def share_cores(cfg: HardforgeConfig) -> None:
    """A local cluster shares this machine's cores: each worker's torch gets its share, not all."""
    if cfg.cluster.address is None:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // cfg.cluster.workers))


def measure_chunk(
    config: dict[str, Any], spec: dict[str, Any], policy_id: str, run_id: str, todo: list[list[Any]]
) -> dict[str, Any]:
    """Measure (problem, previous) pairs on a worker with no warehouse; the rows come back to the
    flow, which stores them (a Ray task's body: DuckDB keeps one writer)."""
    from engines import LazyEngine
    from rollouts.estimate import measure_remote
    from rollouts.service import RolloutService

    cfg = HardforgeConfig.model_validate(config)
    share_cores(cfg)
    verifiers = shared_verifiers(cfg)
    service = RolloutService(
        LazyEngine(EngineSpec(**spec)), verifiers, cfg.rollouts, policy_id, run_id, estimating=True
    )
    started = time.monotonic()
    result = measure_remote(service, [(p, prev) for p, prev in todo])
    return {**result, "elapsed_s": time.monotonic() - started, "worker": f"{socket.gethostname()}:{os.getpid()}"}


def _estimate_on_cluster(
    session: StageSession,
    todo: list[Any],
    submit: Callable[..., Any],
    totals: dict[str, Any],
    progress: Callable[[int, int, dict[str, Any]], None] | None,
) -> None:
    """Chunks as Ray tasks, stored by this flow as they finish: one writer, and a chunk whose
    task fails stores nothing (a rerun measures it)."""
    from prefect.futures import as_completed

    from rollouts.estimate import from_ipc, store

    cfg = session.config
    size = cfg.cluster.chunk_problems
    config, spec = cfg.model_dump(mode="json"), session.engine_spec.as_dict()
    started = time.monotonic()
    futures = [
        submit(config, spec, session.policy.policy_id, session.run_id, todo[i : i + size])
        for i in range(0, len(todo), size)
    ]
    workers: set[str] = set()
    for future in as_completed(futures):
        chunk = future.result()
        workers.add(chunk["worker"])
        totals["workers"] = len(workers)
        totals["rollouts"] += store(session.warehouse, {k: from_ipc(v) for k, v in chunk["tables"].items()})
        for key in ("estimated", "correct", "in_band", "completion_tokens"):
            totals[key] += chunk[key]
        totals["elapsed_s"] = time.monotonic() - started
        if progress:
            progress(totals["estimated"], len(todo), totals)


def estimate_stage(
    session: StageSession,
    *,
    where: str | None = None,
    limit: int | None = None,
    remeasure: bool = False,
    per_source_limit: dict[str, int] | None = None,
    signal: bool = False,
    run_chunk: Callable[..., dict[str, Any]] = estimate_chunk,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
    submit_remote: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Plan the selection (resuming a killed run's; with ``signal``, the nightly's signal rule), record
    it, and estimate what is left of it chunk by chunk (``progress`` counts those problems)."""
    from rollouts.estimate import in_band_per_mtok, pending
    from rollouts.selection import SignalRule, plan_selection
    from rollouts.service import RolloutService

    cfg, policy = session.config, session.policy
    rule = SignalRule(cfg.nightly.recheck, cfg.nightly.source_evidence, cfg.rollouts.seed) if signal else None
    plan = plan_selection(
        session.warehouse,
        cfg.rollouts,
        policy.policy_id,
        where,
        limit,
        remeasure=remeasure,
        per_source_limit=per_source_limit,
        signal=rule,
    )
    session.note({"policy_id": policy.policy_id, **plan.as_record()})
    totals: dict[str, Any] = {
        "policy_id": policy.policy_id,
        "selected": len(plan.problems),
        "estimated": 0,
        "already_done": 0,
        "rollouts": 0,
        "correct": 0,
        "in_band": 0,
        "completion_tokens": 0,
        "skipped": {},
        "resumed": plan.resumed_from,
        "passed_over": plan.passed_over,
        "elapsed_s": 0.0,
    }
    service = RolloutService(None, session.verifiers, cfg.rollouts, policy.policy_id, session.run_id, estimating=True)
    todo, totals["already_done"], totals["skipped"] = pending(session.warehouse, service, plan.problems, plan.since)
    # cheap token budgets first, so that a chunk batches problems of one budget together
    todo.sort(key=lambda item: cfg.rollouts.for_source(item[0]["source"]).max_tokens)
    if progress:
        progress(0, len(todo), totals)
    if submit_remote is not None:  # a Ray cluster: workers measure, this flow stores
        _estimate_on_cluster(session, todo, submit_remote, totals, progress)
        return {**totals, "in_band_per_mtok": in_band_per_mtok(totals["in_band"], totals["completion_tokens"])}
    config, spec = cfg.model_dump(mode="json"), session.engine_spec.as_dict()
    since = plan.since.isoformat() if plan.since else None
    for start in range(0, len(todo), ESTIMATE_CHUNK):
        chunk = run_chunk(
            config, spec, policy.policy_id, session.run_id, [p for p, _ in todo[start : start + ESTIMATE_CHUNK]], since
        )
        for key in ("estimated", "already_done", "rollouts", "correct", "in_band", "completion_tokens", "elapsed_s"):
            totals[key] += chunk[key]
        for reason, count in chunk["skipped"].items():
            totals["skipped"][reason] = totals["skipped"].get(reason, 0) + count
        if progress:
            progress(min(start + ESTIMATE_CHUNK, len(todo)), len(todo), totals)
    return {**totals, "in_band_per_mtok": in_band_per_mtok(totals["in_band"], totals["completion_tokens"])}


def synthesized_where() -> str:
    """Synthesized problems that passed the filters: the nightly measures tonight's (and any the
    policy has not measured yet, as after training) with fresh rollouts."""
    return f"problem_id IN (SELECT problem_id FROM synth_attempts WHERE accepted) AND {PASSED_FILTERS}"


def nightly_where(config: HardforgeConfig) -> str:
    """The nightly measures problems that passed the filters (and ``nightly.estimate_where``)."""
    if config.nightly.estimate_where:
        return f"({config.nightly.estimate_where}) AND {PASSED_FILTERS}"
    return PASSED_FILTERS
