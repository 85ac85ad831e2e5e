"""Proposer prompts as a verl dataset (``hardforge export-proposer``): one Parquet file of fresh
proposer prompts per run, with the reward entry point ``trainer/verl_proposer_reward.py``.

Columns are verl's: ``prompt`` (chat messages), ``data_source`` (``hardforge-proposer:<method>``),
``ability`` (``proposer``), ``reward_model`` {style, ground_truth: ""} (a proposal has no answer
to match: the method judges it) and ``extra_info`` {index, role, method, seed (JSON), group,
chat (the prompt as JSON: verl does not pass the prompt to a reward function), policy_id}.
verl samples ``rollout.n`` completions per row, which is the GRPO group of this prompt.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rollouts.service import RolloutService
from schemas.keys import content_key
from synth.base import Synthesizer
from synth.proposer import ROLE, proposer_rows
from warehouse.db import Warehouse

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
REWARD_MODEL = pa.struct([("style", pa.string()), ("ground_truth", pa.string())])
EXTRA_INFO = pa.struct(
    [
        ("index", pa.int64()),
        ("role", pa.string()),
        ("method", pa.string()),
        ("seed", pa.string()),
        ("group", pa.string()),
        ("chat", pa.string()),
        ("policy_id", pa.string()),
    ]
)
SCHEMA = pa.schema(
    [
        ("prompt", pa.list_(MESSAGE)),
        ("data_source", pa.string()),
        ("ability", pa.string()),
        ("reward_model", REWARD_MODEL),
        ("extra_info", EXTRA_INFO),
    ]
)
REWARD_FILE = Path(__file__).with_name("verl_proposer_reward.py")


@dataclass
class ProposerExport:
    path: Path
    rows: int
    by_method: dict[str, int]
    reward_path: Path


def proposer_table(rows: list[dict[str, Any]], policy_id: str) -> pa.Table:
    records = [
        {
            "prompt": r["prompt"],
            "data_source": f"hardforge-proposer:{r['method']}",
            "ability": ROLE,
            "reward_model": {"style": "rule", "ground_truth": ""},
            "extra_info": {
                "index": i,
                "role": ROLE,
                "method": r["method"],
                "seed": r["seed"],
                "group": r["group"],
                "chat": json.dumps(r["prompt"]),
                "policy_id": policy_id,
            },
        }
        for i, r in enumerate(rows)
    ]
    return pa.Table.from_pylist(records, schema=SCHEMA)


def export_proposer(
    methods: list[Synthesizer], warehouse: Warehouse, service: RolloutService, per_method: int, out_dir: Path
) -> ProposerExport:
    """``per_method`` fresh proposer prompts of each method (fewer when its seeds run out), as one
    Parquet file named by its content, written whole or not at all."""
    rows = [r for method in methods for r in proposer_rows(method, warehouse, service, per_method)]
    table = proposer_table(rows, service.policy_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"proposer-{content_key('proposer', *[r['group'] for r in rows])[:12]}.parquet"
    partial = path.with_suffix(".parquet.partial")
    pq.write_table(table, partial)
    os.replace(partial, path)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["method"]] = counts.get(r["method"], 0) + 1
    return ProposerExport(path, len(rows), counts, REWARD_FILE)


__all__ = ["export_proposer", "proposer_table", "ProposerExport", "REWARD_FILE"]
