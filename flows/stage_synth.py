"""The synthesis stages (each method over its seeds, as Prefect-sized batches), the label audit
on gold and the Lean checks, as plain functions of a ``StageSession`` (re-exported by ``flows.stages``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flows.progress import ProgressLog
from flows.session import StageSession
from flows.stage_estimate import share_cores, shared_verifiers
from schemas.config import HardforgeConfig
from schemas.engine import EngineSpec
from warehouse.db import Warehouse


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
    tokens: int | None = None,
    seconds: float | None = None,
) -> dict[str, Any]:
    """One method's synthesis from serializable arguments (a Prefect task's body), up to ``limit``
    seeds, ``tokens`` generated tokens and ``seconds`` of wall time. With ``submit``
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
            tokens=tokens,
            seconds=seconds,
        ).as_dict() | {"run_id": run_id, "token_budget": tokens, "seconds_budget": seconds}


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
    share_cores(cfg)
    verifiers = shared_verifiers(cfg)
    service = RolloutService(LazyEngine(EngineSpec(**spec)), verifiers, cfg.rollouts, policy_id, run_id)
    return propose(METHODS[method](cfg), service, batch)


def synthesize_stage(
    session: StageSession,
    methods: list[str],
    limit: int | None = None,
    run_method: Callable[..., dict[str, Any]] = synthesize_method,
    submit_remote: Callable[..., Any] | None = None,
    tokens: dict[str, int] | None = None,
    seconds: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Each method in turn, up to ``limit`` seeds and its share of ``tokens`` and ``seconds``
    (budgets per method)."""
    check_methods(methods)
    config, spec = session.config.model_dump(mode="json"), session.engine_spec.as_dict()
    budget, reports, unspent = tokens or {}, [], 0.0
    for m in methods:
        # the seconds a method left (out of seeds, or its tokens spent first) go to the next one
        wall = None if seconds is None else seconds.get(m, 0.0) + unspent
        if submit_remote is not None:  # a Ray cluster: workers propose and validate, this flow stores
            report = synthesize_method(
                config, spec, session.policy.policy_id, session.run_id, m, limit, submit_remote, budget.get(m), wall
            )
        else:
            report = run_method(
                config, spec, session.policy.policy_id, session.run_id, m, limit, tokens=budget.get(m), seconds=wall
            )
        reports.append(report)
        if wall is not None:
            unspent = max(0.0, wall - float((report or {}).get("elapsed_s", wall)))
    return reports


SYNTHESIS_IN_BAND_SQL = """
SELECT a.method, count(DISTINCT a.problem_id) AS in_band FROM synth_attempts a
JOIN difficulty d ON d.problem_id = a.problem_id AND d.policy_id = a.policy_id
WHERE a.accepted AND a.run_id = ? AND d.estimated_at > a.created_at AND d.pass_at_1 > 0 AND d.pass_at_1 < 1
GROUP BY 1
"""


def synthesis_yield(warehouse: Warehouse, reports: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per method of a synthesis run: tokens, proposals, verified, in band (its verified problems a
    later measurement found in band: the acceptance sample does not count) and seconds."""
    out: dict[str, dict[str, Any]] = {}
    for report in reports:
        rows = warehouse.arrow(SYNTHESIS_IN_BAND_SQL, [report.get("run_id")]).to_pylist()
        in_band = {r["method"]: r["in_band"] for r in rows}
        out[report["method"]] = {
            "tokens": report.get("tokens", 0),
            "proposals": report["candidates"],
            "verified": report["accepted"],
            "in_band": in_band.get(report["method"], 0),
            "seconds": report["elapsed_s"],
        }
    return out


def synthesis_budget(warehouse: Warehouse, config: HardforgeConfig, methods: list[str]) -> dict[str, int] | None:
    """Tonight's tokens per method (``synth.budget.allocate``) from the last nights' yields."""
    from synth.budget import allocate, combined

    nightly = config.nightly
    if nightly.synthesize_tokens is None or not methods:
        return None
    rows = warehouse.arrow(
        "SELECT json_extract(counts, '$.synthesis_yield') AS y FROM runs WHERE flow = 'nightly' AND status = 'completed' "
        "AND json_extract(counts, '$.synthesis_yield') IS NOT NULL ORDER BY started_at DESC LIMIT ?",
        [nightly.synthesis_nights],
    ).to_pylist()
    history = combined(json.loads(r["y"]) for r in rows)
    return allocate(nightly.synthesize_tokens, methods, history, nightly.synthesize_floor)


def synthesis_seconds(
    config: HardforgeConfig, tokens: dict[str, int] | None, methods: list[str]
) -> dict[str, float] | None:
    """Tonight's wall time per method (``synth.budget.share_seconds``): the night ends in time."""
    from synth.budget import share_seconds

    return share_seconds(config.nightly.synthesize_seconds, tokens, methods)


def audit_stage(session: StageSession, sources: list[str], limit: int | None) -> dict[str, Any]:
    """``hardforge audit labels``: the labelling rules on gold problems (``synth.audit``); the table
    is the run's counts, which the report page draws."""
    from synth.audit import audit_labels, gold_problems
    from synth.labels import choose_checker

    where = (
        " OR ".join(f"source = '{s}' OR source LIKE '{s}:%'" for s in (x.replace("'", "''") for x in sources)) or None
    )
    problems = gold_problems(session.warehouse, where, limit)
    rules = audit_labels(session.config, session.service(), problems) if problems else []
    checker = choose_checker(session.config, session.policy.policy_id, session.policy.model_path)
    return {
        "problems": len(problems),
        "sources": sorted({p["source"] for p in problems}),
        "checker": f"{checker.name} ({checker.relation})",
        "rules": rules,
    }


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
