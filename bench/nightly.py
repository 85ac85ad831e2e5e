"""The default nightly, N nights in a row from a fresh warehouse, as a user runs it (`hardforge run
nightly` through the CLI, in the vLLM environment where there is one).

Prints per night: problems estimated, in band, completion tokens and in-band problems per million
tokens (the yield), what the signal rule passed over, and the wall-time split (before the flow,
each stage, engine starts); then held-out pass@1 per policy on the probe (the learning curve, with
``--train``: every night trains and the next one starts from the new policy; ``--roles
solver,proposer`` trains both roles, the self-play loop), and per night the curriculum's items by
the method that made them (the synthesized share) and each method's tokens, proposals, verified,
in band and seconds.

    .venv/bin/python bench/nightly.py [--nights 2] [--train] [--roles solver,proposer] [--steps N] [--lr LR]
        [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.config import load_config  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--train", action="store_true", help="train.enabled: each night trains the solver")
    parser.add_argument("--steps", type=int, default=None, help="train.max_steps (default: the config's)")
    parser.add_argument("--lr", type=float, default=None, help="train.learning_rate (default: the config's)")
    parser.add_argument("--roles", default="solver", help="with --train: the roles trained, e.g. solver,proposer")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="hardforge-nightly-"))).resolve()
    env = dict(os.environ)  # the nightly's settings are the config's, as `make nightly` runs them
    if args.train:
        env["HARDFORGE_TRAIN__ENABLED"] = "true"
        env["HARDFORGE_NIGHTLY__TRAIN_ROLES"] = json.dumps(args.roles.split(","))
        if args.steps is not None:
            env["HARDFORGE_TRAIN__MAX_STEPS"] = str(args.steps)
        if args.lr is not None:
            env["HARDFORGE_TRAIN__LEARNING_RATE"] = str(args.lr)
    train = load_config().train
    print(
        f"settings: {args.nights} default nightlies in {data_dir}, max_tokens {load_config().rollouts.max_tokens}"
        + (
            f", training {args.roles} {args.steps or train.max_steps} GRPO steps a night at lr {args.lr or train.learning_rate}"
            if args.train
            else ", no training"
        )
        + "".join(f", {k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("HARDFORGE_")),
        flush=True,
    )
    for night in range(1, args.nights + 1):
        done = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "hardforge"), "--data-dir", str(data_dir), "run", "nightly"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print(f"night {night} failed:\n{done.stderr[-3000:]}")
            sys.exit(1)
        report_night(data_dir, night)
    report_curve(data_dir)


def _runs(data_dir: Path) -> list[dict]:
    from flows.runtime import prepare_environment

    prepare_environment(data_dir)
    from warehouse.db import Warehouse

    rows = (
        Warehouse(data_dir)
        .arrow("SELECT flow, counts FROM runs WHERE flow = 'nightly' AND status = 'completed' ORDER BY started_at")
        .to_pylist()
    )
    return [json.loads(r["counts"]) for r in rows]


def report_night(data_dir: Path, night: int) -> None:
    counts = _runs(data_dir)[-1]
    est, wall = counts["estimate"], counts["wall"]
    stages = ", ".join(
        f"{k.removesuffix('_s')} {v:.0f}"
        for k, v in wall.items()
        if k.endswith("_s") and k not in ("total_s", "prefect_start_s")
    )
    engines = ", ".join(f"{e['engine']} {e['start_s']:.0f}" for e in wall["engine_starts"]) or "none"
    passed = ", ".join(f"{n} {why}" for why, n in est.get("passed_over", {}).items()) or "nothing"
    print(
        f"night {night}: estimated {est['estimated']}, in band {est['in_band']}, {est['completion_tokens']:,} tokens, "
        f"{est['in_band_per_mtok'] or 0:,.0f} in band per Mtok; passed over: {passed}; curriculum {counts['export']['items']} items"
        + (
            f"; trained -> {counts['train']['policy_id'][:12]}"
            if counts.get("train") and "policy_id" in counts["train"]
            else ""
        ),
        flush=True,
    )
    exported = counts["export"].get("by_method") or {}
    made = sum(n for method, n in exported.items() if method != "seed")
    items = counts["export"]["items"]
    print(
        f"  curriculum by method: {', '.join(f'{m} {n}' for m, n in sorted(exported.items())) or 'none'}"
        + (f" ({made / items:.0%} synthesized)" if items else ""),
        flush=True,
    )
    for method, y in sorted((counts.get("synthesis_yield") or {}).items()):
        print(
            f"  {method}: {y['tokens']:,} tokens, {y['proposals']} proposals, {y['verified']} verified, "
            f"{y['in_band']} in band, {y['seconds']:.0f} s",
            flush=True,
        )
    print(
        f"  wall {wall['total_s']:.0f} s: before the flow {wall['prefect_start_s'] or 0:.0f}; {stages}; engine starts: {engines}",
        flush=True,
    )


def report_curve(data_dir: Path) -> None:
    from rollouts.probe import heldout_curve
    from schemas.config import HardforgeConfig
    from warehouse.db import Warehouse

    curve = heldout_curve(Warehouse(data_dir), HardforgeConfig().nightly.probe_n)
    print("held-out pass@1 per policy (probe):")
    for row in curve:
        print(f"  {row['name'][:40]:40} {row['mean_pass_at_1']:.3f} ± {row['stderr']:.3f} ({row['problems']} problems)")


if __name__ == "__main__":
    main()
