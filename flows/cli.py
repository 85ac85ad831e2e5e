"""The ``hardforge`` command line."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from flows.runtime import prepare_environment
from schemas.config import HardforgeConfig, load_config
from schemas.errors import HardforgeError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="hardforge: synthesize, filter, measure and export hard RLVR problems for your policy.",
)
out = Console(soft_wrap=True)
err = Console(stderr=True)


@dataclass
class State:
    config: HardforgeConfig

    def warehouse(self):
        from warehouse.db import Warehouse

        return Warehouse(self.config.data_dir)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default ./data or $HARDFORGE_DATA_DIR).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config (default ./hardforge.toml if present).")
    ] = None,
) -> None:
    cfg = load_config(config, data_dir=data_dir)
    # absolute, so that flow parameters and scheduled runs mean the same folder from any cwd
    cfg.data_dir = cfg.data_dir.resolve()
    prepare_environment(cfg.data_dir)
    ctx.obj = State(cfg)


@app.command()
def init(ctx: typer.Context) -> None:
    """Create (or upgrade) the warehouse in the data directory."""
    state: State = ctx.obj
    wh = state.warehouse()
    version = wh.init()
    out.print(f"warehouse ready at {wh.path} (schema version {version})")


@app.command()
def ingest(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="'champ', 'humaneval', 'gym:TASK' (reasoning-gym), a JSONL/CSV/Parquet file or datasets folder, 'concepts FILE' or 'corpus foldoc|jargon|PATH'.")],
    path: Annotated[str | None, typer.Argument(help="For 'concepts': the JSONL file; for 'corpus': foldoc, jargon or a dictd .index file.")] = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="FIELD=COLUMN, e.g. --map statement=question (repeatable).")
    ] = None,
    domain: Annotated[str, typer.Option(help="Domain for rows without a domain column: math, code or qa.")] = "math",
    task: Annotated[str | None, typer.Option(help="Task label for rows without a task column.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv, parquet or datasets (default: by extension).")] = None,
    source: Annotated[str | None, typer.Option(help="Source name recorded with each row (default: the file name).")] = None,
    size: Annotated[int | None, typer.Option(help="gym: problems generated at each level (default 20).")] = None,
    levels: Annotated[str | None, typer.Option(help="gym: difficulty levels, e.g. 0-3 or 0,2 (default 0).")] = None,
    seed: Annotated[int | None, typer.Option(help="gym: generator seed (default 0; another seed = a held-out set).")] = None,
) -> None:
    """Load seed problems or a user file; bad rows go to the quarantine with a reason."""
    from rich.progress import Progress, TextColumn, TimeElapsedColumn

    from flows.session import StageSession
    from ingest.service import ingest as run_ingest
    from ingest.service import parse_mapping

    state: State = ctx.obj
    if target in ("concepts", "corpus") and not Path(target).exists():
        _ingest_named(state, target, path)
        return
    if path is not None:  # a second argument follows only 'concepts' or 'corpus'
        ctx.fail(f"Got unexpected extra argument ({path})")
    columns = parse_mapping(map_ or [])
    wh = state.warehouse()
    start = time.monotonic()
    with Progress(
        TextColumn("[bold]ingest[/] {task.description}"),
        TextColumn("{task.completed:,} rows"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        job = bar.add_task(target, total=None, rate="")

        def progress(rows: int) -> None:
            rate = rows / max(time.monotonic() - start, 1e-9)
            bar.update(job, completed=rows, rate=f"{rate:,.0f} rows/s")

        with StageSession(state.config, "ingest") as session:
            summary = run_ingest(
                wh, target, state.config, columns=columns, domain=domain, task=task, fmt=fmt,
                source=source, progress=progress, run_id=session.run_id,
                gym_options={k: v for k, v in {"size": size, "levels": levels, "seed": seed}.items() if v is not None},
            )
            session.finish(summary.as_dict())
    elapsed = time.monotonic() - start
    out.print(
        f"ingest {summary.source}: {summary.rows:,} rows read, {summary.inserted:,} new problems, "
        f"{summary.already_present:,} already present, "
        f"{sum(summary.quarantined.values()):,} quarantined ({elapsed:.1f} s)"
    )
    for reason, count in summary.quarantined.most_common():
        out.print(f"  quarantined {count:,}: {reason}")


def _ingest_named(state: State, kind: str, path: str | None) -> None:
    """``ingest concepts FILE`` (MathSmith's concept bank) and ``ingest corpus NAME`` (ASearcher's corpus)."""
    from flows.session import StageSession
    from ingest.concepts import ingest_concepts
    from ingest.service import ingest_corpus

    if path is None:
        what = "a JSONL file" if kind == "concepts" else "foldoc, jargon or a dictd .index file"
        raise HardforgeError(f"ingest {kind} needs {what}, e.g. `hardforge ingest {kind} {'concepts.jsonl' if kind == 'concepts' else 'foldoc'}`.")
    wh = state.warehouse()
    start = time.monotonic()
    with StageSession(state.config, "ingest") as session:
        if kind == "concepts":
            summary = ingest_concepts(wh, Path(path), run_id=session.run_id)
            figures = summary.as_dict()
        else:
            figures = ingest_corpus(wh, path)
        session.finish(figures)
    elapsed = time.monotonic() - start
    if kind == "concepts":
        out.print(f"ingest {summary.source}: {summary.rows:,} rows read, {summary.inserted:,} new concepts, "
                  f"{summary.already_present:,} already present, {sum(summary.quarantined.values()):,} quarantined ({elapsed:.1f} s)")
        for reason, count in summary.quarantined.most_common():
            out.print(f"  quarantined {count:,}: {reason}")
    else:
        out.print(f"ingest corpus {figures['corpus']}: {figures['documents']:,} documents ({figures['new_documents']:,} new), "
                  f"{figures['links']:,} links ({figures['resolved_links']:,} resolved, {figures['new_links']:,} new) ({elapsed:.1f} s)")


@app.command()
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="A read-only SQL query (SELECT, DESCRIBE, SHOW, EXPLAIN, ...).")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON array of rows.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown in table output.")] = 100,
) -> None:
    """Run SQL against the warehouse on a read-only connection."""
    from warehouse.query import run_query

    state: State = ctx.obj
    result = run_query(state.warehouse(), sql)
    if csv:
        result.write_csv(sys.stdout)
    elif json_:
        sys.stdout.write(result.write_json() + "\n")
    else:
        _print_table(result, max_rows)


@app.command()
def report(
    ctx: typer.Context,
    out_file: Annotated[Path | None, typer.Option("--out", help="The HTML file (default DATA_DIR/reports/report.html).")] = None,
    drift: Annotated[str | None, typer.Option(help="Two policies BEFORE,AFTER (ids, id prefixes or names) for the drift plot (default: the latest pair measured on the same problems).")] = None,
) -> None:
    """Write one static HTML page of plots: pass@1 per policy, drift between two policies, synthesis acceptance, curricula."""
    from flows.report_data import resolve_policy_ref
    from flows.report_page import write_report

    state: State = ctx.obj
    warehouse = state.warehouse()
    pair = None
    if drift is not None:
        refs = [r.strip() for r in drift.split(",")]
        if len(refs) != 2 or not all(refs):
            ctx.fail(f"--drift takes two policies, BEFORE,AFTER (got '{drift}')")
        ids = [resolve_policy_ref(warehouse, ref) for ref in refs]
        missing = [ref for ref, pid in zip(refs, ids, strict=True) if pid is None]
        if missing:
            raise HardforgeError(f"no policy '{missing[0]}' in the warehouse; "
                                 "`hardforge query \"SELECT policy_id, name FROM policies\"` lists them.")
        pair = (ids[0], ids[1])
    path = write_report(warehouse, out_file or state.config.data_dir / "reports" / "report.html", pair,
                        probe_n=state.config.nightly.probe_n)
    out.print(f"report: {path.resolve()}")


def _print_table(frame, max_rows: int) -> None:
    table = Table(show_lines=False)
    for name in frame.columns:
        table.add_column(name, overflow="fold", max_width=60)
    for row in frame.head(max_rows).iter_rows():
        table.add_row(*("NULL" if v is None else str(v)[:500] for v in row))
    out.print(table)
    more = frame.height - max_rows
    out.print(f"{frame.height:,} rows" + (f" ({more:,} not shown; use --csv or --json)" if more > 0 else ""))


def _override(section, name: str, value, option: str) -> None:
    """Set a config value from a command-line option, validated like the config file."""
    from pydantic import ValidationError

    try:
        setattr(section, name, value)
    except ValidationError as exc:
        raise HardforgeError(f"bad value for {option}: {exc.errors()[0]['msg']}.") from None


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HardforgeError(f"--k takes comma-separated integers, got '{text}'.") from None


@app.command()
def estimate(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest policy).")] = None,
    n: Annotated[int | None, typer.Option(help="Samples per problem.")] = None,
    k: Annotated[str | None, typer.Option(help="pass@k values to store, e.g. 1,4,8.")] = None,
    where: Annotated[str | None, typer.Option(help="SQL filter on problems, e.g. \"source = 'champ'\".")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many problems (a stable selection).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Completion token budget.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    engine: Annotated[str | None, typer.Option(help="auto, transformers or vllm.")] = None,
) -> None:
    """Measure difficulty for the policy: n rollouts per problem, graded, with pass@k."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from flows.progress import progress_log
    from flows.stages import estimate_stage, run_stage

    state: State = ctx.obj
    cfg = state.config
    overrides = {"n": n, "k": _int_list(k) if k else None, "max_tokens": max_tokens, "temperature": temperature}
    for name, value in overrides.items():
        if value is not None:
            _override(cfg.rollouts, name, value, f"--{name.replace('_', '-')}")
    if engine is not None:
        _override(cfg.engine, "backend", engine, "--engine")
    # a live bar on a terminal; progress lines in a log or a pipe (where the bar prints nothing)
    with Progress(
        TextColumn("[bold]estimate[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rates]}"),
        TimeRemainingColumn(), console=err, transient=True,
    ) as bar, progress_log("estimate", "problems", cfg.progress_every_s, live=err.is_terminal) as lines:
        job = bar.add_task("estimate", total=None, rates="")

        def progress(done: int, total: int, figures: dict) -> None:
            seconds = max(figures["elapsed_s"], 1e-9)
            bar.update(job, total=total, completed=done,
                       rates=f"{figures['estimated'] / seconds:.2f} problems/s, {figures['completion_tokens'] / seconds:,.0f} tok/s")
            lines(done, total)

        def body(session):
            err.print(f"policy {session.policy.name} ({session.policy.policy_id[:12]}), engine {cfg.engine.backend}",
                      highlight=False)
            return estimate_stage(session, where=where, limit=limit, progress=progress)

        summary = _in_process(lambda: run_stage(cfg, "estimate", body, policy=policy))
    rate = summary["completion_tokens"] / summary["elapsed_s"] if summary["elapsed_s"] else 0.0
    out.print(
        f"estimate: {summary['estimated']} problems estimated, {summary['already_done']} already done, "
        f"{summary['rollouts']} rollouts ({summary['correct']} correct), {summary['in_band']} in band "
        f"({summary['in_band_per_mtok'] or 0:,.0f} per million tokens), {rate:,.0f} tok/s, {summary['elapsed_s']:.1f} s"
    )
    for reason, count in summary["skipped"].items():
        out.print(f"  skipped {count}: {reason}")


