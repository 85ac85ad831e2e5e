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
from rollouts.passk import pass_at_ks, pooled_rounds, screened_pass_at_ks
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


def difficulty_from_counts(
    problem_id: str,
    policy_id: str,
    key: str,
    n: int,
    c: int,
    ks: list[int],
    now: dt.datetime,
    pass_at_k: dict[int, float] | None = None,
    rounds: int | None = None,
) -> Difficulty:
    """A difficulty row; ``pass_at_k`` (with k = 1) when the estimate is not the plain fixed-n one."""
    estimates = pass_at_k if pass_at_k is not None else pass_at_ks(n, c, ks)
    return Difficulty(
        problem_id=problem_id,
        policy_id=policy_id,
        sampling_key=key,
        n=n,
        c=c,
        pass_at_1=estimates.get(1, c / n),
        pass_at_k=estimates,
        estimated_at=now,
        rounds=rounds,
    )


def batch_params(
    batch: list[dict[str, Any]],
    config: RolloutConfig,
    max_tokens: int,
    round_: int = 0,
    n: int | None = None,
    stage: str = "",
) -> SamplingParams:
    """Sampling params of one batch; the seed depends on the batch's problems, the measurement
    round and the stage of a screened round, not on timing."""
    seed = (
        config.seed
        + round_
        + int(content_key(*[p["problem_id"] for p in batch], *([stage] if stage else []))[:8], 16) % 1_000_000
    )
    return SamplingParams(
        n=n or config.n, temperature=config.temperature, top_p=config.top_p, max_tokens=max_tokens, seed=seed
    )


