"""The stage session owns its stage's one runs row and closes what it opened; stage work that a
flow spreads over tasks takes serializable arguments only."""

import inspect
import json
import os
import signal

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


def _unpicklable():
    return lambda: None


def test_a_result_that_does_not_pickle_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="PicklingError|AttributeError"):
        stages.in_child("the test", _unpicklable)
