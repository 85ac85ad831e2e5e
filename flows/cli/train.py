"""`train`, `warm-start` and `export-proposer`: GRPO for the solver and the proposer, and the
proposer's warm start."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from flows.cli.app import (
    PolicyOption,
    State,
    app,
    in_process,
    out,
    plural,
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
    role: Annotated[
        Role,
        typer.Option(
            help="solver: the curriculum; proposer: each method's prompts, rewarded by the "
            "method with the live policy as solver; both: mixed in train.proposer_share."
        ),
    ] = Role.solver,
    method: Annotated[
        list[str] | None,
        typer.Option(
            help="A method whose proposer is trained (repeatable; default: "
            "train.proposer_methods, else nightly.synthesize)."
        ),
    ] = None,
) -> None:
    """GRPO (TRL) for the solver, the proposer or both; the checkpoint becomes the latest policy."""
    from flows.stages import run_stage, train_stage

    state: State = ctx.obj
    config = state.config
    if method:
        config = config.model_copy(update={"train": config.train.model_copy(update={"proposer_methods": method})})
    summary = run_stage(
        config,
        "train",
        lambda session: train_stage(session, curriculum, max_steps, role=role.value),
    )
    on = f"curriculum {summary['curriculum_id']}" if summary["curriculum_id"] else "proposer prompts"
    out.print(
        f"train ({summary['role']}): {plural(summary['steps'], 'GRPO step')} on {on} ({summary['rows']}), "
        f"{summary['mean_step_time_s']} s/step; new policy {summary['policy_name']} ({summary['policy_id']}) "
        f"at {summary['model_path']}"
    )
    for m in summary["metrics"]:
        out.print(
            f"  step {m['step']}: reward mean {m['reward_mean']}, zero-std groups {m['frac_reward_zero_std']}, {m['step_time_s']} s"
        )
        for name, f in m.get("proposer", {}).items():
            out.print(
                f"    {name}: {plural(f['proposals'], 'proposal')}, {f['parsed']} parsed, {f['verified']} verified, "
                f"proposer reward mean {f['reward_mean']}"
            )


@app.command("export-proposer")
def export_proposer_command(
    ctx: typer.Context,
    method: Annotated[list[str], typer.Option(help="A method whose proposer prompts are exported (repeatable).")],
    limit: Annotated[int, typer.Option(help="Fresh proposer prompts per method (fewer when its seeds run out).")] = 64,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the Parquet file (default: DATA_DIR/proposer)."),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Proposer prompts as a verl dataset, with the reward entry point that judges each proposal."""
    from flows.stages import proposer_export_stage, run_stage

    state: State = ctx.obj
    done = in_process(
        lambda: run_stage(
            state.config,
            "export-proposer",
            lambda session: proposer_export_stage(session, method, limit, out_dir),
            policy=policy,
        )
    )
    counts = (
        ", ".join(f"{name} {n}" for name, n in done["by_method"].items()) or "none: every method's fresh seeds ran out"
    )
    out.print(f"proposer prompts: {done['rows']} ({counts}) at {done['path']}")
    out.print(
        f"  verl: custom_reward_function.path={done['reward_path']} custom_reward_function.name=compute_score_batch "
        "reward_model.reward_manager=batch; the reward solves with engine.urls (an OpenAI-compatible server of the policy)"
    )


@app.command("warm-start")
def warm_start_command(
    ctx: typer.Context,
    method: Annotated[
        list[str] | None,
        typer.Option(
            help="A method whose verified proposals are learned (repeatable; default: "
            "train.proposer_methods, else nightly.synthesize)."
        ),
    ] = None,
    per_method: Annotated[
        int, typer.Option(help="At most this many proposals of each method, best rewarded first.")
    ] = 64,
    epochs: Annotated[float, typer.Option(help="Passes over the proposals.")] = 2.0,
    learning_rate: Annotated[float, typer.Option(help="SFT's learning rate.")] = 1e-5,
    teacher: Annotated[
        str | None,
        typer.Option(
            help="Learn another policy's verified proposals (its id or name in the warehouse, e.g. a "
            "bundled coder that synthesized here) instead of the policy's own."
        ),
    ] = None,
) -> None:
    """The proposer's warm start (ReST-EM): fine-tune the policy on its own verified proposals, or
    a teacher's, so that proposer GRPO starts where some groups verify; the checkpoint becomes the
    latest policy."""
    from flows.stages import run_stage, warm_start_stage
    from schemas.errors import HardforgeError

    if per_method < 1 or not epochs > 0 or not learning_rate > 0:
        raise HardforgeError("bad value for --per-method, --epochs or --learning-rate: each must be positive.")
    state: State = ctx.obj
    summary = run_stage(
        state.config,
        "warm-start",
        lambda session: warm_start_stage(session, method, per_method, epochs, teacher, learning_rate),
    )
    counts = ", ".join(f"{name} {n}" for name, n in summary["by_method"].items())
    out.print(
        f"warm start: {plural(summary['examples'], 'verified proposal')} ({counts}), {summary['epochs']:g} epochs, "
        f"{summary['seconds']} s, loss {' -> '.join(str(x) for x in summary['losses'][:1] + summary['losses'][-1:])}; "
        f"new policy {summary['policy_name']} ({summary['policy_id']}) at {summary['model_path']}"
    )
