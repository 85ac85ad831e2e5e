"""Does the loop learn, and does the curriculum's order matter? "Hard Examples Are All You Need"
(Pikus et al. 2025) in miniature, with error bars.

On the bundled model and reasoning-gym tasks: measure a training set (generator seed 0) and a
held-out set (seed 1) with the base policy; then, from the same base policy and for each of
``--seeds`` seeds, run the same number of GRPO steps on each arm:

- hardest: the in-band items hardest-first;
- random: the same items in a random order (another order per seed; the product's default order);
- easiest: the same items easiest-first;
- none: no curriculum: the same tasks at random levels 0-2 (seed 2), whatever their pass@1.

With ``--select K`` the arms are selections under a budget, as the paper compares them: from the
training pool measured by the base policy, the K hardest by base pass@1 (the paper's ranking, over
the whole pool: never-solved and always-solved included), the K hardest of the band only, the K
easiest, the K around the median, and K at random (``select:hardest``, ``select:hardest-band``,
``select:easiest``, ``select:middle``, ``select:random``), each in a random order, with equal steps.

Each arm sees as many prompts as the curriculum has items, times ``--epochs``; the held-out set is
measured with ``--heldout-n`` samples per problem (>= 16). Prints each arm's held-out gain as mean
± std over seeds, and for every pair of arms whether their difference is larger than the spread.

    .venv/bin/python bench/loop.py [--tasks chain_sum,basic_arithmetic,products] [--levels 0]
        [--size 8] [--heldout-size 8] [--seeds 3] [--epochs 1] [--lr 1e-5] [--n 8] [--heldout-n 16]
        [--max-tokens 32] [--arms hardest,random,easiest,none]
    .venv/bin/python bench/loop.py --levels 0-2 --select 6 \\
        --arms select:hardest,select:hardest-band,select:easiest,select:middle,select:random
"""

from __future__ import annotations

import argparse
import itertools
import logging
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.runtime import prepare_environment  # noqa: E402

TRAIN, HELDOUT, POOL = (f"json_extract(extra, '$.gym.seed')::INT = {seed}" for seed in (0, 1, 2))


def spread_verdict(a: list[float], b: list[float]) -> str:
    """Whether two arms' mean gains differ by more than their spread (the larger std over seeds)."""
    difference = statistics.mean(a) - statistics.mean(b)
    spread = max(statistics.stdev(a) if len(a) > 1 else 0.0, statistics.stdev(b) if len(b) > 1 else 0.0)
    return f"{difference:+.3f} ({'larger' if abs(difference) > spread else 'not larger'} than the spread {spread:.3f})"


