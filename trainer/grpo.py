"""GRPO with TRL's GRPOTrainer on a curriculum, then register the checkpoint as the new policy."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollouts.policies import get_policy, register_policy
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from schemas.records import Policy
from trainer.data import plan_rows, prompts_per_step, shard_files
from trainer.rewards import VerifierReward
from warehouse.db import Warehouse
from warehouse.queries import latest_curriculum

DAPO_EPSILON_HIGH = 0.28  # methods.md §6.4 (epsilon low stays 0.2)
COLUMNS = ["prompt", "answer", "statement", "verifier", "problem_id", "position", "extra_info"]


@dataclass
class TrainResult:
    policy: Policy
    curriculum_id: str
    steps: int
    rows_note: str
    metrics: list[dict[str, Any]] = field(default_factory=list)  # one per step
    positions_seen: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        times = [m["step_time_s"] for m in self.metrics if m.get("step_time_s") is not None]
        return {
            "policy_id": self.policy.policy_id, "parent_policy_id": self.policy.parent_policy_id,
            "policy_name": self.policy.name, "model_path": self.policy.model_path,
            "curriculum_id": self.curriculum_id, "steps": self.steps, "rows": self.rows_note,
            "seconds": round(self.seconds, 1), "mean_step_time_s": round(sum(times) / len(times), 2) if times else None,
            "metrics": self.metrics,
        }


def get_curriculum(warehouse: Warehouse, curriculum_id: str | None) -> dict[str, Any]:
    """The curriculum with this id, or the latest export when None; one sentence when there is
    none, when it is empty, or when its folder is gone."""
    row = latest_curriculum(warehouse, curriculum_id)
    if row is None:
        if curriculum_id:
            raise HardforgeError(f"no curriculum '{curriculum_id}' in the warehouse.")
        raise HardforgeError("no curriculum yet: run `hardforge export` (or the nightly flow) first.")
    if row["n_items"] == 0:
        raise HardforgeError(
            f"curriculum {row['curriculum_id']} is empty (no problem fell in its pass@1 band), so there is nothing "
            "to train on; estimate more problems or widen the band, then export again."
        )
    if not (Path(row["out_dir"]) / "manifest.json").is_file():
        raise HardforgeError(f"curriculum {row['curriculum_id']} has no manifest at {row['out_dir']}; export it again.")
    return row


def grpo_config(config: HardforgeConfig, output_dir: str, steps: int, on_cpu: bool):
    """TRL's GRPOConfig from ``[train]``."""
    from trl import GRPOConfig

    cfg = config.train
    return GRPOConfig(
        output_dir=output_dir,
        use_cpu=on_cpu, bf16=not on_cpu, fp16=False,  # bf16 on CPU measured 6-10x slower
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations, max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature, learning_rate=cfg.learning_rate, loss_type=cfg.loss_type, beta=cfg.beta,
        # DAPO's clip-higher: a wider upper clip keeps low-probability tokens learnable
        epsilon_high=DAPO_EPSILON_HIGH if cfg.loss_type == "dapo" else None,
        max_steps=steps, shuffle_dataset=False, seed=cfg.seed, logging_steps=1, report_to="none",
        save_strategy="no", gradient_checkpointing=cfg.gradient_checkpointing,
        use_vllm=cfg.use_vllm and not on_cpu, vllm_mode=cfg.vllm_mode,
    )


def train(
    warehouse: Warehouse,
    config: HardforgeConfig,
    *,
    curriculum_id: str | None = None,
    max_steps: int | None = None,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    import datasets
    import torch
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    cfg = config.train
    run_id = run_id or uuid.uuid4().hex
    curriculum = get_curriculum(warehouse, curriculum_id)
    parent = get_policy(warehouse, curriculum["policy_id"])
    steps = max_steps or cfg.max_steps  # always set: train.max_steps is a required positive number
    per_step = prompts_per_step(cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps, cfg.num_generations)
    dataset = datasets.load_dataset("parquet", data_files=shard_files(Path(curriculum["out_dir"])), split="train")
    plan = plan_rows(len(dataset), per_step, steps)
    dataset = dataset.select(plan.indices).select_columns(COLUMNS)
    out_dir = config.data_dir / "policies" / f"{parent.name}-grpo-{run_id[:8]}"
    on_cpu = not torch.cuda.is_available()
    args = grpo_config(config, str(config.data_dir / "cache" / "trainer" / run_id), steps, on_cpu)
    reward = VerifierReward(config)
    step_times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *_, **__):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, *_, **__):
            step_times.append(time.perf_counter() - self.start)
            if progress:
                progress(state.global_step, state.max_steps)

    start = time.perf_counter()
    try:
        trainer = GRPOTrainer(model=parent.model_path, reward_funcs=[reward], args=args, train_dataset=dataset,
                              callbacks=[StepTimer()])
        trainer.train()
        trainer.save_model(str(out_dir))
        trainer.processing_class.save_pretrained(str(out_dir))
    finally:
        reward.close()
    seconds = time.perf_counter() - start
    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    metrics = [
        {
            "step": entry.get("step"), "reward_mean": entry.get("reward"),
            "frac_reward_zero_std": entry.get("frac_reward_zero_std"), "loss": entry.get("loss"),
            "step_time_s": round(step_times[i], 2) if i < len(step_times) else None,
        }
        for i, entry in enumerate(logs)
    ]
    policy = register_policy(
        warehouse, out_dir, name=out_dir.name, parent_policy_id=parent.policy_id, curriculum_id=curriculum["curriculum_id"],
        meta={"trainer": "trl.GRPOTrainer", "run_id": run_id, "steps": steps, "loss_type": cfg.loss_type,
              "trained_at": dt.datetime.now(dt.UTC).isoformat(), "rows": plan.note},
        trained_in=run_id,
    )
    return TrainResult(policy, curriculum["curriculum_id"], steps, plan.note, metrics, reward.positions, seconds)


__all__ = ["train", "TrainResult"]
