"""The scorer audit's battery: replies that are wrong for any problem, tried on every graded
reasoning-gym task at several levels, through the gym verifier's own scoring path. A task whose
scorer passes one of them at 1.0 is refused or re-scored (``schemas/gym_tasks.py``,
docs/gym-scorer-audit.md).

What is surely wrong, whatever the task: a NaN or an infinity, an empty or null value, a JSON
answer with its numbers quoted (or its strings unquoted), every number of the gold 0.9 % off or an
integer off by one, a rounded gold (at most 6 significant digits, the task's stated precision)
off by one unit in its last place, a zero slipped into its fraction, and a quantity in another unit
(or none). The gold followed by text that does not parse is not in it either: scorers that read
the leading answer and ignore the rest are not paying a different answer. A quoted or bracketed copy of the gold is not in the battery:
it is the gold, spelled with quotes.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

_UNITS = ("seconds", "minutes", "hours", "days", "weeks", "months", "years")
_UNIT = re.compile(r"\b(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b")
EMPTY = ("nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-Infinity", "1e999", "None", "null", "[]", "{}", "''", '""')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _scaled(gold: str, factor: float) -> str:
    def one(match: re.Match[str]) -> str:
        text = match.group()
        if re.fullmatch(r"-?\d+", text):
            return str(int(text) + (1 if factor > 1 else -1))
        return repr(float(text) * factor)

    return _NUMBER.sub(one, gold)


def _last_place(gold: str) -> str | None:
    """The gold's last digit moved by one, when it is a rounded number (a stated precision)."""
    try:
        value = Decimal(gold.strip())
    except InvalidOperation:
        return None
    digits = value.as_tuple()
    if not value.is_finite() or not isinstance(digits.exponent, int) or len(digits.digits) > 6:
        return None
    return str(value + Decimal(1).scaleb(digits.exponent))


def json_coerced(gold: str) -> list[str]:
    try:
        value = json.loads(gold)
    except (ValueError, RecursionError):
        return []
    if not isinstance(value, dict | list):
        return []

    def quoted(x: Any) -> Any:
        if isinstance(x, bool) or x is None:
            return x
        if isinstance(x, int | float):
            return str(x)
        if isinstance(x, list):
            return [quoted(i) for i in x]
        if isinstance(x, dict):
            return {k: quoted(i) for k, i in x.items()}
        return int(x) if isinstance(x, str) and x.isdigit() else x

    coerced = json.dumps(quoted(value))
    return [coerced] if coerced != json.dumps(value) else []


def wrong_replies(gold: str) -> list[str]:
    """Replies that cannot be right for a problem whose answer is ``gold``."""
    found = [r for r in EMPTY if r.lower() not in gold.lower()]
    if _NUMBER.search(gold):
        found += [_scaled(gold, 1.009), _scaled(gold, 0.991)]
    last = _last_place(gold)
    found += [last] if last else []
    found += json_coerced(gold)
    unit = _UNIT.search(gold)
    if unit:  # the same number in another unit (or none)
        found += [_UNIT.sub(other, gold, count=1) for other in _UNITS if other != unit.group(1)]
        found.append(_UNIT.sub("", gold, count=1).strip())
    fraction = re.search(r"\.(\d*[1-9]\d*)", gold)
    if fraction:  # a digit slipped into the fraction: "29.840" -> "29.0840"
        found.append(gold.replace(fraction.group(0), "." + "0" + fraction.group(1), 1))
    return [r for r in dict.fromkeys(found) if r.strip() != gold.strip()]


@dataclass(frozen=True)
class Finding:
    task: str
    level: int | None
    gold: str
    reply: str
    score: float


def entries(task: str, levels: int, per_level: int, seed: int = 7) -> Iterator[tuple[int | None, dict[str, Any]]]:
    """(level, problem) for up to ``levels`` levels of the task's curriculum (lowest, next,
    highest), ``per_level`` problems each."""
    from ingest.gym import import_reasoning_gym, max_level

    reasoning_gym = import_reasoning_gym()
    from reasoning_gym.factory import create_curriculum

    try:
        curriculum = create_curriculum(task)
        top = max_level(curriculum)
        chosen = sorted({0, min(1, top), top})[:levels]
    except Exception:  # a task without a curriculum has one configuration
        curriculum, chosen = None, [None]
    for level in chosen:
        if curriculum is None:
            config = {"size": per_level, "seed": seed}
        else:
            curriculum.set_global_level(level)
            config = dataclasses.asdict(curriculum.generate_configuration({"size": per_level, "seed": seed}))
        try:
            dataset = reasoning_gym.create_dataset(task, **config)
            found = [dataset[i] for i in range(per_level)]
        except Exception:  # some configurations of reasoning-gym's curricula do not generate
            continue
        for entry in found:
            metadata = json.loads(json.dumps(entry.get("metadata", {}), default=str))
            yield (
                level,
                {"question": entry["question"], "answer": str(entry["answer"]), "config": config, "metadata": metadata},
            )


def sweep(tasks: list[str], levels: int = 3, per_level: int = 2) -> list[Finding]:
    """Every wrong reply that the gym verifier's scoring passes, over ``tasks``."""
    from verifiers.gym import gym_score

    findings = []
    for task in tasks:
        for level, entry in entries(task, levels, per_level):
            gym = {"task": task, "config": entry["config"], "metadata": entry["metadata"]}
            for reply in wrong_replies(entry["answer"]):
                try:
                    score = gym_score(reply, entry["answer"], entry["question"], gym)
                except Exception:
                    continue  # a scorer error grades as not passing
                if score == 1.0:
                    findings.append(Finding(task, level, entry["answer"][:60], reply[:60], score))
    return findings
