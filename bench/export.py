"""Export benchmark: a warehouse with N problems that all have difficulty rows, then the time to
select, order, shard and write the manifest (goal: 1M in <= 20 s); then MinHash near-dedup
rows/s on generated statements.

Run: .venv/bin/python bench/export.py [--rows 1000000] [--dedup-rows 100000]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from curricula.export import export_curriculum  # noqa: E402
from filters.dedup import near_dedup  # noqa: E402
from schemas.config import CurriculumConfig, RolloutConfig  # noqa: E402
from schemas.prompts import sampling_key  # noqa: E402
from warehouse.db import Warehouse  # noqa: E402

POLICY = "bench-policy"


def fill(warehouse: Warehouse, rows: int) -> None:
    """Problems and difficulty rows generated inside DuckDB (fast, and not what we measure), under
    the sampling keys the default config gives these problems (an export takes current figures only)."""
    keys = {d: sampling_key(RolloutConfig(), {"source": "bench", "domain": d, "verifier": d}) for d in ("math", "code")}
    warehouse.init()
    con = duckdb.connect(str(warehouse.path))
    con.execute(f"""
        INSERT INTO problems
        SELECT md5(i::VARCHAR), CASE WHEN i % 5 = 0 THEN 'code' ELSE 'math' END,
               'Problem ' || i || ': find the number of integers between ' || i || ' and ' || (i * 7) || ' that are divisible by 3 and by 11, then add the digits.',
               (i % 997)::VARCHAR, CASE WHEN i % 5 = 0 THEN 'code' ELSE 'math' END, 'competition',
               'bench', NULL, NULL, NULL, NULL, NULL, 'bench', now()
        FROM range({rows}) t(i)
    """)
    con.execute(f"""
        INSERT INTO difficulty
        SELECT md5(i::VARCHAR), '{POLICY}', CASE WHEN i % 5 = 0 THEN '{keys["code"]}' ELSE '{keys["math"]}' END, 8, c, c / 8, MAP {{1: c / 8, 4: least(1.0, c / 2), 8: CASE WHEN c > 0 THEN 1.0 ELSE 0.0 END}}, now()
        FROM (SELECT i, (hash(i) % 9)::BIGINT AS c FROM range({rows}) t(i))
    """)
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dedup-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Warehouse(Path(tmp) / "data")
        t0 = time.perf_counter()
        fill(warehouse, args.rows)
        print(f"filled {args.rows:,} problems with difficulty rows in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        # keep every band so that all N problems are exported
        everything = CurriculumConfig(rows_per_shard=100_000, keep_unsolved=True, keep_solved=True)
        result = export_curriculum(warehouse, POLICY, everything, RolloutConfig(), Path(tmp) / "out")
        elapsed = time.perf_counter() - t0
        size = sum((result.out_dir / s["file"]).stat().st_size for s in result.shards) / 2**20
        print(
            f"export: {result.items:,} items selected, ordered, "
            f"written as {len(result.shards)} shards ({size:.0f} MiB) + manifest, and recorded, in {elapsed:.1f} s "
            f"= {result.items / elapsed:,.0f} items/s"
        )
    rng = random.Random(0)
    words = [
        "the",
        "of",
        "integer",
        "prime",
        "sum",
        "triangle",
        "find",
        "number",
        "circle",
        "area",
        "digit",
        "product",
        "root",
        "sequence",
        "value",
    ]
    problems = []
    for i in range(args.dedup_rows):
        text = " ".join(rng.choices(words, k=30))
        problems.append({"problem_id": str(i), "domain": "math", "statement": text})
    t0 = time.perf_counter()
    verdicts = near_dedup(problems, 0.85, 128, 5)
    elapsed = time.perf_counter() - t0
    print(
        f"near dedup (MinHash LSH, 128 perms, 5-word shingles): {len(problems):,} rows in {elapsed:.1f} s = "
        f"{len(problems) / elapsed:,.0f} rows/s ({sum(not v.keep for v in verdicts):,} dropped)"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
