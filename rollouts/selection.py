"""Which problems an estimate run measures: a stable by-id selection for the CLI, and the nightly's
order (unmeasured first, then the stalest again), with a killed run's selection resumed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from schemas.config import RolloutConfig
from schemas.errors import HardforgeError
from schemas.keys import content_key
from warehouse.db import Warehouse
from warehouse.queries import sampling_key_table

PROBLEM_COLUMNS = "problem_id, domain, statement, answer, verifier, source, extra"


def select_problems(
    warehouse: Warehouse, where: str | None, limit: int | None
) -> list[dict[str, Any]]:
    """The candidate set, in a stable order (by id), so that a rerun picks the same problems."""
    sql = f"SELECT {PROBLEM_COLUMNS} FROM problems"
    if where:
        sql += f" WHERE ({where})"
    sql += " ORDER BY problem_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _rows(warehouse, sql)


def _rows(warehouse: Warehouse, sql: str, params: dict[str, Any] | None = None,
          tables: dict[str, pa.Table] | None = None) -> list[dict[str, Any]]:
    try:
        with warehouse.read() as con:
            for name, table in (tables or {}).items():
                con.register(name, table)
            rows = con.sql(sql, params=params).to_arrow_table().to_pylist()
    except HardforgeError:
        raise
    except Exception as exc:
        raise HardforgeError(f"bad --where filter: {str(exc).splitlines()[0]}") from None
    for row in rows:
        row["extra"] = json.loads(row["extra"]) if row["extra"] else None
    return rows


# The nightly's order: problems this policy has not been measured on under the current sampling
# key come first (synthesized before seeds, newest first, and sources interleaved so that every
# source gets its share of the limit), then the stalest measurements, to be measured again.
NIGHTLY_SQL = """
WITH candidates AS (
    SELECT p.problem_id, p.domain, p.statement, p.answer, p.verifier, p.source, p.extra, p.parent_id,
           p.created_at, d.estimated_at,
           row_number() OVER (PARTITION BY p.source, d.estimated_at IS NULL
                              ORDER BY p.created_at DESC, p.problem_id) AS source_rank
    FROM (SELECT * FROM problems WHERE {where}) p
    JOIN current_keys k USING (source, domain, verifier)
    LEFT JOIN difficulty d
      ON d.problem_id = p.problem_id AND d.policy_id = $policy AND d.sampling_key = k.sampling_key
    QUALIFY estimated_at IS NOT NULL
        OR source_rank <= coalesce((SELECT cap FROM source_caps c WHERE c.source = p.source), {no_cap})
)
SELECT problem_id, domain, statement, answer, verifier, source, extra, estimated_at IS NOT NULL AS remeasure
FROM candidates
ORDER BY estimated_at IS NOT NULL,
         CASE WHEN estimated_at IS NULL THEN parent_id IS NULL END,
         CASE WHEN estimated_at IS NULL THEN source_rank END,
         estimated_at, source, problem_id
LIMIT {limit}
"""


def nightly_selection(
    warehouse: Warehouse, config: RolloutConfig, policy_id: str, where: str | None, limit: int | None,
    per_source_limit: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` problems in the nightly's order (see NIGHTLY_SQL); ``remeasure`` marks
    the ones measured before, which get another round of samples pooled with the old ones."""
    keys = sampling_key_table(warehouse, config)
    no_cap = 2**62
    sql = NIGHTLY_SQL.format(where=f"({where})" if where else "TRUE", limit=int(limit) if limit is not None else no_cap,
                             no_cap=no_cap)
    caps = per_source_limit or {}
    tables = {"current_keys": keys, "source_caps": pa.table({"source": pa.array(list(caps), pa.string()),
                                                            "cap": pa.array(list(caps.values()), pa.int64())})}
    return _rows(warehouse, sql, {"policy": policy_id}, tables)


@dataclass
class SelectionPlan:
    """What one estimate run measures, recorded in its ``runs`` row so that a killed run's
    selection is finished by the next run instead of being replaced by a new one."""

    problems: list[dict[str, Any]]
    since: dt.datetime | None  # measurements from here on count as this selection's work
    request: str
    resumed_from: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {"request": self.request, "since": self.since.isoformat() if self.since else None,
                "selection": [p["problem_id"] for p in self.problems]}


def plan_selection(
    warehouse: Warehouse, config: RolloutConfig, policy_id: str, where: str | None, limit: int | None,
    *, remeasure: bool = False, per_source_limit: dict[str, int] | None = None,
) -> SelectionPlan:
    """The problems an estimate run measures: the stable by-id selection, or with ``remeasure``
    the nightly's order (NIGHTLY_SQL), resuming the selection of an interrupted run with the same
    request if there is one."""
    request = content_key("estimate", policy_id, where or "", str(limit), str(remeasure), config.model_dump_json(),
                          json.dumps(per_source_limit or {}, sort_keys=True))
    if not remeasure:
        return SelectionPlan(select_problems(warehouse, where, limit), None, request)
    pending = warehouse.arrow(
        "SELECT run_id, counts FROM runs WHERE flow = 'estimate' AND status IN ('running', 'failed', 'cancelled') "
        "AND json_extract_string(counts, '$.request') = ? ORDER BY started_at DESC LIMIT 1", [request]
    ).to_pylist()
    if pending:
        counts = json.loads(pending[0]["counts"])
        ids = counts["selection"]
        rows = {r["problem_id"]: r for r in _rows(
            warehouse, f"SELECT {PROBLEM_COLUMNS} FROM problems WHERE list_contains($ids, problem_id)", {"ids": ids})}
        problems = [{**rows[i], "remeasure": True} for i in ids if i in rows]
        with warehouse.write() as con:
            con.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = ?", [pending[0]["run_id"]])
        return SelectionPlan(problems, dt.datetime.fromisoformat(counts["since"]), request, pending[0]["run_id"])
    since = dt.datetime.now(dt.UTC)
    return SelectionPlan(nightly_selection(warehouse, config, policy_id, where, limit, per_source_limit), since, request)


__all__ = ["select_problems", "nightly_selection", "plan_selection", "SelectionPlan"]
