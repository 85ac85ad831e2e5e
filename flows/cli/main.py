"""The entry points and the one place errors become messages: a user error prints one sentence,
Ctrl-C and SIGTERM stop a stage the same way, and nothing prints a traceback unless asked."""

from __future__ import annotations

import os
import signal
import sys

import click

from flows.cli.app import app, err
from schemas.errors import HardforgeError


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
    err.print(
        f"hardforge: stopped by {'SIGTERM' if terminated else 'Ctrl-C'}; finished work is kept, the run is "
        "marked cancelled, and the same command resumes it."
    )
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
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
    except BaseException as exc:
        # Prefect raises its own TerminationSignal (a BaseException) for SIGTERM inside a flow
        if not isinstance(exc, KeyboardInterrupt) and type(exc).__name__ != "TerminationSignal":
            raise
        _stop(bool(_SIGTERM_SEEN) or type(exc).__name__ == "TerminationSignal")
