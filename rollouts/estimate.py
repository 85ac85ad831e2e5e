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

import pyarrow as pa

from engines.base import Engine
from rollouts.passk import pass_at_ks
from schemas.config import HardforgeConfig, RolloutConfig
from schemas.engine import SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key
from schemas.prompts import problem_chat, sampling_key
from schemas.records import Difficulty, Rollout
from verifiers import REGISTRY, Grade, GradeItem, Verifier, get_verifier
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


PROBLEM_COLUMNS = "problem_id, domain, statement, answer, verifier, source, extra"


def select_problems(
    warehouse: Warehouse, where: str | None, limit: int | None
) -> list[dict[str, Any]]:
    """The candidate set, in a stable order (by id), so that a rerun picks the same problems."""
    sql = f"SELECT {PROBLEM_COLUMNS} FROM problems"
    if where:
        sql += f" WHERE ({where})"
    sql += " ORDER BY problem_id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return _rows(warehouse, sql)


def _rows(warehouse: Warehouse, sql: str, params: dict[str, Any] | None = None,
          tables: dict[str, pa.Table] | None = None) -> list[dict[str, Any]]:
    try:
        with warehouse.read() as con:
            for name, table in (tables or {}).items():
                con.register(name, table)
            rows = con.sql(sql, params=params).to_arrow_table().to_pylist()
    except HardforgeError:
        raise
    except Exception as exc:
        raise HardforgeError(f"bad --where filter: {str(exc).splitlines()[0]}") from None
    for row in rows:
        row["extra"] = json.loads(row["extra"]) if row["extra"] else None
    return rows


# The nightly's order: problems this policy has not been measured on under the current sampling
# key come first (synthesized before seeds, newest first, and sources interleaved so that every
# source gets its share of the limit), then the stalest measurements, to be measured again.
NIGHTLY_SQL = """
WITH candidates AS (
    SELECT p.problem_id, p.domain, p.statement, p.answer, p.verifier, p.source, p.extra, p.parent_id,
           p.created_at, d.estimated_at,
           row_number() OVER (PARTITION BY p.source, d.estimated_at IS NULL
                              ORDER BY p.created_at DESC, p.problem_id) AS source_rank
    FROM (SELECT * FROM problems WHERE {where}) p
    JOIN current_keys k USING (source, domain, verifier)
    LEFT JOIN difficulty d
      ON d.problem_id = p.problem_id AND d.policy_id = $policy AND d.sampling_key = k.sampling_key
    QUALIFY estimated_at IS NOT NULL
        OR source_rank <= coalesce((SELECT cap FROM source_caps c WHERE c.source = p.source), {no_cap})
)
SELECT problem_id, domain, statement, answer, verifier, source, extra, estimated_at IS NOT NULL AS remeasure
FROM candidates
ORDER BY estimated_at IS NOT NULL,
         CASE WHEN estimated_at IS NULL THEN parent_id IS NULL END,
         CASE WHEN estimated_at IS NULL THEN source_rank END,
         estimated_at, source, problem_id
LIMIT {limit}
"""


