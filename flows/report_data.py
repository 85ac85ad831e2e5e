"""The figures behind ``hardforge report``: read-only queries on the warehouse, returning plain rows.

A problem's difficulty for a policy is its latest ``difficulty`` row (any sampling key), so a
remeasured problem counts once; the held-out probe's problems are left to their own curve.
"""

from __future__ import annotations

import json
from typing import Any

from curricula.export import bin_counts
from warehouse.db import Warehouse
from warehouse.queries import HELDOUT_WHERE

LATEST = f"""
    SELECT problem_id, policy_id, arg_max(pass_at_1, estimated_at) AS pass_at_1
    FROM difficulty WHERE NOT ({HELDOUT_WHERE}) GROUP BY problem_id, policy_id
"""  # the held-out probe has its own plot (rollouts.probe.heldout_curve)


def policies_measured(warehouse: Warehouse, limit: int = 6) -> list[dict[str, Any]]:
    """The ``limit`` most recent policies with measurements, oldest first, with their summary."""
    rows = warehouse.arrow(
        f"""
        WITH latest AS ({LATEST})
        SELECT l.policy_id, coalesce(p.name, l.policy_id[:12]) AS name, min(p.created_at) AS created_at,
               count(*) AS problems, avg(l.pass_at_1) AS mean_pass_at_1,
               count(*) FILTER (WHERE l.pass_at_1 = 0) AS unsolved, count(*) FILTER (WHERE l.pass_at_1 = 1) AS solved
        FROM latest l LEFT JOIN policies p USING (policy_id)
        GROUP BY l.policy_id, name ORDER BY created_at DESC NULLS LAST, l.policy_id LIMIT {int(limit)}
        """
    ).to_pylist()
    return rows[::-1]


def pass_at_1_histogram(warehouse: Warehouse, policy_ids: list[str], bins: int = 10) -> dict[str, list[int]]:
    """Problems per pass@1 bin ([0, 0.1), ..., [0.9, 1.0]) for each policy (the curriculum's binning)."""
    rows = warehouse.arrow(
        f"WITH latest AS ({LATEST}) SELECT policy_id, pass_at_1 FROM latest WHERE list_contains(?, policy_id)",
        [policy_ids],
    ).to_pylist()
    values: dict[str, list[float]] = {policy: [] for policy in policy_ids}
    for row in rows:
        values[row["policy_id"]].append(row["pass_at_1"])
    return {policy: bin_counts(found, bins) for policy, found in values.items()}


def resolve_policy_ref(warehouse: Warehouse, ref: str) -> str | None:
    """A policy id (or a prefix of one) or a policy name."""
    rows = warehouse.arrow(
        "SELECT policy_id FROM policies WHERE policy_id = ? OR name = ? OR starts_with(policy_id, ?) "
        "ORDER BY policy_id = ? DESC, created_at DESC",
        [ref, ref, ref, ref],
    ).to_pylist()
    return rows[0]["policy_id"] if rows else None


def default_drift_pair(warehouse: Warehouse) -> tuple[str, str] | None:
    """The most recent pair of policies (older, newer) measured on at least one same problem."""
    rows = warehouse.arrow(
        f"""
        WITH latest AS ({LATEST}),
        ranked AS (SELECT policy_id, max(created_at) AS created_at FROM policies GROUP BY 1)
        SELECT a.policy_id AS a, b.policy_id AS b
        FROM latest a JOIN latest b ON a.problem_id = b.problem_id AND a.policy_id <> b.policy_id
        JOIN ranked ra ON ra.policy_id = a.policy_id JOIN ranked rb ON rb.policy_id = b.policy_id
        WHERE ra.created_at < rb.created_at OR (ra.created_at = rb.created_at AND a.policy_id < b.policy_id)
        GROUP BY ALL ORDER BY max(rb.created_at) DESC, max(ra.created_at) DESC LIMIT 1
        """
    ).to_pylist()
    return (rows[0]["a"], rows[0]["b"]) if rows else None


def drift(warehouse: Warehouse, before: str, after: str) -> list[dict[str, Any]]:
    """pass@1 of the same problems under two policies."""
    return warehouse.arrow(
        f"""
        WITH latest AS ({LATEST})
        SELECT a.problem_id, a.pass_at_1 AS before, b.pass_at_1 AS after, pr.source
        FROM latest a JOIN latest b USING (problem_id) LEFT JOIN problems pr USING (problem_id)
        WHERE a.policy_id = ? AND b.policy_id = ? ORDER BY a.problem_id
        """,
        [before, after],
    ).to_pylist()


