"""One batch of seeds through a method: its prompts, the proposals (``propose``, the part a Ray
worker can run), their validation (``judge``) and the acceptance rule (``settle``), with the
attempt rows they make. ``synth.runner`` drives batches and records them."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from engines import GENERATED
from rollouts.service import RolloutService
from schemas.engine import Chat
from schemas.keys import content_key
from schemas.provenance import at_least
from schemas.records import SynthAttempt
from synth import rewards
from synth.base import (
    OUT_OF_BAND,
    Candidate,
    Decision,
    Seed,
    Synthesizer,
    now,
)
from warehouse.db import Warehouse

Prompt = tuple[Seed, Chat]
DUPLICATE_BEFORE = "duplicate: proposed before (not solved again)"
IN_WAREHOUSE = "duplicate: the problem is already in the warehouse"


@dataclass(frozen=True)
class Batch:
    """What ``propose`` needs from the flow: the batch's prompts and the dedup keys of everything
    proposed before (so a repeat is rejected before it is solved)."""

    prompts: list[Prompt]
    known: frozenset[str] = frozenset()


def batch_prompts(method: Synthesizer, warehouse: Warehouse, batch: list[Seed]) -> list[Prompt]:
    return [(seed, chat) for seed in batch for chat in method.prompts(seed, warehouse)]


def proposal_seed(base: int, seeds: list[Seed]) -> int:
    """The proposer's sampling seed for one batch: from its seed keys, so no two batches sample
    alike (a fixed seed made every batch repeat the first, token for token)."""
    return base + int(content_key("proposal", *[s.key for s in seeds])[:8], 16) % 1_000_000


@dataclass
class Proposed:
    """What ``propose`` returns: attempts that ended before validation (prompt too long, no
    worked solution, unparsable, a gate, a duplicate), the validated candidates with their
    decisions, and the batch's counters."""

    ended: list[SynthAttempt] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    prompts_over_length: int = 0
    proposals: int = 0
    # where each judged completion ended, in input order: ("ended", i) or ("candidate", i)
    order: list[tuple[str, int]] = field(default_factory=list)
    tokens: int = 0  # generated for the batch, by the engines of the process that proposed it


def propose(method: Synthesizer, service: RolloutService, batch: Batch) -> Proposed:
    """Generate, parse and validate one batch: engine and verifiers only, so a worker with no
    warehouse can run it. ``tokens``: what this process's engines generated for it."""
    spent_before = GENERATED["tokens"]
    out = _propose(method, service, batch)
    out.tokens = GENERATED["tokens"] - spent_before
    return out


def _propose(method: Synthesizer, service: RolloutService, batch: Batch) -> Proposed:
    out = Proposed()
    limit = method.max_prompt_tokens()
    kept: list[Prompt] = []
    for seed, chat in batch.prompts:
        if limit is not None and service.engine.count_tokens(chat) > limit:
            out.prompts_over_length += 1
            out.ended.append(
                attempt_row(
                    method,
                    service,
                    seed,
                    -1 - len(out.ended),
                    prompt=chat[-1]["content"],
                    accepted=False,
                    reason=f"synthesis prompt too long: over {limit} tokens",
                    chat={"messages": chat},
                    group_id=group_of(method, seed, chat),
                )
            )
            continue
        kept.append((seed, chat))
    kept, dropped = method.prepare(service, kept) if kept else (kept, [])
    for seed, reason in dropped:
        out.ended.append(attempt_row(method, service, seed, -1 - len(out.ended), accepted=False, reason=reason))
    if not kept:
        return out
    params = method.sampling()
    params = dataclasses.replace(params, seed=proposal_seed(params.seed, [seed for seed, _ in kept]))
    groups = service.engine.generate([chat for _, chat in kept], params)
    return judge(
        method,
        service,
        kept,
        [[c.text for c in group] for group in groups],
        dataclasses.asdict(params),
        batch.known,
        out,
    )


