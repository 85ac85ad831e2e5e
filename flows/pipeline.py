"""Prefect flows, built from one stage table: one flow per stage, and ``nightly``, which runs the
stages in order for the latest policy.

Each flow runs its stage in a ``StageSession`` (which owns the stage's ``runs`` row) and publishes
the stage's artifacts. Tasks are coarse (a seed, a method, an estimate chunk, an export), because
Prefect costs tens of ms per task, and they receive serializable inputs (the config, an engine
spec, ids), never live engines or connections. Resumability comes from the warehouse's content
keys and the recorded estimate selection, not from Prefect's caching.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows import reports, stages
from flows.probe import probe_ingest, probe_measure
from flows.progress import ProgressLog
from flows.session import StageSession
from schemas.config import HardforgeConfig
from schemas.errors import NothingToTrain


def _config(config: dict[str, Any]) -> HardforgeConfig:
    return HardforgeConfig.model_validate(config)


def _task(name: str, function: Callable[..., Any]):
    return task(name=name, cache_policy=NO_CACHE)(function)


estimate_chunk_task = _task("estimate-chunk", stages.estimate_chunk)
synthesize_task = _task("synthesize-method", stages.synthesize_method)
filter_task = _task("filters", stages.filter_run)
export_task = _task("export", stages.export_run)
train_task = _task("grpo", stages.train_in_child)
lean_task = _task("lean-checks", stages.lean_run)
measure_task = _task("measure-chunk", stages.measure_chunk)
propose_task = _task("propose-batch", stages.propose_batch)


@task(name="ingest-seed", cache_policy=NO_CACHE)
def ingest_seed_task(config: dict[str, Any], seed: str, run_id: str) -> dict[str, Any]:
    from ingest.service import ingest
    from warehouse.db import Warehouse

    cfg = _config(config)
    return ingest(Warehouse(cfg.data_dir), seed, cfg, run_id=run_id).as_dict()


def _ingest(session: StageSession, options: dict[str, Any]) -> list[dict[str, Any]]:
    config = session.config.model_dump(mode="json")
    if options.get("seeds") is not None:
        return [ingest_seed_task(config, seed, session.run_id) for seed in options["seeds"]]
    # the nightly's seeds, after the held-out probe (so that a later near-copy of it is the one dropped)
    return probe_ingest(session.config, session.run_id) + [
        ingest_seed_task(config, seed, session.run_id) for seed in session.config.nightly.seeds
    ]


def _probe(session: StageSession, options: dict[str, Any]) -> dict[str, Any]:
    return probe_measure(session.config, options.get("policies") or [session.policy.policy_id], session.run_id)


def _synthesize(session: StageSession, options: dict[str, Any]) -> list[dict[str, Any]]:
    methods = options.get("methods") if options.get("methods") is not None else session.config.nightly.synthesize
    if not methods:
        return []
    # the nightly spends a token budget, split by each method's yield over the last nights
    tokens = stages.synthesis_budget(session.warehouse, session.config, methods) if options.get("nightly") else None
    seconds = stages.synthesis_seconds(session.config, tokens, methods) if options.get("nightly") else None
    return stages.synthesize_stage(
        session,
        methods,
        session.config.nightly.synthesize_limit,
        run_method=synthesize_task,
        submit_remote=propose_task.submit if session.config.cluster.enabled else None,
        tokens=tokens,
        seconds=seconds,
    )


def _lean(session: StageSession, options: dict[str, Any]) -> dict[str, Any]:
    where = options.get("where")
    if where is None and options.get("nightly"):
        # problems that passed the filters and were never checked: each night checks new ones
        where = (
            f"problem_id IN (SELECT problem_id FROM problems WHERE {stages.PASSED_FILTERS}) "
            "AND problem_id NOT IN (SELECT problem_id FROM lean_checks)"
        )
    limit = options.get("limit", session.config.nightly.lean_limit if options.get("nightly") else None)
    return stages.lean_stage(session, where, limit, run=lean_task)


def _filter(session: StageSession, options: dict[str, Any]) -> dict[str, Any]:
    return stages.filter_stage(session, run=filter_task)


def _estimate(session: StageSession, options: dict[str, Any]) -> dict[str, Any]:
    with ProgressLog("estimate", "problems", session.config.progress_every_s) as progress:
        return stages.estimate_stage(
            session,
            where=options.get("where"),
            limit=options.get("limit"),
            remeasure=options.get("remeasure", False),
            per_source_limit=options.get("per_source_limit"),
            signal=options.get("signal", False),
            run_chunk=estimate_chunk_task,
            progress=progress,
            submit_remote=measure_task.submit if session.config.cluster.enabled else None,
        )


def _export(session: StageSession, options: dict[str, Any]) -> dict[str, Any]:
    return stages.export_stage(session, run=export_task)


def _train(session: StageSession, options: dict[str, Any]) -> dict[str, Any]:
    try:
        return stages.train_stage(
            session,
            options.get("curriculum_id"),
            options.get("max_steps"),
            run=train_task,
            role=options.get("role", "solver"),
        )
    except NothingToTrain as exc:  # a night with nothing for its role still finishes, and says why
        return {"skipped": str(exc), "role": options.get("role", "solver")}


@dataclass(frozen=True)
class Stage:
    name: str
    body: Callable[[StageSession, dict[str, Any]], Any]
    artifacts: Callable[..., None]


# The nightly runs these in order (lean only when nightly.lean; train only when train.enabled, in the
# roles of nightly.train_roles, the solver only when the curriculum has items; probe when nightly.probe
# is set: the night's policy and the trained one on the held-out probe).
STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("ingest", _ingest, reports.ingest_artifacts),
        Stage("synthesize", _synthesize, reports.synthesize_artifacts),
        Stage("lean", _lean, reports.lean_artifacts),
        Stage("filter", _filter, reports.filter_artifacts),
        Stage("estimate", _estimate, reports.estimate_artifacts),
        Stage("export", _export, reports.export_artifacts),
        Stage("train", _train, reports.train_artifacts),
        Stage("probe", _probe, reports.probe_artifacts),
    )
}


def _stage_flow(stage: Stage):
    def run(config: dict[str, Any], policy: str | None = None, options: dict[str, Any] | None = None) -> Any:
        options = {**(options or {}), "policy": policy}
        with StageSession(_config(config), stage.name, policy=policy, prefect_run_id=_prefect_run_id()) as session:
            result = stage.body(session, options)
            stage.artifacts(session.warehouse, result)
            session.finish(result if isinstance(result, dict) else {stage.name: result})
            return result

    run.__name__ = f"{stage.name}_flow"
    return flow(name=stage.name)(run)


def _prefect_run_id() -> str | None:
    return str(flow_run.get_id() or "") or None


FLOWS: dict[str, Any] = {name: _stage_flow(stage) for name, stage in STAGES.items()}
# their batches run as Ray tasks when cluster.enabled: estimate chunks (sample and grade), synthesis
# batches (propose and validate: the solver rollouts are graded there too)
CLUSTER_STAGES = ("synthesize", "estimate")


def _ray_init(config: HardforgeConfig) -> tuple[tuple[str, ...], dict[str, Any]]:
    """``ray.init`` arguments for the configured cluster: a running one at ``cluster.address``, else a
    local one with ``cluster.workers`` CPUs. Ray 2.60 turns token authentication on; a local cluster
    turns it off (it listens on this machine only), a remote one uses RAY_AUTH_TOKEN."""
    import os

    cluster = config.cluster
    if cluster.address:
        return (cluster.address,), {}
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    return (), {
        "num_cpus": cluster.workers,
        "include_dashboard": False,
        "runtime_env": {"env_vars": {"RAY_AUTH_MODE": "disabled"}},
    }


def _prefect_ray() -> Any:
    """prefect-ray's module, or one sentence where this environment lacks it."""
    try:
        import prefect_ray
    except ImportError as exc:
        from schemas.errors import HardforgeError

        raise HardforgeError(
            f"cluster.enabled needs prefect-ray and ray, which this environment lacks ({exc}); "
            "`make setup` installs them in both environments."
        ) from None
    return prefect_ray