@app.command()
def synthesize(
    ctx: typer.Context,
    method: Annotated[str, typer.Option(help="Synthesis method: svs, sqlm, azr, mathsmith, asearcher (see the README).")] = "svs",
    limit: Annotated[int | None, typer.Option(help="At most this many seeds.")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")] = None,
) -> None:
    """Synthesize new problems with the policy; every candidate is recorded in synth_attempts."""
    from flows.stages import check_methods, run_stage, synthesize_stage

    state: State = ctx.obj
    check_methods([method])
    (figures,) = _in_process(lambda: run_stage(
        state.config, "synthesize", lambda session: synthesize_stage(session, [method], limit), policy=policy))
    out.print(
        f"{method}: {figures['seeds']} seeds ({figures['already_done']} already used), {figures['prompts_over_length']} "
        f"prompts over length, {figures['candidates']} candidates, {figures['extractable']} extractable "
        f"({figures['extractable_pct']}%), {figures['accepted']} accepted ({figures['accepted_pct']}%), "
        f"{figures['elapsed_s']} s"
    )
    if figures.get("accepted_by_provenance"):
        out.print("  accepted by label provenance: " + ", ".join(f"{k} {v}" for k, v in figures["accepted_by_provenance"].items()))
    for reason, count in figures["rejections"].items():
        out.print(f"  rejected {count}: {reason}")


audit_app = typer.Typer(help="Audits on problems whose answer is known.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("labels")
def audit_labels_command(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option(help="Gold source to audit on (repeatable): a source, or a prefix like 'gym' (default: gym tasks and CHAMP).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many problems (a stable sample).")] = 40,
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")] = None,
) -> None:
    """Run every labelling rule (the methods' votes, each label check, their combinations) on gold problems as if their
    answer were unknown: label accuracy, reward accuracy, majority ratio, and the precision and yield of acceptance."""
    from flows.stages import audit_stage, run_stage

    state: State = ctx.obj
    result = _in_process(lambda: run_stage(state.config, "audit", lambda session: audit_stage(session, source or [], limit),
                                           policy=policy))
    if not result["rules"]:
        raise HardforgeError("no gold problem to audit on: ingest some (`hardforge ingest gym:chain_sum`, `hardforge ingest champ`) "
                             "or name a --source that has math problems.")
    table = Table(title=f"label audit on {result['problems']} gold problems ({', '.join(result['sources'])})")
    table.add_column("rule", no_wrap=True)
    for column in ("labelled", "label acc.", "reward acc.", "majority", "accepted", "precision", "yield"):
        table.add_column(column, justify="right")
    show = lambda v: "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    for row in result["rules"]:
        table.add_row(row["rule"], show(row["labelled"]), show(row["label_accuracy"]), show(row["reward_accuracy"]),
                      show(row["majority_ratio"]), show(row["accepted"]), show(row["precision"]), show(row["yield"]))
    Console(width=max(out.width, 110)).print(table)  # a pipe gets 80 columns: too few for this table


lean_app = typer.Typer(help="Lean 4 formalization checks.", no_args_is_help=True)
app.add_typer(lean_app, name="lean")


@lean_app.command("check")
def lean_check(
    ctx: typer.Context,
    where: Annotated[str | None, typer.Option(help="SQL condition on problems (math problems only are checked).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many problems.")] = None,
    policy: Annotated[str | None, typer.Option(help="Formalizer and critic: policy id or name, 'bundled', or a model folder.")] = None,
) -> None:
    """Autoformalize stored math problems, compile-check them, and ask a critic; one lean_checks row each."""
    from flows.stages import lean_stage, run_stage

    state: State = ctx.obj
    figures = _in_process(lambda: run_stage(state.config, "lean", lambda session: lean_stage(session, where, limit), policy=policy))
    if figures["note"]:
        err.print(f"lean: {figures['note']}; nothing is recorded as compiled.", highlight=False)
    verdicts = ", ".join(f"{v} {k}" for k, v in figures["verdicts"].items()) or "none"
    out.print(
        f"lean ({figures['toolchain']}): {figures['checked']} checked, {figures['already_checked']} already checked; "
        f"compiled {figures['compiled']}, not compiled {figures['not_compiled']}, no compiler {figures['no_compiler']}; "
        f"critic: {verdicts}"
    )


class Role(StrEnum):
    solver = "solver"
    proposer = "proposer"
    both = "both"


@app.command("train")
def train_command(
    ctx: typer.Context,
    curriculum: Annotated[str | None, typer.Option(help="Curriculum id (default: the latest export).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="GRPO steps (default: train.max_steps).")] = None,
    role: Annotated[Role, typer.Option(help="solver: the curriculum; proposer: each method's prompts, rewarded by the "
                                            "method with the live policy as solver; both: mixed in train.proposer_share.")] = Role.solver,
    method: Annotated[list[str] | None, typer.Option(help="A method whose proposer is trained (repeatable; default: "
                                                          "train.proposer_methods, else nightly.synthesize).")] = None,
) -> None:
    """GRPO (TRL) for the solver, the proposer or both; the checkpoint becomes the latest policy."""
    from flows.stages import run_stage, train_stage

    state: State = ctx.obj
    config = state.config
    if method:
        config = config.model_copy(update={"train": config.train.model_copy(update={"proposer_methods": method})})
    summary = run_stage(config, "train", lambda session: train_stage(session, curriculum, max_steps, role=role.value))
    on = f"curriculum {summary['curriculum_id']}" if summary["curriculum_id"] else "proposer prompts"
    out.print(
        f"train ({summary['role']}): {summary['steps']} GRPO steps on {on} ({summary['rows']}), "
        f"{summary['mean_step_time_s']} s/step; new policy {summary['policy_name']} ({summary['policy_id']}) "
        f"at {summary['model_path']}"
    )
    for m in summary["metrics"]:
        out.print(f"  step {m['step']}: reward mean {m['reward_mean']}, zero-std groups {m['frac_reward_zero_std']}, {m['step_time_s']} s")
        for name, f in m.get("proposer", {}).items():
            out.print(f"    {name}: {f['proposals']} proposals, {f['parsed']} parsed, {f['verified']} verified, "
                      f"proposer reward mean {f['reward_mean']}")


@app.command("export-proposer")
def export_proposer_command(
    ctx: typer.Context,
    method: Annotated[list[str], typer.Option(help="A method whose proposer prompts are exported (repeatable).")],
    limit: Annotated[int, typer.Option(help="Fresh proposer prompts per method (fewer when its seeds run out).")] = 64,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the Parquet file (default: DATA_DIR/proposer).")] = None,
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")] = None,
) -> None:
    """Proposer prompts as a verl dataset, with the reward entry point that judges each proposal."""
    from flows.stages import proposer_export_stage, run_stage

    state: State = ctx.obj
    done = _in_process(lambda: run_stage(state.config, "export-proposer",
                                         lambda session: proposer_export_stage(session, method, limit, out_dir), policy=policy))
    counts = ", ".join(f"{name} {n}" for name, n in done["by_method"].items()) or "none: every method's fresh seeds ran out"
    out.print(f"proposer prompts: {done['rows']} ({counts}) at {done['path']}")
    out.print(f"  verl: custom_reward_function.path={done['reward_path']} custom_reward_function.name=compute_score_batch "
              "reward_model.reward_manager=batch; the reward solves with engine.urls (an OpenAI-compatible server of the policy)")


@app.command("run")
def run_flow(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="nightly, ingest, synthesize, filter, estimate, export or train.")],
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")] = None,
) -> None:
    """Run a Prefect flow now (no server needed: Prefect starts a temporary local API)."""
    from flows.pipeline import FLOWS, flow_of

    state: State = ctx.obj
    if name not in FLOWS:
        raise HardforgeError(f"no flow named '{name}'; flows: {', '.join(FLOWS)}.")
    params: dict = {"config": state.config.model_dump(mode="json")}
    if name not in ("ingest", "filter") and policy is not None:
        params["policy"] = policy
    if name == "estimate":
        params["options"] = {"limit": state.config.nightly.estimate_limit}
    err.print(f"flow {name}: starting (the first flow in a process starts Prefect's local API, ~15 s)")
    result = (FLOWS[name] if name == "nightly" else flow_of(name, state.config))(**params)
    if name == "nightly":
        exp, est = result["export"], result["estimate"]
        out.print(
            f"nightly: {est['estimated']} problems estimated ({est['already_done']} already done), "
            f"{est['in_band']} in band ({est['in_band_per_mtok'] or 0:,.0f} per million rollout tokens), "
            f"curriculum {exp['curriculum_id']} with {exp['items']} items in {exp['shards']} shards at {exp['out_dir']}"
        )
        if exp["items"] == 0:
            _explain_empty()
    else:
        out.print(f"{name}: {result}")


@app.command()
def export(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")] = None,
) -> None:
    """Export the hardest-first curriculum for the policy as Parquet shards + manifest.json."""
    from flows.stages import export_stage, run_stage

    state: State = ctx.obj
    result = run_stage(state.config, "export", export_stage, policy=policy)
    out.print(f"curriculum {result['curriculum_id']}: {result['items']} items in {result['shards']} shards at {result['out_dir']}")
    if result["items"] == 0:
        _explain_empty()


def _in_process(work):
    """Run stage work in this process, then release the engines and verifiers it shared."""
    from flows.stages import release_shared

    try:
        return work()
    finally:
        release_shared()


def _explain_empty() -> None:
    out.print(
        "  the curriculum is empty: no measured problem falls in the pass@1 band (by default a "
        "problem the policy always or never solves is left out). Estimate more problems, or set "
        "curriculum.keep_unsolved = true / widen curriculum.band_low..band_high."
    )


@app.command()
def serve(ctx: typer.Context) -> None:
    """Register the nightly schedule (config: nightly.cron) with a Prefect server and keep a
    runner polling for its runs. Needs PREFECT_API_URL (see the README)."""
    state: State = ctx.obj
    api = os.environ.get("PREFECT_API_URL")
    if not api:
        raise HardforgeError(
            "hardforge serve needs a Prefect server: start one with `.venv/bin/prefect server start` "
            "and set PREFECT_API_URL=http://127.0.0.1:4200/api."
        )
    from prefect import serve as prefect_serve

    from flows.pipeline import nightly

    deployment = nightly.to_deployment(
        name="nightly", cron=state.config.nightly.cron, parameters={"config": state.config.model_dump(mode="json")},
    )
    err.print(f"serve: nightly scheduled '{state.config.nightly.cron}' on {api}; polling for runs (Ctrl-C stops)")
    prefect_serve(deployment, print_starting_message=False)


@app.command("serve-model")
def serve_model(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (or --host).")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    policy: Annotated[str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")] = None,
) -> None:
    """Serve a policy with vLLM's OpenAI-compatible server (for engine.backend = "openai"); Ctrl-C stops it."""
    from engines.bundled import resolve_model
    from rollouts.policies import resolve_policy

    state: State = ctx.obj
    python = Path(__file__).resolve().parents[1] / ".venv-vllm" / "bin" / "python"
    if not python.exists():
        raise HardforgeError("serve-model needs the vLLM environment: run `make setup` (it installs .venv-vllm).")
    chosen = resolve_policy(state.warehouse(), state.config, policy)
    model = resolve_model(chosen.model_path, state.config.models_dir)
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", str(state.config.engine.vllm_kvcache_gib))}
    # the module rather than the `vllm` script: vllm-cpu's script looks up the version of "vllm"
    command = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--host", host,
               "--port", str(port), "--seed", "0", "--served-model-name", chosen.name, "--max-model-len", "4096"]
    if not (Path("/dev/nvidia0").exists() or shutil.which("nvidia-smi")):
        command += ["--enforce-eager", "--dtype", "bfloat16"]
    err.print(f"serve-model: {chosen.name} at http://{host}:{port}/v1 (set engine.backend = 'openai', "
              f"engine.urls = ['http://{host}:{port}/v1'])", highlight=False)
    os.execve(command[0], command, env)


