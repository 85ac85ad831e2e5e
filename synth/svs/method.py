"""SvS on the synthesis contract (methods.md §1, steps 3-7):

1. seeds: the policy's correct solutions of in-band math problems (accuracy in [0.125, 0.5], the
   problem passed the filters) that show their work; a bare answer ("42") is no solution to
   reverse. An in-band problem with no such rollout gets one written: the policy solves it
   ``svs.solutions`` times under the step-by-step instruction, graded as its variants are, and a correct
   solution that shows its work is the seed (``prepare``);
2. the policy writes G variational problems per seed from the synthesis prompt (over-long
   prompts are dropped); each is extracted by the official rules, then gated (``synth.gates``:
   it does not state its answer, carries no solution, reads as one question, is not its seed)
   before it is solved;
3. each candidate is solved G times and graded against the ORIGINAL answer (flexibly: a boxed
   answer, else a final-answer phrase or the last number; our deviation, as a kept variant's label
   is checked); a variant whose accepting replies only echo a number of its statement is rejected;
4. accepted iff G*0.125 <= k <= G*0.625; the variant keeps the original answer, and is checked
   like any problem: where a check computes its answer, that must be the original (``checked``),
   else the answer is only ``inherited`` (or the parent's provenance if that is less): a
   candidate, not kept by default; its acceptance sample is stored under its own key, and its
   difficulty is measured afresh. Out of band (``synth.keep_out_of_band``), a checked variant is
   kept when too easy, and when unsolved only where exact arithmetic computed the seed's answer (a
   plain expression has one value; a 0.5B's one unsolved variant whose programs computed its gold
   seed's answer was ill-posed, 2026-12-07).

A deviation for small policies, on by default: a demonstration exchange before the prompt
(``svs.demonstration``).
"""

from __future__ import annotations

import json
from typing import Any

from rollouts.service import RolloutService
from schemas.config import SvsConfig
from schemas.engine import Chat, SamplingParams
from schemas.keys import content_key
from schemas.prompts import problem_chat, sampling_key
from schemas.provenance import rank
from synth.base import Candidate, Decision, Seed, Synthesizer, problem_key
from synth.gates import echoes, gate, shows_work
from synth.labels import derive, exact
from synth.svs.algorithm import (
    DEMONSTRATION_PROBLEM,
    SYNTHESIS_PROMPT,
    copies_demonstration,
    decide,
    extract_problem,
    synthesis_chat,
    variational_reward,
)
from synth.voting import same_answer
from verifiers import GradeItem
from verifiers.math.extract import as_rational
from warehouse.db import Warehouse
from warehouse.queries import HELDOUT_WHERE, PASSED_FILTERS

IN_BAND_SQL = f"""
SELECT p.problem_id, p.statement, p.answer, p.verifier, p.domain, p.source, p.extra, p.label_provenance,
       d.pass_at_1, d.sampling_key
FROM difficulty d JOIN problems p USING (problem_id)
WHERE d.policy_id = $policy AND p.domain = 'math' AND d.pass_at_1 BETWEEN $low AND $high
  AND {PASSED_FILTERS.replace("problems.problem_id", "p.problem_id")}
ORDER BY p.problem_id, d.sampling_key
"""
CORRECT_SQL = """
SELECT rollout_id, problem_id, sampling_key, completion FROM rollouts
WHERE policy_id = $policy AND correct AND list_contains($problems, problem_id)
ORDER BY problem_id, sample_idx
"""
SOLVE_SOURCE = "svs"  # a seed problem is solved under SvS's rule: the step-by-step instruction, its grading


