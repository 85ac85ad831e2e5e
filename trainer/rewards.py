"""Reward functions for TRL: plain callables that take the shard columns as keyword arguments and
grade with the project's verifiers (math-verify in worker processes; code in the sandbox)."""

from __future__ import annotations

import json
from typing import Any

from schemas.config import HardforgeConfig
from verifiers import GradeItem, get_verifier


def _text(completion: Any) -> str:
    if isinstance(completion, list):  # conversational: a list of messages
        return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant") or "".join(
            m.get("content", "") for m in completion)
    return str(completion)


def _extra(info: dict[str, Any]) -> dict[str, Any]:
    """The shard's extra_info plus the problem's own extra (a gym task's config, ...)."""
    return {**info, **json.loads(info.get("extra") or "{}")}


class VerifierReward:
    """1.0 for a correct completion, else 0.0. Records the ``position`` of every row it sees,
    which is how a test proves the order TRL trained in."""

    __name__ = "verifier_reward"

    def __init__(self, config: HardforgeConfig) -> None:
        self.config = config
        self.verifiers: dict[str, Any] = {}
        self.positions: list[int] = []

    def __call__(self, completions: list[Any], answer: list[str], verifier: list[str], statement: list[str],
                 extra_info: list[dict], position: list[int], **_: Any) -> list[float]:
        self.positions.extend(position)
        rewards = [0.0] * len(completions)
        by_name: dict[str, list[int]] = {}
        for i, name in enumerate(verifier):
            by_name.setdefault(name, []).append(i)
        for name, rows in by_name.items():
            if name not in self.verifiers:
                self.verifiers[name] = get_verifier(name, self.config)
            items = [GradeItem(answer[i], _text(completions[i]), statement[i], _extra(extra_info[i]),
                               self.config.rollouts.for_source(extra_info[i].get("source") or "").extraction)
                     for i in rows]
            for i, grade in zip(rows, self.verifiers[name].grade(items), strict=True):
                rewards[i] = grade.score
        return rewards

    def close(self) -> None:
        for verifier in self.verifiers.values():
            verifier.close()
