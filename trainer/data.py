"""Curriculum rows for TRL, in curriculum order.

TRL's RepeatSampler (``shuffle_dataset=False``) keeps dataset order, repeats each prompt
``num_generations`` times, and drops a trailing chunk smaller than the prompts of one generation
batch. So the rows are planned here: with ``max_steps`` exactly ``max_steps * prompts_per_step``
rows are taken in curriculum order, cycling back to the hardest rows if the curriculum is
shorter; without it, the tail that would not fill a generation batch (the easiest rows) is cut,
and the plan says so.
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


def plan_rows(rows: int, per_step: int, max_steps: int | None) -> RowPlan:
    if rows == 0:
        raise HardforgeError("the curriculum is empty: there is nothing to train on.")
    if max_steps:
        need = max_steps * per_step
        note = f"{need} rows for {max_steps} steps x {per_step} prompts"
        if need > rows:
            note += f"; the curriculum has {rows}, so it is repeated from the hardest row"
        return RowPlan([i % rows for i in range(need)], per_step, note)
    usable = rows - rows % per_step
    if usable == 0:
        raise HardforgeError(f"the curriculum has {rows} rows, fewer than one step needs ({per_step}).")
    note = f"{usable} rows" + (f"; the last {rows - usable} (easiest) rows do not fill a generation batch and are left out" if usable < rows else "")
    return RowPlan(list(range(usable)), per_step, note)


def shard_files(curriculum_dir: Path) -> list[str]:
    manifest = json.loads((curriculum_dir / "manifest.json").read_text())
    return [str(curriculum_dir / shard["file"]) for shard in manifest["shards"]]
