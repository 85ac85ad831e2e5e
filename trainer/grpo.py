"""GRPO with TRL's GRPOTrainer on a curriculum, then register the checkpoint as the new policy."""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rollouts.live import live_service
from rollouts.policies import get_policy, register_policy, resolve_policy
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError, NothingToTrain
from schemas.records import Policy
from synth.base import Synthesizer
from synth.proposer import ProposerJudge, proposer_rows, trainable
from trainer.data import Role, plan_mixed, plan_rows, prompts_per_step, shard_files, split_step
from trainer.rewards import ProposerReward, VerifierReward
from verifiers import VerifierSet
from warehouse.db import Warehouse
from warehouse.queries import latest_curriculum

DAPO_EPSILON_HIGH = 0.28  # methods.md §6.4 (epsilon low stays 0.2)
GSPO_EPSILON = (3e-4, 4e-4)  # GSPO paper (v2) §5.1
COLUMNS = ["prompt", "answer", "statement", "verifier", "problem_id", "position", "extra_info"]


@dataclass
class TrainResult:
    policy: Policy
    curriculum_id: str | None  # None: the proposer alone, no curriculum
    steps: int
    rows_note: str
    metrics: list[dict[str, Any]] = field(default_factory=list)  # one per step
    positions_seen: list[int] = field(default_factory=list)
    seconds: float = 0.0
    role: str = "solver"

    def summary(self) -> dict[str, Any]:
        times = [m["step_time_s"] for m in self.metrics if m.get("step_time_s") is not None]
        return {
            "policy_id": self.policy.policy_id,
            "parent_policy_id": self.policy.parent_policy_id,
            "policy_name": self.policy.name,
            "model_path": self.policy.model_path,
            "curriculum_id": self.curriculum_id,
            "role": self.role,
            "steps": self.steps,
            "rows": self.rows_note,
            "seconds": round(self.seconds, 1),
            "mean_step_time_s": round(sum(times) / len(times), 2) if times else None,
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


def clip_range(loss_type: str, level: str, low: float | None, high: float | None) -> tuple[float, float | None]:
    """The PPO clip range of a recipe, unless set: GSPO's sequence ratios sit near 1, so its range
    is three orders narrower (paper v2 §5.1); DAPO's clip-higher widens the upper side so
    low-probability tokens stay learnable; otherwise TRL's 0.2 (None: the upper equals the lower)."""
    if level == "sequence":
        recipe = GSPO_EPSILON
    elif loss_type == "dapo":
        recipe = (0.2, DAPO_EPSILON_HIGH)
    else:
        recipe = (0.2, None)
    return (low if low is not None else recipe[0]), (high if high is not None else recipe[1])


def extra_rewards(config: HardforgeConfig) -> list[Any]:
    """Reward terms beside the roles' own: DAPO's soft overlong punishment (TRL's), when set."""
    cfg = config.train
    if cfg.overlong_buffer is None:
        return []
    if cfg.overlong_buffer >= cfg.max_completion_length:
        raise HardforgeError(
            f"train.overlong_buffer ({cfg.overlong_buffer}) must be below train.max_completion_length "
            f"({cfg.max_completion_length}): it is the stretch before the limit that is punished."
        )
    from trl.rewards import get_soft_overlong_punishment

    return [get_soft_overlong_punishment(cfg.max_completion_length, cfg.overlong_buffer)]


def grpo_config(config: HardforgeConfig, output_dir: str, steps: int, on_cpu: bool):
    """TRL's GRPOConfig from ``[train]``."""
    from trl import GRPOConfig

    cfg = config.train
    low, high = clip_range(cfg.loss_type, cfg.importance_sampling_level, cfg.epsilon, cfg.epsilon_high)
    return GRPOConfig(
        output_dir=output_dir,
        use_cpu=on_cpu,
        bf16=not on_cpu,
        fp16=False,  # bf16 on CPU measured 6-10x slower
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        learning_rate=cfg.learning_rate,
        optim=cfg.optim,
        loss_type=cfg.loss_type,
        beta=cfg.beta,
        importance_sampling_level=cfg.importance_sampling_level,
        epsilon=low,
        epsilon_high=high,
        max_steps=steps,
        shuffle_dataset=False,
        seed=cfg.seed,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        gradient_checkpointing=cfg.gradient_checkpointing,
        use_vllm=cfg.use_vllm and not on_cpu,
        vllm_mode=cfg.vllm_mode,
    )


def train(
    warehouse: Warehouse,
    config: HardforgeConfig,
    *,
    role: Role = "solver",
    curriculum_id: str | None = None,
    max_steps: int | None = None,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """GRPO for one role or both. ``solver``: the curriculum's rows in order, graded by the
    verifiers. ``proposer``: each method's prompts on fresh seeds, a group being the G proposals
    of one prompt, rewarded by the method with the live policy as solver. ``both``: every step
    holds the two in ``train.proposer_share``."""
    import torch
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    cfg = config.train
    run_id = run_id or uuid.uuid4().hex
    steps = max_steps or cfg.max_steps  # always set: train.max_steps is a required positive number
    per_step = prompts_per_step(cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps, cfg.num_generations)
    solvers, proposers = split_step(per_step, role, cfg.proposer_share)
    curriculum = get_curriculum(warehouse, curriculum_id) if solvers else None
    parent = get_policy(warehouse, curriculum["policy_id"]) if curriculum else resolve_policy(warehouse, config)
    out_dir = config.data_dir / "policies" / f"{parent.name}-grpo-{run_id[:8]}"
    on_cpu = not torch.cuda.is_available()
    args = grpo_config(config, str(config.data_dir / "cache" / "trainer" / run_id), steps, on_cpu)
    verifiers = VerifierSet(config)
    reward = VerifierReward(config, verifiers)
    judge: ProposerJudge | None = None
    skipped = ""
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
        model: Any = parent.model_path
        rewards: list[Any] = [reward, *extra_rewards(config)]
        if proposers:
            model, tokenizer = load_policy(parent.model_path)
            service = live_service(model, tokenizer, verifiers, config, parent.policy_id, run_id)
            try:
                methods = proposer_methods(config)
            except NothingToTrain as exc:
                if not solvers:
                    raise
                methods, skipped = {}, f"{exc} So the solver alone; "
            judge = ProposerJudge(methods, service, warehouse)
            each = -(
                -steps * proposers // max(1, len(methods))
            )  # ceil: the prompts the run needs, shared by the methods
            prompts = interleave([proposer_rows(m, warehouse, service, each) for m in methods.values()])
            rewards.append(ProposerReward(judge))
            if not prompts and solvers:  # no fresh seed tonight: the solver trains alone, and the run says so
                solvers, proposers, role, judge = per_step, 0, "solver", None
                rewards = [r for r in rewards if not isinstance(r, ProposerReward)]
                skipped = (
                    skipped or f"no proposer prompts ({', '.join(methods)}: no fresh seeds), so the solver alone; "
                )
        else:
            prompts = []
        dataset, note = training_rows(curriculum, prompts, (solvers, proposers), steps)
        note = skipped + note
        trainer = GRPOTrainer(
            model=model, reward_funcs=rewards, args=args, train_dataset=dataset, callbacks=[StepTimer()]
        )
        trainer.train()
        trainer.save_model(str(out_dir))
        trainer.processing_class.save_pretrained(str(out_dir))
    finally:
        reward.close()
    seconds = time.perf_counter() - start
    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    calls = judge.calls if judge else []
    metrics = [
        {
            "step": entry.get("step"),
            "reward_mean": entry.get("reward"),
            "frac_reward_zero_std": entry.get("frac_reward_zero_std"),
            "loss": entry.get("loss"),
            "step_time_s": round(step_times[i], 2) if i < len(step_times) else None,
            **({"proposer": calls[i].as_dict()} if i < len(calls) else {}),
        }
        for i, entry in enumerate(logs)
    ]
    policy = register_policy(
        warehouse,
        out_dir,
        name=out_dir.name,
        parent_policy_id=parent.policy_id,
        curriculum_id=curriculum["curriculum_id"] if curriculum else None,
        meta={
            "trainer": "trl.GRPOTrainer",
            "run_id": run_id,
            "steps": steps,
            "loss_type": cfg.loss_type,
            "role": role,
            "prompts_per_step": {"solver": solvers, "proposer": proposers},
            **({"proposer_methods": sorted(judge.methods)} if judge else {}),
            "trained_at": dt.datetime.now(dt.UTC).isoformat(),
            "rows": note,
        },
        trained_in=run_id,
    )
    return TrainResult(
        policy,
        curriculum["curriculum_id"] if curriculum else None,
        steps,
        note,
        metrics,
        reward.positions,
        seconds,
        role,
    )


def load_policy(model_path: str):
    """The policy's model and a tokenizer of its own, loaded as TRL loads a path (float32), so the
    live solver and the trainer share one set of weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32), AutoTokenizer.from_pretrained(
        model_path
    )


def proposer_methods(config: HardforgeConfig) -> dict[str, Synthesizer]:
    """The methods whose proposer is trained: ``train.proposer_methods``, else the nightly's."""
    from synth import METHODS

    names = config.train.proposer_methods or config.nightly.synthesize
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise HardforgeError(
            f"train.proposer_methods names {', '.join(unknown)}; the methods are {', '.join(METHODS)}."
        )
    methods = {name: METHODS[name](config) for name in names}
    if config.train.proposer_methods:  # named: each must be trainable
        for method in methods.values():
            trainable(method)
        return methods
    # the nightly's methods: those that can be trained (ASearcher cannot)
    methods = {name: method for name, method in methods.items() if method.remote}
    if not methods:
        raise NothingToTrain(
            f"none of nightly.synthesize ({', '.join(names) or 'empty'}) can be trained as a proposer: "
            "set train.proposer_methods."
        )
    return methods


def interleave(per_method: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One prompt of each method in turn, so every step trains each method's proposer."""
    return [row for rows in itertools.zip_longest(*per_method) for row in rows if row is not None]


def training_rows(
    curriculum: dict[str, Any] | None, proposer_rows: list[dict[str, Any]], per_step: tuple[int, int], steps: int
):
    """The dataset TRL reads in order (``shuffle_dataset=False``), and a note on what it holds."""
    import datasets

    solvers, proposers = per_step
    if not proposers:  # the curriculum's own columns, in curriculum order
        assert curriculum is not None
        shards = datasets.load_dataset("parquet", data_files=shard_files(Path(curriculum["out_dir"])), split="train")
        plan = plan_rows(len(shards), solvers, steps)
        return shards.select(plan.indices).select_columns(COLUMNS), plan.note
    solver_rows = []
    if solvers:
        assert curriculum is not None
        shards = datasets.load_dataset("parquet", data_files=shard_files(Path(curriculum["out_dir"])), split="train")
        solver_rows = [
            {**r, "role": "solver", "method": None, "seed": None, "group": None}
            for r in shards.select_columns(COLUMNS).to_list()
        ]
    blank = dict.fromkeys(COLUMNS) | {"position": -1}
    rows = [{**blank, **r} for r in proposer_rows]
    order = plan_mixed(len(solver_rows), len(rows), per_step, steps)
    table = [solver_rows[i] if kind == "solver" else rows[i] for kind, i in order]
    note = (
        f"{len(order)} rows for {steps} steps x ({solvers} solver + {proposers} proposer prompts); "
        f"{len(rows)} proposer prompts"
        + (f" (repeated: fewer fresh seeds than {steps * proposers})" if len(rows) < steps * proposers else "")
    )
    return datasets.Dataset.from_list(table), note


__all__ = ["train", "TrainResult"]