def judge(
    method: Synthesizer,
    service: RolloutService,
    prompts: list[Prompt],
    outputs: list[list[str]],
    sampling: dict[str, Any],
    known: frozenset[str] | set[str],
    out: Proposed | None = None,
) -> Proposed:
    """Parse, deduplicate and validate the proposals of each prompt (``outputs[i]`` are the
    completions of ``prompts[i]``, one GRPO group). The runner's path after generating, and the
    proposer trainer's reward: one judgement whoever generated the text. ``out.order`` says where
    each completion, in input order, ended."""
    out = out or Proposed()
    counters: dict[str, int] = {}
    seen: dict[str, int] = {}  # dedup key -> the candidate of this batch that had it first
    for (seed, chat), group in zip(prompts, outputs, strict=True):
        group_id = group_of(method, seed, chat)
        for text in group:
            index = counters.get(seed.key, 0)
            counters[seed.key] = index + 1
            out.proposals += 1
            candidate = method.parse(seed, index, chat[-1]["content"], text)
            candidate.chat, candidate.group_id, candidate.sampling = chat, group_id, sampling
            if candidate.problem is not None:
                key = method.dedup_key(candidate)
                candidate.meta["dedup_key"] = key
                if key in known:
                    candidate.reason, candidate.problem = DUPLICATE_BEFORE, None
                elif key in seen:
                    candidate.reason, candidate.problem = (
                        f"duplicate: the same proposal as candidate {seen[key]} of this batch",
                        None,
                    )
                else:
                    seen[key] = index
            if candidate.problem is None:
                out.order.append(("ended", len(out.ended)))
                out.ended.append(
                    attempt_row(
                        method,
                        service,
                        seed,
                        index,
                        prompt=candidate.prompt,
                        output=candidate.output,
                        accepted=False,
                        reason=candidate.reason,
                        meta=candidate.meta,
                        **training_fields(candidate, rewards.ended(candidate.reason)),
                    )
                )
                continue
            out.order.append(("candidate", len(out.candidates)))
            out.candidates.append(candidate)
    out.decisions = method.validate(service, out.candidates) if out.candidates else []
    return out


def settle(
    method: Synthesizer, decision: Decision, duplicate: str | None = None
) -> tuple[bool, str | None, float | None]:
    """Whether a validated candidate is accepted, why not, and its proposer reward (``synth.rewards``'s
    ladder): the method's decision, unless its label is less trusted than
    ``synth.min_label_provenance`` or the problem is a ``duplicate`` (the reason, when it is). A
    label nothing checked, or a repeat, is never paid the method's reward. The same rule for the
    nightly's rows and the proposer trainer's reward."""
    accepted, reason = decision.accepted, decision.reason
    minimum = method.config.synth.min_label_provenance
    trusted = at_least(decision.provenance, minimum)
    if accepted and not trusted:
        accepted = False
        reason = (
            f"unverified label: its provenance is {decision.provenance} and synth.min_label_provenance is {minimum}"
        )
    if duplicate:  # a repeat is rejected in or out of band: copying an easy problem pays no more (red team)
        return False, duplicate, rewards.REJECTED
    # the reward's "verified" is a checked label whatever the curriculum accepts: a user who lowers
    # synth.min_label_provenance to keep voted problems must not pay a vote above a checked problem
    verified = at_least(decision.provenance, "checked")
    if accepted and not verified:
        return accepted, reason, rewards.UNVERIFIED
    reward = rewards.decided(accepted, reason, verified, decision.meta.get("reward"))
    if not accepted and decision.out_of_band and verified and trusted and method.config.synth.keep_out_of_band:
        # a verified problem outside the band tonight: kept for a fresh measurement, paid as its band says
        return True, f"{OUT_OF_BAND}: {reason}", reward
    return accepted, reason, reward


def attempt_row(method: Synthesizer, service: RolloutService, seed: Seed, index: int, **fields: Any) -> SynthAttempt:
    # a seed measured under an ancestor policy (the first night after training) says whose
    inherited = {"seeded_from_policy": seed.data["seeded_from_policy"]} if "seeded_from_policy" in seed.data else {}
    meta = {"seed_key": seed.key, "candidate": index, **inherited, **fields.pop("meta", {})}
    return SynthAttempt(
        attempt_id=content_key(method.name, seed.key, str(index)),
        run_id=service.run_id,
        method=method.name,
        parent_id=seed.parent_id,
        meta=meta,
        created_at=now(),
        policy_id=service.policy_id,
        **fields,
    )


def group_of(method: Synthesizer, seed: Seed, chat: Chat) -> str:
    """The GRPO group of a proposal: the prompt it shares with its siblings."""
    return content_key("group", method.name, seed.key, json.dumps(chat, sort_keys=True))


def training_fields(candidate: Candidate, reward: float | None) -> dict[str, Any]:
    """The columns that make an attempt proposer training data."""
    return {
        "chat": {"messages": candidate.chat} if candidate.chat else None,
        "sampling": candidate.sampling,
        "group_id": candidate.group_id,
        "reward": reward,
    }


__all__ = [
    "Batch",
    "Proposed",
    "batch_prompts",
    "proposal_seed",
    "propose",
    "judge",
    "settle",
    "attempt_row",
    "group_of",
    "training_fields",
    "DUPLICATE_BEFORE",
    "IN_WAREHOUSE",
]
