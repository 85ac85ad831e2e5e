"""A run whose process died (SIGKILL, a machine restart) never records its end: the next command
that opens the warehouse marks it crashed, with when it noticed; a live run is left alone."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time

from conftest import ROOT, cli_env, run_cli

from warehouse.liveness import judgeable, owner_gone, this_process

HOLD_A_RUN = """
import sys, time
from flows.session import StageSession
from schemas.config import load_config

with StageSession(load_config(None), sys.argv[1]) as session:
    print(session.run_id, flush=True)
    time.sleep(600)
"""


def _start_run(data_dir, stage: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, stage],
        cwd=ROOT,
        env=cli_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    run_id = proc.stdout.readline().strip()
    assert run_id, proc.stderr.read()[-2000:]
    return proc, run_id


def _runs(data_dir) -> dict[str, dict]:
    result = run_cli(data_dir, "query", "SELECT run_id, flow, status, pid, noticed_at FROM runs", "--json")
    assert result.returncode == 0, result.stderr
    return {r["run_id"]: r for r in json.loads(result.stdout)}


def test_owner_identity():
    me = this_process()
    assert me["pid"] == os.getpid() and me["host"] == socket.gethostname() and me["process"]
    assert judgeable(**me) and not owner_gone(**me)
    machine, boot, ticks = me["process"].split("|")
    # the same pid with another start (a reused pid), or after a restart (another boot id): gone
    assert owner_gone(me["host"], me["pid"], f"{machine}|{boot}|{int(ticks) + 1}")
    assert owner_gone(me["host"], me["pid"], f"{machine}|another-boot|{ticks}")
    # another host, another machine or pid namespace under the same hostname (a container), or a
    # row without an owner: cannot be judged from here, so never marked
    assert not owner_gone("another-host", 1, me["process"])
    assert not owner_gone(me["host"], 1, f"another-machine/pid:[1]|{boot}|{ticks}")
    assert not owner_gone(me["host"], None, None) and not owner_gone(me["host"], 1, "x/1")
    # a process that has exited
    done = subprocess.Popen(["true"])
    done.wait()
    assert owner_gone(me["host"], done.pid, me["process"])
    # a zombie (exited, not yet reaped by its parent) is gone too
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    zombie_start = open(f"/proc/{zombie.pid}/stat").read().rsplit(")", 1)[1].split()[19]
    assert owner_gone(me["host"], zombie.pid, f"{machine}|{boot}|{zombie_start}")
    zombie.wait()


def test_a_sigkilled_run_is_marked_crashed_by_the_next_command(data_dir):
    assert run_cli(data_dir, "init").returncode == 0
    killed, killed_id = _start_run(data_dir, "estimate")
    alive, alive_id = _start_run(data_dir, "synthesize")
    try:
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(30)
        before = time.time()
        status = run_cli(data_dir, "status")
        assert status.returncode == 0, status.stderr
        assert "1 crashed" in status.stdout and f"crashed: estimate run {killed_id[:12]}" in status.stdout
        assert f"process {killed.pid} on {socket.gethostname()} gone" in status.stdout
        runs = _runs(data_dir)
        assert runs[killed_id]["status"] == "crashed" and runs[killed_id]["noticed_at"]
        assert runs[alive_id]["status"] == "running"  # its process is alive: not a crash
        noticed = dt.datetime.fromisoformat(runs[killed_id]["noticed_at"])
        assert abs(noticed.timestamp() - before) < 120  # noticed by that command, not at some other time
        # the report says so too
        page = run_cli(data_dir, "report")
        assert page.returncode == 0, page.stderr
        text = (data_dir / "reports" / "report.html").read_text()
        assert "1 of these runs crashed" in text and "<td>crashed</td>" in text
    finally:
        os.killpg(alive.pid, signal.SIGKILL)
        alive.wait(30)
    # the second one, killed too, is noticed by the next command that opens the warehouse (a query)
    assert _runs(data_dir)[alive_id]["status"] == "crashed"
