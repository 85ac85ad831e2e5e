"""Whether the process that owns a ``running`` row is still alive: a run killed by SIGKILL or a
machine restart never writes its end, so the next process to open the warehouse notices it.

A process is named by its host and pid plus a token: the machine id, the pid namespace, the boot
id and its start time (clock ticks since boot, /proc/PID/stat field 22). Only a row from this
machine and this pid namespace can be judged (a container with its own pids, or another machine
on a shared data dir, cannot be seen from here, whatever its hostname); there a pid reused after
the owner died, a zombie, or a restart since (another boot id) does not pass for the owner.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path

PROC = Path("/proc")


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@cache
def _machine() -> str:
    """machine id / pid namespace: where a pid means the same process as here."""
    try:
        namespace = os.readlink(PROC / "self/ns/pid")
    except OSError:
        namespace = ""
    return f"{_read(Path('/etc/machine-id')) or _read(Path('/var/lib/dbus/machine-id'))}/{namespace}"


@cache
def _boot_id() -> str:
    return _read(PROC / "sys/kernel/random/boot_id")


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start ticks) of a process, or None when there is no such process."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def this_process() -> dict[str, str | int | None]:
    """The owner columns of a run row started by this process."""
    pid = os.getpid()
    stat = _stat(pid)
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "process": f"{_machine()}|{_boot_id()}|{stat[1]}" if stat else None,
    }


def judgeable(host: str | None, pid: int | None, process: str | None) -> bool:
    """Whether this process can tell if that owner is alive: same host, machine and pid namespace."""
    if host != socket.gethostname() or pid is None or not process or process.count("|") != 2:
        return False
    return process.split("|")[0] == _machine()


def owner_gone(host: str | None, pid: int | None, process: str | None) -> bool:
    """True only when the owner is certainly gone: a judgeable row whose pid is free, a zombie, or
    another process (another start time), or whose machine has restarted since (another boot id)."""
    if not judgeable(host, pid, process):
        return False
    _, boot, ticks = process.split("|")
    stat = _stat(pid)
    return stat is None or stat[0] == "Z" or boot != _boot_id() or ticks != stat[1]


__all__ = ["this_process", "owner_gone", "judgeable"]
