"""The stages as plain functions of a ``StageSession``: the CLI calls them directly, the Prefect
flows (``flows.pipeline``) wrap them, and tests call either. Work that can be spread (an estimate
chunk) is a plain function of serializable arguments, so a flow can run it as a Prefect task,
locally or on a Ray worker, with the same result."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flows.progress import ProgressLog
from flows.session import StageSession
from flows.stage_estimate import (  # noqa: F401  (re-exported: flows.stages is every stage)
    ESTIMATE_CHUNK,
    estimate_chunk,
    estimate_stage,
    measure_chunk,
    nightly_where,
    release_shared,
    synthesized_where,
)
from flows.stage_synth import (  # noqa: F401
    LEAN_WHERE,
    audit_stage,
    check_methods,
    lean_run,
    lean_stage,
    propose_batch,
    synthesis_budget,
    synthesis_seconds,
    synthesis_yield,
    synthesize_method,
    synthesize_stage,
)
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from warehouse.db import Warehouse
from warehouse.queries import HELDOUT_WHERE


def ingest_stage(session: StageSession, seeds: list[str], **options: Any) -> list[dict[str, Any]]:
    from ingest.service import ingest, ingest_corpus

    # "corpus:foldoc" in nightly.seeds keeps ASearcher's corpus in place (a rerun adds nothing)
    return [
        ingest_corpus(session.warehouse, seed.removeprefix("corpus:"))
        if seed.startswith("corpus:")
        else ingest(session.warehouse, seed, session.config, **options).as_dict()
        for seed in seeds
    ]


def filter_run(config: dict[str, Any], run_id: str) -> dict[str, Any]:
    from filters.runner import run_filters

    cfg = HardforgeConfig.model_validate(config)
    return run_filters(Warehouse(cfg.data_dir), cfg, run_id).as_dict()


def filter_stage(session: StageSession, run: Callable[..., dict[str, Any]] = filter_run) -> dict[str, Any]:
    return run(session.config.model_dump(mode="json"), session.run_id)


def export_run(config: dict[str, Any], policy_id: str, run_id: str) -> dict[str, Any]:
    from curricula.export import export_curriculum
    from curricula.select import measured_under_other_settings

    cfg = HardforgeConfig.model_validate(config)
    out_root = cfg.curriculum.out_dir or cfg.data_dir / "curricula"
    result = export_curriculum(
        Warehouse(cfg.data_dir), policy_id, cfg.curriculum, cfg.rollouts, out_root, run_id=run_id
    )
    return {
        "curriculum_id": result.curriculum_id,
        "out_dir": str(result.out_dir),
        "items": result.items,
        "shards": len(result.shards),
        "by_domain": result.manifest["counts"]["by_domain"],
        "by_method": result.manifest["counts"]["by_method"],
        "policy_id": policy_id,
        "policy_name": Warehouse(cfg.data_dir).scalar(
            "SELECT any_value(name) FROM policies WHERE policy_id = ?", [policy_id]
        ),
        "other_settings": measured_under_other_settings(Warehouse(cfg.data_dir), policy_id, cfg.rollouts),
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


def train_in_child(
    config: dict[str, Any], curriculum_id: str | None, max_steps: int | None, run_id: str, role: str = "solver"
) -> dict[str, Any]:
    """``train_run`` in a fresh process, as the nightly trains: what training holds (weights,
    optimizer, live solver, the proposer judge's checker) goes back to the box when it ends, and
    what the night's process kept after its engines left does not add to it (in one process, a
    0.5B's second night of both roles outgrew 24 GiB)."""
    return in_child("the train stage", train_run, config, curriculum_id, max_steps, run_id, role)


def in_child(what: str, function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a fresh (spawned) process: its result, or its exception as raised
    there. A child the system killed is one sentence; a parent interrupted (a cancelled run, Ctrl-C)
    ends its child rather than wait for it, and a parent killed takes its child with it (Linux)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(send, function, args, os.getpid()))
    child.start()
    send.close()  # the child holds the only writer: its end is the pipe's end
    try:
        succeeded, value = receive.recv()
    except EOFError:
        child.join()
        raise HardforgeError(
            f"{what}'s process died before it finished (exit {child.exitcode}: killed by the system, most "
            "often for memory, docs/training.md says what fits); nothing it would have registered was."
        ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if not succeeded:
        raise value
    return value


def _answer(send: Any, function: Callable[..., Any], args: tuple[Any, ...], parent: int) -> None:
    """In the child: ``function(*args)``'s result or exception, sent to the parent, which raises it."""
    _end_with(parent)
    try:
        outcome = (True, function(*args))
    except BaseException as exc:
        outcome = (False, exc)
    try:
        send.send(outcome)
    except Exception as exc:  # a result or an exception that does not pickle: its words do
        unsent = exc if outcome[0] else outcome[1]
        send.send((False, RuntimeError(f"{type(unsent).__name__}: {unsent}")))
    finally:
        send.close()


def _end_with(parent: int) -> None:
    """The child is killed when its parent dies, even by SIGKILL (Linux's PR_SET_PDEATHSIG): an
    orphaned train stage would keep its memory (15 GB for the 0.5B's both roles) and train for
    nobody. Elsewhere the parent's ``finally`` is the only end."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took hold
        os._exit(1)


def train_stage(
    session: StageSession,
    curriculum_id: str | None = None,
    max_steps: int | None = None,
    run: Callable[..., dict[str, Any]] = train_run,
    role: str = "solver",
) -> dict[str, Any]:
    return run(session.config.model_dump(mode="json"), curriculum_id, max_steps, session.run_id, role)


def warm_start_run(
    config: dict[str, Any],
    methods: list[str] | None,
    per_method: int,
    epochs: float,
    run_id: str,
    teacher: str | None = None,
    learning_rate: float = 1e-5,
) -> dict[str, Any]:
    from trainer.warm_start import warm_start

    cfg = HardforgeConfig.model_validate(config)
    return warm_start(
        Warehouse(cfg.data_dir),
        cfg,
        methods=methods,
        per_method=per_method,
        epochs=epochs,
        learning_rate=learning_rate,
        run_id=run_id,
        teacher=teacher,
    ).summary()


def warm_start_stage(
    session: StageSession,
    methods: list[str] | None,
    per_method: int,
    epochs: float,
    teacher: str | None = None,
    learning_rate: float = 1e-5,
) -> dict[str, Any]:
    """``hardforge warm-start``: SFT of the session's policy on its (or a teacher's) verified proposals."""
    if methods:
        check_methods(methods)
    return warm_start_run(
        session.config.model_dump(mode="json"), methods, per_method, epochs, session.run_id, teacher, learning_rate
    )


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
    "synthesis_budget",
    "synthesis_seconds",
    "synthesis_yield",
    "propose_batch",
    "filter_stage",
    "estimate_stage",
    "estimate_chunk",
    "export_stage",
    "train_stage",
    "train_in_child",
    "in_child",
    "proposer_export_stage",
    "warm_start_stage",
    "nightly_role",
    "nightly_where",
    "synthesized_where",
    "pass_at_1_histogram",
    "run_stage",
    "release_shared",
    "check_methods",
    "audit_stage",
]
