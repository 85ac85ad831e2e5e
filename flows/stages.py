"""The stages as plain functions of a ``StageSession``: the CLI calls them directly, the Prefect
flows (``flows.pipeline``) wrap them, and tests call either. Work that can be spread (an estimate
chunk) is a plain function of serializable arguments, so a flow can run it as a Prefect task,
locally or on a Ray worker, with the same result."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flows.progress import ProgressLog
from flows.session import StageSession
from schemas.config import HardforgeConfig
from schemas.engine import EngineSpec
from warehouse.db import Warehouse
from warehouse.queries import HELDOUT_WHERE, PASSED_FILTERS

ESTIMATE_CHUNK = 16  # problems per estimate chunk (one Prefect task)
_VERIFIERS: dict[str, Any] = {}  # config digest -> VerifierSet shared by this process's chunks


def ingest_stage(session: StageSession, seeds: list[str], **options: Any) -> list[dict[str, Any]]:
    from ingest.service import ingest, ingest_corpus

    # "corpus:foldoc" in nightly.seeds keeps ASearcher's corpus in place (a rerun adds nothing)
    return [
        ingest_corpus(session.warehouse, seed.removeprefix("corpus:"))
        if seed.startswith("corpus:")
        else ingest(session.warehouse, seed, session.config, **options).as_dict()
        for seed in seeds
    ]


def check_methods(methods: list[str]) -> None:
    from schemas.errors import HardforgeError
    from synth import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise HardforgeError(f"unknown synthesis method '{unknown[0]}'; methods: {', '.join(METHODS)}.")


def synthesize_method(
    config: dict[str, Any],
    spec: dict[str, Any],
    policy_id: str,
    run_id: str,
    method: str,
    limit: int | None,
    submit: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """One method's synthesis from serializable arguments (a Prefect task's body). With ``submit``
    (a cluster), each batch's proposing and validating is ``submit(config, spec, policy_id,
    run_id, method, batch)``, ``cluster.workers`` batches in flight, and this process keeps the
    warehouse; a method that needs the warehouse to validate runs here."""
    from engines import LazyEngine
    from rollouts.service import RolloutService
    from synth import METHODS
    from synth.runner import run_method
    from verifiers import VerifierSet

    cfg = HardforgeConfig.model_validate(config)
    synthesizer = METHODS[method](cfg)
    remote = None
    if submit is not None and synthesizer.remote:

        def remote(batch: Any) -> Any:
            return submit(config, spec, policy_id, run_id, method, batch)
    elif submit is not None:
        logging.getLogger("hardforge.flows").warning(
            "synthesize: %s runs in this process (it reads the warehouse while it validates)", method
        )
    with VerifierSet(cfg) as verifiers, ProgressLog(f"synthesize {method}", "seeds", cfg.progress_every_s) as progress:
        service = RolloutService(LazyEngine(EngineSpec(**spec)), verifiers, cfg.rollouts, policy_id, run_id)
        return run_method(
            synthesizer,
            Warehouse(cfg.data_dir),
            service,
            limit=limit,
            submit=remote,
            in_flight=cfg.cluster.workers,
            progress=progress,
        ).as_dict()


def propose_batch(
    config: dict[str, Any], spec: dict[str, Any], policy_id: str, run_id: str, method: str, batch: Any
) -> Any:
    """Propose and validate one synthesis batch on a worker with no warehouse (a Ray task's
    body); the flow decides and stores."""
    from engines import LazyEngine
    from rollouts.service import RolloutService
    from synth import METHODS
    from synth.runner import propose

    cfg = HardforgeConfig.model_validate(config)
    _share_cores(cfg)
    verifiers = _shared_verifiers(cfg)
    service = RolloutService(LazyEngine(EngineSpec(**spec)), verifiers, cfg.rollouts, policy_id, run_id)
    return propose(METHODS[method](cfg), service, batch)


def synthesize_stage(
    session: StageSession,
    methods: list[str],
    limit: int | None = None,
    run_method: Callable[..., dict[str, Any]] = synthesize_method,
    submit_remote: Callable[..., Any] | None = None,
) -> list[dict[str, Any]]:
    check_methods(methods)
    config, spec = session.config.model_dump(mode="json"), session.engine_spec.as_dict()
    if submit_remote is not None:  # a Ray cluster: workers propose and validate, this flow stores
        return [
            synthesize_method(config, spec, session.policy.policy_id, session.run_id, m, limit, submit_remote)
            for m in methods
        ]
    return [run_method(config, spec, session.policy.policy_id, session.run_id, m, limit) for m in methods]


def audit_stage(session: StageSession, sources: list[str], limit: int | None) -> dict[str, Any]:
    """``hardforge audit labels``: the labelling rules on gold problems (``synth.audit``); the table
    is the run's counts, which the report page draws."""
    from synth.audit import audit_labels, gold_problems

    where = (
        " OR ".join(f"source = '{s}' OR source LIKE '{s}:%'" for s in (x.replace("'", "''") for x in sources)) or None
    )
    problems = gold_problems(session.warehouse, where, limit)
    rules = audit_labels(session.config, session.service(), problems) if problems else []
    return {"problems": len(problems), "sources": sorted({p["source"] for p in problems}), "rules": rules}


