"""Self-play on the real model: does training the proposer raise the foundry's verified yield?

1. A warehouse with the nightly's seeds (SvS's in-band problems measured once), copied aside.
2. Before: each method synthesizes from its first ``--limit`` seeds with the base policy, as the
   nightly would (proposals, parsed, accepted with a checked label, seconds per verified problem).
2b. With ``--warm N``, the warm start (ReST-EM): the base policy synthesizes from the next N seeds of
   each method, and ``trainer.warm_start`` fine-tunes it on the proposals a check verified; the
   warm policy is evaluated on the evaluation seeds as in 2, and GRPO starts from it.
3. ``--steps`` GRPO steps of the proposer role (``trainer.grpo.train(role="proposer")``) on fresh
   seeds (after the evaluation seeds: disjoint), the reward each method's judgement with the live
   policy as solver; per step the mean reward and the share of groups with no reward variance.
4. After: the same evaluation seeds (the copy) with the trained policy.
5. Label precision on the gold probe (``hardforge audit labels``) for both policies.
6. ``--nights`` nightlies with training both roles on (synthesize -> estimate -> export -> train
   both -> next policy), each method's figures per night.

Run: .venv/bin/python bench/selfplay.py [--limit 4] [--steps 8] [--nights 2] [--methods sqlm,mathsmith,azr,svs]
     [--warm 8] [--seed 0] [--model bundled:qwen2.5-coder-0.5b]
(the synthesis side uses vLLM when it is installed in the running environment; training is TRL
on CPU either way)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthesis import prepare, share_converted_models  # noqa: E402
from flows.stages import in_child  # noqa: E402
from schemas.config import HardforgeConfig  # noqa: E402


def evaluate(cfg: HardforgeConfig, method: str, limit: int, policy: str) -> dict:
    from flows.stages import release_shared, run_stage, synthesize_stage

    start = time.monotonic()
    try:
        (figures,) = run_stage(
            cfg, "synthesize", lambda session: synthesize_stage(session, [method], limit), policy=policy
        )
    finally:
        release_shared()
    seconds = time.monotonic() - start
    return {
        "method": method,
        "seeds": figures["seeds"],
        "proposals": figures["candidates"],
        "parsed": figures["candidates"] - figures["rejections"].get("unparsable", 0),
        "verified": figures["accepted"],
        "seconds": round(seconds, 1),
        "s_per_verified": round(seconds / figures["accepted"], 1) if figures["accepted"] else None,
        "rejections": figures["rejections"],
    }


def gold_precision(cfg: HardforgeConfig, policy: str, limit: int) -> dict:
    """Of the labels the default rule accepts (vote + checks), the share equal to the gold answer."""
    from flows.stages import audit_stage, release_shared, run_stage

    try:
        result = run_stage(cfg, "audit", lambda session: audit_stage(session, [], limit), policy=policy)
    finally:
        release_shared()
    return {
        r["rule"]: {k: r[k] for k in r if k in ("accepted", "precision", "labelled", "label_accuracy")}
        for r in result["rules"]
        if "(default)" in r["rule"]
    }


def train_proposer(cfg: HardforgeConfig, methods: list[str], steps: int) -> tuple[str, list[dict]]:
    from trainer.grpo import train
    from warehouse.db import Warehouse

    cfg.train.proposer_methods = methods
    result = train(Warehouse(cfg.data_dir), cfg, role="proposer", max_steps=steps)
    return result.policy.policy_id, [
        {
            "step": m["step"],
            "reward_mean": m["reward_mean"],
            "zero_std": m["frac_reward_zero_std"],
            "step_s": m["step_time_s"],
            **m.get("proposer", {}),
        }
        for m in result.metrics
    ]


def isolated(function, *args):
    """``function(*args)`` in a fresh process: each phase's engines (vLLM, the checker, the trainer's
    weights and optimizer) leave with it; in one process they outgrew 24 GiB."""
    return in_child(f"the bench's {function.__name__}", function, *args)


def warm(cfg: HardforgeConfig, methods: list[str], seeds: int, base: str) -> tuple[str, dict]:
    """ReST-EM's one round: the base policy proposes from ``seeds`` fresh seeds of each method (the
    nightly's synthesis, so the checks decide what is verified), then SFT on the verified ones of
    those runs only (never the evaluation's)."""
    from warehouse.db import Warehouse

    warehouse = Warehouse(cfg.data_dir)
    known = set(warehouse.arrow("SELECT run_id FROM runs").column("run_id").to_pylist())
    sampled = {m: isolated(evaluate, cfg, m, seeds, base) for m in methods}
    runs = [r for r in warehouse.arrow("SELECT run_id FROM runs").column("run_id").to_pylist() if r not in known]
    start = time.monotonic()
    done = isolated(_warm_start, cfg, methods, runs)
    return done.policy.policy_id, {
        "sampled": {m: {k: r[k] for k in ("seeds", "proposals", "parsed", "verified")} for m, r in sampled.items()},
        "examples": done.examples,
        "by_method": done.by_method,
        "loss": [done.losses[0], done.losses[-1]],
        "sft_s": round(time.monotonic() - start, 1),
    }


def _warm_start(cfg: HardforgeConfig, methods: list[str], runs: list[str]):
    from trainer.warm_start import warm_start
    from warehouse.db import Warehouse

    return warm_start(Warehouse(cfg.data_dir), cfg, methods=methods, runs=runs)


def adopt(cfg: HardforgeConfig, policy_id: str, source: Path) -> str:
    """Register the trained policy (a row of the training warehouse) in the evaluation copy."""
    from rollouts.policies import register_policy
    from warehouse.db import Warehouse
    from warehouse.paths import stored_location

    row = Warehouse(source).arrow("SELECT * FROM policies WHERE policy_id = ?", [policy_id]).to_pylist()[0]
    return register_policy(
        Warehouse(cfg.data_dir),
        stored_location(Path(source), row["model_path"]),
        name=row["name"],
        parent_policy_id=row["parent_policy_id"],
        meta=json.loads(row["meta"]) if row["meta"] else None,
    ).policy_id


def nights(data: Path, model: str, methods: list[str], count: int, limit: int, steps: int, seed: int = 0) -> list[dict]:
    """``hardforge run nightly`` ``count`` times with training both roles, the CLI as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARDFORGE_")}
    env.update(
        {
            "HARDFORGE_DATA_DIR": str(data),
            "HARDFORGE_ENGINE__MODEL": model,
            "PYTHONPATH": str(ROOT),
            "HARDFORGE_NIGHTLY__SYNTHESIZE": json.dumps(methods),
            "HARDFORGE_NIGHTLY__SYNTHESIZE_LIMIT": str(limit),
            "HARDFORGE_NIGHTLY__ESTIMATE_LIMIT": "48",
            "HARDFORGE_NIGHTLY__TRAIN_ROLES": '["solver", "proposer"]',
            "HARDFORGE_TRAIN__ENABLED": "true",
            "HARDFORGE_TRAIN__MAX_STEPS": str(steps),
            "HARDFORGE_TRAIN__SEED": str(seed),
            "HARDFORGE_ROLLOUTS__SEED": str(seed),
            **TRAIN_ENV,
        }
    )
    share_converted_models(data)
    rows = []
    for night in range(1, count + 1):
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "flows.cli", "run", "nightly"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode:
            rows.append({"night": night, "error": done.stderr[-1500:]})
            break
        from warehouse.db import Warehouse

        warehouse = Warehouse(data)
        run_id = warehouse.scalar("SELECT run_id FROM runs WHERE flow = 'nightly' ORDER BY started_at DESC LIMIT 1")
        counts = json.loads(warehouse.scalar("SELECT counts FROM runs WHERE run_id = ?", [run_id]))
        synth = {
            f["method"]: {
                "seeds": f["seeds"],
                "proposals": f["candidates"],
                "parsed": f["extractable"],
                "verified": f["accepted"],
                "s": f["elapsed_s"],
            }
            for f in counts["synthesize"]
        }
        train = counts.get("train") or {}
        rows.append(
            {
                "night": night,
                "minutes": round((time.monotonic() - start) / 60, 1),
                "synthesize": synth,
                "curriculum_items": counts["export"]["items"],
                "trained": train.get("role"),
                "proposer_steps": [m.get("proposer") for m in train.get("metrics", [])],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


# one setting for every GRPO run here: 2 prompts of G = 4 a step, outputs long enough to hold a
# problem; one group per forward pass with gradient checkpointing, so the 0.5B's step fits in 24 GiB
# beside its live solver and the checker (a batch of 8 without was killed by the OOM killer)
TRAIN = {
    "num_generations": 4,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 2,
    "gradient_checkpointing": True,
    "max_completion_length": 160,
    "learning_rate": 1e-5,
    "temperature": 1.0,
}
TRAIN_ENV = {f"HARDFORGE_TRAIN__{key.upper()}": str(value) for key, value in TRAIN.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=4, help="evaluation seeds per method")
    parser.add_argument("--steps", type=int, default=8, help="proposer GRPO steps")
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--gold", type=int, default=40, help="gold problems for the label precision probe (0: skip)")
    parser.add_argument("--methods", default="sqlm,mathsmith,azr,svs")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--model", default="bundled", help="the base policy: a bundled model's name or a folder")
    parser.add_argument("--warm", type=int, default=0, help="warm start: seeds per method the base samples (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="the proposer's sampling and the trainer's seed")
    args = parser.parse_args()
    methods = args.methods.split(",")
    root = args.data_dir or Path(tempfile.mkdtemp(prefix="hf-selfplay-bench-"))
    train_dir, after_dir = root / "train", root / "after"
    cfg = HardforgeConfig(data_dir=train_dir)
    cfg.engine.model = args.model  # the same base for "before", training and the nights
    cfg.progress_every_s = 0
    cfg.train = cfg.train.model_copy(update={**TRAIN, "seed": args.seed})
    cfg.rollouts.seed = args.seed  # the proposers' and solvers' sampling seeds derive from it
    print(f"data: {root}; settings: {args}; train: {TRAIN}", flush=True)
    share_converted_models(train_dir)
    prepare(cfg, methods)
    from engines.bundled import resolve_model

    shutil.copytree(train_dir, after_dir, symlinks=True)
    after_cfg = cfg.model_copy(update={"data_dir": after_dir})
    before = {m: isolated(evaluate, cfg, m, args.limit, args.model) for m in methods}
    for row in before.values():
        print(json.dumps({"before": row}), flush=True)
    warmed = {}
    if args.warm:
        warm_dir = root / "warm"
        shutil.copytree(after_dir, warm_dir, symlinks=True)
        warm_id, warm_figures = warm(cfg, methods, args.warm, args.model)
        print(json.dumps({"warm_start": warm_figures}), flush=True)
        warm_cfg = cfg.model_copy(update={"data_dir": warm_dir})
        warm_policy = adopt(warm_cfg, warm_id, train_dir)
        warmed = {m: isolated(evaluate, warm_cfg, m, args.limit, warm_policy) for m in methods}
        for row in warmed.values():
            print(json.dumps({"warm": row}), flush=True)
    start = time.monotonic()
    trained, steps = isolated(train_proposer, cfg, methods, args.steps)
    print(json.dumps({"train_s": round(time.monotonic() - start, 1), "steps": steps}), flush=True)
    if args.warm:  # its parent first: SvS finds its seeds through the policy's ancestors
        adopt(after_cfg, warm_id, train_dir)
    trained = adopt(after_cfg, trained, train_dir)
    after = {m: isolated(evaluate, after_cfg, m, args.limit, trained) for m in methods}
    for row in after.values():
        print(json.dumps({"after": row}), flush=True)
    precision = {}
    if args.gold:
        precision = {
            "before": isolated(gold_precision, after_cfg, args.model, args.gold),
            "after": isolated(gold_precision, after_cfg, trained, args.gold),
        }
        print(json.dumps({"gold": precision}), flush=True)
    per_night = (
        nights(
            root / "nights",
            str(resolve_model(cfg.engine.model, cfg.models_dir)),
            methods,
            args.nights,
            max(1, args.limit // 2),
            max(2, args.steps // 2),
            args.seed,
        )
        if args.nights
        else []
    )

    print("\n| method | policy | seeds | proposals | parsed | verified | s / verified |")
    print("|---|---|---|---|---|---|---|")
    for m in methods:
        stages = [("base", before[m])] + ([("warm start", warmed[m])] if warmed else [])
        stages.append((f"{'warm start ' if warmed else ''}+{args.steps} proposer steps", after[m]))
        for label, row in stages:
            print(
                f"| {m} | {label} | {row['seeds']} | {row['proposals']} | {row['parsed']} | {row['verified']} | "
                f"{row['s_per_verified'] or '-'} |"
            )
    print(
        "\n| step | reward mean | groups with no variance | "
        + " | ".join(f"{m} reward / verified" for m in methods)
        + " |"
    )
    print("|---|---|---|" + "---|" * len(methods))
    for s in steps:
        cells = [f"{s[m]['reward_mean']} / {s[m]['verified']}" if m in s else "-" for m in methods]
        print(f"| {s['step']} | {s['reward_mean']} | {s['zero_std']} | " + " | ".join(cells) + " |")
    for night in per_night:
        print(json.dumps(night))


if __name__ == "__main__":
    main()