def selection(curriculum, arm: str, k: int | None) -> None:
    """A ``select:BY[-band]`` arm: K items of the pool by base pass@1, in a random order; ``-band``
    ranks only what the band keeps, else the whole measured pool (never- and always-solved too)."""
    if not k:
        raise SystemExit(f"arm {arm} needs --select K")
    by = arm.removeprefix("select:")
    band_only = by.endswith("-band")
    curriculum.select_k = k  # first: a selection is validated with its budget
    curriculum.select = by.removesuffix("-band")
    curriculum.keep_unsolved = curriculum.keep_solved = not band_only
    curriculum.order = "random"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="chain_sum,basic_arithmetic,products")
    parser.add_argument("--levels", default="0")
    parser.add_argument("--size", type=int, default=8)
    parser.add_argument("--heldout-size", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--heldout-n", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--arms", default="hardest,random,easiest,none")
    parser.add_argument("--select", type=int, default=None, help="K: the select:* arms take K items of the pool")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="hardforge-loop-"))).resolve()
    prepare_environment(data_dir)
    logging.disable(logging.WARNING)

    from curricula.export import export_curriculum
    from engines.bundled import ensure_bundled_model
    from flows.stages import estimate_once
    from ingest.service import ingest
    from rollouts.policies import resolve_policy
    from schemas.config import HardforgeConfig
    from trainer.grpo import train
    from warehouse.db import Warehouse

    cfg = HardforgeConfig(data_dir=data_dir)
    cfg.engine.backend = "transformers"
    cfg.engine.model = str(ensure_bundled_model(ROOT / ".cache" / "models"))
    cfg.rollouts.n, cfg.rollouts.k, cfg.rollouts.temperature = args.n, [1], args.temperature
    cfg.rollouts.per_source["gym"].max_tokens = args.max_tokens
    cfg.train.max_completion_length, cfg.train.learning_rate = args.max_tokens, args.lr
    cfg.train.temperature = args.temperature
    heldout_cfg = cfg.model_copy(deep=True)
    heldout_cfg.rollouts.n, heldout_cfg.rollouts.screen = args.heldout_n, None
    pool_cfg = cfg.model_copy(deep=True)  # the no-curriculum arm's pool: measured only so that it can be exported
    pool_cfg.rollouts.n, pool_cfg.rollouts.screen = 2, None
    pool_cfg.curriculum.keep_unsolved = pool_cfg.curriculum.keep_solved = True
    warehouse = Warehouse(data_dir)
    tasks = args.tasks.split(",")
    for task in tasks:
        ingest(warehouse, f"gym:{task}", cfg, gym_options={"size": args.size, "levels": args.levels, "seed": 0})
        ingest(warehouse, f"gym:{task}", cfg, gym_options={"size": args.heldout_size, "levels": args.levels, "seed": 1})
        ingest(warehouse, f"gym:{task}", cfg, gym_options={"size": args.size, "levels": "0-2", "seed": 2})
    base = resolve_policy(warehouse, cfg, "bundled")

    def heldout_pass_at_1(policy_id: str) -> float:
        estimate_once(heldout_cfg, policy=policy_id, where=HELDOUT)
        return warehouse.scalar(
            f"SELECT avg(pass_at_1) FROM difficulty JOIN problems USING (problem_id) WHERE policy_id = ? AND n = ? AND {HELDOUT}",
            [policy_id, args.heldout_n],
        )

    start = time.monotonic()
    estimate_once(cfg, policy=base.policy_id, where=TRAIN)
    estimate_once(pool_cfg, policy=base.policy_id, where=POOL)
    before = heldout_pass_at_1(base.policy_id)
    items = export_curriculum(warehouse, base.policy_id, cfg.curriculum, cfg.rollouts, data_dir / "curricula").items
    per_step = cfg.train.per_device_train_batch_size // cfg.train.num_generations
    steps = max(1, math.ceil((args.select or items) * args.epochs / per_step))  # equal steps for every arm
    pool = warehouse.scalar(
        f"SELECT count(DISTINCT problem_id) FROM difficulty JOIN problems USING (problem_id) WHERE policy_id = ? AND {TRAIN}",
        [base.policy_id],
    )
    print(
        f"settings: tasks={args.tasks} levels={args.levels} train={args.size}/task/level (pool {pool}, in band: {items}) "
        f"select={args.select} "
        f"held-out={args.heldout_size}/task/level x n={args.heldout_n} seeds={args.seeds} steps={steps} "
        f"({per_step} prompts/step, {args.epochs} epoch) lr={args.lr} n={args.n} max_tokens={args.max_tokens} "
        f"T={args.temperature} G={cfg.train.num_generations} loss={cfg.train.loss_type}; held-out before: {before:.3f}",
        flush=True,
    )
    gains: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        for arm in args.arms.split(","):
            run = (pool_cfg if arm == "none" else cfg).model_copy(deep=True)
            run.train.seed = seed
            if arm.startswith("select:"):
                selection(run.curriculum, arm, args.select)
            else:
                run.curriculum.order = "random" if arm == "none" else arm
            run.curriculum.order_seed = seed + 1 if run.curriculum.order == "random" else 0
            exported = export_curriculum(
                warehouse, base.policy_id, run.curriculum, run.rollouts, data_dir / "curricula"
            )
            result = train(warehouse, run, curriculum_id=exported.curriculum_id, max_steps=steps)
            after = heldout_pass_at_1(result.policy.policy_id)
            shutil.rmtree(result.policy.model_path, ignore_errors=True)  # measured: the checkpoint is not needed
            gains.setdefault(arm, []).append(after - before)
            zero = [m["frac_reward_zero_std"] for m in result.metrics if m["frac_reward_zero_std"] is not None]
            print(
                f"  seed {seed} {arm:19} items {exported.items:3} held-out {after:.3f} (gain {after - before:+.3f}) "
                f"zero-std groups {sum(zero) / max(1, len(zero)):.2f} {result.summary()['mean_step_time_s']:.1f} s/step",
                flush=True,
            )
    print(f"\n{'arm':19} {'held-out gain (mean ± std)':>28}  per seed")
    for arm, values in gains.items():
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{arm:19} {statistics.mean(values):+18.3f} ± {std:.3f}  {', '.join(f'{v:+.3f}' for v in values)}")
    for first, second in itertools.combinations(gains, 2):  # every pair, so any order can be judged
        print(f"{first} - {second}: {spread_verdict(gains[first], gains[second])}")
    print(f"total {time.monotonic() - start:.0f} s; data in {data_dir}")


if __name__ == "__main__":
    main()
