"""The proposer role as training data, for TRL (``trainer.grpo``) and verl (``hardforge export
proposer``).

A row is one proposer prompt, built by the method's own prompt builder from a fresh seed: the
chat, the method, the seed (as JSON, so a verl worker can rebuild it) and the GRPO group (the
prompt its G completions share). Its reward is the method's judgement of each completion, with the
solver a rollout service puts the proposals to: ``synth.runner.judge`` (parse, gates, dedup,
validate with the label checks) settled by ``synth.runner.settle``, the very rule that writes the
nightly's ``synth_attempts.reward``. So the proposer is optimised for exactly what the foundry
keeps, and a label no check confirmed earns the invalid-proposal value, never the reward.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rollouts.service import RolloutService
from schemas.engine import Chat
from schemas.errors import HardforgeError
from synth.base import Seed, Synthesizer, problem_key, reason_kind
from synth.batches import Prompt, group_of, judge, settle
from synth.runner import existing_problems, known_keys, repeat_of, used_seed_keys
from warehouse.db import Warehouse

ROLE = "proposer"


def trainable(method: Synthesizer) -> None:
    """One sentence when the method cannot be trained as a proposer here."""
    if not method.remote:
        raise HardforgeError(
            f"{method.name} cannot be trained as a proposer: its validation reads the warehouse at every step "
            "(a reward worker has none); train it through the nightly's recorded attempts instead."
        )


def seed_json(seed: Seed) -> str:
    """The seed as JSON. Values JSON has no type for (a timestamp in a warehouse row) become
    strings: no method reads them back."""
    return json.dumps({"key": seed.key, "parent_id": seed.parent_id, "data": seed.data}, sort_keys=True, default=str)


def seed_from_json(text: str) -> Seed:
    record = json.loads(text)
    return Seed(record["key"], record.get("parent_id"), record.get("data") or {})


def fresh_prompts(method: Synthesizer, warehouse: Warehouse, service: RolloutService, count: int) -> Iterator[Prompt]:
    """Up to ``count`` proposer prompts from seeds the nightly has not used, in the method's seed
    order, through its ``prepare`` (SvS writes a worked solution for a seed that has none)."""
    used = used_seed_keys(warehouse, method.name)
    seeds = (s for s in method.seeds(warehouse, service.policy_id) if s.key not in used)
    made = 0
    while made < count and (batch := list(itertools.islice(seeds, method.batch_seeds))):
        prompts = [(seed, chat) for seed in batch for chat in method.prompts(seed, warehouse)]
        ready, _ = method.prepare(service, prompts)
        for prompt in ready[: count - made]:
            made += 1
            yield prompt


def proposer_rows(
    method: Synthesizer, warehouse: Warehouse, service: RolloutService, count: int
) -> list[dict[str, Any]]:
    """``count`` proposer rows of one method (fewer when its fresh seeds run out)."""
    trainable(method)
    return [row(method, seed, chat) for seed, chat in fresh_prompts(method, warehouse, service, count)]


def row(method: Synthesizer, seed: Seed, chat: Chat) -> dict[str, Any]:
    return {
        "prompt": chat,
        "role": ROLE,
        "method": method.name,
        "seed": seed_json(seed),
        "group": group_of(method, seed, chat),
    }


@dataclass
class ProposerStats:
    """What one reward call saw, per method: the figures ``bench/selfplay.py`` reports."""

    proposals: Counter[str] = field(default_factory=Counter)
    parsed: Counter[str] = field(default_factory=Counter)
    verified: Counter[str] = field(default_factory=Counter)  # accepted, with a label a check confirmed
    reward_sum: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            m: {
                "proposals": n,
                "parsed": self.parsed[m],
                "verified": self.verified[m],
                "reward_mean": round(self.reward_sum[m] / n, 4) if n else None,
            }
            for m, n in self.proposals.items()
        }


class ProposerJudge:
    """Rewards for proposer completions: each method judges its own, with ``service`` as the
    solver (the live policy while training; an OpenAI-compatible server for verl). With a
    warehouse, a proposal the nightly made before, or a problem already stored, is a duplicate."""

    def __init__(
        self, methods: dict[str, Synthesizer], service: RolloutService, warehouse: Warehouse | None = None
    ) -> None:
        self.methods, self.service, self.warehouse = methods, service, warehouse
        self.known = {name: known_keys(warehouse, name) if warehouse else set() for name in methods}
        self.calls: list[ProposerStats] = []

    def rewards(self, rows: list[dict[str, Any]], completions: list[str]) -> list[float]:
        """One reward per completion; ``rows[i]`` is the proposer row ``completions[i]`` answers.
        Consecutive completions of the same group are judged together, as siblings."""
        stats = ProposerStats()
        rewards: list[float] = [0.0] * len(rows)
        by_method: dict[str, list[tuple[Prompt, list[int]]]] = {}
        for position, r in enumerate(rows):
            groups = by_method.setdefault(r["method"], [])
            if groups and groups[-1][1][-1] == position - 1 and rows[position - 1]["group"] == r["group"]:
                groups[-1][1].append(position)
            else:
                groups.append(((seed_from_json(r["seed"]), r["prompt"]), [position]))
        for name, groups in by_method.items():
            method = self._method(name)
            outputs = [[completions[p] for p in positions] for _, positions in groups]
            proposed = judge(method, self.service, [prompt for prompt, _ in groups], outputs, {}, self.known[name])
            # what this call proposed is known to the next, as the nightly's runner does between
            # batches: a proposal repeated at a later step is not paid again
            self.known[name].update(
                k
                for k in (
                    *(c.meta.get("dedup_key") for c in proposed.candidates),
                    *(a.meta.get("dedup_key") for a in proposed.ended if a.meta),
                )
                if k
            )
            existing = (
                existing_problems(self.warehouse, [problem_key(c.problem) for c in proposed.candidates])
                if self.warehouse
                else set()
            )
            positions = [p for _, ps in groups for p in ps]
            taken: dict[str, int] = {}
            for position, (kind, i) in zip(positions, proposed.order, strict=True):
                stats.proposals[name] += 1
                if kind == "ended":
                    attempt = proposed.ended[i]
                    reward, reason, accepted = attempt.reward, attempt.reason or "", False
                else:
                    candidate, decision = proposed.candidates[i], proposed.decisions[i]
                    pid = problem_key(candidate.problem)
                    accepted, reason, reward = settle(method, decision, repeat_of(pid, existing, taken))
                    if accepted:
                        taken.setdefault(pid, candidate.index)
                    reason = reason or ""
                if reward is None:
                    raise HardforgeError(f"{name} gave no proposer reward for a proposal ({reason or 'accepted'}).")
                rewards[position] = float(reward)
                stats.reward_sum[name] += float(reward)
                stats.parsed[name] += not reason_kind(reason).endswith("unparsable")
                stats.verified[name] += accepted
                if reason:
                    stats.reasons[f"{name}: {reason_kind(reason)}"] += 1
        self.calls.append(stats)
        return rewards

    def _method(self, name: str) -> Synthesizer:
        if name not in self.methods:
            raise HardforgeError(f"a proposer row names method '{name}', which this reward was not built for.")
        return self.methods[name]


__all__ = [
    "ROLE",
    "ProposerJudge",
    "ProposerStats",
    "fresh_prompts",
    "proposer_rows",
    "row",
    "seed_from_json",
    "seed_json",
    "trainable",
]