@app.command()
def status(ctx: typer.Context) -> None:
    """Row counts per table, and problems and quarantined rows per source."""
    from warehouse.query import status_counts

    state: State = ctx.obj
    wh = state.warehouse()
    tables, sources = status_counts(wh)
    out.print(f"warehouse {wh.path} (schema version {wh.version()})")
    out.print(f"environment {sys.prefix} ({_vllm_version() or 'no vLLM: the transformers engine'})", highlight=False)
    t = Table("table", "rows")
    for name, count in tables:
        t.add_row(name, f"{count:,}")
    out.print(t)
    s = Table("table", "source", "domain", "rows")
    for row in sources:
        s.add_row(*(str(v) for v in row[:3]), f"{row[3]:,}")
    out.print(s)


def _vllm_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    for name in ("vllm-cpu", "vllm"):
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            continue
    return None


def _click_kinds(name: str) -> tuple[type[BaseException], ...]:
    """Click's exception class and typer's vendored copy of it (typer 0.29 ships its own click)."""
    kinds = [getattr(click.exceptions, name)]
    try:
        from typer._click import exceptions as vendored

        kinds.append(getattr(vendored, name))
    except (ImportError, AttributeError):
        pass
    return tuple(kinds)


_CLICK_EXIT = _click_kinds("Exit")
_CLICK_ERRORS = _click_kinds("ClickException")
_CLICK_ABORT = _click_kinds("Abort")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C is, so that both stop a stage the same way:
    its transaction rolls back, its run row says cancelled, its workers are closed."""


_SIGTERM_SEEN: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    _SIGTERM_SEEN.append(signum)
    raise Terminated()


def _stop(terminated: bool) -> None:
    err.print(f"hardforge: stopped by {'SIGTERM' if terminated else 'Ctrl-C'}; finished work is kept, the run is "
              "marked cancelled, and the same command resumes it.")
    sys.exit(143 if terminated else 130)


def main() -> None:
    """The ``hardforge`` command: in the environment with vLLM when there is one (flows.launcher)."""
    from flows.launcher import relaunch_in_fast_environment

    relaunch_in_fast_environment()
    run()


def run() -> None:
    """Entry point: user errors print one sentence; nothing prints a traceback unless asked."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # typer turns KeyboardInterrupt (Ctrl-C, and SIGTERM through _on_sigterm) into a return of 130
        if app(standalone_mode=False, prog_name="hardforge") == 130:
            _stop(bool(_SIGTERM_SEEN))
    except HardforgeError as exc:
        err.print(f"[red]hardforge:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except _CLICK_EXIT as exc:
        sys.exit(exc.exit_code)
    except _CLICK_ERRORS as exc:  # usage errors: the usage line, a hint, exit status 2
        exc.show()
        sys.exit(exc.exit_code)
    except _CLICK_ABORT:
        err.print("hardforge: interrupted.")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("HARDFORGE_DEBUG"):
            raise
        err.print(
            f"[red]hardforge: internal error:[/] {type(exc).__name__}: {exc} "
            "(set HARDFORGE_DEBUG=1 for the traceback, and please report it).",
            highlight=False, soft_wrap=True,
        )
        sys.exit(1)
    except BaseException as exc:
        # Prefect raises its own TerminationSignal (a BaseException) for SIGTERM inside a flow
        if not isinstance(exc, KeyboardInterrupt) and type(exc).__name__ != "TerminationSignal":
            raise
        _stop(bool(_SIGTERM_SEEN) or type(exc).__name__ == "TerminationSignal")


if __name__ == "__main__":
    run()  # ``python -m flows.cli``: this interpreter, whatever it has
