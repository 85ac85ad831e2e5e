"""The proposer's warm start: supervised fine-tuning on the policy's own verified proposals
(ReST-EM, Singh et al. 2023, "Beyond Human Data": sample, keep what a check verified, fine-tune on
it), so that GRPO starts from a proposer whose groups sometimes verify (issue 34). With a ``teacher``,
the targets are another policy's verified proposals instead ("Learning to Pose Problems", arXiv
2511.09907, bootstraps its generator on a stronger model's problems): a policy too weak to write
any verified proposal of its own (the bundled 135M) learns the format from the coder's.

The rows are ``synth_attempts`` of one policy whose label a check trusted (reward at least the
ladder's "verified, not learnable" rung, ``synth.rewards``): the prompt the method sent and the
proposal the policy wrote, as a prompt-completion pair, so the loss is on the proposal only. A
proposal whose label only the policy's votes or an inherited answer backed is never a target:
fine-tuning on it would teach the proposer to write labels nothing can check."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from rollouts.policies import find_policy, register_policy, resolve_policy
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError, NothingToTrain
from schemas.records import Policy
from synth.rewards import NOT_LEARNABLE
from warehouse.db import Warehouse


@dataclass
class WarmStart:
    policy: Policy
    examples: int
    by_method: dict[str, int]
    epochs: float
    seconds: float
    losses: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy.policy_id,
            "parent_policy_id": self.policy.parent_policy_id,
            "policy_name": self.policy.name,
            "model_path": self.policy.model_path,
            "examples": self.examples,
            "by_method": self.by_method,
            "epochs": self.epochs,
            "seconds": round(self.seconds, 1),
            "losses": self.losses,
        }


def verified_proposals(
    warehouse: Warehouse, policy_id: str, methods: list[str], per_method: int, runs: list[str] | None = None
) -> list[dict[str, Any]]:
    """The policy's verified proposals, one per distinct (method, prompt, proposal), the method's
    best rewarded first, at most ``per_method`` of each method, as prompt-completion rows; with
    ``runs``, only those runs' (a bench keeps its evaluation's proposals out)."""
    rows = warehouse.arrow(
        """
        SELECT method, chat, output FROM (
            SELECT method, chat, output, reward,
                   row_number() OVER (PARTITION BY method ORDER BY reward DESC, created_at, attempt_id) AS rank
            FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY method, chat, output ORDER BY reward DESC, created_at, attempt_id
                ) AS copy
                FROM synth_attempts
                WHERE policy_id = ? AND list_contains(?, method) AND reward >= ?
                  AND (? IS NULL OR list_contains(?, run_id))
                  AND chat IS NOT NULL AND coalesce(trim(output), '') <> ''
            ) WHERE copy = 1
        ) WHERE rank <= ? ORDER BY method, rank
        """,
        [policy_id, methods, NOT_LEARNABLE, runs, runs, per_method],
    ).to_pylist()
    return [
        {
            "method": r["method"],
            "prompt": json.loads(r["chat"])["messages"],
            "completion": [{"role": "assistant", "content": r["output"]}],
        }
        for r in rows
    ]


def registered_policy(warehouse: Warehouse, spec: str) -> Policy:
    """A policy the warehouse holds, by id or name (a teacher must have proposed here, so a
    bundled model or a folder is never registered for it)."""
    found = find_policy(warehouse, spec)
    if found is None:
        raise HardforgeError(f"no policy '{spec}' in the warehouse: a teacher is a policy that synthesized here.")
    return found


def warm_start(
    warehouse: Warehouse,
    config: HardforgeConfig,
    *,
    methods: list[str] | None = None,
    per_method: int = 64,
    epochs: float = 2.0,
    learning_rate: float = 1e-5,
    runs: list[str] | None = None,
    run_id: str | None = None,
    teacher: str | None = None,
) -> WarmStart:
    """SFT (TRL's SFTTrainer) of the current policy on its verified proposals, or on the
    ``teacher`` policy's (an id or a name in the warehouse); the checkpoint is registered as a new
    policy, the child of the current one."""
    run_id = run_id or uuid.uuid4().hex
    methods = methods or config.train.proposer_methods or config.nightly.synthesize
    parent = resolve_policy(warehouse, config)
    source = parent if teacher is None else registered_policy(warehouse, teacher)
    rows = verified_proposals(warehouse, source.policy_id, methods, per_method, runs)
    if not rows:
        raise NothingToTrain(
            f"policy {source.name} has no verified proposal of {', '.join(methods)} to warm-start on: "
            f"synthesize with it first (hardforge synthesize{'' if teacher is None else ', with it as engine.model'})."
        )
    by_method: dict[str, int] = {}
    for row in rows:
        by_method[row["method"]] = by_method.get(row["method"], 0) + 1
    import datasets  # imported after the rows: without any, the command answers at once
    import torch
    from trl import SFTConfig, SFTTrainer

    out_dir = config.data_dir / "policies" / f"{parent.name}-warm-{run_id[:8]}"
    on_cpu = not torch.cuda.is_available()
    args = SFTConfig(
        output_dir=str(config.data_dir / "cache" / "trainer" / run_id),
        use_cpu=on_cpu,
        bf16=not on_cpu,  # CPU: bf16 measured 6-10x slower (grpo.py)
        per_device_train_batch_size=4,
        num_train_epochs=epochs,
        learning_rate=learning_rate,
        max_length=512,
        seed=config.train.seed,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
    )
    dataset = datasets.Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])
    start = time.perf_counter()
    trainer = SFTTrainer(model=parent.model_path, args=args, train_dataset=dataset)
    trainer.train()
    trainer.save_model(str(out_dir))
    trainer.processing_class.save_pretrained(str(out_dir))
    seconds = time.perf_counter() - start
    losses = [round(e["loss"], 4) for e in trainer.state.log_history if "loss" in e]
    policy = register_policy(
        warehouse,
        out_dir,
        name=out_dir.name,
        parent_policy_id=parent.policy_id,
        meta={
            "trainer": "trl.SFTTrainer",
            "role": "proposer warm start",
            "teacher_policy_id": source.policy_id,
            "run_id": run_id,
            "examples": len(rows),
            "by_method": by_method,
            "epochs": epochs,
            "learning_rate": learning_rate,
            "trained_at": dt.datetime.now(dt.UTC).isoformat(),
        },
        trained_in=run_id,
    )
    return WarmStart(policy, len(rows), by_method, epochs, seconds, losses)


__all__ = ["warm_start", "verified_proposals", "WarmStart"]
