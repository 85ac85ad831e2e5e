"""The stage session owns its stage's one runs row and closes what it opened; stage work that a
flow spreads over tasks takes serializable arguments only."""

import inspect
import json

import pytest

from flows import stages
from flows.session import StageSession
from schemas.config import HardforgeConfig


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
    [stages.estimate_chunk, stages.synthesize_method, stages.filter_run, stages.export_run, stages.train_run],
)
def test_task_bodies_take_plain_values(function):
    """What a Prefect task (or a Ray worker) receives: config and engine spec as dicts, ids, rows."""
    for name, parameter in inspect.signature(function).parameters.items():
        annotation = str(parameter.annotation)
        assert not any(live in annotation for live in ("Engine", "Warehouse", "Session", "Verifier", "Connection")), (
            name
        )
