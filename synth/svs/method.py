"""SvS on the synthesis contract (methods.md §1, steps 3-7):

1. seeds: every correct rollout of the policy on a math problem (that passed the filters) whose
   accuracy is in the under-performing band [0.125, 0.5];
2. the policy writes G variational problems per seed from the synthesis prompt (over-long
   prompts are dropped);
3. each candidate's problem is extracted (fenced-block rules), then solved G times and graded
   against the ORIGINAL answer;
4. accepted iff G*0.125 <= k <= G*0.625; the accepted problem keeps the original answer, and its
   solving rollouts are stored, so its difficulty is known without sampling again.
"""

from __future__ import annotations

from typing import Any

from rollouts.service import RolloutService
from schemas.config import SvsConfig
from schemas.engine import Chat, SamplingParams
from schemas.keys import content_key, problem_id
from schemas.prompts import problem_chat
from synth.base import Candidate, Decision, Seed, Synthesizer
from synth.svs.algorithm import SYNTHESIS_PROMPT, decide, extract_problem, synthesis_prompt
from warehouse.db import Warehouse
from warehouse.queries import PASSED_FILTERS

SEEDS_SQL = f"""
SELECT r.rollout_id, r.problem_id, r.completion, p.statement, p.answer, d.pass_at_1
FROM rollouts r
JOIN difficulty d USING (problem_id, policy_id, sampling_key)
JOIN problems p USING (problem_id)
WHERE r.policy_id = $policy AND r.correct AND p.domain = 'math'
  AND d.pass_at_1 BETWEEN $low AND $high
  AND {PASSED_FILTERS.replace("problems.problem_id", "p.problem_id")}
ORDER BY p.problem_id, r.sample_idx
"""


class SvsSynthesizer(Synthesizer):
    name = "svs"

    @property
    def settings(self) -> SvsConfig:
        return self.config.synth.svs

    def seeds(self, warehouse: Warehouse, policy_id: str) -> list[Seed]:
        cfg = self.settings
        with warehouse.read() as con:
            rows = con.sql(SEEDS_SQL, params={"policy": policy_id, "low": cfg.under_low, "high": cfg.under_high}).to_arrow_table().to_pylist()
        return [Seed(r["rollout_id"], r["problem_id"], r) for r in rows]

    def prompts(self, seed: Seed) -> list[Chat]:
        return [[{"role": "user", "content": synthesis_prompt(seed.data["completion"])}]]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(n=cfg.group, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                              seed=self.config.rollouts.seed)

    def max_prompt_tokens(self) -> int:
        return self.settings.max_prompt_tokens

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        text = extract_problem(output)
        meta = {"seed_pass_at_1": seed.data["pass_at_1"]}
        if text is None:
            return Candidate(seed, index, prompt, output, reason="unparsable: no problem block in the output", meta=meta)
        # the variant keeps the original answer: no new label is needed
        problem = {"domain": "math", "statement": text, "answer": seed.data["answer"], "verifier": "math",
                   "task": "svs_variant", "source": self.name}
        return Candidate(seed, index, prompt, output, problem=problem, meta=meta)

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        cfg = self.settings
        solver = service.with_config(self.config.rollouts.model_copy(update={"n": cfg.group}))
        decisions: list[Decision | None] = [None] * len(candidates)
        todo = []
        for i, candidate in enumerate(candidates):
            if service.engine.count_tokens(problem_chat(candidate.problem, solver.config)) > cfg.max_prompt_tokens:
                decisions[i] = Decision(False, f"solve prompt too long: over {cfg.max_prompt_tokens} tokens")
            else:
                todo.append(i)
        problems = [{**candidates[i].problem, "problem_id": _id(candidates[i].problem)} for i in todo]
        for i, measured in zip(todo, solver.measure(problems), strict=True):
            k = measured.correct
            accepted, reason = decide(k, cfg.group, (cfg.positive_low, cfg.positive_high))
            figures = {"k": k, "group": cfg.group, "positive_band": [cfg.positive_low, cfg.positive_high],
                       "under_band": [cfg.under_low, cfg.under_high], "prompt_sha": content_key(SYNTHESIS_PROMPT),
                       "sampling": {"temperature": cfg.temperature, "top_p": cfg.top_p, "max_tokens": cfg.max_tokens}}
            decisions[i] = Decision(accepted, reason, figures, measured)
        return decisions  # type: ignore[return-value]

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {"seed_rollout_id": candidate.seed.key}


def _id(problem: dict[str, Any]) -> str:
    return problem_id(problem["domain"], problem["statement"], problem["answer"])