def ray_task_runner(config: HardforgeConfig):
    """Prefect's Ray task runner for the configured cluster (it joins Ray when this process has
    already started it: the nightly starts it once for all its stages)."""
    RayTaskRunner = _prefect_ray().RayTaskRunner  # noqa: N806
    args, kwargs = _ray_init(config)
    return RayTaskRunner(address=args[0]) if args else RayTaskRunner(init_kwargs=kwargs)


@contextmanager
def one_ray_for_the_night(config: HardforgeConfig) -> Iterator[None]:
    """Start (or join) Ray once for the nightly, so that its stages share the cluster and the
    workers keep their loaded engines from one stage to the next."""
    if not config.cluster.enabled:
        yield
        return
    _prefect_ray()
    import ray

    args, kwargs = _ray_init(config)
    ray.init(*args, **kwargs)
    try:
        yield
    finally:
        ray.shutdown()


def flow_of(name: str, config: HardforgeConfig):
    """The stage's flow, on the Ray task runner when the stage uses the cluster."""
    if config.cluster.enabled and name in CLUSTER_STAGES:
        return FLOWS[name].with_options(task_runner=ray_task_runner(config))
    return FLOWS[name]


def _since_process_start() -> float | None:
    """Seconds since this process started: before the nightly's body, Python, hardforge and
    Prefect's start (its temporary local API) took them."""
    try:
        import psutil

        return round(time.time() - psutil.Process().create_time(), 1)
    except Exception:  # psutil missing or the process table unreadable: the split goes without it
        return None


