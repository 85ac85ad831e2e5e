"""The held-out probe: a fixed set of problems (``nightly.probe``, another generator seed than the
seeds') on which every night's policy is measured the same way, so that pass@1 across nights is a
learning curve. Probe problems carry a ``heldout`` filter verdict (keep = false): every stage that
reads problems that passed the filters (the estimate's selection, curricula, synthesis seeds)
leaves them out, and they are never trained on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.config import RolloutConfig
from schemas.records import FilterVerdict
from warehouse.db import Warehouse, records_to_arrow
from warehouse.queries import HELDOUT, HELDOUT_WHERE


def mark_heldout(warehouse: Warehouse, problem_ids: list[str], run_id: str | None) -> int:
    """Give these problems the ``heldout`` verdict (a rerun adds nothing); returns how many are new."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        FilterVerdict(
            problem_id=pid,
            filter=HELDOUT,
            keep=False,
            reason="held-out probe: measured, never trained on",
            run_id=run_id,
            created_at=now,
        )
        for pid in problem_ids
    ]
    if not rows:
        return 0
    with warehouse.write() as con:
        return warehouse.insert("filter_verdicts", records_to_arrow("filter_verdicts", rows), con)


def probe_config(rollouts: RolloutConfig, n: int) -> RolloutConfig:
    """The probe's sampling: the nightly's prompts and budgets, n samples each, no screen (a
    learning curve wants every problem's pass@1 from the same n)."""
    return rollouts.model_copy(update={"n": n, "k": [1], "screen": None})


def heldout_curve(warehouse: Warehouse, n: int) -> list[dict[str, Any]]:
    """Mean held-out pass@1 per policy measured on the probe with ``n`` samples, oldest policy
    first, with the standard error over problems."""
    return warehouse.arrow(
        f"""
        WITH probe AS (
            SELECT d.policy_id, d.problem_id, arg_max(d.pass_at_1, d.estimated_at) AS pass_at_1
            FROM difficulty d WHERE d.n = ? AND d.{HELDOUT_WHERE} GROUP BY ALL
        )
        SELECT p.policy_id, coalesce(any_value(pol.name), p.policy_id[:12]) AS name, min(pol.created_at) AS created_at,
               count(*) AS problems, avg(p.pass_at_1) AS mean_pass_at_1,
               coalesce(stddev_samp(p.pass_at_1) / sqrt(count(*)), 0) AS stderr
        FROM probe p LEFT JOIN policies pol USING (policy_id)
        GROUP BY p.policy_id ORDER BY created_at NULLS FIRST, p.policy_id
        """,
        [n],
    ).to_pylist()


def gym_request_ids(warehouse: Warehouse, task: str, levels: list[int], size: int, seed: int) -> list[str]:
    """The problems one ``gym:TASK?levels=..&size=..&seed=..`` request ingested."""
    return [
        r["problem_id"]
        for r in warehouse.arrow(
            "SELECT problem_id FROM problems WHERE source = ? AND json_extract(extra, '$.gym.seed')::INT = ? "
            "AND list_contains(?, json_extract(extra, '$.gym.level')::INT) AND json_extract(extra, '$.gym.index')::INT < ? "
            "ORDER BY problem_id",
            [f"gym:{task}", seed, levels, size],
        ).to_pylist()
    ]


__all__ = ["HELDOUT", "mark_heldout", "probe_config", "heldout_curve", "gym_request_ids"]
