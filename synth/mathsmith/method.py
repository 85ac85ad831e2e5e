"""MathSmith on the synthesis contract (methods.md §2, Jasaxion/MathSmith):

1. seeds: 5 concepts sampled uniformly without replacement from the warehouse's concept bank
   (CHAMP's, and any ``hardforge ingest concepts FILE``), reproducibly per seed;
2. the proposer writes ``<rationale>`` (steps) and ``<problem>``; both are required;
   the problem passes the gates (``synth.gates``) before it is solved;
3. n = 6 solver samples; the problem is valid iff the most frequent stated answer occurs at least
   3 times (the official consistency filter; a tie is no majority, our deviation), and that
   answer is its candidate label;
4. a vote is a candidate, not a label: the label checks (exact arithmetic, program of thought)
   must agree for it to be ``checked``; one that disagrees rejects it;
5. ``method_meta`` records the three reward terms (format with its step score, CoT length,
   consistency) and their total, and the concepts it was made from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks import LabelItem
from rollouts.service import RolloutService
from schemas.config import MathsmithConfig
from schemas.engine import Chat, SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key
from synth.base import Candidate, Decision, Seed, Synthesizer, problem_key
from synth.gates import gate
from synth.labels import checked
from synth.mathsmith.algorithm import (
    SAMPLE_CONCEPTS,
    consistency,
    cot_score,
    format_score,
    parse_output,
    proposer_reward,
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

    def seeds(self, warehouse: Warehouse, policy_id: str) -> Iterator[Seed]:
        count = warehouse.scalar(f"SELECT count(*) FROM concepts {self._where()}", self._params())
        if count < SAMPLE_CONCEPTS:
            raise HardforgeError(
                f"MathSmith samples {SAMPLE_CONCEPTS} concepts and the warehouse has {count}: run `hardforge ingest champ` "
                "or `hardforge ingest concepts FILE` first."
            )
        return (Seed(f"concepts#{i}", None) for i in range(SEEDS))

    def _where(self) -> str:
        return "WHERE list_contains(?, source)" if self.settings.concept_sources else ""

    def _params(self) -> list[Any]:
        return [self.settings.concept_sources] if self.settings.concept_sources else []

    def _concepts(self, seed: Seed, warehouse: Warehouse) -> list[dict[str, Any]]:
        return warehouse.arrow(
            f"SELECT concept_id, coalesce(name, '') AS name, text FROM concepts {self._where()} "
            f"ORDER BY hash(concept_id || ?), concept_id LIMIT {SAMPLE_CONCEPTS}",
            [*self._params(), seed.key],
        ).to_pylist()

    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        concepts = self._concepts(seed, warehouse)
        seed.data["concepts"] = [c["concept_id"] for c in concepts]
        return [
            [{"role": "user", "content": synthesis_prompt([(c["name"] or "Concept", c["text"]) for c in concepts])}]
        ]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(
            n=cfg.proposals,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=self.config.rollouts.seed,
        )

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        parsed = parse_output(output, require_tags=self.settings.require_tags)
        if isinstance(parsed, str):
            return Candidate(seed, index, prompt, output, reason=parsed, meta={"r_format": 0.0, "reward": 0.0})
        rationale, statement = parsed
        steps = step_count(rationale or "")
        rejected = gate(statement)
        if rejected is not None:
            return Candidate(
                seed,
                index,
                prompt,
                output,
                reason=rejected,
                meta={
                    "problem": statement,
                    "r_format": round(format_score(rationale is not None, steps), 4),
                    "reward": 0.0,
                },
            )
        problem = {
            "domain": "math",
            "statement": statement,
            "answer": "",
            "verifier": "math",
            "task": "mathsmith",
            "source": "mathsmith",
        }
        return Candidate(
            seed,
            index,
            prompt,
            output,
            problem=problem,
            meta={"steps": steps, "r_format": round(format_score(rationale is not None, steps), 4)},
        )

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        cfg = self.settings
        solver = service.with_config(self.config.rollouts.model_copy(update={"n": cfg.solvers}))
        drafts = [
            {**c.problem, "problem_id": content_key("mathsmith-draft", c.problem["statement"])} for c in candidates
        ]
        completions, seeds = solver.sample(drafts)
        answers = stated_answers(solver, drafts, [[c.text for c in group] for group in completions])
        decisions: list[Decision] = []
        for candidate, group, stated, seed, draft in zip(candidates, completions, answers, seeds, drafts, strict=True):
            counted, valid = consistency(stated, cfg.consistent_answers)
            r_cot = cot_score([c.completion_tokens for c in group], solver.budget(draft))
            r_consist = 1.0 if valid else 0.0
            meta = {
                "steps": candidate.meta["steps"],
                "r_format": candidate.meta["r_format"],
                "answers": stated,
                "majority": counted.answer,
                "m": counted.count,
                "n": counted.n,
                "majority_ratio": round(counted.ratio, 4),
                "tie": counted.tie,
                "r_cot": round(r_cot, 4),
                "r_consist": r_consist,
                "reward": round(total_reward(candidate.meta["r_format"], r_cot, r_consist), 4),
            }
            if not valid:
                reason = (
                    counted.why_none()
                    if counted.answer is None
                    else (
                        f"inconsistent: the most frequent answer has {counted.count} of {counted.n} votes, {cfg.consistent_answers} needed"
                    )
                )
                decisions.append(Decision(False, reason, meta))
                continue
            candidate.problem["answer"] = counted.answer
            problem = {**candidate.problem, "problem_id": problem_key(candidate.problem)}
            grades = [
                Grade(
                    a == counted.answer,
                    a,
                    float(a == counted.answer),
                    None if a == counted.answer else "not the majority answer",
                )
                for a in stated
            ]
            decisions.append(Decision(True, None, meta, solver.rows(problem, group, grades, seed=seed)))
        todo = [(c, d) for c, d in zip(candidates, decisions, strict=True) if d.accepted]
        items = [LabelItem(c.problem["statement"], c.problem["answer"]) for c, _ in todo]
        failed: set[int] = set()
        for (_, decision), (provenance, reason, record) in zip(
            todo, checked(self.config, service, "math", items, "vote"), strict=True
        ):
            decision.checks = record
            if provenance is None:
                decision.accepted, decision.reason = False, reason
                failed.add(id(decision))
            else:
                decision.provenance = provenance
        for decision in decisions:
            m = decision.meta
            decision.meta["reward"] = round(
                proposer_reward(
                    m["r_format"],
                    m["r_cot"],
                    m["r_consist"] == 1.0,
                    decision.provenance == "checked",
                    id(decision) in failed,
                ),
                4,
            )
        return decisions

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"concepts": candidate.seed.data.get("concepts", [])}
