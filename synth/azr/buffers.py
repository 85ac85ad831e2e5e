"""Absolute Zero's reference buffers, kept in the warehouse (table ``azr_buffer``), not in memory:
they outlive a run, and a rerun after a kill neither loses nor repeats an entry (entries are keyed
by content and written in the same transaction as their attempts).

Explicit choices where the official code is implicit (methods.md §5, "Buffers & sampling"):
- every valid proposal enters its task's buffer once (the official task buffers keep repeats);
- eviction is FIFO: past ``buffer_cap`` entries per task the oldest go, so references stay recent
  (the official ``list[:max_programs]`` keeps the oldest and drops what is new);
- references are K entries drawn uniformly without replacement, reproducibly per seed (ordered by
  a hash of entry and seed); an empty buffer shows AZR's seed triplet instead.
"""

from __future__ import annotations

import duckdb

from schemas.records import AzrBufferEntry
from synth.azr.algorithm import SEED_INPUT, SEED_PROGRAM
from warehouse.db import Warehouse, records_to_arrow


def references(warehouse: Warehouse, task: str, k: int, salt: str) -> list[tuple[str, str]]:
    """Up to ``k`` (program, input) references for a deduction/abduction proposer."""
    rows = warehouse.arrow(
        f"SELECT program, input FROM azr_buffer WHERE task = ? ORDER BY hash(entry_id || ?), entry_id LIMIT {int(k)}",
        [task, salt],
    ).to_pylist()
    return [(r["program"], r["input"]) for r in rows] or [(SEED_PROGRAM, SEED_INPUT)]


def induction_program(warehouse: Warehouse, salt: str) -> tuple[str, str | None]:
    """(program, its entry id) for an induction proposer: one drawn from the deduction and
    abduction buffers together, else the seed program."""
    row = warehouse.arrow(
        "SELECT program, entry_id FROM azr_buffer WHERE task IN ('deduction', 'abduction') "
        "ORDER BY hash(entry_id || ?), entry_id LIMIT 1",
        [salt],
    ).to_pylist()
    return (row[0]["program"], row[0]["entry_id"]) if row else (SEED_PROGRAM, None)


def add(warehouse: Warehouse, con: duckdb.DuckDBPyConnection, entries: list[AzrBufferEntry], cap: int) -> None:
    """Add entries (inside the caller's transaction), then evict the oldest past ``cap`` per task."""
    if not entries:
        return
    warehouse.insert("azr_buffer", records_to_arrow("azr_buffer", entries), con)
    con.execute(
        "DELETE FROM azr_buffer WHERE entry_id IN (SELECT entry_id FROM (SELECT entry_id, row_number() OVER "
        "(PARTITION BY task ORDER BY added_at DESC, entry_id DESC) AS age FROM azr_buffer) "
        f"WHERE age > {int(cap)})"
    )


__all__ = ["add", "induction_program", "references"]
