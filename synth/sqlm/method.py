"""Self-questioning on the synthesis contract (methods.md §4, confirmed in the official code):

1. seeds: topic prompts (no data); each seed is one topic prompt, sampled ``proposals`` times;
2. a proposal is parsed by its topic's parser (v1 whole output, v2 after "Selected Question:",
   v3 description plus ``INPUT ||| OUTPUT`` tests under "Test Cases:");
3. math: the policy solves it n times; an answer must be extracted and parse; the majority answer
   is the label, and the problem is accepted iff 1 < m < n (m = rollouts giving the majority);
   code: the policy writes n programs, run on the proposer's tests in the sandbox, accepted iff
   their mean pass rate is strictly between 0 and 1;
4. the accepted problem's answer is the majority answer (math) or the tests (code).
"""

from __future__ import annotations

import json
from typing import Any

from rollouts.service import RolloutService
from schemas.config import SqlmConfig
from schemas.engine import Chat, SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key, problem_id
from synth.base import Candidate, Decision, Seed, Synthesizer
from synth.sqlm.algorithm import (
    PARSERS,
    TOPICS,
    decide,
    majority,
    parse_v1,
    parse_v2,
    parse_v3,
    pass_rate_decision,
)
from synth.voting import stated_answers
from verifiers import Grade
from verifiers.code.stdio import stdio_answer
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
                raise HardforgeError(f"synth.sqlm.topics_file {self.settings.topics_file} is not a readable JSON object ({exc}).") from None
            if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
                raise HardforgeError(f"synth.sqlm.topics_file {self.settings.topics_file} must map topic names to prompts.")
            topics.update(extra)
        missing = [t for t in self.settings.topics if t not in topics]
        if missing:
            raise HardforgeError(f"synth.sqlm.topics names '{missing[0]}', which has no prompt (known: {', '.join(topics)}).")
        return topics

    def seeds(self, warehouse: Warehouse, policy_id: str) -> list[Seed]:
        topics = self.topics()
        return [Seed(f"{topic}#{i}", None, {"topic": topic, "prompt": topics[topic]})
                for i in range(SEEDS_PER_TOPIC) for topic in self.settings.topics]

    def prompts(self, seed: Seed) -> list[Chat]:
        return [[{"role": "user", "content": seed.data["prompt"]}]]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(n=cfg.proposals, temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                              seed=self.config.rollouts.seed)

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        topic = seed.data["topic"]
        parser = PARSERS.get(topic, "v1")
        meta = {"topic": topic, "parser": parser, "prompt_sha": content_key(seed.data["prompt"])}
        if parser == "v3":
            parsed = parse_v3(output)
            if parsed is None:
                return Candidate(seed, index, prompt, output, reason="unparsable: no 'Test Cases:' section with INPUT ||| OUTPUT lines", meta=meta)
            description, tests = parsed
            problem = {"domain": "code", "statement": description, "answer": stdio_answer(tests), "verifier": "stdio",
                       "task": "sqlm_code", "source": "sqlm:code"}
            return Candidate(seed, index, prompt, output, problem=problem, meta={**meta, "tests": len(tests)})
        question = parse_v2(output) if parser == "v2" else parse_v1(output)
        if question is None:
            return Candidate(seed, index, prompt, output, reason="unparsable: no 'Selected Question:' marker", meta=meta)
        # the label is unknown until the solvers vote (validate sets it)
        problem = {"domain": "math", "statement": question, "answer": "", "verifier": "math",
                   "task": f"sqlm_{topic}", "source": "sqlm"}
        return Candidate(seed, index, prompt, output, problem=problem, meta=meta)

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        cfg = self.settings
        solver = service.with_config(self.config.rollouts.model_copy(update={"n": cfg.solvers}))
        problems = [{**c.problem, "problem_id": content_key("sqlm-draft", c.problem["statement"])} for c in candidates]
        completions, seeds = solver.sample(problems)
        texts = [[c.text for c in group] for group in completions]
        decisions: list[Decision] = []
        math = [i for i, p in enumerate(problems) if p["verifier"] == "math"]
        answers = dict(zip(math, stated_answers(solver, [problems[i] for i in math], [texts[i] for i in math]), strict=True))
        code = [i for i, p in enumerate(problems) if p["verifier"] == "stdio"]
        code_grades = dict(zip(code, solver.grade([problems[i] for i in code], [texts[i] for i in code]), strict=True))
        for i, candidate in enumerate(candidates):
            if i in code_grades:
                decisions.append(self._decide_code(solver, candidate, completions[i], code_grades[i], seeds[i]))
            else:
                decisions.append(self._decide_math(solver, candidate, completions[i], answers[i], seeds[i]))
        return decisions

    def _decide_code(self, solver, candidate, completions, grades: list[Grade], seed) -> Decision:
        rate = sum(g.score for g in grades) / len(grades)
        accepted, reason = pass_rate_decision(rate)
        meta = {"pass_rate": round(rate, 4), "n": len(grades), "reward": 1.0 if accepted else 0.0}
        problem = {**candidate.problem, "problem_id": _id(candidate.problem)}
        return Decision(accepted, reason, meta, solver.rows(problem, completions, grades, seed=seed))

    def _decide_math(self, solver, candidate, completions, answers: list[str | None], seed) -> Decision:
        answer, m = majority(answers)
        accepted, reason = decide(m, len(answers), answer)
        meta = {"m": m, "n": len(answers), "majority": answer, "answers": answers, "reward": 1.0 if accepted else 0.0}
        if answer is None:
            return Decision(False, reason, meta)
        candidate.problem["answer"] = answer
        problem = {**candidate.problem, "problem_id": _id(candidate.problem)}
        # a rollout is right iff its answer is the majority answer
        grades = [Grade(a == answer, a, float(a == answer), None if a == answer else "not the majority answer") for a in answers]
        return Decision(accepted, reason, meta, solver.rows(problem, completions, grades, seed=seed))

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"topic": candidate.seed.data["topic"]}


def _id(problem: dict[str, Any]) -> str:
    return problem_id(problem["domain"], problem["statement"], problem["answer"])
