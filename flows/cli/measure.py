"""`estimate`, `export` and `run`: difficulty for the policy, the curriculum, and Prefect flows now."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.app import (
    PolicyOption,
    State,
    app,
    err,
    explain_empty,
    in_process,
    int_list,
    note_other_settings,
    out,
    override,
    plural,
)
from schemas.errors import HardforgeError


@app.command()
def estimate(
    ctx: typer.Context,
    policy: PolicyOption = None,
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
    overrides = {
        "n": n,
        "k": int_list(k) if k else None,
        "max_tokens": max_tokens,
        "temperature": temperature,
    }
    for name, value in overrides.items():
        if value is not None:
            override(cfg.rollouts, name, value, f"--{name.replace('_', '-')}")
    if engine is not None:
        override(cfg.engine, "backend", engine, "--engine")
    # a live bar on a terminal; progress lines in a log or a pipe (where the bar prints nothing)
    with (
        Progress(
            TextColumn("[bold]estimate[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rates]}"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar,
        progress_log("estimate", "problems", cfg.progress_every_s, live=err.is_terminal) as lines,
    ):
        job = bar.add_task("estimate", total=None, rates="")

        def progress(done: int, total: int, figures: dict) -> None:
            seconds = max(figures["elapsed_s"], 1e-9)
            bar.update(
                job,
                total=total,
                completed=done,
                rates=f"{figures['estimated'] / seconds:.2f} problems/s, {figures['completion_tokens'] / seconds:,.0f} tok/s",
            )
            lines(done, total)

        def body(session):
            err.print(
                f"policy {session.policy.name} ({session.policy.policy_id[:12]}), engine {cfg.engine.backend}",
                highlight=False,
            )
            return estimate_stage(session, where=where, limit=limit, progress=progress)

        summary = in_process(lambda: run_stage(cfg, "estimate", body, policy=policy))
    rate = summary["completion_tokens"] / summary["elapsed_s"] if summary["elapsed_s"] else 0.0
    out.print(
        f"estimate: {summary['estimated']} problems estimated, {summary['already_done']} already done, "
        f"{summary['rollouts']} rollouts ({summary['correct']} correct), {summary['in_band']} in band "
        f"({summary['in_band_per_mtok'] or 0:,.0f} per million tokens), {rate:,.0f} tok/s, {summary['elapsed_s']:.1f} s"
    )
    for reason, count in summary["skipped"].items():
        out.print(f"  skipped {count}: {reason}")


@app.command("run")
def run_flow(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="nightly, ingest, synthesize, filter, estimate, export or train.")],
    policy: PolicyOption = None,
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
            f"curriculum {exp['curriculum_id']} with {plural(exp['items'], 'item')} in {plural(exp['shards'], 'shard')} "
            f"at {exp['out_dir']}"
        )
        made = {m: n for m, n in (exp.get("by_method") or {}).items() if m != "seed"}
        new = result.get("estimate_synthesized") or {}
        synthesized = [
            f"{r['method']} {r['accepted']} verified of {r['candidates']}" for r in result.get("synthesize") or []
        ]
        out.print(
            f"  synthesized: {', '.join(synthesized) or 'nothing (nightly.synthesize is empty)'}; "
            f"{new.get('estimated', 0)} measured afresh, {new.get('in_band', 0)} in band; the curriculum holds "
            f"{sum(made.values())} of them ({', '.join(f'{m} {n}' for m, n in sorted(made.items())) or 'none'})",
            highlight=False,
        )
        note_other_settings(exp.get("other_settings", 0))
        if exp["items"] == 0:
            explain_empty()
    else:
        out.print(f"{name}: {result}")


@app.command()
def export(
    ctx: typer.Context,
    policy: PolicyOption = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where curricula are written (default DATA_DIR/curricula; curriculum.out_dir)."),
    ] = None,
    band: Annotated[
        str | None,
        typer.Option(help="The pass@1 band LOW,HIGH (curriculum.band_low, band_high; the ends need keep_*)."),
    ] = None,
    order: Annotated[str | None, typer.Option(help="hardest, easiest or random (curriculum.order).")] = None,
    select: Annotated[
        str | None,
        typer.Option(
            help="Take only the K hardest, easiest, middle or random items (curriculum.select; needs --select-k)."
        ),
    ] = None,
    select_k: Annotated[int | None, typer.Option(help="K, the items --select takes (curriculum.select_k).")] = None,
) -> None:
    """Export the curriculum for the policy (its in-band problems) as Parquet shards + manifest.json; a `latest`
    link beside the curricula points at it."""
    from flows.stages import export_stage, run_stage

    state: State = ctx.obj
    curriculum = state.config.curriculum
    if out_dir is not None:
        override(curriculum, "out_dir", out_dir.resolve(), "--out")
    if band is not None:
        low, _, high = band.partition(",")
        try:
            override(curriculum, "band_low", float(low), "--band")
            override(curriculum, "band_high", float(high), "--band")
        except ValueError:
            raise HardforgeError(f"--band takes LOW,HIGH, two numbers between 0 and 1 (got '{band}').") from None
    if order is not None:
        override(curriculum, "order", order, "--order")
    if select_k is not None and select is None and curriculum.select == "all":
        raise HardforgeError(
            "--select-k takes K items of a selection: name it with --select hardest|easiest|middle|random."
        )
    if select_k is not None:
        override(curriculum, "select_k", select_k, "--select-k")
    if select is not None:
        override(curriculum, "select", select, "--select")
    result = run_stage(state.config, "export", export_stage, policy=policy)
    items, shards = result["items"], result["shards"]
    out.print(
        f"curriculum {result['curriculum_id']} for policy {result['policy_name']} ({result['policy_id'][:12]}): "
        f"{plural(items, 'item')} in {plural(shards, 'shard')} at {result['out_dir']}",
        highlight=False,
    )
    note_other_settings(result.get("other_settings", 0))
    if result["items"] == 0:
        explain_empty()
