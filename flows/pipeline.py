"""Prefect flows: one per stage, and ``nightly``, which runs them in order for the latest policy.

Flows are thin: each task calls a stage function (``ingest``, ``flows.stages``, ``rollouts``).
Tasks are coarse (a seed, a chunk of problems, an export), because Prefect costs tens of ms per
task. They use no input-hash caching (engines and verifiers are not hashable); resumability comes
from the warehouse's content keys instead. Every flow writes a ``runs`` row and artifacts.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from schemas.config import HardforgeConfig
from schemas.records import Run
from warehouse.db import Warehouse

ESTIMATE_CHUNK = 16  # problems per estimate task



def _code_version() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


class RunRecord:
    """The ``runs`` row of one flow run: written as running, then completed or failed."""

    def __init__(self, warehouse: Warehouse, flow_name: str, config: HardforgeConfig) -> None:
        self.warehouse = warehouse
        self.run = Run(
            run_id=uuid.uuid4().hex, flow=flow_name, prefect_run_id=str(flow_run.get_id() or "") or None,
            config_hash=config.digest(), code_version=_code_version(), status="running",
            started_at=dt.datetime.now(dt.UTC),
        )
        warehouse.upsert_records("runs", [self.run])

    def note(self, counts: dict[str, Any]) -> None:
        """Store figures while the run is still going (e.g. its selection, for a resume)."""
        self.run = self.run.model_copy(update={"counts": counts})
        self.warehouse.upsert_records("runs", [self.run])

    def finish(self, status: str, counts: dict[str, Any]) -> None:
        self.run = self.run.model_copy(update={"status": status, "counts": counts, "finished_at": dt.datetime.now(dt.UTC)})
        self.warehouse.upsert_records("runs", [self.run])


def _load(config: dict[str, Any]) -> tuple[HardforgeConfig, Warehouse]:
    cfg = HardforgeConfig.model_validate(config)
    return cfg, Warehouse(cfg.data_dir)


def _table(key: str, rows: list[dict[str, Any]], description: str) -> None:
    create_table_artifact(key=key, table=rows or [{"(none)": ""}], description=description)


# -- tasks ------------------------------------------------------------------------------------
@task(name="ingest-seed", cache_policy=NO_CACHE)
def ingest_seed(config: dict[str, Any], seed: str) -> dict[str, Any]:
    from ingest.service import ingest

    cfg, warehouse = _load(config)
    return ingest(warehouse, seed, cfg).as_dict()


@task(name="synthesize-method", cache_policy=NO_CACHE)
def synthesize_method(config: dict[str, Any], method: str, policy: str | None, run_id: str) -> dict[str, Any]:
    from synth.service import run_synthesis

    cfg, warehouse = _load(config)
    return run_synthesis(warehouse, cfg, method, policy=policy, run_id=run_id, limit=cfg.nightly.synthesize_limit).as_dict()


@task(name="filters", cache_policy=NO_CACHE)
def filter_problems(config: dict[str, Any], run_id: str) -> dict[str, Any]:
    from flows.stages import run_filters

    cfg, warehouse = _load(config)
    return run_filters(warehouse, cfg, run_id).as_dict()


@task(name="estimate-chunk", cache_policy=NO_CACHE)
def estimate_chunk(warehouse: Warehouse, engine, policy_id: str, problems: list[dict[str, Any]], config: HardforgeConfig,
                   run_id: str, verifiers: dict, since: dt.datetime | None) -> dict[str, Any]:
    from rollouts.estimate import estimate

    summary = estimate(warehouse, engine, policy_id, problems, config.rollouts, run_id=run_id,
                       verifiers=verifiers, verifier_config=config, since=since)
    return summary.as_dict()


@task(name="export", cache_policy=NO_CACHE)
def export_task(config: dict[str, Any], policy: str | None, run_id: str) -> dict[str, Any]:
    from flows.stages import export_latest

    cfg, warehouse = _load(config)
    result = export_latest(warehouse, cfg, policy, run_id)
    return {"curriculum_id": result.curriculum_id, "out_dir": str(result.out_dir), "items": result.items,
            "shards": len(result.shards), "by_domain": result.manifest["counts"]["by_domain"]}


@task(name="grpo", cache_policy=NO_CACHE)
def train_task(config: dict[str, Any], curriculum_id: str | None, max_steps: int | None) -> dict[str, Any]:
    from trainer.grpo import train

    cfg, warehouse = _load(config)
    return train(warehouse, cfg, curriculum_id=curriculum_id, max_steps=max_steps).summary()


# -- flows ------------------------------------------------------------------------------------
@flow(name="ingest")
def ingest_flow(config: dict[str, Any], seeds: list[str] | None = None) -> list[dict[str, Any]]:
    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "ingest", cfg)
    results = [ingest_seed(config, seed) for seed in (seeds if seeds is not None else cfg.nightly.seeds)]
    _table("ingest-counts", [{k: v for k, v in r.items() if k != "quarantine_reasons"} for r in results], "rows per seed")
    record.finish("completed", {"ingest": results})
    return results


@flow(name="synthesize")
def synthesize_flow(config: dict[str, Any], methods: list[str] | None = None, policy: str | None = None) -> list[dict[str, Any]]:
    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "synthesize", cfg)
    reports = [synthesize_method(config, m, policy, record.run.run_id) for m in (methods if methods is not None else cfg.nightly.synthesize)]
    _table("synthesis", [{k: v for k, v in r.items() if k != "rejections"} for r in reports], "per method: seeds, candidates, acceptance")
    _table("synthesis-rejections", [{"method": r["method"], "reason": k, "candidates": v} for r in reports for k, v in r["rejections"].items()],
           "rejection reasons")
    record.finish("completed", {"synthesize": reports})
    return reports


@flow(name="filter")
def filter_flow(config: dict[str, Any]) -> dict[str, Any]:
    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "filter", cfg)
    summary = filter_problems(config, record.run.run_id)
    _table("filter-reasons", [{"reason": k, "dropped": v} for k, v in summary["reasons"].items()], "new drops by reason")
    record.finish("completed", summary)
    return summary


@flow(name="estimate")
def estimate_flow(config: dict[str, Any], policy: str | None = None, where: str | None = None,
                  limit: int | None = None, remeasure: bool = False,
                  per_source_limit: dict[str, int] | None = None) -> dict[str, Any]:
    """Estimate a selection. With ``remeasure`` (the nightly), the selection is the nightly's
    order: unmeasured problems first, then the stalest measurements again; a selection whose run
    was killed is resumed, so a rerun neither repeats nor adds work."""
    from engines import load_engine
    from rollouts.estimate import plan_selection
    from rollouts.policies import resolve_policy

    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "estimate", cfg)
    chosen = resolve_policy(warehouse, cfg, policy)
    plan = plan_selection(warehouse, cfg.rollouts, chosen.policy_id, where, limit, remeasure=remeasure,
                          per_source_limit=per_source_limit)
    # cheap budgets first, so chunks batch problems of the same budget together
    problems = sorted(plan.problems, key=lambda p: cfg.rollouts.for_source(p["source"]).max_tokens)
    record.note({"policy_id": chosen.policy_id, **plan.as_record()})
    totals: dict[str, Any] = {"policy_id": chosen.policy_id, "selected": len(problems), "estimated": 0,
                              "already_done": 0, "rollouts": 0, "correct": 0, "completion_tokens": 0, "skipped": {},
                              "resumed": plan.resumed_from, **plan.as_record()}
    engine = load_engine(cfg.engine, Path(chosen.model_path), seed=cfg.rollouts.seed)
    verifiers: dict = {}
    try:
        for start in range(0, len(problems), ESTIMATE_CHUNK):
            chunk = estimate_chunk(warehouse, engine, chosen.policy_id, problems[start : start + ESTIMATE_CHUNK],
                                   cfg, record.run.run_id, verifiers, plan.since)
            for key in ("estimated", "already_done", "rollouts", "correct", "completion_tokens"):
                totals[key] += chunk[key]
            for reason, count in chunk["skipped"].items():
                totals["skipped"][reason] = totals["skipped"].get(reason, 0) + count
    finally:
        engine.close()
        for verifier in verifiers.values():
            verifier.close()
    from flows.stages import pass_at_1_histogram

    _table("pass-at-1-histogram", pass_at_1_histogram(warehouse, chosen.policy_id), f"policy {chosen.name}")
    record.finish("completed", totals)
    return totals


@flow(name="export")
def export_flow(config: dict[str, Any], policy: str | None = None) -> dict[str, Any]:
    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "export", cfg)
    result = export_task(config, policy, record.run.run_id)
    record.finish("completed", result)
    return result


@flow(name="train")
def train_flow(config: dict[str, Any], curriculum_id: str | None = None, max_steps: int | None = None) -> dict[str, Any]:
    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "train", cfg)
    summary = train_task(config, curriculum_id, max_steps)
    _table("training", summary["metrics"], f"GRPO steps -> policy {summary['policy_id'][:12]}")
    record.finish("completed", summary)
    return summary


@flow(name="nightly")
def nightly(config: dict[str, Any], policy: str | None = None) -> dict[str, Any]:
    """seed ingest -> synthesis -> filters -> estimate (a sample) -> export, for the latest policy."""
    cfg, warehouse = _load(config)
    record = RunRecord(warehouse, "nightly", cfg)
    try:
        ingested = ingest_flow(config)
        synthesized = synthesize_flow(config, policy=policy)
        filtered = filter_flow(config)
        where = "NOT EXISTS (SELECT 1 FROM filter_verdicts f WHERE f.problem_id = problems.problem_id AND NOT f.keep)"
        if cfg.nightly.estimate_where:
            where = f"({cfg.nightly.estimate_where}) AND {where}"
        estimated = estimate_flow(config, policy, where, cfg.nightly.estimate_limit, remeasure=True,
                                  per_source_limit=cfg.nightly.per_source_limit)
        exported = export_flow(config, policy)
        trained = train_flow(config, exported["curriculum_id"]) if cfg.train.enabled and exported["items"] else None
    except BaseException:
        record.finish("failed", {})
        raise
    counts = {"ingest": ingested, "synthesize": synthesized, "filter": filtered, "estimate": estimated,
              "export": exported, "train": trained}
    _publish_summary(warehouse, counts)
    record.finish("completed", counts)
    return counts


def _publish_summary(warehouse: Warehouse, counts: dict[str, Any]) -> None:
    by_source = warehouse.arrow(
        "SELECT source, domain, count(*) AS problems, "
        "count(*) FILTER (WHERE problem_id IN (SELECT problem_id FROM filter_verdicts WHERE NOT keep)) AS filtered_out "
        "FROM problems GROUP BY ALL ORDER BY 1, 2"
    ).to_pylist()
    _table("problems-by-source", by_source, "problems per source and domain")
    est, exp = counts["estimate"], counts["export"]
    lines = [
        "# hardforge nightly",
        "",
        "| stage | result |",
        "|---|---|",
        "| ingest | " + ", ".join(f"{r['source']}: {r['inserted']} new, {r['quarantined']} quarantined" for r in counts["ingest"]) + " |",
        "| synthesis | " + (", ".join(f"{r['method']}: {r['seeds']} seeds, {r['candidates']} candidates, {r['extractable']} extractable, "
                                       f"{r['accepted']} accepted" for r in counts["synthesize"]) or "none") + " |",
        f"| filters | checked {sum(counts['filter']['checked'].values())}, dropped {sum(counts['filter']['dropped'].values())} |",
        f"| estimate | policy `{est['policy_id'][:12]}`: {est['estimated']} problems ({est['already_done']} already done), "
        f"{est['rollouts']} rollouts, {est['correct']} correct |",
        f"| export | curriculum `{exp['curriculum_id'][:12]}`: {exp['items']} items in {exp['shards']} shards at `{exp['out_dir']}` |",
        "| train | " + (f"{counts['train']['steps']} GRPO steps, {counts['train']['mean_step_time_s']} s/step -> policy "
                       f"`{counts['train']['policy_id'][:12]}`" if counts.get("train") else "off (train.enabled = false)") + " |",
    ]
    create_markdown_artifact(key="nightly-summary", markdown="\n".join(lines), description="nightly run summary")


FLOWS = {"ingest": ingest_flow, "synthesize": synthesize_flow, "filter": filter_flow, "estimate": estimate_flow, "export": export_flow, "train": train_flow, "nightly": nightly}