@flow(name="nightly")
def nightly(config: dict[str, Any], policy: str | None = None) -> dict[str, Any]:
    """seed ingest -> filters -> estimate -> synthesis (-> Lean checks) -> filters -> estimate of the new problems ->
    export (-> train) -> probe, for the configured policy (or the newest trained from it)."""
    from engines import STARTS

    started_at = time.monotonic()
    cfg = _config(config)
    wall: dict[str, Any] = {"prefect_start_s": _since_process_start()}
    engines_before = len(STARTS)

    def timed(name: str, call: Callable[[], Any]) -> Any:
        begun = time.monotonic()
        try:
            return call()
        finally:
            wall[f"{name}_s"] = round(time.monotonic() - begun, 1)

    with (
        StageSession(cfg, "nightly", policy=policy, prefect_run_id=_prefect_run_id()) as session,
        one_ray_for_the_night(cfg),
    ):
        night_policy = session.policy.policy_id  # before training registers a newer one
        try:
            # seeds are measured first, so that synthesis seeds from tonight's measurements of tonight's
            # policy (SvS's in-band problems exist on the first night, and after training); the new
            # problems are then filtered and measured with fresh rollouts (never their acceptance sample)
            counts: dict[str, Any] = {
                "ingest": timed("ingest", lambda: FLOWS["ingest"](config)),
                "filter": timed("filter", lambda: FLOWS["filter"](config)),
                "estimate": timed(
                    "estimate",
                    lambda: flow_of("estimate", cfg)(
                        config,
                        policy,
                        {
                            "where": stages.nightly_where(cfg),
                            "limit": cfg.nightly.estimate_limit,
                            "remeasure": True,
                            "per_source_limit": cfg.nightly.per_source_limit,
                            "signal": True,
                        },
                    ),
                ),
                "synthesize": timed(
                    "synthesize", lambda: flow_of("synthesize", cfg)(config, policy, {"nightly": True})
                ),
            }
            counts["lean"] = (
                timed("lean", lambda: FLOWS["lean"](config, policy, {"nightly": True})) if cfg.nightly.lean else None
            )
            if any(m.get("accepted") for m in counts["synthesize"] or []) or cfg.nightly.lean:
                counts["filter_synthesized"] = timed("filter_synthesized", lambda: FLOWS["filter"](config))
            if session.warehouse.scalar("SELECT count(*) FROM synth_attempts WHERE accepted"):
                counts["estimate_synthesized"] = timed(
                    "estimate_synthesized",
                    lambda: flow_of("estimate", cfg)(
                        config, policy, {"where": stages.synthesized_where(), "limit": None}
                    ),
                )
            # per method: tokens, proposals, verified, in band, seconds (tomorrow's budget follows it)
            counts["synthesis_yield"] = stages.synthesis_yield(session.warehouse, counts["synthesize"] or [])
            counts["export"] = timed("export", lambda: FLOWS["export"](config, policy))
            exported = counts["export"]
            role = stages.nightly_role(cfg, exported["items"])
            if role:
                # training holds the policy's weights, optimizer and live solver (and the proposer's
                # checker): the night's engines leave first (held, the 0.5B's night outgrew 24 GiB);
                # the probe starts the policy's again
                stages.release_shared()
            counts["train"] = (
                timed(
                    "train",
                    lambda: FLOWS["train"](
                        config,
                        policy,
                        {"curriculum_id": exported["curriculum_id"] if exported["items"] else None, "role": role},
                    ),
                )
                if role
                else None
            )
            trained = [counts["train"]["policy_id"]] if counts["train"] and "policy_id" in counts["train"] else []
            counts["probe"] = (
                timed("probe", lambda: FLOWS["probe"](config, night_policy, {"policies": [night_policy, *trained]}))
                if cfg.nightly.probe
                else None
            )
        finally:
            stages.release_shared()
        counts["report"] = str(reports.nightly_report(session.warehouse, session.run_id, cfg.nightly.probe_n))
        # the engines this nightly started (its stages share one per model: the night's policy, and a
        # trained one for the probe); each start is inside the stage that first generated
        wall["engine_starts"] = STARTS[engines_before:]
        wall["total_s"] = round(time.monotonic() - started_at, 1)
        counts["wall"] = wall
        reports.nightly_artifacts(session.warehouse, counts)
        session.finish(counts)
        return counts


FLOWS["nightly"] = nightly
