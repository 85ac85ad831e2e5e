"""The Typer app, its consoles, the per-invocation state and the helpers every command group shares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

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
# the option every command that runs a policy takes
PolicyOption = Annotated[
    str | None, typer.Option(help="Policy id or name, 'bundled', or a model folder (default: the latest).")
]
# commands that only read: they never create the data directory (a mistyped one stays absent)
READ_ONLY_COMMANDS = frozenset({"status", "query", "report", "models"})
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
        Path | None,
        typer.Option("--data-dir", help="Data directory (default ./data or $HARDFORGE_DATA_DIR)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML config (default ./hardforge.toml if present)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show the engines' own logs (vLLM's start-up).")] = False,
) -> None:
    if verbose:
        import os

        os.environ.setdefault("VLLM_LOGGING_LEVEL", "INFO")
        os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "WARNING")
    cfg = load_config(config, data_dir=data_dir)
    # absolute, so that flow parameters and scheduled runs mean the same folder from any cwd
    cfg.data_dir = cfg.data_dir.resolve()
    prepare_environment(cfg.data_dir, create=ctx.invoked_subcommand not in READ_ONLY_COMMANDS)
    ctx.obj = State(cfg)


def print_table(frame, max_rows: int) -> None:
    table = Table(show_lines=False)
    for name in frame.columns:
        table.add_column(name, overflow="fold", max_width=60)
    for row in frame.head(max_rows).iter_rows():
        table.add_row(*("NULL" if v is None else str(v)[:500] for v in row))
    out.print(table)
    more = frame.height - max_rows
    out.print(f"{frame.height:,} rows" + (f" ({more:,} not shown; use --csv or --json)" if more > 0 else ""))


def override(section, name: str, value, option: str) -> None:
    """Set a config value from a command-line option, validated like the config file."""
    from pydantic import ValidationError

    try:
        setattr(section, name, value)
    except ValidationError as exc:
        raise HardforgeError(f"bad value for {option}: {exc.errors()[0]['msg']}.") from None


def plural(count: int, noun: str) -> str:
    """ "1 shard", "3 shards", "1,024 items"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise HardforgeError(f"--k takes comma-separated integers, got '{text}'.") from None


def in_process(work):
    """Run stage work in this process, then release the engines and verifiers it shared."""
    from flows.stages import release_shared

    try:
        return work()
    finally:
        release_shared()


def note_other_settings(count: int) -> None:
    """One line when measurements under other settings than the current config were left out."""
    if count:
        err.print(
            f"note: {plural(count, 'problem')} measured for this policy only under other settings than the current "
            "config (token budget, instruction, n, ...) are not in the curriculum; `hardforge estimate` measures "
            "them under these settings.",
            highlight=False,
        )


def explain_empty() -> None:
    out.print(
        "  the curriculum is empty: no measured problem falls in the pass@1 band (by default a "
        "problem the policy always or never solves is left out). Estimate more problems, or set "
        "curriculum.keep_unsolved = true / widen curriculum.band_low..band_high."
    )
