"""The one rollout service: sample the policy n times per problem, grade through the verifier
registry, and build the rollout and difficulty rows. Difficulty estimation, every synthesis
method's solver and the trainer's reward all go through it, so a problem is put to the policy and
graded the same way everywhere (prompt, token budget and extraction per source, grader version
in the sampling key)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from engines.base import Engine
from rollouts.passk import pass_at_ks
from schemas.config import RolloutConfig
from schemas.engine import Completion, SamplingParams
from schemas.keys import content_key
from schemas.prompts import problem_chat, sampling_key
from schemas.records import Difficulty, Rollout
from verifiers import Grade, GradeItem, VerifierSet, grade_isolated


@dataclass
class Measured:
    """One problem put to the policy: its completions, their grades, and the rows to store."""

    problem: dict[str, Any]
    key: str
    completions: list[Completion]
    grades: list[Grade]
    rollouts: list[Rollout]
    difficulty: Difficulty

    @property
    def correct(self) -> int:
        return sum(g.correct for g in self.grades)


def difficulty_from_counts(problem_id: str, policy_id: str, key: str, n: int, c: int, ks: list[int], now: dt.datetime) -> Difficulty:
    return Difficulty(
        problem_id=problem_id, policy_id=policy_id, sampling_key=key, n=n, c=c,
        pass_at_1=c / n, pass_at_k=pass_at_ks(n, c, ks), estimated_at=now,
    )


def batch_params(batch: list[dict[str, Any]], config: RolloutConfig, max_tokens: int, round_: int = 0) -> SamplingParams:
    """Sampling params of one batch; the seed depends on the batch's problems and the
    measurement round, not on timing."""
    seed = config.seed + round_ + int(content_key(*[p["problem_id"] for p in batch])[:8], 16) % 1_000_000
    return SamplingParams(n=config.n, temperature=config.temperature, top_p=config.top_p, max_tokens=max_tokens, seed=seed)


class RolloutService:
    """Puts problems to one policy. ``engine`` may be None for a grading-only use (rewards)."""

    def __init__(self, engine: Engine | None, verifiers: VerifierSet, config: RolloutConfig, policy_id: str,
                 run_id: str | None = None) -> None:
        self.engine, self.verifiers, self.config = engine, verifiers, config
        self.policy_id, self.run_id = policy_id, run_id
        self.timings = {"generate_s": 0.0, "grade_s": 0.0}  # where measure() spent its time

    def with_config(self, config: RolloutConfig) -> RolloutService:
        """The same engine, verifiers and policy under another rollout config (e.g. n = G)."""
        return RolloutService(self.engine, self.verifiers, config, self.policy_id, self.run_id)

    def key(self, problem: dict[str, Any]) -> str:
        return sampling_key(self.config, problem)

    def budget(self, problem: dict[str, Any]) -> int:
        return self.config.for_source(problem.get("source") or "").max_tokens

    def extraction(self, problem: dict[str, Any]) -> str:
        return self.config.for_source(problem.get("source") or "").extraction

    def grade(self, problems: list[dict[str, Any]], texts: list[list[str]]) -> list[list[Grade]]:
        """Grade each problem's completions with its verifier, one call per verifier."""
        positions: dict[str, list[tuple[int, int]]] = {}
        items: dict[str, list[GradeItem]] = {}
        for i, (problem, group) in enumerate(zip(problems, texts, strict=True)):
            mode = self.extraction(problem)
            for j, text in enumerate(group):
                positions.setdefault(problem["verifier"], []).append((i, j))
                items.setdefault(problem["verifier"], []).append(
                    GradeItem(problem["answer"], text, problem["statement"], problem.get("extra"), mode)
                )
        out: list[list[Grade | None]] = [[None] * len(group) for group in texts]
        for name, where in positions.items():
            for (i, j), grade in zip(where, grade_isolated(self.verifiers.get(name), items[name]), strict=True):
                out[i][j] = grade
        return out  # type: ignore[return-value]

    def sample(self, problems: list[dict[str, Any]], previous: list[dict[str, Any] | None] | None = None
               ) -> tuple[list[list[Completion]], list[int]]:
        """n completions per problem, one generate call per token budget; returns them and the
        seed each problem's batch was sampled with."""
        assert self.engine is not None, "sampling needs an engine"
        previous = previous or [None] * len(problems)
        by_budget: dict[int, list[int]] = {}
        for i, problem in enumerate(problems):
            by_budget.setdefault(self.budget(problem), []).append(i)
        completions: list[list[Completion]] = [[] for _ in problems]
        seeds = [0] * len(problems)
        for budget, indices in sorted(by_budget.items()):
            batch = [problems[i] for i in indices]
            offsets = [previous[i]["n"] if previous[i] else 0 for i in indices]
            params = batch_params(batch, self.config, budget, round_=max(offsets) // self.config.n)
            t0 = time.perf_counter()
            groups = self.engine.generate([problem_chat(p, self.config) for p in batch], params)
            self.timings["generate_s"] += time.perf_counter() - t0
            for i, group in zip(indices, groups, strict=True):
                completions[i], seeds[i] = group, params.seed
        return completions, seeds

    def measure(self, problems: list[dict[str, Any]], previous: list[dict[str, Any] | None] | None = None) -> list[Measured]:
        """Sample, grade and build the rows. ``previous`` (a difficulty row or None per problem)
        makes this another round for that problem: the sample numbering continues and the
        figures are pooled."""
        previous = previous or [None] * len(problems)
        completions, seeds = self.sample(problems, previous)
        t0 = time.perf_counter()
        grades = self.grade(problems, [[c.text for c in group] for group in completions])
        self.timings["grade_s"] += time.perf_counter() - t0
        return [self.rows(p, group, graded, previous=prev, seed=seed)
                for p, group, graded, prev, seed in zip(problems, completions, grades, previous, seeds, strict=True)]

    def rows(self, problem: dict[str, Any], completions: list[Completion], grades: list[Grade], *,
             previous: dict[str, Any] | None = None, seed: int | None = None) -> Measured:
        """The rollout and difficulty rows of one problem's graded completions."""
        key, mode, now = self.key(problem), self.extraction(problem), dt.datetime.now(dt.UTC)
        offset = previous["n"] if previous else 0
        rollouts = [
            Rollout(
                rollout_id=content_key(problem["problem_id"], self.policy_id, key, str(offset + j)),
                problem_id=problem["problem_id"], policy_id=self.policy_id, sampling_key=key,
                sample_idx=offset + j, seed=seed, completion=completion.text,
                extracted_answer=grade.extracted, correct=grade.correct, score=grade.score,
                prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
                finish_reason=completion.finish_reason, detail=grade.detail, extraction=mode,
                run_id=self.run_id, created_at=now,
            )
            for j, (completion, grade) in enumerate(zip(completions, grades, strict=True))
        ]
        n = len(grades) + (previous["n"] if previous else 0)
        c = sum(g.correct for g in grades) + (previous["c"] if previous else 0)
        difficulty = difficulty_from_counts(problem["problem_id"], self.policy_id, key, n, c, self.config.k, now)
        return Measured(problem, key, completions, grades, rollouts, difficulty)


__all__ = ["RolloutService", "Measured", "difficulty_from_counts", "batch_params"]
