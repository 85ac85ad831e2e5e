"""Reward functions for TRL: plain callables that take the shard columns as keyword arguments and
grade through the rollout service, exactly as difficulty was measured (the source's extraction
mode, the verifier registry: math-verify in worker processes, gym scorers, the code sandbox)."""

from __future__ import annotations

import json
from typing import Any

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from verifiers import VerifierSet


def _text(completion: Any) -> str:
    if isinstance(completion, list):  # conversational: a list of messages
        return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant") or "".join(
            m.get("content", "") for m in completion)
    return str(completion)


def shard_problem(answer: str, statement: str, verifier: str, info: dict[str, Any]) -> dict[str, Any]:
    """A shard row as the problem the rollout service grades (its own extra from ``extra_info``)."""
    extra = {**info, **json.loads(info.get("extra") or "{}")}
    return {"answer": answer, "statement": statement, "verifier": verifier, "extra": extra, "source": info.get("source") or ""}


class VerifierReward:
    """1.0 for a correct completion, else 0.0. Records the ``position`` of every row it sees,
    which is how a test proves the order TRL trained in."""

    __name__ = "verifier_reward"

    def __init__(self, config: HardforgeConfig) -> None:
        self.verifiers = VerifierSet(config)
        self.grader = RolloutService(None, self.verifiers, config.rollouts, policy_id="")
        self.positions: list[int] = []

    def __call__(self, completions: list[Any], answer: list[str], verifier: list[str], statement: list[str],
                 extra_info: list[dict], position: list[int], **_: Any) -> list[float]:
        self.positions.extend(position)
        problems = [shard_problem(a, s, v, i) for a, s, v, i in zip(answer, statement, verifier, extra_info, strict=True)]
        grades = self.grader.grade(problems, [[_text(c)] for c in completions])
        return [float(group[0].correct) for group in grades]  # 1/0: no partial credit to game

    def close(self) -> None:
        self.verifiers.close()
