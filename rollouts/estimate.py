"""Difficulty for the current policy: sample n completions per problem, grade, store every
rollout, and write ``difficulty`` rows with pass@k.

Each batch of problems is written in one transaction (its rollouts and its difficulty rows), and
problems that already have a difficulty row for (policy, sampling config) are skipped, so a killed
run resumes where it stopped and no rollout is stored twice.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engines.base import Engine
from rollouts.passk import pass_at_ks
from schemas.config import HardforgeConfig, RolloutConfig
from schemas.engine import SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key
from schemas.prompts import problem_chat, sampling_key
from schemas.records import Difficulty, Rollout
from verifiers import REGISTRY, GradeItem, Verifier, get_verifier
from warehouse.db import Warehouse, records_to_arrow


@dataclass
class Progress:
    problems_done: int
    problems_total: int
    completion_tokens: int
    elapsed_s: float

    @property
    def problems_per_s(self) -> float:
        return self.problems_done / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.problems_per_s
        return (self.problems_total - self.problems_done) / rate if rate else None


@dataclass
class EstimateSummary:
    policy_id: str
    sampling_key: str
    selected: int = 0
    already_done: int = 0
    estimated: int = 0
    rollouts: int = 0
    correct: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    generate_s: float = 0.0
    grade_s: float = 0.0
    write_s: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> problems

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def select_problems(
    warehouse: Warehouse, where: str | None, limit: int | None
) -> list[dict[str, Any]]:
    """The candidate set, in a stable order (by id), so that a rerun picks the same problems."""
    sql = "SELECT problem_id, domain, statement, answer, verifier, extra FROM problems"
    if where:
        sql += f" WHERE ({where})"
    sql += " ORDER BY problem_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    try:
        rows = warehouse.arrow(sql).to_pylist()
    except HardforgeError:
        raise
    except Exception as exc:
        raise HardforgeError(f"bad --where filter: {str(exc).splitlines()[0]}") from None
    for row in rows:
        row["extra"] = json.loads(row["extra"]) if row["extra"] else None
    return rows


def done_problem_ids(warehouse: Warehouse, policy_id: str, key: str) -> set[str]:
    rows = warehouse.arrow(
        "SELECT problem_id FROM difficulty WHERE policy_id = ? AND sampling_key = ?", [policy_id, key]
    )
    return set(rows.column("problem_id").to_pylist())


def difficulty_row(problem_id: str, policy_id: str, key: str, correct: list[bool], ks: list[int], now: dt.datetime) -> Difficulty:
    n, c = len(correct), sum(correct)
    return Difficulty(
        problem_id=problem_id, policy_id=policy_id, sampling_key=key, n=n, c=c,
        pass_at_1=c / n, pass_at_k=pass_at_ks(n, c, ks), estimated_at=now,
    )


def batch_params(batch: list[dict[str, Any]], config: RolloutConfig) -> SamplingParams:
    """Sampling params of one batch; the seed depends on the batch's problems, not on timing."""
    seed = config.seed + int(content_key(*[p["problem_id"] for p in batch])[:8], 16) % 1_000_000
    return SamplingParams(
        n=config.n, temperature=config.temperature, top_p=config.top_p,
        max_tokens=config.max_tokens, seed=seed,
    )


def estimate(
    warehouse: Warehouse,
    engine: Engine,
    policy_id: str,
    problems: list[dict[str, Any]],
    config: RolloutConfig,
    *,
    run_id: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    verifiers: dict[str, Verifier] | None = None,
    verifier_config: HardforgeConfig | None = None,
) -> EstimateSummary:
    key = sampling_key(config)
    run_id = run_id or uuid.uuid4().hex
    summary = EstimateSummary(policy_id, key, selected=len(problems))
    done = done_problem_ids(warehouse, policy_id, key)
    todo = []
    for problem in problems:
        if problem["problem_id"] in done:
            summary.already_done += 1
        elif problem["verifier"] not in REGISTRY:
            reason = f"no '{problem['verifier']}' verifier"
            summary.skipped[reason] = summary.skipped.get(reason, 0) + 1
        else:
            todo.append(problem)
    own = verifiers is None
    verifiers = verifiers if verifiers is not None else {}
    start = time.monotonic()
    try:
        for offset in range(0, len(todo), config.batch_problems):
            batch = todo[offset : offset + config.batch_problems]
            _estimate_batch(warehouse, engine, policy_id, key, batch, config, run_id, verifiers, verifier_config, summary)
            summary.elapsed_s = time.monotonic() - start
            if progress:
                progress(Progress(summary.estimated, len(todo), summary.completion_tokens, summary.elapsed_s))
    finally:
        if own:
            for verifier in verifiers.values():
                verifier.close()
    summary.elapsed_s = time.monotonic() - start
    return summary


def _estimate_batch(
    warehouse: Warehouse,
    engine: Engine,
    policy_id: str,
    key: str,
    batch: list[dict[str, Any]],
    config: RolloutConfig,
    run_id: str,
    verifiers: dict[str, Verifier],
    verifier_config: HardforgeConfig | None,
    summary: EstimateSummary,
) -> None:
    params = batch_params(batch, config)
    seed = params.seed
    t0 = time.perf_counter()
    groups = engine.generate([problem_chat(p, config) for p in batch], params)
    t1 = time.perf_counter()
    summary.generate_s += t1 - t0
    # grade per verifier, in one call each
    by_verifier: dict[str, list[tuple[int, int]]] = {}
    items: dict[str, list[GradeItem]] = {}
    for i, (problem, completions) in enumerate(zip(batch, groups, strict=True)):
        for j, completion in enumerate(completions):
            by_verifier.setdefault(problem["verifier"], []).append((i, j))
            items.setdefault(problem["verifier"], []).append(
                GradeItem(problem["answer"], completion.text, problem["statement"], problem["extra"])
            )
    grades: dict[tuple[int, int], Any] = {}
    for name, positions in by_verifier.items():
        if name not in verifiers:
            verifiers[name] = get_verifier(name, verifier_config)
        for position, grade in zip(positions, verifiers[name].grade(items[name]), strict=True):
            grades[position] = grade
    t2 = time.perf_counter()
    summary.grade_s += t2 - t1
    now = dt.datetime.now(dt.UTC)
    rollouts, difficulties = [], []
    for i, (problem, completions) in enumerate(zip(batch, groups, strict=True)):
        correct = []
        for j, completion in enumerate(completions):
            grade = grades[(i, j)]
            correct.append(grade.correct)
            rollouts.append(
                Rollout(
                    rollout_id=content_key(problem["problem_id"], policy_id, key, str(j)),
                    problem_id=problem["problem_id"], policy_id=policy_id, sampling_key=key,
                    sample_idx=j, seed=seed, completion=completion.text,
                    extracted_answer=grade.extracted, correct=grade.correct, score=grade.score,
                    prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens,
                    finish_reason=completion.finish_reason, detail=grade.detail,
                    run_id=run_id, created_at=now,
                )
            )
            summary.completion_tokens += completion.completion_tokens
        difficulties.append(difficulty_row(problem["problem_id"], policy_id, key, correct, config.k, now))
        summary.correct += sum(correct)
    with warehouse.write() as con:
        summary.rollouts += warehouse.insert("rollouts", records_to_arrow("rollouts", rollouts), con)
        warehouse.insert("difficulty", records_to_arrow("difficulty", difficulties), con)
    summary.write_s += time.perf_counter() - t2
    summary.estimated += len(batch)


__all__ = ["estimate", "select_problems", "EstimateSummary", "Progress"]
