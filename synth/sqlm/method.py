"""Self-questioning on the synthesis contract (methods.md §4, confirmed in the official code):

1. seeds: topic prompts (no data); each seed is one topic prompt, sampled ``proposals`` times;
2. a proposal is parsed by its topic's parser (v1 whole output, v2 after "Selected Question:",
   v3 description plus ``INPUT ||| OUTPUT`` tests under "Test Cases:");
   before anything is solved, a math question passes the gates (``synth.gates``: it does not state
   its answer, carries no solution, reads as one question, is not the prompt's example or its
   numbers) and is not a repeat of an earlier proposal;
3. math: the policy solves it n times. Where a label check can compute the answer from the
   statement alone (exact arithmetic; the checker's programs agreeing), that is the label
   (``checked``) and the solvers only measure: in band iff some but not all of them are right
   (0 < k < n; our deviation: the official band, 1 < m < n on the majority, rewards agreement,
   which says nothing once the label is known). Otherwise the majority answer, counted as the
   official code counts (a "no answer" vote counts; a tie is no majority), is a candidate label
   with provenance ``vote``: recorded, not kept (below ``synth.min_label_provenance``);
4. code: the policy writes n programs, run on the proposer's tests in the sandbox, in band iff
   their mean pass rate is strictly between 0 and 1, and the tests count when some program
   satisfies them all (``checked``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from checks import LabelItem
from rollouts.service import RolloutService
from schemas.config import SqlmConfig
from schemas.engine import Chat, SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key
from synth.base import Candidate, Decision, Seed, Synthesizer, problem_key
from synth.gates import gate
from synth.labels import Label, checked, derive, derived_decision
from synth.sqlm.algorithm import (
    PARSERS,
    TOPICS,
    decide,
    examples,
    instructions,
    parse_v1,
    parse_v2,
    parse_v3,
    pass_rate_decision,
    proposer_reward,
)
from synth.voting import stated_answers, vote
from verifiers import Grade
from verifiers.code.stdio import stdio_answer
from verifiers.code.verifier import extract_code
from warehouse.db import Warehouse

SEEDS_PER_TOPIC = 100_000  # topics never run out; used seeds are skipped by the runner


class SqlmSynthesizer(Synthesizer):
    name = "sqlm"

    @property
    def settings(self) -> SqlmConfig:
        return self.config.synth.sqlm

    def topics(self) -> dict[str, str]:
        topics = dict(TOPICS)
        if self.settings.topics_file is not None:
            try:
                extra = json.loads(self.settings.topics_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise HardforgeError(
                    f"synth.sqlm.topics_file {self.settings.topics_file} is not a readable JSON object ({exc})."
                ) from None
            if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
                raise HardforgeError(
                    f"synth.sqlm.topics_file {self.settings.topics_file} must map topic names to prompts."
                )
            topics.update(extra)
        missing = [t for t in self.settings.topics if t not in topics]
        if missing:
            raise HardforgeError(
                f"synth.sqlm.topics names '{missing[0]}', which has no prompt (known: {', '.join(topics)})."
            )
        return topics

    def seeds(self, warehouse: Warehouse, policy_id: str) -> Iterator[Seed]:
        topics = self.topics()
        for i in range(SEEDS_PER_TOPIC):
            for topic in self.settings.topics:
                yield Seed(f"{topic}#{i}", None, {"topic": topic, "prompt": topics[topic]})

    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        return [[{"role": "user", "content": seed.data["prompt"]}]]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(
            n=cfg.proposals, temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=self.config.rollouts.seed
        )

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        topic = seed.data["topic"]
        parser = PARSERS.get(topic, "v1")
        meta = {"topic": topic, "parser": parser, "prompt_sha": content_key(seed.data["prompt"])}
        if parser == "v3":
            parsed = parse_v3(output)
            if parsed is None:
                return Candidate(
                    seed,
                    index,
                    prompt,
                    output,
                    reason="unparsable: no 'Test Cases:' section with INPUT ||| OUTPUT lines",
                    meta=meta,
                )
            description, tests = parsed
            problem = {
                "domain": "code",
                "statement": description,
                "answer": stdio_answer(tests),
                "verifier": "stdio",
                "task": "sqlm_code",
                "source": "sqlm:code",
            }
            return Candidate(seed, index, prompt, output, problem=problem, meta={**meta, "tests": len(tests)})
        question = parse_v2(output) if parser == "v2" else parse_v1(output)
        if question is None:
            return Candidate(
                seed, index, prompt, output, reason="unparsable: no 'Selected Question:' marker", meta=meta
            )
        rejected = gate(
            question,
            references=examples(seed.data["prompt"]),
            instructions=[instructions(seed.data["prompt"])],
            prompt=prompt,
        )
        if rejected is not None:
            return Candidate(seed, index, prompt, output, reason=rejected, meta={**meta, "question": question})
        # the label is unknown until the solvers vote (validate sets it)
        problem = {
            "domain": "math",
            "statement": question,
            "answer": "",
            "verifier": "math",
            "task": f"sqlm_{topic}",
            "source": "sqlm",
        }
        return Candidate(seed, index, prompt, output, problem=problem, meta=meta)

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        cfg = self.settings
        solver = service.with_config(self.config.rollouts.model_copy(update={"n": cfg.solvers}))
        problems = [{**c.problem, "problem_id": content_key("sqlm-draft", c.problem["statement"])} for c in candidates]
        completions, seeds = solver.sample(problems)
        texts = [[c.text for c in group] for group in completions]
        math = [i for i, p in enumerate(problems) if p["verifier"] == "math"]
        answers = dict(
            zip(math, stated_answers(solver, [problems[i] for i in math], [texts[i] for i in math]), strict=True)
        )
        # a label a check computes from the statement is the label; the votes then only measure. Where
        # every solution states the same answer (or none), no label can put the problem in band (all
        # right or none right): the checker model is not asked, exact arithmetic still is
        uniform = {i for i in math if len(set(answers[i])) == 1}
        labels: dict[int, Label] = {}
        for cheap in (False, True):
            group = [i for i in math if (i in uniform) == cheap]
            statements = [problems[i]["statement"] for i in group]
            labels.update(zip(group, derive(self.config, service, statements, model_checks=not cheap), strict=True))
        code = [i for i, p in enumerate(problems) if p["verifier"] == "stdio"]
        code_grades = dict(zip(code, solver.grade([problems[i] for i in code], [texts[i] for i in code]), strict=True))
        decisions: list[Decision | None] = [None] * len(candidates)
        for i, candidate in enumerate(candidates):
            if i in code_grades:
                decisions[i] = self._decide_code(solver, candidate, completions[i], code_grades[i], seeds[i])
            elif labels[i].value is not None:
                decisions[i] = derived_decision(solver, candidate, completions[i], answers[i], labels[i], seeds[i])
            else:
                decisions[i] = self._decide_math(solver, candidate, completions[i], answers[i], seeds[i], labels[i])
        # code: the proposer's tests count when some program satisfies them all
        todo = [i for i in code if decisions[i].accepted]
        items = [
            LabelItem(
                candidates[i].problem["statement"],
                candidates[i].problem["answer"],
                "code",
                "stdio",
                {"programs": [extract_code(t) for t in texts[i]]},
            )
            for i in todo
        ]
        for i, (provenance, reason, record) in zip(
            todo, checked(self.config, service, "stdio", items, "vote"), strict=True
        ):
            decision = decisions[i]
            decision.checks = record
            if provenance is None:
                decision.accepted, decision.reason = False, reason
            else:
                decision.provenance = provenance
        for decision in decisions:
            decision.meta["reward"] = proposer_reward(decision.accepted, decision.provenance == "checked")
        return decisions  # type: ignore[return-value]

    def _decide_code(self, solver, candidate, completions, grades: list[Grade], seed) -> Decision:
        rate = sum(g.score for g in grades) / len(grades)
        accepted, reason = pass_rate_decision(rate)
        meta = {"pass_rate": round(rate, 4), "n": len(grades)}
        problem = {**candidate.problem, "problem_id": problem_key(candidate.problem)}
        return Decision(accepted, reason, meta, solver.rows(problem, completions, grades, seed=seed))

    def _decide_math(self, solver, candidate, completions, answers: list[str | None], seed, label: Label) -> Decision:
        """No check could compute the label: the official vote gives a candidate label, provenance
        ``vote``, which is recorded and not kept (below ``synth.min_label_provenance`` by default)."""
        counted = vote(answers)
        accepted, reason = decide(counted)
        meta = {
            "m": counted.count,
            "n": counted.n,
            "majority": counted.answer,
            "majority_ratio": round(counted.ratio, 4),
            "tie": counted.tie,
            "answers": answers,
        }
        if counted.answer is None:
            return Decision(False, reason, meta, checks={**label.record, "base": "vote"})
        candidate.problem["answer"] = counted.answer
        problem = {**candidate.problem, "problem_id": problem_key(candidate.problem)}
        # a rollout is right iff its answer is the majority answer
        grades = [
            Grade(
                a == counted.answer,
                a,
                float(a == counted.answer),
                None if a == counted.answer else "not the majority answer",
            )
            for a in answers
        ]
        measured = solver.rows(problem, completions, grades, seed=seed)
        return Decision(accepted, reason, meta, measured, checks={**label.record, "base": "vote"})

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"topic": candidate.seed.data["topic"]}
