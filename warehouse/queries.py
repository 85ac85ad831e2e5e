"""Shared queries over the warehouse that more than one stage needs."""

from __future__ import annotations

import pyarrow as pa

from schemas.config import RolloutConfig
from schemas.prompts import sampling_key
from warehouse.db import Warehouse


def sampling_key_table(warehouse: Warehouse, config: RolloutConfig) -> pa.Table:
    """The current sampling key of every (source, domain, verifier) in the warehouse: a small
    table to join with ``difficulty`` so that figures measured under another prompt, budget,
    extraction mode or grader version are not taken for current ones."""
    triples = warehouse.arrow("SELECT DISTINCT source, domain, verifier FROM problems ORDER BY ALL").to_pylist()
    keys = [sampling_key(config, t) for t in triples]
    return pa.table({
        "source": pa.array([t["source"] for t in triples], pa.string()),
        "domain": pa.array([t["domain"] for t in triples], pa.string()),
        "verifier": pa.array([t["verifier"] for t in triples], pa.string()),
        "sampling_key": pa.array(keys, pa.string()),
    })
