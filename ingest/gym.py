"""reasoning-gym seed problems: procedural tasks with difficulty levels and a scorer per task.

``gym:TASK`` (optionally ``gym:TASK?levels=0-2&size=20&seed=0``) generates ``size`` problems
at each level from the task's curriculum (``reasoning_gym.coaching``); ``levels=auto`` lets the
policy's measurements choose the level (``ingest.gym_auto``). Each problem records the
task, level, generator config, seed and the entry's metadata in ``extra.gym``, which is what the
``gym`` verifier needs to rebuild the task's scorer. Keys stay content hashes, so the same
request ingests nothing new the second time.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs

from ingest.readers import RawRow
from schemas.errors import HardforgeError
from schemas.gym_tasks import refusal

PREFIX = "gym:"


@dataclass(frozen=True)
class GymRequest:
    task: str
    levels: tuple[int, ...] = (0,)
    size: int = 20
    seed: int = 0
    auto: bool = False  # levels=auto: the level (and a fresh generator seed) are chosen at ingest (ingest.gym_auto)

    @property
    def source(self) -> str:
        return f"{PREFIX}{self.task}"


def parse_levels(text: str) -> tuple[int, ...]:
    """``"0-3"`` -> (0, 1, 2, 3); ``"0,2"`` -> (0, 2); ``"1"`` -> (1,)."""
    levels: set[int] = set()
    try:
        for part in text.split(","):
            low, sep, high = part.strip().partition("-")
            first, last = int(low), int(high) if sep else int(low)
            if first < 0 or last < first:
                raise ValueError
            levels.update(range(first, last + 1))
    except ValueError:
        raise HardforgeError(f"--levels takes levels like 0-3 or 0,2 (non-negative, low-high), got '{text}'.") from None
    return tuple(sorted(levels))


def parse_request(
    target: str, size: int | None = None, levels: str | None = None, seed: int | None = None
) -> GymRequest:
    """``gym:TASK[?levels=..&size=..&seed=..]``, with command-line options taking precedence."""
    spec, _, query = target[len(PREFIX) :].partition("?")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = set(options) - {"levels", "size", "seed"}
    if not spec or unknown:
        raise HardforgeError(f"'{target}' is not gym:TASK[?levels=0-2&size=N&seed=S].")
    try:
        size = size if size is not None else int(options.get("size", 20))
        seed = seed if seed is not None else int(options.get("seed", 0))
    except ValueError:
        raise HardforgeError(f"size and seed in '{target}' must be integers.") from None
    if size <= 0:
        raise HardforgeError(f"--size must be positive, got {size}.")
    text = levels if levels is not None else options.get("levels", "0")
    if text.strip() == "auto":
        return GymRequest(spec, (), size, seed, auto=True)
    return GymRequest(spec, parse_levels(text), size, seed)


def import_reasoning_gym():
    """reasoning_gym, imported without the SyntaxWarnings one of its dependencies (cellpylib)
    prints when it is first compiled."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        import reasoning_gym
        import reasoning_gym.factory
    return reasoning_gym


def _curriculum(task: str):
    reasoning_gym = import_reasoning_gym()
    from reasoning_gym.factory import create_curriculum

    if task not in reasoning_gym.factory.DATASETS:
        known = ", ".join(sorted(reasoning_gym.factory.DATASETS)[:8])
        raise HardforgeError(f"reasoning-gym has no task '{task}' (for example: {known}, ...).")
    refused = refusal(task)
    if refused is not None:
        raise HardforgeError(f"{refused[0].upper()}{refused[1:]}")
    try:
        return create_curriculum(task)
    except Exception:
        raise HardforgeError(f"reasoning-gym's task '{task}' has no curriculum, so it has no levels.") from None


def max_level(curriculum) -> int:
    """The highest global level every attribute of the curriculum has."""
    return min(len(attribute.levels) for attribute in curriculum.attributes.values()) - 1


def gym_rows(request: GymRequest) -> Iterator[RawRow]:
    reasoning_gym = import_reasoning_gym()
    curriculum = _curriculum(request.task)
    top = max_level(curriculum)
    if request.levels[-1] > top:
        raise HardforgeError(
            f"gym task '{request.task}' has levels 0-{top}; level {request.levels[-1]} does not exist."
        )
    number = 0
    for level in request.levels:
        curriculum.set_global_level(level)
        seed = request.seed * 1000 + level  # levels overlap in range: their own seeds avoid repeats
        config = dataclasses.asdict(curriculum.generate_configuration({"size": request.size, "seed": seed}))
        dataset = reasoning_gym.create_dataset(request.task, **config)
        for index in range(request.size):
            entry = dataset[index]
            number += 1
            metadata = json.loads(json.dumps(entry.get("metadata", {}), default=str))
            record = {
                "statement": entry["question"],
                "answer": str(entry["answer"]),
                "domain": "math",
                "verifier": "gym",
                "task": request.task,
                "id": f"{request.task}/L{level}/s{request.seed}/{index}",
                "__extra__": {
                    "gym": {
                        "task": request.task,
                        "level": level,
                        "seed": request.seed,
                        "index": index,
                        "config": config,
                        "metadata": metadata,
                    }
                },
            }
            yield number, record, json.dumps({"task": request.task, "level": level, "index": index})
