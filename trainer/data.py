"""Curriculum rows for TRL, in curriculum order.

TRL's RepeatSampler (``shuffle_dataset=False``) keeps dataset order, repeats each prompt
``num_generations`` times, and drops a trailing chunk smaller than the prompts of one generation
batch. So the rows are planned here: exactly ``max_steps * prompts_per_step`` rows are taken in
curriculum order, cycling back to the hardest rows if the curriculum is shorter, so no chunk is
ever incomplete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import HardforgeError


@dataclass(frozen=True)
class RowPlan:
    indices: list[int]
    prompts_per_step: int
    note: str


def prompts_per_step(batch_size: int, grad_accum: int, num_generations: int) -> int:
    generation_batch = batch_size * grad_accum  # TRL: one generation batch per optimizer step
    if generation_batch % num_generations:
        raise HardforgeError(
            f"train.per_device_train_batch_size x gradient_accumulation_steps ({generation_batch}) must be a "
            f"multiple of train.num_generations ({num_generations})."
        )
    return generation_batch // num_generations


def plan_rows(rows: int, per_step: int, max_steps: int) -> RowPlan:
    if rows == 0:
        raise HardforgeError("the curriculum is empty: there is nothing to train on.")
    need = max_steps * per_step
    note = f"{need} rows for {max_steps} steps x {per_step} prompts"
    if need > rows:
        note += f"; the curriculum has {rows}, so it is repeated from the hardest row"
    return RowPlan([i % rows for i in range(need)], per_step, note)


def shard_files(curriculum_dir: Path) -> list[str]:
    manifest = json.loads((curriculum_dir / "manifest.json").read_text())
    return [str(curriculum_dir / shard["file"]) for shard in manifest["shards"]]
