"""MathSmith on the synthesis contract (methods.md §2, Jasaxion/MathSmith):

1. seeds: 5 concepts sampled uniformly without replacement from the warehouse's concept bank
   (CHAMP's, and any ``hardforge ingest concepts FILE``), reproducibly per seed;
2. the proposer writes ``<rationale>`` (steps) and ``<problem>``; both are required;
   the problem passes the gates (``synth.gates``) before it is solved;
3. where a label check computes the answer from the statement alone (exact arithmetic, the
   checker's programs agreeing), that is the label (``checked``), and the n = 6 solver samples
   only measure: accepted unless all of them are right (a MathSmith problem is meant to be hard);
4. otherwise the official consistency filter (the most frequent stated answer occurs at least 3
   times; a tie is no majority, our deviation) gives a candidate label, provenance ``vote``:
   recorded, not kept (below ``synth.min_label_provenance``);
5. ``method_meta`` records the three reward terms (format with its step score, CoT length,
   consistency) and their total, and the concepts it was made from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rollouts.service import RolloutService
from schemas.config import MathsmithConfig
from schemas.engine import Chat, SamplingParams
from schemas.errors import HardforgeError
from schemas.keys import content_key
from synth.base import Candidate, Decision, Seed, Synthesizer, problem_key
from synth.gates import gate
from synth.labels import Label, derive, derived_decision, learnable
from synth.mathsmith.algorithm import (
    INSTRUCTIONS,
    SAMPLE_CONCEPTS,
    consistency,
    cot_score,
    format_score,
    parse_output,
    proposer_reward,
    step_count,
    synthesis_prompt,
)
from synth.voting import stated_answers
from verifiers import Grade
from warehouse.db import Warehouse

SEEDS = 100_000  # concept samples never run out; used seeds are skipped by the runner
# The concepts of the problems this policy keeps failing: measured at least twice (two nights, or
# rounds) and never solved; CHAMP problems name their concepts (extra.ch_list).
WEAK_CONCEPTS_SQL = """
SELECT DISTINCT unnest(from_json(json_extract(p.extra, '$.ch_list'), '["VARCHAR"]')) AS concept_id
FROM problems p JOIN difficulty d USING (problem_id)
WHERE d.policy_id = ? AND json_extract(p.extra, '$.ch_list') IS NOT NULL
GROUP BY p.problem_id, p.extra HAVING max(d.pass_at_1) = 0 AND sum(d.n) >= 2
"""


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
        weak = self.settings.concepts == "weakness"
        # weakness-driven seeds are keyed apart from random ones: a seed key is used once per method
        return (Seed(f"{'weak-' if weak else ''}concepts#{i}", None, {"policy_id": policy_id}) for i in range(SEEDS))

    def _where(self) -> str:
        return "WHERE list_contains(?, source)" if self.settings.concept_sources else ""

    def _params(self) -> list[Any]:
        return [self.settings.concept_sources] if self.settings.concept_sources else []

    def _concepts(self, seed: Seed, warehouse: Warehouse) -> list[dict[str, Any]]:
        """5 concepts, uniformly (a stable hash of the seed key); with ``concepts = "weakness"`` the
        concepts of the problems the policy keeps failing come first (SwS, arXiv 2506.08989)."""
        weak = self.settings.concepts == "weakness"
        return warehouse.arrow(
            f"""WITH weak AS ({WEAK_CONCEPTS_SQL if weak else "SELECT NULL AS concept_id WHERE false"})
            SELECT concept_id, coalesce(name, '') AS name, text FROM concepts {self._where()}
            ORDER BY concept_id NOT IN (SELECT concept_id FROM weak), hash(concept_id || ?), concept_id
            LIMIT {SAMPLE_CONCEPTS}""",
            [*(([seed.data.get("policy_id")]) if weak else []), *self._params(), seed.key],
        ).to_pylist()

    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        concepts = self._concepts(seed, warehouse)
        seed.data["concepts"] = [c["concept_id"] for c in concepts]
        return [
            [
                {
                    "role": "user",
                    "content": synthesis_prompt(
                        [(c["name"] or "Concept", c["text"]) for c in concepts], self.settings.problem_first
                    ),
                }
            ]
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
        rejected = gate(statement, instructions=INSTRUCTIONS, prompt=prompt)
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
        labels = derive(self.config, service, [c.problem["statement"] for c in candidates])
        decisions: list[Decision] = []
        for candidate, group, stated, seed, draft, label in zip(
            candidates, completions, answers, seeds, drafts, labels, strict=True
        ):
            counted, consistent = consistency(stated, cfg.consistent_answers)
            r_cot = cot_score([c.completion_tokens for c in group], solver.budget(draft))
            figures = {
                "steps": candidate.meta["steps"],
                "r_format": candidate.meta["r_format"],
                "r_cot": round(r_cot, 4),
                "tie": counted.tie,
                "m": counted.count,
            }
            if label.value is not None:
                # the check's label; the official consistency vote is replaced by it (r_consist = 1)
                decision = derived_decision(solver, candidate, group, stated, label, seed, band=learnable)
                decision.meta.update(figures, r_consist=1.0)
            else:
                decision = self._voted(solver, candidate, group, stated, seed, counted, consistent, label)
                decision.meta.update(figures)
            checked_label = decision.accepted and decision.provenance == "checked"
            decision.meta["reward"] = round(
                proposer_reward(figures["r_format"], r_cot, checked_label, checked_label, False), 4
            )
            decisions.append(decision)
        return decisions

    def _voted(self, solver, candidate, group, stated, seed, counted, consistent, label: Label) -> Decision:
        """No check could compute the label: the official consistency filter gives a candidate label
        (provenance ``vote``), recorded and not kept (below ``synth.min_label_provenance`` by default)."""
        cfg = self.settings
        meta = {
            "answers": stated,
            "majority": counted.answer,
            "n": counted.n,
            "majority_ratio": round(counted.ratio, 4),
            "r_consist": 1.0 if consistent else 0.0,
        }
        record = {**label.record, "base": "vote"}
        if not consistent:
            reason = (
                counted.why_none()
                if counted.answer is None
                else f"inconsistent: the most frequent answer has {counted.count} of {counted.n} votes, "
                f"{cfg.consistent_answers} needed"
            )
            return Decision(False, reason, meta, checks=record)
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
        return Decision(True, None, meta, solver.rows(problem, group, grades, seed=seed), checks=record)

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"concepts": candidate.seed.data.get("concepts", [])}
