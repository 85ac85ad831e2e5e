"""`synthesize`, `audit labels` and `lean check`: new problems and the checks on their labels."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.cli.app import (
    PolicyOption,
    State,
    app,
    err,
    in_process,
    out,
)
from schemas.errors import HardforgeError


@app.command()
def synthesize(
    ctx: typer.Context,
    method: Annotated[
        str,
        typer.Option(help="Synthesis method: svs, sqlm, azr, mathsmith, asearcher (docs/synthesis)."),
    ] = "svs",
    limit: Annotated[int | None, typer.Option(help="At most this many seeds.")] = None,
    policy: PolicyOption = None,
) -> None:
    """Synthesize new problems with the policy; every candidate is recorded in synth_attempts."""
    from flows.stages import check_methods, run_stage, synthesize_stage

    state: State = ctx.obj
    check_methods([method])
    (figures,) = in_process(
        lambda: run_stage(
            state.config,
            "synthesize",
            lambda session: synthesize_stage(session, [method], limit),
            policy=policy,
        )
    )
    out.print(
        f"{method}: {figures['seeds']} seeds ({figures['already_done']} already used), {figures['prompts_over_length']} "
        f"prompts over length, {figures['candidates']} candidates, {figures['extractable']} extractable "
        f"({figures['extractable_pct']}%), {figures['accepted']} accepted ({figures['accepted_pct']}%), "
        f"{figures['elapsed_s']} s"
    )
    if figures.get("accepted_by_provenance"):
        out.print(
            "  accepted by label provenance: "
            + ", ".join(f"{k} {v}" for k, v in figures["accepted_by_provenance"].items())
        )
    for reason, count in figures["rejections"].items():
        out.print(f"  rejected {count}: {reason}")


audit_app = typer.Typer(help="Audits on problems whose answer is known.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("labels")
def audit_labels_command(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None,
        typer.Option(
            help="Gold source to audit on (repeatable): a source, or a prefix like 'gym' (default: gym tasks and CHAMP)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many problems (a stable sample).")] = 40,
    policy: PolicyOption = None,
) -> None:
    """Run every labelling rule (the methods' votes, each label check, their combinations) on gold problems as if their
    answer were unknown: label accuracy, reward accuracy, majority ratio, and the precision and yield of acceptance."""
    from flows.stages import audit_stage, run_stage

    state: State = ctx.obj
    result = in_process(
        lambda: run_stage(
            state.config,
            "audit",
            lambda session: audit_stage(session, source or [], limit),
            policy=policy,
        )
    )
    if not result["rules"]:
        raise HardforgeError(
            "no gold problem to audit on: ingest some (`hardforge ingest gym:chain_sum`, `hardforge ingest champ`) "
            "or name a --source that has math problems."
        )
    table = Table(
        title=f"label audit on {result['problems']} gold problems ({', '.join(result['sources'])}); "
        f"checker: {result['checker']}"
    )
    table.add_column("rule", no_wrap=True)
    for column in (
        "labelled",
        "label acc.",
        "reward acc.",
        "majority",
        "accepted",
        "precision",
        "yield",
    ):
        table.add_column(column, justify="right")
    show = lambda v: "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    for row in result["rules"]:
        table.add_row(
            row["rule"],
            show(row["labelled"]),
            show(row["label_accuracy"]),
            show(row["reward_accuracy"]),
            show(row["majority_ratio"]),
            show(row["accepted"]),
            show(row["precision"]),
            show(row["yield"]),
        )
    Console(width=max(out.width, 110)).print(table)  # a pipe gets 80 columns: too few for this table


lean_app = typer.Typer(help="Lean 4 formalization checks.", no_args_is_help=True)
app.add_typer(lean_app, name="lean")


@lean_app.command("check")
def lean_check(
    ctx: typer.Context,
    where: Annotated[
        str | None, typer.Option(help="SQL condition on problems (math problems only are checked).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many problems.")] = None,
    policy: Annotated[
        str | None,
        typer.Option(help="Formalizer and critic: policy id or name, 'bundled', or a model folder."),
    ] = None,
) -> None:
    """Autoformalize stored math problems, compile-check them, and ask a critic; one lean_checks row each."""
    from flows.stages import lean_stage, run_stage

    state: State = ctx.obj
    figures = in_process(
        lambda: run_stage(state.config, "lean", lambda session: lean_stage(session, where, limit), policy=policy)
    )
    if figures["note"]:
        err.print(f"lean: {figures['note']}; nothing is recorded as compiled.", highlight=False)
    verdicts = ", ".join(f"{v} {k}" for k, v in figures["verdicts"].items()) or "none"
    out.print(
        f"lean ({figures['toolchain']}): {figures['checked']} checked, {figures['already_checked']} already checked; "
        f"compiled {figures['compiled']}, not compiled {figures['not_compiled']}, no compiler {figures['no_compiler']}; "
        f"critic: {verdicts}"
    )