LEAN_WHERE = "domain = 'math'"


def lean_run(
    config: dict[str, Any], spec: dict[str, Any], policy_id: str, run_id: str, where: str | None, limit: int | None
) -> dict[str, Any]:
    """Lean checks of stored math problems from serializable arguments (a Prefect task's body)."""
    from engines import LazyEngine
    from filters.lean import run_lean_checks
    from rollouts.selection import select_problems

    cfg = HardforgeConfig.model_validate(config)
    warehouse = Warehouse(cfg.data_dir)
    problems = select_problems(warehouse, f"({where}) AND {LEAN_WHERE}" if where else LEAN_WHERE, limit)
    return run_lean_checks(
        warehouse, LazyEngine(EngineSpec(**spec)), cfg, problems, policy_id=policy_id, run_id=run_id
    ).as_dict()


def lean_stage(
    session: StageSession,
    where: str | None = None,
    limit: int | None = None,
    run: Callable[..., dict[str, Any]] = lean_run,
) -> dict[str, Any]:
    return run(
        session.config.model_dump(mode="json"),
        session.engine_spec.as_dict(),
        session.policy.policy_id,
        session.run_id,
        where,
        limit,
    )


def filter_run(config: dict[str, Any], run_id: str) -> dict[str, Any]:
    from filters.runner import run_filters

    cfg = HardforgeConfig.model_validate(config)
    return run_filters(Warehouse(cfg.data_dir), cfg, run_id).as_dict()


def filter_stage(session: StageSession, run: Callable[..., dict[str, Any]] = filter_run) -> dict[str, Any]:
    return run(session.config.model_dump(mode="json"), session.run_id)


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
    verifiers = _shared_verifiers(cfg)
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


def _shared_verifiers(cfg: HardforgeConfig) -> Any:
    from verifiers import VerifierSet

    if cfg.digest() not in _VERIFIERS:
        _VERIFIERS[cfg.digest()] = VerifierSet(cfg)
    return _VERIFIERS[cfg.digest()]


def _share_cores(cfg: HardforgeConfig) -> None:
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
    _share_cores(cfg)
    verifiers = _shared_verifiers(cfg)
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


def nightly_where(config: HardforgeConfig) -> str:
    """The nightly measures problems that passed the filters (and ``nightly.estimate_where``)."""
    if config.nightly.estimate_where:
        return f"({config.nightly.estimate_where}) AND {PASSED_FILTERS}"
    return PASSED_FILTERS


def export_run(config: dict[str, Any], policy_id: str, run_id: str) -> dict[str, Any]:
    from curricula.export import export_curriculum

    cfg = HardforgeConfig.model_validate(config)
    result = export_curriculum(
        Warehouse(cfg.data_dir), policy_id, cfg.curriculum, cfg.rollouts, cfg.data_dir / "curricula", run_id=run_id
    )
    return {
        "curriculum_id": result.curriculum_id,
        "out_dir": str(result.out_dir),
        "items": result.items,
        "shards": len(result.shards),
        "by_domain": result.manifest["counts"]["by_domain"],
        "policy_id": policy_id,
    }


def export_stage(session: StageSession, run: Callable[..., dict[str, Any]] = export_run) -> dict[str, Any]:
    return run(session.config.model_dump(mode="json"), session.policy.policy_id, session.run_id)