class SvsSynthesizer(Synthesizer):
    name = "svs"

    @property
    def settings(self) -> SvsConfig:
        return self.config.synth.svs

    def seeds(self, warehouse: Warehouse, policy_id: str) -> list[Seed]:
        """The policy's in-band problems; a policy not measured yet (the first night after training)
        seeds from its nearest measured ancestor's, recorded as such (``seeded_from_policy``)."""
        measured_by = policy_id
        for ancestor in [policy_id, *ancestors(warehouse, policy_id)]:
            seeds = self._seeds_of(warehouse, ancestor)
            if (
                seeds
                or ancestor == policy_id
                and warehouse.scalar(  # the held-out probe says nothing of seeds
                    f"SELECT count(*) FROM difficulty WHERE policy_id = ? AND NOT ({HELDOUT_WHERE})", [ancestor]
                )
            ):
                measured_by = ancestor
                break
        else:
            return []
        if measured_by != policy_id:
            for seed in seeds:
                seed.data["seeded_from_policy"] = measured_by
        return seeds

    def _seeds_of(self, warehouse: Warehouse, policy_id: str) -> list[Seed]:
        cfg = self.settings
        with warehouse.read() as con:
            rows = (
                con.sql(IN_BAND_SQL, params={"policy": policy_id, "low": cfg.under_low, "high": cfg.under_high})
                .to_arrow_table()
                .to_pylist()
            )
            # measured under the current key only: an acceptance sample, or figures from another
            # prompt or grader, do not say the problem is in band now
            first = {r["problem_id"]: r for r in rows if r["sampling_key"] == sampling_key(self.config.rollouts, r)}
            ids = sorted(first)
            correct = (
                con.sql(CORRECT_SQL, params={"policy": policy_id, "problems": ids}).to_arrow_table().to_pylist()
                if ids
                else []
            )
        correct = [r for r in correct if r["sampling_key"] == first[r["problem_id"]]["sampling_key"]]
        seeds: list[Seed] = []
        worked: set[str] = set()
        for r in correct:
            if shows_work(r["completion"]):
                worked.add(r["problem_id"])
                seeds.append(
                    Seed(r["rollout_id"], r["problem_id"], {**first[r["problem_id"]], "completion": r["completion"]})
                )
        if cfg.solutions:
            seeds += [Seed(f"solve:{pid}:{policy_id}", pid, dict(first[pid])) for pid in ids if pid not in worked]
        return seeds

    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        if "completion" in seed.data:
            return [synthesis_chat(seed.data["completion"], self.settings.demonstration)]
        return [problem_chat(self._solve_problem(seed), self.config.rollouts)]  # replaced by ``prepare``

    def _solve_problem(self, seed: Seed) -> dict[str, Any]:
        extra = seed.data.get("extra")
        return {
            "problem_id": seed.data["problem_id"],
            "domain": "math",
            "statement": seed.data["statement"],
            "answer": seed.data["answer"],
            "verifier": seed.data["verifier"],
            "source": SOLVE_SOURCE,
            "extra": json.loads(extra) if isinstance(extra, str) else extra,
        }

    def prepare(
        self, service: RolloutService, prompts: list[tuple[Seed, Chat]]
    ) -> tuple[list[tuple[Seed, Chat]], list[tuple[Seed, str]]]:
        """A worked solution for each seed that has none: ``svs.solutions`` tries under the
        step-by-step instruction, graded as variants are; the first correct one that shows its work."""
        needs = [i for i, (seed, _) in enumerate(prompts) if "completion" not in seed.data]
        if not needs:
            return prompts, []
        solver = service.with_config(self.config.rollouts.model_copy(update={"n": self.settings.solutions}))
        problems = [self._solve_problem(prompts[i][0]) for i in needs]
        completions, _ = solver.sample(problems)
        grades = solver.grade(problems, [[c.text for c in group] for group in completions])
        dropped: list[tuple[Seed, str]] = []
        ready = {i: prompts[i] for i in range(len(prompts)) if i not in needs}
        for i, group, graded in zip(needs, completions, grades, strict=True):
            seed = prompts[i][0]
            worked = next(
                (c.text for c, g in zip(group, graded, strict=True) if g.correct and shows_work(c.text)), None
            )
            if worked is None:
                right = sum(g.correct for g in graded)
                dropped.append(
                    (
                        seed,
                        f"no worked solution: {right} of {len(graded)} step-by-step solutions were right, "
                        "none of them showing its work",
                    )
                )
                continue
            seed.data["completion"] = worked
            ready[i] = (seed, synthesis_chat(worked, self.settings.demonstration))
        return [ready[i] for i in sorted(ready)], dropped

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(
            n=cfg.group,
            temperature=cfg.temperature,
            top_p=cfg.top_p,
            max_tokens=cfg.max_tokens,
            seed=self.config.rollouts.seed,
        )

    def max_prompt_tokens(self) -> int:
        return self.settings.max_prompt_tokens

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        text = extract_problem(output)
        meta = {"seed_pass_at_1": seed.data["pass_at_1"]}
        if text is None:
            return Candidate(
                seed, index, prompt, output, reason="unparsable: no problem block in the output", meta=meta
            )
        rejected = gate(
            text, seeds=[seed.data["statement"]], instructions=[SYNTHESIS_PROMPT], answer=seed.data["answer"]
        ) or (copies_demonstration(text, seed.data["statement"]) if self.settings.demonstration else None)
        if rejected is not None:
            return Candidate(seed, index, prompt, output, reason=rejected, meta={**meta, "problem": text})
        # the variant keeps the original answer: no new label is needed
        problem = {
            "domain": "math",
            "statement": text,
            "answer": seed.data["answer"],
            "verifier": "math",
            "task": "svs_variant",
            "source": self.name,
        }
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
        problems = [{**candidates[i].problem, "problem_id": problem_key(candidates[i].problem)} for i in todo]
        for i, measured in zip(todo, solver.measure(problems), strict=True):
            candidate, k = candidates[i], measured.correct
            accepted, reason = decide(k, cfg.group, (cfg.positive_low, cfg.positive_high))
            accepting = [
                (c.text, g.extracted) for c, g in zip(measured.completions, measured.grades, strict=True) if g.correct
            ]
            echo = bool(accepting) and all(
                echoes(text, extracted, candidate.problem["statement"]) for text, extracted in accepting
            )
            if accepted and echo:
                accepted, reason = False, "echo: every accepting reply only repeats a number of the statement"
            figures = {
                "k": k,
                "group": cfg.group,
                "positive_band": [cfg.positive_low, cfg.positive_high],
                "echo": echo,
                "reward": variational_reward(k, cfg.group, echo, (cfg.positive_low, cfg.positive_high)),
                "under_band": [cfg.under_low, cfg.under_high],
                "prompt_sha": content_key(SYNTHESIS_PROMPT, *([DEMONSTRATION_PROBLEM] if cfg.demonstration else [])),
                "sampling": {"temperature": cfg.temperature, "top_p": cfg.top_p, "max_tokens": cfg.max_tokens},
            }
            parent = candidate.seed.data.get("label_provenance") or "ground_truth"
            provenance = "inherited" if rank(parent) >= rank("inherited") else parent
            decisions[i] = Decision(
                accepted,
                reason,
                figures,
                measured,
                provenance=provenance,
                checks={"base": "inherited", "parent_provenance": parent, "checks": []},
                # too easy, or unsolved: then kept only where exact arithmetic computes the seed's
                # answer (``_check_labels``)
                out_of_band=not accepted and not echo and (k > cfg.group * cfg.positive_high or k == 0),
            )
        self._check_labels(service, candidates, decisions)
        return decisions  # type: ignore[return-value]

    def _check_labels(
        self, service: RolloutService, candidates: list[Candidate], decisions: list[Decision | None]
    ) -> None:
        """A variant is meant to keep its seed's answer, and is checked like any problem: where a
        check computes the variant's answer from its statement alone, that answer must be the seed's
        (then the label is ``checked``); a rewrite that changed the answer, which the policy solved
        to the old one anyway, is rejected and not paid. Where no check can, the answer is only
        ``inherited``: a candidate, below ``synth.min_label_provenance`` by default (an inherited
        label was wrong on ill-posed variants: docs/synthesis/svs.md)."""
        keep = self.config.synth.keep_out_of_band  # an out-of-band variant is kept only if checked
        todo = [i for i, d in enumerate(decisions) if d is not None and (d.accepted or (keep and d.out_of_band))]
        labels = derive(self.config, service, [candidates[i].problem["statement"] for i in todo])
        derived = [(i, label) for i, label in zip(todo, labels, strict=True) if label.value is not None]
        # the seed's answer may be spelled "x = 5", "5 cm" or "$100": the math verifier compares
        items = [GradeItem(candidates[i].problem["answer"], f"\\boxed{{{label.value}}}") for i, label in derived]
        equal = [same_answer(label.value, candidates[i].problem["answer"]) for i, label in derived]
        unsure = [j for j, e in enumerate(equal) if not e]
        if unsure:
            grades = service.verifiers.get("math").grade([items[j] for j in unsure])
            for j, grade in zip(unsure, grades, strict=True):
                equal[j] = grade.correct
        for i, label in zip(todo, labels, strict=True):
            decision = decisions[i]
            assert decision is not None and decision.checks is not None
            decision.checks["checks"] = label.record["checks"]
        exactly = set()
        for (i, label), is_equal in zip(derived, equal, strict=True):
            decision = decisions[i]
            assert decision is not None and decision.checks is not None
            answer = candidates[i].problem["answer"]
            if is_equal:
                decision.provenance, decision.checks["derived_by"] = "checked", label.check
                if exact(label):
                    exactly.add(i)
            elif as_rational(answer.strip()) is None:
                # an answer no number spells (an expression, an interval): the comparison is not
                # sure enough to reject; the label stays inherited, a candidate
                decision.checks["derived_value"] = label.value
            else:
                decision.accepted, decision.out_of_band = False, False
                decision.reason = (
                    f"label check failed: {label.check} computes {label.value}, not the seed's answer {answer}"
                )
        for i, decision in enumerate(decisions):  # unsolved: kept only where exact arithmetic computed it
            if decision is not None and decision.out_of_band and decision.meta["k"] == 0 and i not in exactly:
                decision.out_of_band = False

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        return {
            "seed_rollout_id": candidate.seed.key,
            "seed_solution": candidate.seed.data.get("completion", "")[:2000],
            **(
                {"seeded_from_policy": candidate.seed.data["seeded_from_policy"]}
                if "seeded_from_policy" in candidate.seed.data
                else {}
            ),
        }


def ancestors(warehouse: Warehouse, policy_id: str, most: int = 16) -> list[str]:
    """The policy's parent, grandparent, ... (nearest first)."""
    chain: list[str] = []
    current = policy_id
    while len(chain) < most:
        parent = warehouse.scalar("SELECT any_value(parent_policy_id) FROM policies WHERE policy_id = ?", [current])
        if not parent or parent in chain:
            break
        chain.append(parent)
        current = parent
    return chain