def drift_summary(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    deltas = [p["after"] - p["before"] for p in pairs]
    return {
        "problems": len(pairs),
        "mean_delta": sum(deltas) / len(deltas) if deltas else 0.0,
        "easier": sum(d > 0 for d in deltas),
        "harder": sum(d < 0 for d in deltas),
        "unchanged": sum(d == 0 for d in deltas),
    }


def acceptance(warehouse: Warehouse, runs: int = 12) -> list[dict[str, Any]]:
    """Per method in each of the last ``runs`` runs with attempts: its proposals (attempts), the
    verified ones (accepted, their label trusted) and those a later measurement found in band for
    the proposing policy (0 < pass@1 < 1; the acceptance sample, written before the attempt, does
    not count)."""
    return warehouse.arrow(
        f"""
        WITH per_run AS (
            SELECT a.run_id, a.method, count(*) AS attempts, count(*) FILTER (WHERE a.accepted) AS accepted,
                   count(*) FILTER (WHERE a.accepted AND EXISTS (
                       SELECT 1 FROM difficulty d WHERE d.problem_id = a.problem_id AND d.policy_id = a.policy_id
                         AND d.estimated_at > a.created_at AND d.pass_at_1 > 0 AND d.pass_at_1 < 1)) AS in_band,
                   coalesce(min(r.started_at), min(a.created_at)) AS started_at
            FROM synth_attempts a LEFT JOIN runs r USING (run_id) GROUP BY a.run_id, a.method
        ), recent AS (SELECT run_id FROM per_run GROUP BY run_id ORDER BY max(started_at) DESC LIMIT {int(runs)})
        SELECT * FROM per_run WHERE run_id IN (SELECT run_id FROM recent) ORDER BY started_at, run_id, method
        """
    ).to_pylist()


def composition(warehouse: Warehouse, curricula: int = 5) -> list[dict[str, Any]]:
    """Items per source and domain in each of the last ``curricula`` curricula."""
    return warehouse.arrow(
        f"""
        WITH recent AS (SELECT curriculum_id, created_at FROM curricula ORDER BY created_at DESC LIMIT {int(curricula)})
        SELECT c.curriculum_id, c.created_at, coalesce(p.source, '?') AS source, coalesce(p.domain, '?') AS domain,
               count(*) AS items
        FROM recent c JOIN curriculum_items i USING (curriculum_id) LEFT JOIN problems p USING (problem_id)
        GROUP BY ALL ORDER BY c.created_at, c.curriculum_id, source, domain
        """
    ).to_pylist()


def label_audit(warehouse: Warehouse) -> dict[str, Any] | None:
    """The latest completed ``hardforge audit labels``: its table and what it ran on."""
    rows = warehouse.arrow(
        "SELECT run_id, started_at, counts FROM runs WHERE flow = 'audit' AND status = 'completed' "
        "ORDER BY started_at DESC LIMIT 1"
    ).to_pylist()
    if not rows or not rows[0]["counts"]:
        return None
    counts = json.loads(rows[0]["counts"]) if isinstance(rows[0]["counts"], str) else rows[0]["counts"]
    return {**counts, "run_id": rows[0]["run_id"], "started_at": rows[0]["started_at"]} if counts.get("rules") else None


def estimate_yield(warehouse: Warehouse, runs: int = 12) -> list[dict[str, Any]]:
    """In-band problems found per million completion tokens in each of the last ``runs`` estimate
    runs that recorded it (the probe's measurements are not estimate runs)."""
    rows = warehouse.arrow(
        "SELECT run_id, started_at, counts FROM runs WHERE flow = 'estimate' AND status = 'completed' "
        "AND json_extract(counts, '$.in_band') IS NOT NULL ORDER BY started_at DESC LIMIT ?",
        [int(runs)],
    ).to_pylist()
    out = []
    for row in rows[::-1]:
        counts = json.loads(row["counts"]) if isinstance(row["counts"], str) else row["counts"]
        if counts.get("completion_tokens"):
            out.append(
                {
                    "run_id": row["run_id"],
                    "started_at": row["started_at"],
                    "estimated": counts["estimated"],
                    "in_band": counts["in_band"],
                    "completion_tokens": counts["completion_tokens"],
                    "in_band_per_mtok": counts["in_band"] / counts["completion_tokens"] * 1e6,
                }
            )
    return out


def recent_runs(warehouse: Warehouse, runs: int = 15) -> list[dict[str, Any]]:
    """The last ``runs`` runs, newest first: a crashed one (its process died) says when that was noticed."""
    return warehouse.arrow(
        "SELECT run_id, flow, status, started_at, coalesce(finished_at, noticed_at) AS ended_at, host, pid FROM runs "
        "ORDER BY started_at DESC LIMIT ?",
        [int(runs)],
    ).to_pylist()


def totals(warehouse: Warehouse) -> dict[str, int]:
    tables = ("problems", "policies", "rollouts", "difficulty", "synth_attempts", "curricula")
    return {t: warehouse.scalar(f"SELECT count(*) FROM {t}") for t in tables}


__all__ = [
    "policies_measured",
    "pass_at_1_histogram",
    "resolve_policy_ref",
    "default_drift_pair",
    "drift",
    "drift_summary",
    "acceptance",
    "composition",
    "label_audit",
    "estimate_yield",
    "recent_runs",
    "totals",
]