def train_run(
    config: dict[str, Any], curriculum_id: str | None, max_steps: int | None, run_id: str, role: str = "solver"
) -> dict[str, Any]:
    from trainer.grpo import train

    cfg = HardforgeConfig.model_validate(config)
    with ProgressLog("train", "steps", cfg.progress_every_s) as progress:
        return train(
            Warehouse(cfg.data_dir),
            cfg,
            role=role,
            curriculum_id=curriculum_id,
            max_steps=max_steps,
            run_id=run_id,
            progress=progress,
        ).summary()


def train_stage(
    session: StageSession,
    curriculum_id: str | None = None,
    max_steps: int | None = None,
    run: Callable[..., dict[str, Any]] = train_run,
    role: str = "solver",
) -> dict[str, Any]:
    return run(session.config.model_dump(mode="json"), curriculum_id, max_steps, session.run_id, role)


def proposer_export_stage(
    session: StageSession, methods: list[str], per_method: int, out_dir: Path | None
) -> dict[str, Any]:
    """``hardforge export-proposer``: fresh proposer prompts of each method as a verl dataset
    (``trainer.proposer_export``), for the policy of the session."""
    from synth import METHODS
    from synth.proposer import trainable
    from trainer.proposer_export import export_proposer

    check_methods(methods)
    chosen = [METHODS[name](session.config) for name in methods]
    for method in chosen:
        trainable(method)
    out_dir = out_dir or session.config.data_dir / "proposer"
    done = export_proposer(chosen, session.warehouse, session.service(), per_method, out_dir)
    return {
        "path": str(done.path),
        "rows": done.rows,
        "by_method": done.by_method,
        "reward_path": str(done.reward_path),
        "policy_id": session.policy.policy_id,
    }


def nightly_role(config: HardforgeConfig, curriculum_items: int) -> str | None:
    """The role the nightly trains (``nightly.train_roles``), or None: training is off, or only
    the solver was asked for and the curriculum is empty (the proposer needs no curriculum)."""
    if not config.train.enabled:
        return None
    roles = set(config.nightly.train_roles) - ({"solver"} if not curriculum_items else set())
    return "both" if len(roles) == 2 else next(iter(roles), None)


def pass_at_1_histogram(warehouse: Warehouse, policy_id: str, bins: int = 8) -> list[dict[str, Any]]:
    rows = warehouse.arrow(
        f"""
        SELECT least(floor(pass_at_1 * {bins}), {bins - 1})::INT AS bin, count(*) AS problems
        FROM difficulty WHERE policy_id = ? AND NOT ({HELDOUT_WHERE}) GROUP BY 1 ORDER BY 1
        """,
        [policy_id],
    ).to_pylist()
    counts = {r["bin"]: r["problems"] for r in rows}
    return [
        {
            "pass@1": f"[{b / bins:.3f}, {(b + 1) / bins:.3f}{']' if b == bins - 1 else ')'}",
            "problems": counts.get(b, 0),
        }
        for b in range(bins)
    ]


def run_stage(
    config: HardforgeConfig,
    name: str,
    body: Callable[[StageSession], dict[str, Any] | list[Any]],
    *,
    policy: str | None = None,
    prefect_run_id: str | None = None,
) -> Any:
    """Run ``body`` in a session that owns the stage's ``runs`` row."""
    with StageSession(config, name, policy=policy, prefect_run_id=prefect_run_id) as session:
        result = body(session)
        session.finish(result if isinstance(result, dict) else {name: result})
        return result


def estimate_once(
    config: HardforgeConfig, *, policy: str | None = None, where: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """One estimate run in this process, as the CLI does it (its own runs row, engine released)."""
    try:
        return run_stage(config, "estimate", lambda s: estimate_stage(s, where=where, limit=limit), policy=policy)
    finally:
        release_shared()


__all__ = [
    "estimate_once",
    "ingest_stage",
    "lean_stage",
    "lean_run",
    "measure_chunk",
    "synthesize_stage",
    "synthesize_method",
    "propose_batch",
    "filter_stage",
    "estimate_stage",
    "estimate_chunk",
    "export_stage",
    "train_stage",
    "proposer_export_stage",
    "nightly_role",
    "nightly_where",
    "pass_at_1_histogram",
    "run_stage",
    "release_shared",
    "check_methods",
    "audit_stage",
]
