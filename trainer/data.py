"""Curriculum rows for TRL, in curriculum order.

TRL's RepeatSampler (``shuffle_dataset=False``) keeps dataset order, repeats each prompt
``num_generations`` times, and drops a trailing chunk smaller than the prompts of one generation
batch. So the rows are planned here: exactly ``max_steps * prompts_per_step`` rows are taken in
curriculum order, cycling back to the first rows if the curriculum is shorter, so no chunk is
ever incomplete.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import HardforgeError, NothingToTrain


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
        note += f"; the curriculum has {rows}, so it is repeated from its first row"
    return RowPlan([i % rows for i in range(need)], per_step, note)


def shard_files(curriculum_dir: Path) -> list[str]:
    manifest = json.loads((curriculum_dir / "manifest.json").read_text())
    return [str(curriculum_dir / shard["file"]) for shard in manifest["shards"]]


Role = str  # "solver" | "proposer" | "both"


def split_step(per_step: int, role: Role, proposer_share: float) -> tuple[int, int]:
    """(solver prompts, proposer prompts) of one step. ``both`` gives the proposer
    ``proposer_share`` of the step's prompts, rounded, and each role at least one."""
    if role == "solver":
        return per_step, 0
    if role == "proposer":
        return 0, per_step
    if per_step < 2:
        raise HardforgeError(
            f"train.role 'both' needs at least 2 prompts per step (one of each role); a step has {per_step}: raise "
            "train.per_device_train_batch_size or gradient_accumulation_steps."
        )
    proposer = min(per_step - 1, max(1, math.floor(proposer_share * per_step + 0.5)))  # half rounds up, always
    return per_step - proposer, proposer


def plan_mixed(
    solver_rows: int, proposer_rows: int, per_step: tuple[int, int], max_steps: int
) -> list[tuple[str, int]]:
    """Row order for TRL: each step's chunk holds ``per_step[0]`` solver rows (curriculum order,
    cycling from the first) then ``per_step[1]`` proposer rows (prompt order, cycling)."""
    solvers, proposers = per_step
    if solvers and not solver_rows:
        raise HardforgeError("the curriculum is empty: there is nothing to train the solver on.")
    if proposers and not proposer_rows:
        raise NothingToTrain("no proposer prompts: every method's fresh seeds ran out.")
    order: list[tuple[str, int]] = []
    for step in range(max_steps):
        order += [("solver", (step * solvers + i) % solver_rows) for i in range(solvers)]
        order += [("proposer", (step * proposers + i) % proposer_rows) for i in range(proposers)]
    return order
