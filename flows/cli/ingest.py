"""`init` and `ingest`: the warehouse, seed problems, user files, concept banks and corpora."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.app import (
    State,
    app,
    err,
    out,
)
from schemas.errors import HardforgeError


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
    target: Annotated[
        str,
        typer.Argument(
            help="'champ', 'humaneval', 'gym:TASK' (reasoning-gym), a JSONL/CSV/Parquet file or datasets folder, 'concepts FILE' or 'corpus foldoc|jargon|PATH'."
        ),
    ],
    path: Annotated[
        str | None,
        typer.Argument(help="For 'concepts': the JSONL file; for 'corpus': foldoc, jargon or a dictd .index file."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, e.g. --map statement=question (repeatable)."),
    ] = None,
    domain: Annotated[str, typer.Option(help="Domain for rows without a domain column: math, code or qa.")] = "math",
    task: Annotated[str | None, typer.Option(help="Task label for rows without a task column.")] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, csv, parquet or datasets (default: by extension)."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Source name recorded with each row (default: the file name)."),
    ] = None,
    size: Annotated[int | None, typer.Option(help="gym: problems generated at each level (default 20).")] = None,
    levels: Annotated[str | None, typer.Option(help="gym: difficulty levels, e.g. 0-3 or 0,2 (default 0).")] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="gym: generator seed (default 0; another seed = a held-out set)."),
    ] = None,
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
                wh,
                target,
                state.config,
                columns=columns,
                domain=domain,
                task=task,
                fmt=fmt,
                source=source,
                progress=progress,
                run_id=session.run_id,
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
        raise HardforgeError(
            f"ingest {kind} needs {what}, e.g. `hardforge ingest {kind} {'concepts.jsonl' if kind == 'concepts' else 'foldoc'}`."
        )
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
        out.print(
            f"ingest {summary.source}: {summary.rows:,} rows read, {summary.inserted:,} new concepts, "
            f"{summary.already_present:,} already present, {sum(summary.quarantined.values()):,} quarantined ({elapsed:.1f} s)"
        )
        for reason, count in summary.quarantined.most_common():
            out.print(f"  quarantined {count:,}: {reason}")
    else:
        out.print(
            f"ingest corpus {figures['corpus']}: {figures['documents']:,} documents ({figures['new_documents']:,} new), "
            f"{figures['links']:,} links ({figures['resolved_links']:,} resolved, {figures['new_links']:,} new) ({elapsed:.1f} s)"
        )
