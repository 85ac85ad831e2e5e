"""Does the loop learn? "Hard Examples Are All You Need" (Pikus et al. 2025) in miniature.

On the bundled model and reasoning-gym tasks: measure a training set and a held-out set (another
generator seed) with the base policy, export the training set's curriculum in three orders over
the same items (hardest-first, the product's default; random; easiest-first), run the same number
of GRPO steps on each from the same base policy, and measure the held-out set again.

    .venv/bin/python bench/loop.py [--tasks chain_sum,basic_arithmetic,products] [--levels 0]
        [--size 16] [--heldout-size 8] [--steps 6] [--lr 1e-5] [--n 8] [--max-tokens 32]

Prints per arm: held-out pass@1 before and after, mean reward per step, and the fraction of
groups with zero reward variance (no gradient). CPU settings are small so that it finishes;
the figures are a smoke test of the mechanism, not a replication of the paper.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.runtime import prepare_environment  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="chain_sum,basic_arithmetic,products")
    parser.add_argument("--levels", default="0")
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--heldout-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=0.7)
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
    cfg.rollouts.n, cfg.rollouts.k, cfg.rollouts.temperature = args.n, [1, args.n], args.temperature
    cfg.rollouts.per_source["gym"].max_tokens = args.max_tokens
    cfg.train.max_completion_length, cfg.train.learning_rate = args.max_tokens, args.lr
    cfg.train.temperature = args.temperature
    warehouse = Warehouse(data_dir)
    for task in args.tasks.split(","):
        for seed, size in ((0, args.size), (1, args.heldout_size)):
            ingest(warehouse, f"gym:{task}", cfg, gym_options={"size": size, "levels": args.levels, "seed": seed})
    train_set, heldout = "json_extract(extra, '$.gym.seed')::INT = 0", "json_extract(extra, '$.gym.seed')::INT = 1"
    base = resolve_policy(warehouse, cfg, "bundled")

    def heldout_pass_at_1(policy_id: str) -> float:
        estimate_once(cfg, policy=policy_id, where=heldout)
        return warehouse.scalar(
            f"SELECT avg(pass_at_1) FROM difficulty JOIN problems USING (problem_id) WHERE policy_id = ? AND {heldout}",
            [policy_id])

    start = time.monotonic()
    estimate_once(cfg, policy=base.policy_id, where=train_set)
    before = heldout_pass_at_1(base.policy_id)
    print(f"settings: tasks={args.tasks} levels={args.levels} train={args.size}/task/level "
          f"held-out={args.heldout_size}/task/level steps={args.steps} lr={args.lr} n={args.n} "
          f"max_tokens={args.max_tokens} T={args.temperature} generations={cfg.train.num_generations} "
          f"prompts/step={cfg.train.per_device_train_batch_size // cfg.train.num_generations} loss={cfg.train.loss_type}")
    print(f"{'arm':10} {'items':>5} {'held-out before':>15} {'after':>7} {'mean reward/step':>16} {'zero-std groups':>15} {'s/step':>7}")
    for order in ("hardest", "random", "easiest"):
        cfg.curriculum.order = order
        exported = export_curriculum(warehouse, base.policy_id, cfg.curriculum, cfg.rollouts, data_dir / "curricula")
        result = train(warehouse, cfg, curriculum_id=exported.curriculum_id, max_steps=args.steps)
        after = heldout_pass_at_1(result.policy.policy_id)
        rewards = [m["reward_mean"] for m in result.metrics if m["reward_mean"] is not None]
        zero = [m["frac_reward_zero_std"] for m in result.metrics if m["frac_reward_zero_std"] is not None]
        step_s = result.summary()["mean_step_time_s"]
        print(f"{order:10} {exported.items:>5} {before:15.3f} {after:7.3f} {sum(rewards) / max(1, len(rewards)):16.3f} "
              f"{sum(zero) / max(1, len(zero)):15.2f} {step_s:7.1f}", flush=True)
    print(f"total {time.monotonic() - start:.0f} s; data in {data_dir}")


if __name__ == "__main__":
    main()