def rounds_of(previous: dict[str, Any] | None, config: RolloutConfig) -> int:
    """How many measurement rounds a difficulty row pools (rows from before rounds were recorded:
    each round took n samples)."""
    if previous is None:
        return 0
    return previous.get("rounds") or -(-previous["n"] // config.n)


def round_estimates(
    config: RolloutConfig, n_round: int, c_round: int, previous: dict[str, Any] | None
) -> dict[int, float] | None:
    """pass@k after a screened round (None: no screen, the plain pooled counts apply). Each round
    is the two-stage screen, unbiased through screened_pass_at_ks; rounds are pooled with equal
    weight. Only the k <= screen are estimated."""
    screen = config.screening()
    if screen is None:
        return None
    ks = sorted({1, *(k for k in config.k if k <= screen)})
    current = screened_pass_at_ks(screen, n_round, c_round, ks)
    if previous is None:
        return current
    earlier = {int(k): v for k, v in dict(previous.get("pass_at_k") or {}).items()} | {1: previous["pass_at_1"]}
    return pooled_rounds(earlier, rounds_of(previous, config), current)


class RolloutService:
    """Puts problems to one policy. ``engine`` may be None for a grading-only use (rewards).
    ``estimating``: difficulty estimation, the one use that screens (``rollouts.screen``); every
    other use (synthesis solvers, audits) takes n samples, and its sampling key says so."""

    def __init__(
        self,
        engine: Engine | None,
        verifiers: VerifierSet,
        config: RolloutConfig,
        policy_id: str,
        run_id: str | None = None,
        *,
        estimating: bool = False,
    ) -> None:
        self.engine, self.verifiers = engine, verifiers
        self.config = config if estimating else config.model_copy(update={"screen": None})
        self.policy_id, self.run_id, self.estimating = policy_id, run_id, estimating
        self.timings = {"generate_s": 0.0, "grade_s": 0.0}  # where measure() spent its time

    def with_config(self, config: RolloutConfig, *, estimating: bool = False) -> RolloutService:
        """The same engine, verifiers and policy under another rollout config (e.g. n = G)."""
        return RolloutService(self.engine, self.verifiers, config, self.policy_id, self.run_id, estimating=estimating)

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

    def sample(
        self,
        problems: list[dict[str, Any]],
        previous: list[dict[str, Any] | None] | None = None,
        counts: list[int] | None = None,
        stage: str = "",
    ) -> tuple[list[list[Completion]], list[int]]:
        """``counts[i]`` (default n) completions per problem, one generate call per token budget
        and count; returns them and the seed each problem's batch was sampled with."""
        assert self.engine is not None, "sampling needs an engine"
        previous = previous or [None] * len(problems)
        counts = counts or [self.config.n] * len(problems)
        groups_of: dict[tuple[int, int], list[int]] = {}
        for i, problem in enumerate(problems):
            groups_of.setdefault((self.budget(problem), counts[i]), []).append(i)
        completions: list[list[Completion]] = [[] for _ in problems]
        seeds = [0] * len(problems)
        for (budget, count), indices in sorted(groups_of.items()):
            batch = [problems[i] for i in indices]
            done = max(rounds_of(previous[i], self.config) for i in indices)  # another round, another seed
            params = batch_params(batch, self.config, budget, round_=done, n=count, stage=stage)
            t0 = time.perf_counter()
            groups = self.engine.generate([problem_chat(p, self.config) for p in batch], params)
            self.timings["generate_s"] += time.perf_counter() - t0
            for i, group in zip(indices, groups, strict=True):
                completions[i], seeds[i] = group, params.seed
        return completions, seeds

    def _graded(self, problems: list[dict[str, Any]], completions: list[list[Completion]]) -> list[list[Grade]]:
        t0 = time.perf_counter()
        grades = self.grade(problems, [[c.text for c in group] for group in completions])
        self.timings["grade_s"] += time.perf_counter() - t0
        return grades

    def measure(
        self, problems: list[dict[str, Any]], previous: list[dict[str, Any] | None] | None = None
    ) -> list[Measured]:
        """Sample, grade and build the rows. ``previous`` (a difficulty row or None per problem)
        makes this another round for that problem: the sample numbering continues and the
        figures are pooled. With a screen, a round samples ``screen`` and goes on to n only for a
        problem that was neither always wrong nor always right (adaptive n)."""
        previous = previous or [None] * len(problems)
        screen = self.config.screening()
        completions, seeds = self.sample(problems, previous, [screen or self.config.n] * len(problems))
        grades = self._graded(problems, completions)
        per_sample = [[seed] * len(group) for seed, group in zip(seeds, completions, strict=True)]
        go_on = [i for i, graded in enumerate(grades) if screen and 0 < sum(g.correct for g in graded) < screen]
        if go_on:
            more, more_seeds = self.sample(
                [problems[i] for i in go_on],
                [previous[i] for i in go_on],
                [self.config.n - screen] * len(go_on),
                stage="screened",
            )
            more_grades = self._graded([problems[i] for i in go_on], more)
            for i, group, graded, seed in zip(go_on, more, more_grades, more_seeds, strict=True):
                completions[i], grades[i] = completions[i] + group, grades[i] + graded
                per_sample[i] += [seed] * len(group)
        return [
            self.rows(p, group, graded, previous=prev, seed=seed)
            for p, group, graded, prev, seed in zip(problems, completions, grades, previous, per_sample, strict=True)
        ]

    def rows(
        self,
        problem: dict[str, Any],
        completions: list[Completion],
        grades: list[Grade],
        *,
        previous: dict[str, Any] | None = None,
        seed: int | list[int] | None = None,
    ) -> Measured:
        """The rollout and difficulty rows of one problem's graded completions (``seed``: one for
        all, or one per completion)."""
        key, mode, now = self.key(problem), self.extraction(problem), dt.datetime.now(dt.UTC)
        offset = previous["n"] if previous else 0
        seeds = seed if isinstance(seed, list) else [seed] * len(completions)
        rollouts = [
            Rollout(
                rollout_id=content_key(problem["problem_id"], self.policy_id, key, str(offset + j)),
                problem_id=problem["problem_id"],
                policy_id=self.policy_id,
                sampling_key=key,
                sample_idx=offset + j,
                seed=sample_seed,
                completion=completion.text,
                extracted_answer=grade.extracted,
                correct=grade.correct,
                score=grade.score,
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                finish_reason=completion.finish_reason,
                detail=grade.detail,
                extraction=mode,
                run_id=self.run_id,
                created_at=now,
            )
            for j, (completion, grade, sample_seed) in enumerate(zip(completions, grades, seeds, strict=True))
        ]
        n_round, c_round = len(grades), sum(g.correct for g in grades)
        n = n_round + (previous["n"] if previous else 0)
        c = c_round + (previous["c"] if previous else 0)
        difficulty = difficulty_from_counts(
            problem["problem_id"],
            self.policy_id,
            key,
            n,
            c,
            self.config.k,
            now,
            round_estimates(self.config, n_round, c_round, previous),
            rounds=rounds_of(previous, self.config) + 1,
        )
        return Measured(problem, key, completions, grades, rollouts, difficulty)


__all__ = ["RolloutService", "Measured", "difficulty_from_counts", "batch_params", "round_estimates", "rounds_of"]
