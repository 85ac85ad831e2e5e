"""MathSmith on the synthesis contract (methods.md §2, Jasaxion/MathSmith):

1. seeds: 5 concepts sampled uniformly without replacement from the warehouse's concept bank
   (CHAMP's, and any ``hardforge ingest concepts FILE``), reproducibly per seed;
2. the proposer writes ``<rationale>`` (steps) and ``<problem>``; both are required;
3. n = 6 solver samples; the problem is valid iff the most frequent stated answer occurs at least
   3 times, and that answer becomes its label (the official consistency filter);
4. ``method_meta`` records the three reward terms (format with its step score, CoT length,
   consistency) and their total, and the concepts it was made from.
"""

from __future__ import annotations

from typing import Any

from rollouts.service import RolloutService
from schemas.config import MathsmithConfig
from schemas.engine import Chat, SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key, problem_id
from synth.base import Candidate, Decision, Seed, Synthesizer
from synth.mathsmith.algorithm import (
    SAMPLE_CONCEPTS,
    consistency,
    cot_score,
    format_score,
    parse_output,
    step_count,
    synthesis_prompt,
    total_reward,
)
from synth.voting import stated_answers
from verifiers import Grade
from warehouse.db import Warehouse

SEEDS = 100_000  # concept samples never run out; used seeds are skipped by the runner


class MathsmithSynthesizer(Synthesizer):
    name = "mathsmith"

    @property
    def settings(self) -> MathsmithConfig:
        return self.config.synth.mathsmith

    def seeds(self, warehouse: Warehouse, policy_id: str) -> list[Seed]:
        where, params = ("WHERE list_contains(?, source)", [self.settings.concept_sources]) if self.settings.concept_sources else ("", [])
        count = warehouse.scalar(f"SELECT count(*) FROM concepts {where}", params)
        if count < SAMPLE_CONCEPTS:
            raise HardforgeError(
                f"MathSmith samples {SAMPLE_CONCEPTS} concepts and the warehouse has {count}: run `hardforge ingest champ` "
                "or `hardforge ingest concepts FILE` first."
            )
        self._warehouse, self._where, self._params = warehouse, where, params
        return [Seed(f"concepts#{i}", None) for i in range(SEEDS)]

    def _concepts(self, seed: Seed) -> list[dict[str, Any]]:
        return self._warehouse.arrow(
            f"SELECT concept_id, coalesce(name, '') AS name, text FROM concepts {self._where} "
            f"ORDER BY hash(concept_id || ?), concept_id LIMIT {SAMPLE_CONCEPTS}", [*self._params, seed.key]
        ).to_pylist()

    def prompts(self, seed: Seed) -> list[Chat]:
        concepts = self._concepts(seed)
        seed.data["concepts"] = [c["concept_id"] for c in concepts]
        return [[{"role": "user", "content": synthesis_prompt([(c["name"] or "Concept", c["text"]) for c in concepts])}]]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(n=cfg.proposals, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                              seed=self.config.rollouts.seed)

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        parsed = parse_output(output, require_tags=self.settings.require_tags)
        if isinstance(parsed, str):
            return Candidate(seed, index, prompt, output, reason=parsed, meta={"r_format": 0.0, "reward": 0.0})
        rationale, statement = parsed
        steps = step_count(rationale or "")
        problem = {"domain": "math", "statement": statement, "answer": "", "verifier": "math", "task": "mathsmith",
                   "source": "mathsmith"}
        return Candidate(seed, index, prompt, output, problem=problem,
                         meta={"steps": steps, "r_format": round(format_score(rationale is not None, steps), 4)})

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        cfg = self.settings
        solver = service.with_config(self.config.rollouts.model_copy(update={"n": cfg.solvers}))
        drafts = [{**c.problem, "problem_id": content_key("mathsmith-draft", c.problem["statement"])} for c in candidates]
        completions, seeds = solver.sample(drafts)
        answers = stated_answers(solver, drafts, [[c.text for c in group] for group in completions])
        decisions = []
        for candidate, group, stated, seed, draft in zip(candidates, completions, answers, seeds, drafts, strict=True):
            answer, count, valid = consistency(stated, cfg.consistent_answers)
            r_cot = cot_score([c.completion_tokens for c in group], solver.budget(draft))
            r_consist = 1.0 if valid else 0.0
            meta = {
                "steps": candidate.meta["steps"], "r_format": candidate.meta["r_format"], "answers": stated, "majority": answer, "m": count, "n": len(stated), "r_cot": round(r_cot, 4),
                "r_consist": r_consist, "reward": round(total_reward(candidate.meta["r_format"], r_cot, r_consist), 4),
            }
            if not valid:
                reason = "no answer: no solver sample stated one" if answer is None else (
                    f"inconsistent: the most frequent answer has {count} of {len(stated)} votes, {cfg.consistent_answers} needed")
                decisions.append(Decision(False, reason, meta))
                continue
            candidate.problem["answer"] = answer
            problem = {**candidate.problem, "problem_id": problem_id("math", candidate.problem["statement"], answer)}
            grades = [Grade(a == answer, a, float(a == answer), None if a == answer else "not the majority answer") for a in stated]
            decisions.append(Decision(True, None, meta, solver.rows(problem, group, grades, seed=seed)))
        return decisions

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"concepts": candidate.seed.data.get("concepts", [])}