def nightly_selection(
    warehouse: Warehouse, config: RolloutConfig, policy_id: str, where: str | None, limit: int | None,
    per_source_limit: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` problems in the nightly's order (see NIGHTLY_SQL); ``remeasure`` marks
    the ones measured before, which get another round of samples pooled with the old ones."""
    from warehouse.queries import sampling_key_table

    keys = sampling_key_table(warehouse, config)
    no_cap = 2**62
    sql = NIGHTLY_SQL.format(where=f"({where})" if where else "TRUE", limit=int(limit) if limit is not None else no_cap,
                             no_cap=no_cap)
    caps = per_source_limit or {}
    tables = {"current_keys": keys, "source_caps": pa.table({"source": pa.array(list(caps), pa.string()),
                                                            "cap": pa.array(list(caps.values()), pa.int64())})}
    return _rows(warehouse, sql, {"policy": policy_id}, tables)


@dataclass
class SelectionPlan:
    """What one estimate run measures, recorded in its ``runs`` row so that a killed run's
    selection is finished by the next run instead of being replaced by a new one."""

    problems: list[dict[str, Any]]
    since: dt.datetime | None  # measurements from here on count as this selection's work
    request: str
    resumed_from: str | None = None

    def as_record(self) -> dict[str, Any]:
        return {"request": self.request, "since": self.since.isoformat() if self.since else None,
                "selection": [p["problem_id"] for p in self.problems]}


def plan_selection(
    warehouse: Warehouse, config: RolloutConfig, policy_id: str, where: str | None, limit: int | None,
    *, remeasure: bool = False, per_source_limit: dict[str, int] | None = None,
) -> SelectionPlan:
    """The problems an estimate run measures: the stable by-id selection, or with ``remeasure``
    the nightly's order (NIGHTLY_SQL), resuming the selection of an interrupted run with the same
    request if there is one."""
    request = content_key("estimate", policy_id, where or "", str(limit), str(remeasure), config.model_dump_json(),
                          json.dumps(per_source_limit or {}, sort_keys=True))
    if not remeasure:
        return SelectionPlan(select_problems(warehouse, where, limit), None, request)
    pending = warehouse.arrow(
        "SELECT run_id, counts FROM runs WHERE flow = 'estimate' AND status = 'running' "
        "AND json_extract_string(counts, '$.request') = ? ORDER BY started_at DESC LIMIT 1", [request]
    ).to_pylist()
    if pending:
        counts = json.loads(pending[0]["counts"])
        ids = counts["selection"]
        rows = {r["problem_id"]: r for r in _rows(
            warehouse, f"SELECT {PROBLEM_COLUMNS} FROM problems WHERE list_contains($ids, problem_id)", {"ids": ids})}
        problems = [{**rows[i], "remeasure": True} for i in ids if i in rows]
        with warehouse.write() as con:
            con.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = ?", [pending[0]["run_id"]])
        return SelectionPlan(problems, dt.datetime.fromisoformat(counts["since"]), request, pending[0]["run_id"])
    since = dt.datetime.now(dt.UTC)
    return SelectionPlan(nightly_selection(warehouse, config, policy_id, where, limit, per_source_limit), since, request)


def measured(warehouse: Warehouse, policy_id: str, keys: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(problem_id, sampling_key) -> its difficulty row, for this policy and these keys."""
    if not keys:
        return {}
    rows = warehouse.arrow(
        "SELECT problem_id, sampling_key, n, c, estimated_at FROM difficulty "
        "WHERE policy_id = ? AND list_contains(?, sampling_key)", [policy_id, sorted(keys)]
    ).to_pylist()
    return {(r["problem_id"], r["sampling_key"]): r for r in rows}


def difficulty_row(problem_id: str, policy_id: str, key: str, correct: list[bool], ks: list[int], now: dt.datetime) -> Difficulty:
    return difficulty_from_counts(problem_id, policy_id, key, len(correct), sum(correct), ks, now)


def difficulty_from_counts(problem_id: str, policy_id: str, key: str, n: int, c: int, ks: list[int], now: dt.datetime) -> Difficulty:
    return Difficulty(
        problem_id=problem_id, policy_id=policy_id, sampling_key=key, n=n, c=c,
        pass_at_1=c / n, pass_at_k=pass_at_ks(n, c, ks), estimated_at=now,
    )


def batch_params(batch: list[dict[str, Any]], config: RolloutConfig, max_tokens: int, round_: int = 0) -> SamplingParams:
    """Sampling params of one batch; the seed depends on the batch's problems and the
    measurement round, not on timing."""
    seed = config.seed + round_ + int(content_key(*[p["problem_id"] for p in batch])[:8], 16) % 1_000_000
    return SamplingParams(
        n=config.n, temperature=config.temperature, top_p=config.top_p, max_tokens=max_tokens, seed=seed,
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
    since: dt.datetime | None = None,
) -> EstimateSummary:
    """Measure ``problems``. One already measured under its current sampling key is skipped,
    unless it is marked ``remeasure`` and was last measured before ``since`` (the start of the
    selection): then it gets another round of n samples, pooled with the earlier ones."""
    run_id = run_id or uuid.uuid4().hex
    summary = EstimateSummary(policy_id, "", selected=len(problems))
    keyed = [(p, sampling_key(config, p)) for p in problems]
    summary.sampling_key = ",".join(sorted({key for _, key in keyed}))
    before = measured(warehouse, policy_id, {key for _, key in keyed})
    # batched by token budget only: problems of every source with the same budget share a generate call
    todo: dict[int, list[tuple[dict[str, Any], str, dict[str, Any] | None]]] = {}
    for problem, key in keyed:
        previous = before.get((problem["problem_id"], key))
        fresh = previous is not None and since is not None and previous["estimated_at"] >= since
        if previous is not None and (fresh or not problem.get("remeasure")):
            summary.already_done += 1
        elif problem["verifier"] not in REGISTRY:
            reason = f"no '{problem['verifier']}' verifier"
            summary.skipped[reason] = summary.skipped.get(reason, 0) + 1
        else:
            todo.setdefault(config.for_source(problem.get("source") or "").max_tokens, []).append((problem, key, previous))
    total = sum(len(items) for items in todo.values())
    own = verifiers is None
    verifiers = verifiers if verifiers is not None else {}
    start = time.monotonic()
    try:
        for max_tokens, items in sorted(todo.items()):
            for offset in range(0, len(items), config.batch_problems):
                batch = items[offset : offset + config.batch_problems]
                _estimate_batch(warehouse, engine, policy_id, batch, config, max_tokens, run_id, verifiers,
                                verifier_config, summary)
                summary.elapsed_s = time.monotonic() - start
                if progress:
                    progress(Progress(summary.estimated, total, summary.completion_tokens, summary.elapsed_s))
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
    batch: list[tuple[dict[str, Any], str, dict[str, Any] | None]],
    config: RolloutConfig,
    max_tokens: int,
    run_id: str,
    verifiers: dict[str, Verifier],
    verifier_config: HardforgeConfig | None,
    summary: EstimateSummary,
) -> None:
    problems = [problem for problem, _, _ in batch]
    # a re-measurement is a new round: its samples continue the numbering and get their own seed
    offsets = [previous["n"] if previous else 0 for _, _, previous in batch]
    params = batch_params(problems, config, max_tokens, round_=max(offsets) // config.n)
    t0 = time.perf_counter()
    groups = engine.generate([problem_chat(p, config) for p in problems], params)
    t1 = time.perf_counter()
    summary.generate_s += t1 - t0
    modes = [config.for_source(p.get("source") or "").extraction for p in problems]
    grades = grade_groups(problems, [[c.text for c in g] for g in groups], modes, verifiers, verifier_config)
    t2 = time.perf_counter()
    summary.grade_s += t2 - t1
    now = dt.datetime.now(dt.UTC)
    rollouts, difficulties = [], []
    for (problem, key, previous), offset, mode, completions, graded in zip(batch, offsets, modes, groups, grades, strict=True):
        for j, (completion, grade) in enumerate(zip(completions, graded, strict=True)):
            rollouts.append(
                Rollout(
                    rollout_id=content_key(problem["problem_id"], policy_id, key, str(offset + j)),
                    problem_id=problem["problem_id"], policy_id=policy_id, sampling_key=key,
                    sample_idx=offset + j, seed=params.seed, completion=completion.text,
                    extracted_answer=grade.extracted, correct=grade.correct, score=grade.score,
                    prompt_tokens=completion.prompt_tokens,
                    completion_tokens=completion.completion_tokens,
                    finish_reason=completion.finish_reason, detail=grade.detail, extraction=mode,
                    run_id=run_id, created_at=now,
                )
            )
            summary.completion_tokens += completion.completion_tokens
        correct = [g.correct for g in graded]
        n = len(correct) + (previous["n"] if previous else 0)
        c = sum(correct) + (previous["c"] if previous else 0)
        difficulties.append(difficulty_from_counts(problem["problem_id"], policy_id, key, n, c, config.k, now))
        summary.correct += sum(correct)
    with warehouse.write() as con:
        summary.rollouts += warehouse.insert("rollouts", records_to_arrow("rollouts", rollouts), con)
        warehouse.upsert("difficulty", records_to_arrow("difficulty", difficulties), con)
    summary.write_s += time.perf_counter() - t2
    summary.estimated += len(batch)


def grade_groups(
    problems: list[dict[str, Any]],
    completions: list[list[str]],
    modes: list[str],
    verifiers: dict[str, Verifier],
    verifier_config: HardforgeConfig | None,
) -> list[list[Grade]]:
    """Grade each problem's completions with its verifier (one call per verifier)."""
    positions: dict[str, list[tuple[int, int]]] = {}
    items: dict[str, list[GradeItem]] = {}
    for i, (problem, texts, mode) in enumerate(zip(problems, completions, modes, strict=True)):
        for j, text in enumerate(texts):
            positions.setdefault(problem["verifier"], []).append((i, j))
            items.setdefault(problem["verifier"], []).append(
                GradeItem(problem["answer"], text, problem["statement"], problem.get("extra"), mode)
            )
    out: list[list[Grade | None]] = [[None] * len(texts) for texts in completions]
    for name, where in positions.items():
        if name not in verifiers:
            verifiers[name] = get_verifier(name, verifier_config)
        for (i, j), grade in zip(where, verifiers[name].grade(items[name]), strict=True):
            out[i][j] = grade
    return out  # type: ignore[return-value]


__all__ = ["estimate", "select_problems", "nightly_selection", "plan_selection", "EstimateSummary", "Progress"]
