"""The ``hardforge`` command line: one module per command group, registered on one Typer app."""

from flows.cli import ingest, measure, serve, synth, train, view  # noqa: F401  (each registers its commands)
from flows.cli.main import main, run

__all__ = ["main", "run"]
