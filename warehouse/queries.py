"""Shared queries over the warehouse that more than one stage needs."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from schemas.config import RolloutConfig
from schemas.prompts import sampling_key
from warehouse.db import Warehouse
from warehouse.paths import stored_location


def sampling_key_table(warehouse: Warehouse, config: RolloutConfig) -> pa.Table:
    """The current sampling key of every (source, domain, verifier) in the warehouse: a small
    table to join with ``difficulty`` so that figures measured under another prompt, budget,
    extraction mode or grader version are not taken for current ones."""
    triples = warehouse.arrow("SELECT DISTINCT source, domain, verifier FROM problems ORDER BY ALL").to_pylist()
    keys = [sampling_key(config, t) for t in triples]
    return pa.table(
        {
            "source": pa.array([t["source"] for t in triples], pa.string()),
            "domain": pa.array([t["domain"] for t in triples], pa.string()),
            "verifier": pa.array([t["verifier"] for t in triples], pa.string()),
            "sampling_key": pa.array(keys, pa.string()),
        }
    )


# The held-out probe's problems (rollouts.probe): a filter verdict of their own, never trained on.
HELDOUT = "heldout"
HELDOUT_WHERE = f"problem_id IN (SELECT problem_id FROM filter_verdicts WHERE filter = '{HELDOUT}')"

# Problems no filter dropped: what every stage after the filters works on.
PASSED_FILTERS = "NOT EXISTS (SELECT 1 FROM filter_verdicts f WHERE f.problem_id = problems.problem_id AND NOT f.keep)"


def difficulty_rows(warehouse: Warehouse, policy_id: str, keys: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(problem_id, sampling_key) -> its difficulty row, for this policy and these keys."""
    if not keys:
        return {}
    rows = warehouse.arrow(
        "SELECT problem_id, sampling_key, n, c, pass_at_1, pass_at_k, rounds, estimated_at FROM difficulty "
        "WHERE policy_id = ? AND list_contains(?, sampling_key)",
        [policy_id, sorted(keys)],
    ).to_pylist()
    return {(r["problem_id"], r["sampling_key"]): r for r in rows}


def latest_curriculum(warehouse: Warehouse, curriculum_id: str | None) -> dict[str, Any] | None:
    """The curriculum with this id, or the latest export when None."""
    where, params = ("WHERE curriculum_id = ?", [curriculum_id]) if curriculum_id else ("", [])
    rows = warehouse.arrow(
        f"SELECT curriculum_id, policy_id, out_dir, n_items FROM curricula {where} ORDER BY created_at DESC LIMIT 1",
        params,
    ).to_pylist()
    for row in rows:  # stored relative to the data directory: an absolute path here
        row["out_dir"] = str(stored_location(warehouse.data_dir, row["out_dir"]))
    return rows[0] if rows else None
