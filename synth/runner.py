"""The shared synthesis runner: batching, proposing (a sampling seed per batch), parsing, early
rejection of duplicates, validation through the method, ``synth_attempts`` rows for every
candidate, accepted problems with lineage, ``method_meta`` and label provenance, their acceptance
sample under its own sampling key, resume after a kill, and the run report. The same for every
method; a method only says what is particular to it (``synth.base.Synthesizer``)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from rollouts.service import Measured, RolloutService
from schemas.keys import content_key
from schemas.prompts import acceptance_key
from schemas.records import Problem, SynthAttempt
from synth.base import (
    Candidate,
    Decision,
    Seed,
    Synthesizer,
    SynthReport,
    now,
    problem_key,
    reason_kind,
    statement_key,
)
from synth.batches import (  # noqa: F401  (re-exported: the runner's API is the batch's too)
    DUPLICATE_BEFORE,
    IN_WAREHOUSE,
    Batch,
    Proposed,
    attempt_row,
    batch_prompts,
    group_of,
    judge,
    proposal_seed,
    propose,
    settle,
    training_fields,
)
from warehouse.db import Warehouse, records_to_arrow


def used_seed_keys(warehouse: Warehouse, method: str) -> set[str]:
    rows = warehouse.arrow(
        "SELECT DISTINCT coalesce(json_extract_string(meta, '$.seed_key'), json_extract_string(meta, '$.seed_rollout_id')) "
        "AS seed FROM synth_attempts WHERE method = ?",
        [method],
    )
    return set(rows.column("seed").to_pylist())


def known_keys(warehouse: Warehouse, method: str) -> set[str]:
    """The dedup keys of everything this method proposed before (accepted or not): a repeat is
    rejected before it costs solver rollouts."""
    rows = warehouse.arrow(
        "SELECT json_extract_string(meta, '$.dedup_key') AS key, candidate FROM synth_attempts "
        "WHERE method = ? AND (candidate IS NOT NULL OR json_extract_string(meta, '$.dedup_key') IS NOT NULL)",
        [method],
    ).to_pylist()
    # keys stored by an older dedup rule still count, and so does the statement's key under this one
    return {r["key"] for r in rows if r["key"]} | {
        statement_key("math", r["candidate"]) for r in rows if r["candidate"]
    }


def run_method(
    method: Synthesizer,
    warehouse: Warehouse,
    service: RolloutService,
    *,
    limit: int | None = None,
    submit: Callable[[Batch], Any] | None = None,
    in_flight: int = 1,
    progress: Callable[[int, int | None], None] | None = None,
) -> SynthReport:
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
    used = used_seed_keys(warehouse, method.name)
    known = known_keys(warehouse, method.name)
    seeds, total = _unused(method.seeds(warehouse, service.policy_id), used, limit, report)
    batches = _chunks(seeds, method.batch_seeds)
    done = 0

    def finish(batch: list[Seed], proposed: Proposed) -> None:
        nonlocal done
        recorded = _finish(method, warehouse, service, proposed, report, known)
        known.update(a.meta["dedup_key"] for a in recorded if a.meta and a.meta.get("dedup_key"))
        done += len(batch)
        report.seeds = done
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    if submit is None:
        for batch in batches:
            finish(batch, propose(method, service, Batch(batch_prompts(method, warehouse, batch), frozenset(known))))
    else:
        waiting: deque[tuple[list[Seed], Any]] = deque()
        for batch in batches:
            if len(waiting) >= max(1, in_flight):
                sent, future = waiting.popleft()
                finish(sent, future.result())
            waiting.append((batch, submit(Batch(batch_prompts(method, warehouse, batch), frozenset(known)))))
        while waiting:
            sent, future = waiting.popleft()
            finish(sent, future.result())
    report.elapsed_s = time.monotonic() - start
    return report


def _unused(
    seeds: Iterable[Seed], used: set[str], limit: int | None, report: SynthReport
) -> tuple[Iterator[Seed], int | None]:
    """The seeds not used yet, at most ``limit``, lazily; and how many that is when it is known
    (a list of seeds), else ``limit``."""
    if isinstance(seeds, Sequence):
        report.already_done = sum(s.key in used for s in seeds)
        fresh = [s for s in seeds if s.key not in used][:limit]
        return iter(fresh), len(fresh)

    def skip() -> Iterator[Seed]:
        for seed in seeds:
            if seed.key in used:
                report.already_done += 1
                continue
            yield seed

    return itertools.islice(skip(), limit), limit


def _chunks(seeds: Iterator[Seed], size: int) -> Iterator[list[Seed]]:
    while batch := list(itertools.islice(seeds, size)):
        yield batch


def _finish(
    method: Synthesizer,
    warehouse: Warehouse,
    service: RolloutService,
    proposed: Proposed,
    report: SynthReport,
    known: set[str],
) -> list[SynthAttempt]:
    report.prompts_over_length += proposed.prompts_over_length
    report.candidates += proposed.proposals
    report.extractable += sum(c.meta.get("dedup_key") not in known for c in proposed.candidates)
    outcomes, validated = _decide(method, warehouse, service, proposed, known)
    _record(method, warehouse, outcomes, validated, report)
    return [attempt for attempt, _, _ in outcomes]


Outcome = tuple[SynthAttempt, Problem | None, Decision | None]
Validated = tuple[Candidate, Decision, SynthAttempt]


def _decide(
    method: Synthesizer, warehouse: Warehouse, service: RolloutService, proposed: Proposed, recorded: set[str]
) -> tuple[list[Outcome], list[Validated]]:
    """Accept the validated candidates whose label is trusted enough (``synth.min_label_provenance``)
    and that are new (not in the warehouse, not earlier in the batch). A candidate proposed
    before, by a batch recorded while this one was away (batches in flight), is recorded as the
    duplicate it would have been found to be before solving, so both paths write the same rows."""
    outcomes: list[Outcome] = [(attempt, None, None) for attempt in proposed.ended]
    validated: list[Validated] = []
    pairs = list(zip(proposed.candidates, proposed.decisions, strict=True))
    for candidate, _ in pairs:
        if candidate.meta.get("dedup_key") in recorded:
            outcomes.append(
                (
                    attempt_row(
                        method,
                        service,
                        candidate.seed,
                        candidate.index,
                        prompt=candidate.prompt,
                        output=candidate.output,
                        accepted=False,
                        reason=DUPLICATE_BEFORE,
                        meta=candidate.meta,
                        **training_fields(candidate, method.invalid_reward),
                    ),
                    None,
                    None,
                )
            )
    pairs = [(c, d) for c, d in pairs if c.meta.get("dedup_key") not in recorded]
    candidates, decisions = [c for c, _ in pairs], [d for _, d in pairs]
    ids = [problem_key(c.problem) for c in candidates]
    known = existing_problems(warehouse, ids)
    taken: dict[str, int] = {}  # problem id -> the candidate of this batch that yielded it first
    stamp = now()
    for candidate, decision, pid in zip(candidates, decisions, ids, strict=True):
        accepted, reason, reward = settle(method, decision, repeat_of(pid, known, taken))
        attempt = attempt_row(
            method,
            service,
            candidate.seed,
            candidate.index,
            prompt=candidate.prompt,
            output=candidate.output,
            candidate=candidate.problem["statement"],
            candidate_answer=candidate.problem["answer"],
            accepted=accepted,
            reason=reason,
            problem_id=pid if accepted else None,
            meta={
                **candidate.meta,
                **decision.meta,
                "label_provenance": decision.provenance,
                **({"label_checks": decision.checks} if decision.checks else {}),
            },
            **training_fields(candidate, reward),
        )
        validated.append((candidate, decision, attempt))
        if not accepted:
            outcomes.append((attempt, None, None))
            continue
        taken[pid] = candidate.index
        problem = Problem(
            problem_id=pid,
            domain=candidate.problem["domain"],
            statement=candidate.problem["statement"],
            answer=candidate.problem["answer"],
            verifier=candidate.problem["verifier"],
            task=candidate.problem.get("task"),
            source=candidate.problem.get("source", method.name),
            source_ref=attempt.attempt_id,
            parent_id=candidate.seed.parent_id,
            extra=candidate.problem.get("extra"),
            method_meta={**decision.meta, **method.lineage(candidate), "policy_id": service.policy_id},
            created_run=service.run_id,
            created_at=stamp,
            label_provenance=decision.provenance,
            label_checks=decision.checks,
        )
        outcomes.append((attempt, problem, decision))
    return outcomes, validated


def repeat_of(pid: str, known: set[str], taken: dict[str, int]) -> str | None:
    """Why problem ``pid`` is a repeat (already stored, or taken earlier in the batch), or None."""
    if pid in known:
        return IN_WAREHOUSE
    if pid in taken:
        return f"duplicate: the same problem as candidate {taken[pid]} of this batch"
    return None


def existing_problems(warehouse: Warehouse, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = warehouse.arrow("SELECT problem_id FROM problems WHERE list_contains(?, problem_id)", [ids])
    return set(rows.column("problem_id").to_pylist())


def _record(
    method: Synthesizer, warehouse: Warehouse, outcomes: list[Outcome], validated: list[Validated], report: SynthReport
) -> None:
    """One batch's attempts, problems, rollouts and difficulty rows in one transaction. An accepted
    problem's acceptance sample is stored under its own sampling key (``acceptance_key``): a sample
    kept because it passed the acceptance rule is a biased difficulty estimate, so the problem is
    measured afresh, like any other, under the current key."""
    for attempt, problem, _ in outcomes:
        if attempt.accepted:
            report.accepted += 1
            report.by_provenance[problem.label_provenance if problem else "?"] += 1
        elif attempt.reason:
            report.reasons[reason_kind(attempt.reason)] += 1
    accepted = [(p, d) for _, p, d in outcomes if p is not None]
    measured = [as_acceptance(d.measured) for _, d in accepted if d is not None and d.measured is not None]
    with warehouse.write() as con:
        warehouse.insert("synth_attempts", records_to_arrow("synth_attempts", [a for a, _, _ in outcomes]), con)
        warehouse.insert("problems", records_to_arrow("problems", [p for p, _ in accepted]), con)
        warehouse.insert("rollouts", records_to_arrow("rollouts", [r for m in measured for r in m.rollouts]), con)
        warehouse.insert("difficulty", records_to_arrow("difficulty", [m.difficulty for m in measured]), con)
        method.keep(warehouse, con, validated)


def as_acceptance(measured: Measured) -> Measured:
    """The same rollouts and counts under the acceptance key (and ids that follow it)."""
    key = acceptance_key(measured.key)
    rollouts = [
        r.model_copy(
            update={"sampling_key": key, "rollout_id": content_key(r.problem_id, r.policy_id, key, str(r.sample_idx))}
        )
        for r in measured.rollouts
    ]
    difficulty = measured.difficulty.model_copy(update={"sampling_key": key})
    return dataclasses.replace(measured, key=key, rollouts=rollouts, difficulty=difficulty)


__all__ = [
    "run_method",
    "used_seed_keys",
    "known_keys",
    "batch_prompts",
    "propose",
    "judge",
    "settle",
    "existing_problems",
    "repeat_of",
    "Proposed",
    "Batch",
    "acceptance_key",
]
