"""A local Prefect server for ``hardforge serve`` when the user has none: its UI on 127.0.0.1, its
database under the data directory (PREFECT_HOME, set by flows.runtime), stopped with its parent."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from schemas.errors import HardforgeError

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM when its parent dies, even by SIGKILL (no orphaned server)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
            return response.read() == b"true"
    except OSError:
        return False


def stop(process: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM to the server's process group (uvicorn and its workers), SIGKILL after ``grace_s``,
    and SIGKILL also when a second Ctrl-C or SIGTERM interrupts the wait: never an orphaned server."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(grace_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    finally:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


@contextmanager
def local_server(port: int, log: Path, startup_s: float | None = None) -> Iterator[str]:
    """Start ``prefect server start`` on 127.0.0.1:``port`` with this environment (PREFECT_HOME
    under the data dir), wait until it is healthy, yield its API URL, and stop it at the end."""
    api = f"http://127.0.0.1:{port}/api"
    if healthy(api):
        raise HardforgeError(
            f"something already answers on 127.0.0.1:{port}; set PREFECT_API_URL={api} to use it, "
            "or pick another --port."
        )
    startup_s = startup_s or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180"))
    log.parent.mkdir(parents=True, exist_ok=True)
    offset = log.stat().st_size if log.exists() else 0  # a start-up failure quotes this start's lines only
    with open(log, "ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        deadline = time.monotonic() + startup_s
        while not healthy(api):
            if process.poll() is not None:
                with open(log, "rb") as written:
                    written.seek(offset)
                    tail = written.read().decode(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise HardforgeError(
                    f"the local Prefect server stopped at start-up (exit {process.returncode}): "
                    f"{tail[0][:300]} (log: {log})."
                )
            if time.monotonic() > deadline:
                raise HardforgeError(f"the local Prefect server was not ready within {startup_s:.0f} s (log: {log}).")
            time.sleep(0.5)
        yield api
    finally:
        stop(process)


__all__ = ["local_server", "healthy", "stop"]
