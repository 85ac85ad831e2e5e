"""Which problems an estimate run measures: a stable by-id selection for the CLI, and the nightly's
order (unmeasured first, then the stalest again), with a killed run's selection resumed."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from schemas.config import RolloutConfig
from schemas.errors import HardforgeError
from schemas.keys import content_key
from warehouse.db import Warehouse
from warehouse.liveness import judgeable
from warehouse.queries import HELDOUT_WHERE, sampling_key_table

PROBLEM_COLUMNS = "problem_id, domain, statement, answer, verifier, source, extra"


def select_problems(warehouse: Warehouse, where: str | None, limit: int | None) -> list[dict[str, Any]]:
    """The candidate set, in a stable order (by id), so that a rerun picks the same problems."""
    sql = f"SELECT {PROBLEM_COLUMNS} FROM problems"
    if where:
        sql += f" WHERE ({where})"
    sql += " ORDER BY problem_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _rows(warehouse, sql)


def _rows(
    warehouse: Warehouse, sql: str, params: dict[str, Any] | None = None, tables: dict[str, pa.Table] | None = None
) -> list[dict[str, Any]]:
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
    warehouse: Warehouse,
    config: RolloutConfig,
    policy_id: str,
    where: str | None,
    limit: int | None,
    per_source_limit: dict[str, int] | None = None,
    signal: SignalRule | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` problems in the nightly's order (see NIGHTLY_SQL); ``remeasure`` marks
    the ones measured before, which get another round of samples pooled with the old ones.
    With ``signal``, new problems unlikely to be in band are passed over first (``pass_over``)."""
    keys = sampling_key_table(warehouse, config)
    no_cap = 2**62
    cut = int(limit) if limit is not None and signal is None else no_cap  # passing over happens before the limit
    sql = NIGHTLY_SQL.format(where=f"({where})" if where else "TRUE", limit=cut, no_cap=no_cap)
    caps = per_source_limit or {}
    tables = {
        "current_keys": keys,
        "source_caps": pa.table(
            {"source": pa.array(list(caps), pa.string()), "cap": pa.array(list(caps.values()), pa.int64())}
        ),
    }
    rows = _rows(warehouse, sql, {"policy": policy_id}, tables)
    if signal is not None:
        rows, signal.passed_over = pass_over(rows, signal_history(warehouse, policy_id), policy_id, signal)
    return rows[:limit] if limit is not None else rows


@dataclass
class SignalRule:
    """Spend generation where the signal is (GRESO, arXiv 2506.02177, at selection time): a new
    problem whose latest measurement under an earlier policy was all wrong or all right, or of a
    source with no in-band problem among ``source_evidence`` measured, is measured only with
    probability ``recheck`` (a seeded draw per problem and policy). Every source with candidates
    keeps at least one problem a night. Decisions use earlier measurements only, so the
    measurement a problem does get is the unbiased one."""

    recheck: float = 0.2
    source_evidence: int = 4
    seed: int = 0
    passed_over: dict[str, int] = field(default_factory=dict)  # reason -> problems, filled by a selection


HISTORY_SQL = f"""
WITH latest AS (
    SELECT problem_id, policy_id, arg_max(pass_at_1, estimated_at) AS pass_at_1, max(estimated_at) AS at
    FROM difficulty WHERE NOT ({HELDOUT_WHERE}) GROUP BY ALL
)
SELECT l.problem_id, p.source, l.policy_id, l.pass_at_1, l.at FROM latest l JOIN problems p USING (problem_id)
"""


def signal_history(warehouse: Warehouse, policy_id: str) -> dict[str, Any]:
    """Per problem, its latest measurement under another policy; per source, (measured, in band)
    over every policy's latest measurements."""
    earlier: dict[str, tuple[Any, float]] = {}
    sources: dict[str, list[int]] = {}
    for row in warehouse.arrow(HISTORY_SQL).to_pylist():
        stats = sources.setdefault(row["source"], [0, 0])
        stats[0] += 1
        stats[1] += 0 < row["pass_at_1"] < 1
        if row["policy_id"] != policy_id and (
            row["problem_id"] not in earlier or row["at"] > earlier[row["problem_id"]][0]
        ):
            earlier[row["problem_id"]] = (row["at"], row["pass_at_1"])
    return {"earlier": {pid: value for pid, (_, value) in earlier.items()}, "sources": sources}


def recheck_draw(problem_id: str, policy_id: str, seed: int) -> float:
    """A uniform draw in [0, 1) fixed by the problem, the policy and the seed."""
    return int(content_key("recheck", problem_id, policy_id, str(seed))[:12], 16) / 16**12


