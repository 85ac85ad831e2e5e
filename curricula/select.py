"""Selection by difficulty band and label provenance, an optional budget (the K hardest, easiest,
middle or random of what the band keeps), and the curriculum's order, in one SQL query.

Orders: random (the default: a stable shuffle, by a hash of problem_id, reseeded by
``order_seed``); hardest (lowest pass@1 first; ties by the number of samples, more first, then
problem_id, a content hash and so a stable pseudo-random tie-break); easiest. With domain
balance, domains are interleaved round-robin, in the order within each.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.config import CurriculumConfig, RolloutConfig
from schemas.errors import HardforgeError
from schemas.prompts import acceptance_key
from schemas.provenance import at_least_sql
from warehouse.db import Warehouse
from warehouse.queries import sampling_key_table

SELECT_SQL = """
WITH latest AS (  -- figures under the current sampling key of each problem only
    SELECT d.* FROM difficulty d
    JOIN problems p USING (problem_id)
    JOIN current_keys k ON k.source = p.source AND k.domain = p.domain AND k.verifier = p.verifier
                       AND k.sampling_key = d.sampling_key
    WHERE d.policy_id = $policy
), chosen AS (
    SELECT p.problem_id, p.domain, p.statement, p.answer, p.verifier, p.source, p.task, p.extra,
           d.n, d.c, d.pass_at_1, d.sampling_key, p.parent_id, p.created_run, p.label_provenance,
           list_transform(map_entries(d.pass_at_k), lambda e: {{'k': e.key, 'value': e.value}}) AS pass_at_k,
           json_extract_string(p.extra, '$.entry_point') AS entry_point,
           json_extract_string(p.extra, '$.gym.level') AS level,  -- reasoning-gym's difficulty level
           (SELECT min(a.method) FROM synth_attempts a WHERE a.problem_id = p.problem_id AND a.accepted) AS method
    FROM latest d JOIN problems p USING (problem_id)
    WHERE d.pass_at_1 BETWEEN $low AND $high
      AND ($keep_unsolved OR d.pass_at_1 > 0)
      AND ($keep_solved OR d.pass_at_1 < 1)
      AND NOT EXISTS (SELECT 1 FROM filter_verdicts f WHERE f.problem_id = p.problem_id AND NOT f.keep)
      AND {trusted}  -- labels that rest on the policy's vote or judgement alone stay out by default
), ranked AS (  -- the selection under a budget ranks the kept items by pass@1 (the hardest order's ties)
    SELECT *, row_number() OVER (ORDER BY {hardness}) AS hardness_rank,
           row_number() OVER (ORDER BY {easiness}) AS easiness_rank,
           row_number() OVER (ORDER BY {shuffle}) AS random_rank, count(*) OVER () AS pool
    FROM chosen
), picked AS (
    SELECT * EXCLUDE (hardness_rank, easiness_rank, random_rank, pool) FROM ranked WHERE {picked}
)
SELECT *, row_number() OVER (PARTITION BY domain ORDER BY {rank_order}) AS domain_rank
FROM picked
ORDER BY {order}
"""

# which ranks a selection of $k keeps (hardness_rank 1 = the lowest pass@1)
PICKS = {
    "all": "TRUE",
    "hardest": "hardness_rank <= $k",
    "easiest": "easiness_rank <= $k",
    "middle": "hardness_rank > (pool - least($k, pool)) // 2 AND hardness_rank <= (pool - least($k, pool)) // 2 + $k",
    "random": "random_rank <= $k",
}


# Ties in pass@1 go to the problem measured with more samples (the firmer estimate), then to the
# problem id, a content hash and so a stable pseudo-random order. (pass@k is no tie-break: equal
# pass@1 and equal n give equal pass@k.)
ORDERS = {
    "hardest": "pass_at_1, n DESC, problem_id",
    "easiest": "pass_at_1 DESC, n DESC, problem_id",
    "random": "hash(problem_id || 'random order'), problem_id",  # stable: the same items, the same order
}


def _shuffle(config: CurriculumConfig) -> str:
    """The stable shuffle, reseeded by ``order_seed`` (bench/loop.py's seeds)."""
    if config.order_seed:
        return f"hash(problem_id || 'random order {int(config.order_seed)}'), problem_id"
    return ORDERS["random"]


def _order(config: CurriculumConfig) -> str:
    """The ORDER BY of the configured order."""
    return _shuffle(config) if config.order == "random" else ORDERS[config.order]


def rule_of(config: CurriculumConfig, policy_id: str) -> dict[str, Any]:
    """The selection rule, as recorded in the manifest and the warehouse."""
    return {
        "policy_id": policy_id,
        "band": [config.band_low, config.band_high],
        "keep_unsolved": config.keep_unsolved,
        "keep_solved": config.keep_solved,
        "order": _order(config),
        "balance_domains": config.balance_domains,
        "min_label_provenance": config.min_label_provenance,
        "select": None
        if config.select == "all"
        else {"by": config.select, "k": config.select_k}
        | ({"seed": config.order_seed} if config.select == "random" else {}),
    }


def select_curriculum(
    warehouse: Warehouse, policy_id: str, config: CurriculumConfig, rollouts: RolloutConfig
) -> pa.Table:
    if config.band_low > config.band_high:
        raise HardforgeError(f"curriculum band [{config.band_low}, {config.band_high}] is empty.")
    order = _order(config)
    if config.balance_domains:
        order = f"domain_rank, {order}"
    params = {
        "policy": policy_id,
        "low": config.band_low,
        "high": config.band_high,
        "keep_unsolved": config.keep_unsolved,
        "keep_solved": config.keep_solved,
    }
    if config.select != "all":
        params["k"] = config.select_k
    with warehouse.read() as con:
        con.register("current_keys", sampling_key_table(warehouse, rollouts))
        sql = SELECT_SQL.format(
            order=order,
            rank_order=_order(config),
            hardness=ORDERS["hardest"],
            easiness=ORDERS["easiest"],
            shuffle=_shuffle(config),
            picked=PICKS[config.select],
            trusted=at_least_sql("p.label_provenance", config.min_label_provenance),
        )
        return con.sql(sql, params=params).to_arrow_table()


OTHER_SETTINGS_SQL = """
SELECT count(DISTINCT d.problem_id) FROM difficulty d JOIN problems p USING (problem_id)
JOIN current_keys k ON k.source = p.source AND k.domain = p.domain AND k.verifier = p.verifier
WHERE d.policy_id = $policy AND d.sampling_key <> k.sampling_key AND d.sampling_key <> k.acceptance_key
  AND NOT EXISTS (SELECT 1 FROM difficulty c WHERE c.policy_id = $policy AND c.problem_id = d.problem_id
                  AND c.sampling_key = k.sampling_key)
"""


def measured_under_other_settings(warehouse: Warehouse, policy_id: str, rollouts: RolloutConfig) -> int:
    """How many problems this policy has figures for only under other sampling settings than the
    current config's (another budget, instruction, n...): a curriculum leaves them out, and a
    command that reads them says so (a synthesized problem's acceptance sample does not count)."""
    keys = sampling_key_table(warehouse, rollouts)
    acceptance = pa.array([acceptance_key(k) for k in keys.column("sampling_key").to_pylist()], pa.string())
    with warehouse.read() as con:
        con.register("current_keys", keys.append_column("acceptance_key", acceptance))
        return con.execute(OTHER_SETTINGS_SQL, {"policy": policy_id}).fetchone()[0]
