"""Whether the process that owns a ``running`` row is still alive: a run killed by SIGKILL or a
machine restart never writes its end, so the next process to open the warehouse notices it.

A process is named by its host, its pid and the boot id plus its start time (clock ticks since
boot, /proc/PID/stat field 22): a pid reused after the owner died, or a machine restarted since,
does not pass for the owner. A row from another host cannot be judged from here and is left alone.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path

PROC = Path("/proc")


@cache
def _boot_id() -> str:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when there is no such process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat[stat.rindex(")") + 2 :].split()[19]


def this_process() -> dict[str, str | int | None]:
    """The owner columns of a run row started by this process."""
    pid = os.getpid()
    ticks = _start_ticks(pid)
    return {"host": socket.gethostname(), "pid": pid, "process": f"{_boot_id()}/{ticks}" if ticks else None}


def owner_gone(host: str | None, pid: int | None, process: str | None) -> bool:
    """True only when the owner is certainly gone: same host, and no process with that pid and start
    (the pid is free, or reused by another process, or the machine has restarted since)."""
    if host != socket.gethostname() or pid is None or not process:
        return False
    ticks = _start_ticks(pid)
    return ticks is None or process != f"{_boot_id()}/{ticks}"


__all__ = ["this_process", "owner_gone"]
