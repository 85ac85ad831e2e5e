"""The shared synthesis runner: batching, proposing, parsing, validation through the method,
``synth_attempts`` rows for every candidate, accepted problems with lineage and ``method_meta``,
their solving rollouts and difficulty, resume after a kill, and the run report. The same for every
method; a method only says what is particular to it (``synth.base.Synthesizer``)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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


def run_method(method: Synthesizer, warehouse: Warehouse, service: RolloutService, *, limit: int | None = None,
               submit: Callable[[list[Prompt]], Any] | None = None, in_flight: int = 1,
               progress: Callable[[int, int], None] | None = None) -> SynthReport:
    """Synthesize from up to ``limit`` unused seeds; each batch of seeds is one transaction, so a
    killed run resumes with the seeds it had not finished.

    A batch is three steps: its prompts (here: they may read the warehouse, as AZR's buffers),
    proposing and validating (``propose``: the engine and the verifiers, no warehouse), and the
    decision and its rows (here again). With ``submit`` the middle step runs elsewhere (a Ray
    task whose future has ``result()``), ``in_flight`` batches at a time; batches are recorded in
    seed order, and a batch's prompts are built when it is sent, so they see the rows of the
    batches recorded before it."""
    report = SynthReport(method.name)
    start = time.monotonic()
    seeds = method.seeds(warehouse, service.policy_id)
    used = used_seed_keys(warehouse, method.name)
    report.already_done = sum(s.key in used for s in seeds)
    seeds = [s for s in seeds if s.key not in used][:limit]
    report.seeds = len(seeds)
    batches = [seeds[i : i + method.batch_seeds] for i in range(0, len(seeds), method.batch_seeds)]
    done = 0

    def finish(batch: list[Seed], proposed: Proposed) -> None:
        nonlocal done
        _finish(method, warehouse, service, proposed, report)
        done += len(batch)
        if progress:
            progress(done, len(seeds))

    if progress:
        progress(0, len(seeds))
    if submit is None:
        for batch in batches:
            finish(batch, propose(method, service, batch_prompts(method, batch)))
    else:
        waiting: deque[tuple[list[Seed], Any]] = deque()
        for batch in batches:
            if len(waiting) >= max(1, in_flight):
                sent, future = waiting.popleft()
                finish(sent, future.result())
            waiting.append((batch, submit(batch_prompts(method, batch))))
        while waiting:
            sent, future = waiting.popleft()
            finish(sent, future.result())
    report.elapsed_s = time.monotonic() - start
    return report


Prompt = tuple[Seed, Chat]


def batch_prompts(method: Synthesizer, batch: list[Seed]) -> list[Prompt]:
    return [(seed, chat) for seed in batch for chat in method.prompts(seed)]


@dataclass
class Proposed:
    """What ``propose`` returns: attempts that ended before validation (prompt too long,
    unparsable), the validated candidates with their decisions, and the batch's counters."""

    ended: list[SynthAttempt] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    prompts_over_length: int = 0
    proposals: int = 0


def propose(method: Synthesizer, service: RolloutService, prompts: list[Prompt]) -> Proposed:
    """Generate, parse and validate one batch: engine and verifiers only, so a worker with no
    warehouse can run it."""
    out = Proposed()
    limit = method.max_prompt_tokens()
    kept: list[Prompt] = []
    for seed, chat in prompts:
        if limit is not None and service.engine.count_tokens(chat) > limit:
            out.prompts_over_length += 1
            out.ended.append(_attempt(method, service, seed, -1 - len(out.ended), prompt=chat[-1]["content"],
                                      accepted=False, reason=f"synthesis prompt too long: over {limit} tokens"))
            continue
        kept.append((seed, chat))
    if not kept:
        return out
    groups = service.engine.generate([chat for _, chat in kept], method.sampling())
    counters: dict[str, int] = {}
    for (seed, chat), group in zip(kept, groups, strict=True):
        for completion in group:
            index = counters.get(seed.key, 0)
            counters[seed.key] = index + 1
            out.proposals += 1
            candidate = method.parse(seed, index, chat[-1]["content"], completion.text)
            if candidate.problem is None:
                out.ended.append(_attempt(method, service, seed, index, prompt=candidate.prompt, output=candidate.output,
                                          accepted=False, reason=candidate.reason, meta=candidate.meta))
                continue
            out.candidates.append(candidate)
    out.decisions = method.validate(service, out.candidates) if out.candidates else []
    return out


def _finish(method: Synthesizer, warehouse: Warehouse, service: RolloutService, proposed: Proposed, report: SynthReport) -> None:
    report.prompts_over_length += proposed.prompts_over_length
    report.candidates += proposed.proposals
    report.extractable += len(proposed.candidates)
    outcomes, validated = _decide(method, warehouse, service, proposed)
    _record(method, warehouse, outcomes, validated, report)


def _attempt(method: Synthesizer, service: RolloutService, seed: Seed, index: int, **fields: Any) -> SynthAttempt:
    meta = {"seed_key": seed.key, "candidate": index, **fields.pop("meta", {})}
    return SynthAttempt(
        attempt_id=content_key(method.name, seed.key, str(index)), run_id=service.run_id, method=method.name,
        parent_id=seed.parent_id, meta=meta, created_at=now(), **fields,
    )


Outcome = tuple[SynthAttempt, Problem | None, Decision | None]
Validated = tuple[Candidate, Decision, SynthAttempt]


def _decide(method: Synthesizer, warehouse: Warehouse, service: RolloutService,
            proposed: Proposed) -> tuple[list[Outcome], list[Validated]]:
    """Accept the validated candidates that are new (not in the warehouse, not earlier in the batch)."""
    outcomes: list[Outcome] = [(attempt, None, None) for attempt in proposed.ended]
    validated: list[Validated] = []
    candidates, decisions = proposed.candidates, proposed.decisions
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


__all__ = ["run_method", "used_seed_keys", "batch_prompts", "propose", "Proposed"]
