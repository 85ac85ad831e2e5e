"""Verified synthesis on the real model: each method run on real inputs in a fresh warehouse, and
per method what became of the proposals: parsed, rejected by a gate (and which), duplicates,
rejected by a label check, accepted by label provenance, seconds per accepted problem; and of the
accepted problems whose statement is plain arithmetic, how many carry the right answer.

Run: .venv-vllm/bin/python bench/synthesis.py [--limit 8] [--methods sqlm,mathsmith,svs,azr,asearcher]
(the vLLM environment is several times faster on a CPU; .venv/bin/python works too)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checks.arithmetic import plain_expression  # noqa: E402
from schemas.config import HardforgeConfig  # noqa: E402
from verifiers.arithmetic import value  # noqa: E402
from verifiers.math.extract import as_rational  # noqa: E402

SEEDS = [
    "champ",
    "gym:chain_sum?levels=0-1&size=16",
    "gym:basic_arithmetic?levels=0-1&size=16",
    "gym:products?levels=0-2&size=16",
    "gym:gcd?levels=0-1&size=16",
    "gym:letter_counting?levels=0-1&size=16",
]


def prepare(cfg: HardforgeConfig, methods: list[str]) -> None:
    from flows.stages import estimate_once, ingest_stage, run_stage

    seeds = list(SEEDS) + (["corpus:foldoc"] if "asearcher" in methods else [])
    run_stage(cfg, "ingest", lambda session: ingest_stage(session, seeds))
    if "svs" in methods:  # SvS seeds from the policy's in-band problems: measure the gym seeds once
        estimate_once(cfg, where="source LIKE 'gym:%'", limit=80)


def run(cfg: HardforgeConfig, method: str, limit: int) -> dict:
    from flows.stages import run_stage, synthesize_stage
    from warehouse.db import Warehouse

    start = time.monotonic()
    (figures,) = run_stage(cfg, "synthesize", lambda session: synthesize_stage(session, [method], limit))
    seconds = time.monotonic() - start
    warehouse = Warehouse(cfg.data_dir)
    attempts = warehouse.arrow("SELECT reason, accepted FROM synth_attempts WHERE method = ?", [method]).to_pylist()
    gates = Counter(a["reason"].split(":")[1].strip() for a in attempts if (a["reason"] or "").startswith("gate:"))
    kinds = Counter((a["reason"] or "").split(":")[0] for a in attempts if not a["accepted"])
    accepted = warehouse.arrow(
        "SELECT statement, answer, label_provenance FROM problems WHERE problem_id IN "
        "(SELECT problem_id FROM synth_attempts WHERE method = ? AND accepted)",
        [method],
    ).to_pylist()
    plain = [(p, plain_expression(p["statement"])) for p in accepted]
    plain = [(p, e) for p, e in plain if e is not None]
    right = sum(as_rational(p["answer"]) == value(e) for p, e in plain)
    return {
        "method": method,
        "seeds": figures["seeds"],
        "proposed": figures["candidates"],
        "parsed": figures["extractable"] + sum(gates.values()) + kinds.get("duplicate", 0),
        "gated": dict(gates.most_common()),
        "duplicates": kinds.get("duplicate", 0),
        "label check failed": kinds.get("label check failed", 0),
        "unverified": kinds.get("unverified label", 0),
        "accepted": figures["accepted"],
        "by_provenance": dict(Counter(p["label_provenance"] for p in accepted)),
        "s_per_accepted": round(seconds / figures["accepted"], 1) if figures["accepted"] else None,
        "plain_arithmetic_right": f"{right}/{len(plain)}",
        "rejections": figures["rejections"],
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=8, help="seeds per method")
    parser.add_argument("--methods", default="sqlm,mathsmith,svs,azr,asearcher")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    methods = args.methods.split(",")
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="hf-synth-bench-"))
    cfg = HardforgeConfig(data_dir=data)
    cfg.progress_every_s = 0
    print(f"warehouse: {data}", flush=True)
    prepare(cfg, methods)
    rows = []
    for method in methods:
        row = run(cfg, method, args.limit)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(
        "\n| method | seeds | proposed | gated | duplicates | check failed | unverified | accepted (by provenance) | s / accepted | plain arithmetic right |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        gated = ", ".join(f"{k} {v}" for k, v in r["gated"].items()) or "0"
        prov = ", ".join(f"{k} {v}" for k, v in r["by_provenance"].items())
        print(
            f"| {r['method']} | {r['seeds']} | {r['proposed']} | {gated} | {r['duplicates']} | {r['label check failed']} | "
            f"{r['unverified']} | {r['accepted']} ({prov or '-'}) | {r['s_per_accepted'] or '-'} | {r['plain_arithmetic_right']} |"
        )


if __name__ == "__main__":
    main()