def pass_over(
    rows: list[dict[str, Any]], history: dict[str, Any], policy_id: str, rule: SignalRule
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows the signal rule keeps, in order, and why the others were passed over (pure)."""
    reasons = [_unlikely(row, history, rule) for row in rows]
    keep = [
        reason is None or recheck_draw(row["problem_id"], policy_id, rule.seed) < rule.recheck
        for row, reason in zip(rows, reasons, strict=True)
    ]
    for source in dict.fromkeys(row["source"] for row in rows):  # never starve a source: its first candidate stays
        indices = [i for i, row in enumerate(rows) if row["source"] == source]
        if not any(keep[i] for i in indices):
            keep[indices[0]] = True
    passed: dict[str, int] = {}
    for reason, kept in zip(reasons, keep, strict=True):
        if not kept:
            passed[reason] = passed.get(reason, 0) + 1
    return [row for row, kept in zip(rows, keep, strict=True) if kept], passed


def _unlikely(row: dict[str, Any], history: dict[str, Any], rule: SignalRule) -> str | None:
    """Why a candidate is unlikely to be in band for the policy, or None."""
    if row.get("remeasure"):  # another round of this policy's own figures is never passed over
        return None
    value = history["earlier"].get(row["problem_id"])
    if value is not None and value in (0.0, 1.0):
        return f"{'never' if value == 0 else 'always'} solved by an earlier policy"
    measured, in_band = history["sources"].get(row["source"], (0, 0))
    if measured >= rule.source_evidence and in_band == 0:
        return f"source {row['source']}: none in band of {measured} measured"
    return None


@dataclass
class SelectionPlan:
    """What one estimate run measures, recorded in its ``runs`` row so that a killed run's
    selection is finished by the next run instead of being replaced by a new one."""

    problems: list[dict[str, Any]]
    since: dt.datetime | None  # measurements from here on count as this selection's work
    request: str
    resumed_from: str | None = None
    passed_over: dict[str, int] = field(default_factory=dict)  # reason -> problems the signal rule left for later

    def as_record(self) -> dict[str, Any]:
        return {
            "request": self.request,
            "since": self.since.isoformat() if self.since else None,
            "selection": [p["problem_id"] for p in self.problems],
        }


def plan_selection(
    warehouse: Warehouse,
    config: RolloutConfig,
    policy_id: str,
    where: str | None,
    limit: int | None,
    *,
    remeasure: bool = False,
    per_source_limit: dict[str, int] | None = None,
    signal: SignalRule | None = None,
) -> SelectionPlan:
    """The problems an estimate run measures: the stable by-id selection, or with ``remeasure``
    the nightly's order (NIGHTLY_SQL), resuming the selection of an interrupted run with the same
    request if there is one."""
    request = content_key(
        "estimate",
        policy_id,
        where or "",
        str(limit),
        str(remeasure),
        config.model_dump_json(),
        json.dumps(per_source_limit or {}, sort_keys=True),
        json.dumps([signal.recheck, signal.source_evidence, signal.seed] if signal else None),
    )
    if not remeasure:
        return SelectionPlan(select_problems(warehouse, where, limit), None, request)
    # a run that ended without finishing (failed, stopped, crashed), or one still marked running whose
    # process cannot be seen from here (another machine, or no owner recorded): a running row this
    # process can judge is alive (a dead one was marked crashed when the warehouse was opened)
    candidates = warehouse.arrow(
        "SELECT run_id, counts, status, host, pid, process FROM runs WHERE flow = 'estimate' "
        "AND status IN ('running', 'crashed', 'failed', 'cancelled') "
        "AND json_extract_string(counts, '$.request') = ? ORDER BY started_at DESC",
        [request],
    ).to_pylist()
    pending = [r for r in candidates if r["status"] != "running" or not judgeable(r["host"], r["pid"], r["process"])][
        :1
    ]
    if pending:
        counts = json.loads(pending[0]["counts"])
        ids = counts["selection"]
        rows = {
            r["problem_id"]: r
            for r in _rows(
                warehouse, f"SELECT {PROBLEM_COLUMNS} FROM problems WHERE list_contains($ids, problem_id)", {"ids": ids}
            )
        }
        problems = [{**rows[i], "remeasure": True} for i in ids if i in rows]
        with warehouse.write() as con:
            con.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = ?", [pending[0]["run_id"]])
        return SelectionPlan(problems, dt.datetime.fromisoformat(counts["since"]), request, pending[0]["run_id"])
    since = dt.datetime.now(dt.UTC)
    problems = nightly_selection(warehouse, config, policy_id, where, limit, per_source_limit, signal)
    return SelectionPlan(problems, since, request, passed_over=dict(signal.passed_over) if signal else {})


__all__ = [
    "select_problems",
    "nightly_selection",
    "plan_selection",
    "SelectionPlan",
    "SignalRule",
    "pass_over",
    "signal_history",
    "recheck_draw",
]
