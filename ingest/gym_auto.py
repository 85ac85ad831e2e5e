"""``levels=auto`` for gym seeds: the level a task is ingested at follows the policy, as
reasoning-gym's own curricula do (up a level above 0.7 success, down below 0.3).

The current level is that of the task's latest batch. While that batch is not fully measured, the
same batch is asked for again (a rerun after a crash adds nothing); once it is, the latest
measuring policy's mean pass@1 there picks the next level, and a fresh generator seed gives new
problems (never a seed of the held-out probe)."""

from __future__ import annotations

import dataclasses

from ingest import gym
from schemas.config import HardforgeConfig
from warehouse.db import Warehouse
from warehouse.queries import HELDOUT_WHERE, PASSED_FILTERS

UP, DOWN = 0.7, 0.3  # reasoning-gym's curriculum thresholds

# a batch's problems that a filter dropped (a duplicate, say) are never measured: they do not count
BATCHES_SQL = f"""
SELECT json_extract(extra, '$.gym.level')::INT AS level, json_extract(extra, '$.gym.seed')::INT AS seed,
       max(created_at) AS created_at, count(*) FILTER (WHERE {{passed}}) AS problems,
       count(*) FILTER (WHERE {{passed}} AND problem_id IN (SELECT problem_id FROM difficulty)) AS measured
FROM problems WHERE source = ? AND NOT ({HELDOUT_WHERE})
GROUP BY ALL ORDER BY created_at DESC, level DESC, seed DESC
""".format(passed=PASSED_FILTERS)

SUCCESS_SQL = f"""
WITH at_level AS (
    SELECT d.policy_id, d.problem_id, arg_max(d.pass_at_1, d.estimated_at) AS pass_at_1, max(d.estimated_at) AS measured_at
    FROM difficulty d JOIN problems p USING (problem_id)
    WHERE p.source = ? AND json_extract(p.extra, '$.gym.level')::INT = ? AND NOT (p.{HELDOUT_WHERE})
    GROUP BY ALL
), latest AS (SELECT policy_id FROM at_level GROUP BY 1 ORDER BY max(measured_at) DESC LIMIT 1)
SELECT avg(pass_at_1) FROM at_level WHERE policy_id IN (SELECT policy_id FROM latest)
"""


def next_level(current: int, success: float | None, top: int) -> int:
    """reasoning-gym's rule: up above 0.7 mean success, down below 0.3, within 0..top."""
    if success is None:
        return current
    if success > UP:
        return min(current + 1, top)
    if success < DOWN:
        return max(current - 1, 0)
    return current


def probe_seeds(config: HardforgeConfig, task: str, level: int) -> set[int]:
    """Generator seeds the held-out probe uses for this task and level."""
    taken = set()
    for spec in config.nightly.probe:
        if spec.startswith(gym.PREFIX):
            request = gym.parse_request(spec)
            if request.task == task and level in request.levels:
                taken.add(request.seed)
    return taken


def choose_level(warehouse: Warehouse, request: gym.GymRequest, config: HardforgeConfig) -> gym.GymRequest:
    """The concrete request ``levels=auto`` stands for now (see the module's docstring)."""
    warehouse.init()
    batches = warehouse.arrow(BATCHES_SQL, [request.source]).to_pylist()
    if batches and batches[0]["measured"] < batches[0]["problems"]:
        level, seed = batches[0]["level"], batches[0]["seed"]
    else:
        current = batches[0]["level"] if batches else 0
        success = warehouse.scalar(SUCCESS_SQL, [request.source, current]) if batches else None
        level = next_level(current, success, gym.max_level(gym._curriculum(request.task)))
        used = {b["seed"] for b in batches if b["level"] == level} | probe_seeds(config, request.task, level)
        seed = request.seed
        while seed in used:
            seed += 1
    return dataclasses.replace(request, levels=(level,), seed=seed, auto=False)


__all__ = ["choose_level", "next_level", "probe_seeds", "UP", "DOWN"]
