"""Reward functions for TRL: plain callables that take the shard columns as keyword arguments and
grade through the rollout service, exactly as difficulty was measured (the source's extraction
mode, the verifier registry: math-verify in worker processes, gym scorers, the code sandbox)."""

from __future__ import annotations

import json
from typing import Any

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from synth.proposer import ROLE, ProposerJudge
from verifiers import VerifierSet


def _text(completion: Any) -> str:
    if isinstance(completion, list):  # conversational: a list of messages
        return "".join(m.get("content", "") for m in completion if m.get("role") == "assistant") or "".join(
            m.get("content", "") for m in completion
        )
    return str(completion)


def shard_problem(answer: str, statement: str, verifier: str, info: dict[str, Any]) -> dict[str, Any]:
    """A shard row as the problem the rollout service grades (its own extra from ``extra_info``)."""
    extra = {**info, **json.loads(info.get("extra") or "{}")}
    return {
        "answer": answer,
        "statement": statement,
        "verifier": verifier,
        "extra": extra,
        "source": info.get("source") or "",
    }


class VerifierReward:
    """The solver's reward: 1.0 for a correct completion, else 0.0; None for another role's row
    (TRL then leaves this function out of that row's reward). Records the ``position`` of every
    solver row it sees, which is how a test proves the order TRL trained in."""

    __name__ = "verifier_reward"

    def __init__(self, config: HardforgeConfig, verifiers: VerifierSet | None = None) -> None:
        self.verifiers = verifiers or VerifierSet(config)
        self.grader = RolloutService(None, self.verifiers, config.rollouts, policy_id="")
        self.positions: list[int] = []

    def __call__(
        self,
        completions: list[Any],
        answer: list[str],
        verifier: list[str],
        statement: list[str],
        extra_info: list[dict],
        position: list[int],
        role: list[str] | None = None,
        **_: Any,
    ) -> list[float | None]:
        mine = [i for i in range(len(completions)) if role is None or role[i] == "solver"]
        self.positions.extend(position[i] for i in mine)
        problems = [shard_problem(answer[i], statement[i], verifier[i], extra_info[i]) for i in mine]
        grades = self.grader.grade(problems, [[_text(completions[i])] for i in mine]) if mine else []
        rewards: list[float | None] = [None] * len(completions)
        for i, group in zip(mine, grades, strict=True):
            rewards[i] = float(group[0].correct)  # 1/0: no partial credit to game
        return rewards

    def close(self) -> None:
        self.verifiers.close()


class ProposerReward:
    """The proposer's reward: each proposal judged by its method with the live policy as solver
    (``synth.proposer.ProposerJudge``); None for a solver row."""

    __name__ = "proposer_reward"

    def __init__(self, judge: ProposerJudge) -> None:
        self.judge = judge

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        role: list[str],
        method: list[str | None],
        seed: list[str | None],
        group: list[str | None],
        **_: Any,
    ) -> list[float | None]:
        mine = [i for i in range(len(completions)) if role[i] == ROLE]
        rows = [{"prompt": prompts[i], "method": method[i], "seed": seed[i], "group": group[i]} for i in mine]
        scores = self.judge.rewards(rows, [_text(completions[i]) for i in mine]) if mine else []
        rewards: list[float | None] = [None] * len(completions)
        for i, score in zip(mine, scores, strict=True):
            rewards[i] = score
        return rewards
