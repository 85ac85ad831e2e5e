"""The stage session owns its stage's one runs row and closes what it opened; stage work that a
flow spreads over tasks takes serializable arguments only."""

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows import stages
from flows.session import StageSession
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError


def _runs(warehouse):
    return warehouse.arrow("SELECT flow, status, counts FROM runs ORDER BY started_at").to_pylist()


def test_one_runs_row_per_stage_completed_failed_or_cancelled(warehouse):
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    assert stages.run_stage(cfg, "filter", stages.filter_stage)["checked"] == {}
    with pytest.raises(ZeroDivisionError), StageSession(cfg, "export") as session:
        session.note({"step": 1})
        raise ZeroDivisionError("division by zero")
    with pytest.raises(KeyboardInterrupt), StageSession(cfg, "estimate"):
        raise KeyboardInterrupt
    rows = _runs(warehouse)
    assert [(r["flow"], r["status"]) for r in rows] == [
        ("filter", "completed"),
        ("export", "failed"),
        ("estimate", "cancelled"),
    ]
    failed = json.loads(rows[1]["counts"])
    assert failed["step"] == 1 and failed["error"].startswith("ZeroDivisionError")


@pytest.mark.parametrize(
    "function",
    [
        stages.estimate_chunk,
        stages.synthesize_method,
        stages.filter_run,
        stages.export_run,
        stages.train_run,
        stages.train_in_child,
    ],
)
def test_task_bodies_take_plain_values(function):
    """What a Prefect task (or a Ray worker) receives: config and engine spec as dicts, ids, rows."""
    for name, parameter in inspect.signature(function).parameters.items():
        annotation = str(parameter.annotation)
        assert not any(live in annotation for live in ("Engine", "Warehouse", "Session", "Verifier", "Connection")), (
            name
        )


def _pid_and(value):
    return os.getpid(), value


def _killed():
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer ends a process


def _refuses():
    raise HardforgeError("train.max_steps is not enough.")


def test_in_child_runs_in_another_process_and_returns_its_value():
    pid, value = stages.in_child("the test", _pid_and, {"a": [1, 2]})
    assert pid != os.getpid() and value == {"a": [1, 2]}


def test_in_child_keeps_the_childs_own_sentence():
    with pytest.raises(HardforgeError, match="^train.max_steps is not enough.$"):
        stages.in_child("the test", _refuses)


def test_a_killed_child_is_one_sentence():
    with pytest.raises(HardforgeError) as caught:
        stages.in_child("the train stage", _killed)
    message = str(caught.value)
    assert message.startswith("the train stage's process died before it finished") and "\n" not in message


_WAITER = """
import os, time
from pathlib import Path

def wait(pid_file):
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)
    Path(pid_file + ".finished").write_text("")  # only a child nobody ended gets here
"""

# a night's process, in its own interpreter with Python's own SIGINT handler (in CI, a SIGINT to
# pytest's xdist worker never interrupted its wait): its train stage is a child that waits 2 min
_NIGHT = """
import signal, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
signal.signal(signal.SIGINT, signal.default_int_handler)
import waiter
from flows import stages
stages.in_child("the test", waiter.wait, sys.argv[3])
"""


def _running(pid):
    """Whether ``pid`` runs (a zombie nobody reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _night_with_a_waiting_child(tmp_path):
    (tmp_path / "waiter.py").write_text(_WAITER)
    pid_file = tmp_path / "pid"
    root = str(Path(__file__).resolve().parents[1])
    night = subprocess.Popen(
        [sys.executable, "-c", _NIGHT, str(tmp_path), root, str(pid_file)], stderr=subprocess.PIPE, text=True
    )
    for _ in range(1200):  # a bound, not a timing: the child starts in a few seconds
        if pid_file.exists() and pid_file.read_text():
            return night, int(pid_file.read_text()), pid_file
        assert night.poll() is None, night.stderr.read()
        time.sleep(0.1)
    night.kill()
    raise AssertionError("the child never started")


def _ended(pid):
    for _ in range(600):
        if not _running(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_an_interrupted_night_ends_its_child(tmp_path):
    """A cancelled run (Ctrl-C) does not wait for its child to finish: the child is ended."""
    night, child, pid_file = _night_with_a_waiting_child(tmp_path)
    night.send_signal(signal.SIGINT)
    _, err = night.communicate(timeout=120)
    assert night.returncode != 0 and "KeyboardInterrupt" in err
    assert _ended(child) and not Path(f"{pid_file}.finished").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_night_takes_its_child_with_it(tmp_path):
    """The OOM killer or a cancelled run's SIGKILL ends the night's process with no ``finally``:
    its train stage must not live on, holding the memory."""
    night, child, pid_file = _night_with_a_waiting_child(tmp_path)
    night.kill()
    night.communicate(timeout=120)
    assert _ended(child) and not Path(f"{pid_file}.finished").exists()


def _unpicklable():
    return lambda: None


def test_a_result_that_does_not_pickle_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="PicklingError|AttributeError"):
        stages.in_child("the test", _unpicklable)
