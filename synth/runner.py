"""The shared synthesis runner: batching, proposing, parsing, validation through the method,
``synth_attempts`` rows for every candidate, accepted problems with lineage and ``method_meta``,
their solving rollouts and difficulty, resume after a kill, and the run report. The same for every
method; a method only says what is particular to it (``synth.base.Synthesizer``)."""

from __future__ import annotations

import time
from typing import Any

from rollouts.service import RolloutService
from schemas.engine import Chat
from schemas.keys import content_key, problem_id
from schemas.records import Problem, SynthAttempt
from synth.base import Candidate, Decision, Seed, Synthesizer, SynthReport, now, reason_kind
from warehouse.db import Warehouse, records_to_arrow


def used_seed_keys(warehouse: Warehouse, method: str) -> set[str]:
    rows = warehouse.arrow(
        "SELECT DISTINCT coalesce(json_extract_string(meta, '$.seed_key'), json_extract_string(meta, '$.seed_rollout_id')) "
        "AS seed FROM synth_attempts WHERE method = ?", [method]
    )
    return set(rows.column("seed").to_pylist())


def run_method(method: Synthesizer, warehouse: Warehouse, service: RolloutService, *, limit: int | None = None) -> SynthReport:
    """Synthesize from up to ``limit`` unused seeds; each batch of seeds is one transaction, so a
    killed run resumes with the seeds it had not finished."""
    report = SynthReport(method.name)
    start = time.monotonic()
    seeds = method.seeds(warehouse, service.policy_id)
    used = used_seed_keys(warehouse, method.name)
    report.already_done = sum(s.key in used for s in seeds)
    seeds = [s for s in seeds if s.key not in used][:limit]
    report.seeds = len(seeds)
    for offset in range(0, len(seeds), method.batch_seeds):
        batch = seeds[offset : offset + method.batch_seeds]
        outcomes, validated = _run_batch(method, warehouse, service, batch, report)
        _record(method, warehouse, outcomes, validated, report)
    report.elapsed_s = time.monotonic() - start
    return report


def _attempt(method: Synthesizer, service: RolloutService, seed: Seed, index: int, **fields: Any) -> SynthAttempt:
    meta = {"seed_key": seed.key, "candidate": index, **fields.pop("meta", {})}
    return SynthAttempt(
        attempt_id=content_key(method.name, seed.key, str(index)), run_id=service.run_id, method=method.name,
        parent_id=seed.parent_id, meta=meta, created_at=now(), **fields,
    )


Outcome = tuple[SynthAttempt, Problem | None, Decision | None]
Validated = tuple[Candidate, Decision, SynthAttempt]


def _run_batch(method: Synthesizer, warehouse: Warehouse, service: RolloutService, batch: list[Seed],
               report: SynthReport) -> tuple[list[Outcome], list[Validated]]:
    outcomes: list[Outcome] = []
    validated: list[Validated] = []
    limit = method.max_prompt_tokens()
    prompts: list[Chat] = []
    owners: list[Seed] = []
    for seed in batch:
        for chat in method.prompts(seed):
            if limit is not None and service.engine.count_tokens(chat) > limit:
                report.prompts_over_length += 1
                outcomes.append((_attempt(method, service, seed, -1 - len(outcomes), prompt=chat[-1]["content"],
                                          accepted=False, reason=f"synthesis prompt too long: over {limit} tokens"), None, None))
                continue
            prompts.append(chat)
            owners.append(seed)
    if not prompts:
        return outcomes, validated
    groups = service.engine.generate(prompts, method.sampling())
    candidates: list[Candidate] = []
    counters: dict[str, int] = {}
    for seed, chat, group in zip(owners, prompts, groups, strict=True):
        for completion in group:
            index = counters.get(seed.key, 0)
            counters[seed.key] = index + 1
            report.candidates += 1
            candidate = method.parse(seed, index, chat[-1]["content"], completion.text)
            if candidate.problem is None:
                outcomes.append((_attempt(method, service, seed, index, prompt=candidate.prompt, output=candidate.output,
                                          accepted=False, reason=candidate.reason, meta=candidate.meta), None, None))
                continue
            report.extractable += 1
            candidates.append(candidate)
    decisions = method.validate(service, candidates) if candidates else []
    ids = [problem_id(c.problem["domain"], c.problem["statement"], c.problem["answer"]) for c in candidates]
    known = _existing(warehouse, ids)
    taken: dict[str, int] = {}  # problem id -> the candidate of this batch that yielded it first
    stamp = now()
    for candidate, decision, pid in zip(candidates, decisions, ids, strict=True):
        accepted, reason = decision.accepted, decision.reason
        if accepted and pid in known:
            accepted, reason = False, "duplicate: the problem is already in the warehouse"
        elif accepted and pid in taken:
            accepted, reason = False, f"duplicate: the same problem as candidate {taken[pid]} of this batch"
        attempt = _attempt(
            method, service, candidate.seed, candidate.index, prompt=candidate.prompt, output=candidate.output,
            candidate=candidate.problem["statement"], candidate_answer=candidate.problem["answer"], accepted=accepted,
            reason=reason, problem_id=pid if accepted else None, meta={**candidate.meta, **decision.meta},
        )
        validated.append((candidate, decision, attempt))
        if not accepted:
            outcomes.append((attempt, None, None))
            continue
        taken[pid] = candidate.index
        problem = Problem(
            problem_id=pid, domain=candidate.problem["domain"], statement=candidate.problem["statement"],
            answer=candidate.problem["answer"], verifier=candidate.problem["verifier"], task=candidate.problem.get("task"),
            source=candidate.problem.get("source", method.name), source_ref=attempt.attempt_id, parent_id=candidate.seed.parent_id,
            extra=candidate.problem.get("extra"),
            method_meta={**decision.meta, **method.lineage(candidate), "policy_id": service.policy_id},
            created_run=service.run_id, created_at=stamp,
        )
        outcomes.append((attempt, problem, decision))
    return outcomes, validated


def _existing(warehouse: Warehouse, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = warehouse.arrow("SELECT problem_id FROM problems WHERE list_contains(?, problem_id)", [ids])
    return set(rows.column("problem_id").to_pylist())


def _record(method: Synthesizer, warehouse: Warehouse, outcomes: list[Outcome], validated: list[Validated],
            report: SynthReport) -> None:
    """One batch's attempts, problems, rollouts and difficulty rows in one transaction. The stored
    rollouts and difficulty of a problem are those of the candidate that was accepted."""
    for attempt, _, _ in outcomes:
        if attempt.accepted:
            report.accepted += 1
        elif attempt.reason:
            report.reasons[reason_kind(attempt.reason)] += 1
    accepted = [(p, d) for _, p, d in outcomes if p is not None]
    measured = [d.measured for _, d in accepted if d is not None and d.measured is not None]
    with warehouse.write() as con:
        warehouse.insert("synth_attempts", records_to_arrow("synth_attempts", [a for a, _, _ in outcomes]), con)
        warehouse.insert("problems", records_to_arrow("problems", [p for p, _ in accepted]), con)
        warehouse.insert("rollouts", records_to_arrow("rollouts", [r for m in measured for r in m.rollouts]), con)
        warehouse.insert("difficulty", records_to_arrow("difficulty", [m.difficulty for m in measured]), con)
        method.keep(warehouse, con, validated)


__all__ = ["run_method", "used_seed_keys"]
