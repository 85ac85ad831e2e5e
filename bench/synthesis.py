"""Verified synthesis on the real model: each method run on real inputs in a fresh warehouse, and
per method what became of the proposals: parsed, rejected by a gate (and which), duplicates,
rejected by a label check, verified (kept) by label provenance and how many of those were outside
the method's band at acceptance (synth.keep_out_of_band), seconds per verified problem; and of the
accepted problems whose statement is plain arithmetic, how many carry the right answer.

Run: [HARDFORGE_SYNTH__SVS__TEMPERATURE=0.7 ...] .venv-vllm/bin/python bench/synthesis.py [--limit 8] [--methods sqlm,mathsmith,svs,azr,asearcher]
       [--model bundled|bundled:qwen2.5-coder-0.5b|bundled:qwen2.5-coder-1.5b|FOLDER] [--checker auto|policy|NAME]
(the vLLM environment is several times faster on a CPU; .venv/bin/python works too). Every accepted
problem is printed with its label and how the label is known, to be read.
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
from schemas.config import HardforgeConfig, load_config  # noqa: E402
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


def share_converted_models(data: Path) -> None:
    """The bundled models this checkout already converted (.cache/models, as the tests use them),
    linked into the bench's data directory instead of converted again."""
    from engines.bundled import REGISTRY, is_model_folder

    cache = Path(__file__).resolve().parents[1] / ".cache" / "models"
    (data / "models").mkdir(parents=True, exist_ok=True)
    for model in REGISTRY.values():
        source, target = cache / model.folder, data / "models" / model.folder
        if is_model_folder(source) and not target.exists():
            target.symlink_to(source)


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
        "SELECT p.statement, p.answer, p.label_provenance, "
        "json_extract_string(p.label_checks, '$.derived_by') AS derived_by, a.reason "
        "FROM problems p JOIN synth_attempts a ON a.problem_id = p.problem_id WHERE a.method = ? AND a.accepted",
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
        "out_of_band": figures.get("accepted_out_of_band", 0),
        "by_provenance": dict(Counter(p["label_provenance"] for p in accepted)),
        "s_per_accepted": round(seconds / figures["accepted"], 1) if figures["accepted"] else None,
        "plain_arithmetic_right": f"{right}/{len(plain)}",
        "rejections": figures["rejections"],
        "seconds": round(seconds, 1),
        "problems": [
            {
                "statement": p["statement"][:400],
                "answer": p["answer"][:200],
                "provenance": p["label_provenance"],
                "derived_by": p["derived_by"],
                "band": p["reason"] or "in band",
            }
            for p in accepted
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=8, help="seeds per method")
    parser.add_argument("--methods", default="sqlm,mathsmith,svs,azr,asearcher")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--model", default="bundled", help="the policy: a bundled model's name or a model folder")
    parser.add_argument("--checker", default=None, help="checks.program_of_thought.model (default: auto)")
    args = parser.parse_args()
    methods = args.methods.split(",")
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="hf-synth-bench-"))
    share_converted_models(data)
    cfg = load_config(data_dir=data)  # hardforge.toml / HARDFORGE_CONFIG and HARDFORGE_* variables, as the CLI
    cfg.progress_every_s = 0
    cfg.engine.model = args.model
    if args.checker:
        cfg.checks.program_of_thought.model = args.checker
    print(f"warehouse: {data}; policy {args.model}; checker {cfg.checks.program_of_thought.model}", flush=True)
    prepare(cfg, methods)
    rows = []
    for method in methods:
        row = run(cfg, method, args.limit)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(
        "\n| method | seeds | proposed | parsed | gated | duplicates | check failed | unverified | verified (by provenance) "
        "| of them out of band | verified / proposed | s / verified | plain arithmetic right |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        gated = sum(r["gated"].values())
        prov = ", ".join(f"{k} {v}" for k, v in r["by_provenance"].items())
        share = f"{r['accepted'] / r['proposed']:.2f}" if r["proposed"] else "-"
        print(
            f"| {r['method']} | {r['seeds']} | {r['proposed']} | {r['parsed']} | {gated} | {r['duplicates']} | "
            f"{r['label check failed']} | {r['unverified']} | {r['accepted']} ({prov or '-'}) | {r['out_of_band']} | {share} | "
            f"{r['s_per_accepted'] or '-'} | {r['plain_arithmetic_right']} |"
        )
    total_proposed, total_verified = sum(r["proposed"] for r in rows), sum(r["accepted"] for r in rows)
    total_out = sum(r["out_of_band"] for r in rows)
    print(
        f"\nall methods: {total_verified} verified of {total_proposed} proposals "
        f"({total_out} of them outside their method's band at acceptance)"
    )
    for r in rows:
        for p in r["problems"]:
            print(
                f"- [{r['method']}] {p['statement']!r} -> {p['answer']!r} ({p['provenance']}, {p['derived_by']}; {p['band']})"
            )


if __name__ == "__main__":
    main()
