"""Ingest benchmark: generate N problems as JSONL (1% of them bad), ingest them, print rows/s
and peak memory. Run: .venv/bin/python bench/ingest.py [--rows 1000000]"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from ingest.service import ingest  # noqa: E402
from schemas.config import HardforgeConfig  # noqa: E402
from warehouse.db import Warehouse  # noqa: E402

WORDS = [
    "integer",
    "prime",
    "triangle",
    "circle",
    "sum",
    "product",
    "sequence",
    "polynomial",
    "root",
    "digit",
    "angle",
    "area",
]


def generate(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("wb") as fh:
        for i in range(rows):
            if i % 100 == 99:
                fh.write(b'{"statement": "broken json\n')
                continue
            words = " ".join(rng.choices(WORDS, k=rng.randint(12, 40)))
            row = {"statement": f"Problem {i}: {words}?", "answer": str(rng.randint(0, 10**6))}
            fh.write(orjson.dumps(row) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        source = tmp_path / "generated.jsonl"
        t0 = time.perf_counter()
        generate(source, args.rows)
        print(
            f"generated {args.rows:,} rows ({source.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s"
        )
        warehouse = Warehouse(tmp_path / "data")
        warehouse.init()
        t0 = time.perf_counter()
        summary = ingest(warehouse, str(source), HardforgeConfig())
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = ingest(warehouse, str(source), HardforgeConfig())
        second = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"ingest: {summary.rows:,} rows in {first:.1f} s = {summary.rows / first:,.0f} rows/s "
            f"({summary.inserted:,} new, {sum(summary.quarantined.values()):,} quarantined)"
        )
        print(f"re-ingest (all present): {second:.1f} s = {again.rows / second:,.0f} rows/s, {again.inserted} new")
        print(f"peak RSS: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
