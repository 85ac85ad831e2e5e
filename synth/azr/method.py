"""Absolute Zero on the synthesis contract (methods.md §5, confirmed in the official code):

1. seeds: the task types in turn (no data); a deduction/abduction proposer sees K references from
   its task's buffer, an induction proposer one program from the deduction/abduction buffers;
2. a proposal is parsed into (program, input), or into inputs and a message for induction, and
   must be one function f with literal inputs;
3. validation in the project's sandbox: the AST ban list, two runs in two worker processes (and
   two calls in each) that must agree, the 10 s timeout, the output's repr capped; invalid
   proposals are rejected with the reason (proposer reward -1);
4. learnability: n = 8 solver samples, s̄ their solve rate; accepted iff 0 < s̄ < 1; the proposer
   reward 1 - s̄, the composite and the solver rewards are recorded with the attempt;
5. every valid task enters its buffer; an accepted one becomes a code problem with
   ``task`` = deduction | abduction | induction, graded by the ``azr`` verifier.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from duckdb import DuckDBPyConnection

from rollouts.service import RolloutService
from schemas.config import AzrConfig
from schemas.engine import Chat, SamplingParams
from schemas.keys import content_key
from schemas.records import AzrBufferEntry, SynthAttempt
from synth.azr import buffers
from synth.azr.algorithm import (
    accept,
    composite_reward,
    induction_prompt,
    output_error,
    parse_induction,
    parse_proposal,
    program_error,
    program_form,
    proposer_prompt,
    proposer_reward,
    solver_reward,
    solver_statement,
    split_io,
)
from synth.base import Candidate, Decision, Seed, Synthesizer, now, problem_key
from verifiers.code.azr import answer_json
from verifiers.code.sandbox import Limits, RunResult
from warehouse.db import Warehouse

SEEDS_PER_TASK = 100_000  # task types never run out; used seeds are skipped by the runner
# how an Absolute Zero label is known: the sandbox ran the program (two workers agreed)
EXECUTED = {
    "base": "executed",
    "checks": [
        {
            "check": "execution",
            "outcome": "agree",
            "detail": {},
            "reason": "the sandbox ran f on the input(s): the output is what it returned",
        }
    ],
}


class AzrSynthesizer(Synthesizer):
    name = "azr"

    @property
    def settings(self) -> AzrConfig:
        return self.config.synth.azr

    def seeds(self, warehouse: Warehouse, policy_id: str) -> Iterator[Seed]:
        self._policy_id = policy_id  # recorded with the buffer entries (keep)
        return (
            Seed(f"{task}#{i}", None, {"task": task}) for i in range(SEEDS_PER_TASK) for task in self.settings.tasks
        )

    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        # the buffers as they are when the seed's batch starts
        task = seed.data["task"]
        if task == "induction":
            program, entry = buffers.induction_program(warehouse, seed.key)
            seed.data.update(program=program, program_entry=entry)
            content = induction_prompt(program, self.settings.induction_inputs)
        else:
            refs = buffers.references(warehouse, task, self.settings.references, seed.key)
            seed.data["references"] = refs
            content = proposer_prompt(task, refs)
        return [[{"role": "user", "content": content}]]

    def sampling(self) -> SamplingParams:
        cfg = self.settings
        return SamplingParams(
            n=cfg.proposals, temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=self.config.rollouts.seed
        )

    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        task = seed.data["task"]
        meta: dict[str, Any] = {"task": task, "valid": False, "reward": composite_reward(False, 0.0)}
        if task == "induction":
            parsed = parse_induction(output, self.settings.induction_inputs)
            if isinstance(parsed, str):
                return Candidate(seed, index, prompt, output, reason=parsed, meta=meta)
            inputs, message = parsed
            program = seed.data["program"]
            fields = {"program": program, "inputs": inputs, "message": message}
        else:
            parsed = parse_proposal(output)
            if isinstance(parsed, str):
                return Candidate(seed, index, prompt, output, reason=parsed, meta=meta)
            program, given = parsed
            reason = program_error(program)
            if reason is None and program_form(program) in {program_form(p) for p, _ in seed.data["references"]}:
                reason = "copy: the same program as a reference in the prompt (up to names, comments and docstrings)"
            if reason is not None:
                return Candidate(
                    seed, index, prompt, output, reason=reason, meta={**meta, "program": program, "input": given}
                )
            fields = {"program": program, "input": given}
        # statement and answer are known once the sandbox has run the program (validate)
        problem = {
            "domain": "code",
            "statement": program,
            "answer": "",
            "verifier": "azr",
            "task": task,
            "source": f"azr:{task}",
            "fields": fields,
        }
        return Candidate(seed, index, prompt, output, problem=problem, meta={**meta, **fields})

    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        cfg = self.settings
        runs: list[tuple[int, str, str]] = []  # (candidate, program, input)
        for i, candidate in enumerate(candidates):
            fields = candidate.problem["fields"]
            for given in fields.get("inputs") or [fields["input"]]:
                runs.append((i, fields["program"], given))
        sandbox = service.verifiers.get("azr").sandbox
        limits = Limits(timeout_s=cfg.timeout_s, memory_bytes=self.config.sandbox.memory_mb << 20)
        results = sandbox.run_calls([r[1] for r in runs], [r[2] for r in runs], limits=limits)
        by_candidate: dict[int, list[RunResult]] = {}
        for (i, _, _), result in zip(runs, results, strict=True):
            by_candidate.setdefault(i, []).append(result)
        decisions: dict[int, Decision] = {}
        valid: list[int] = []
        for i, candidate in enumerate(candidates):
            reason = self._build(candidate, by_candidate[i])
            if reason is not None:
                decisions[i] = Decision(False, reason, {"valid": False, "reward": composite_reward(False, 0.0)})
            else:
                valid.append(i)
        if valid:
            solver = service.with_config(self.config.rollouts.model_copy(update={"n": cfg.solvers}))
            problems = [{**candidates[i].problem, "problem_id": problem_key(candidates[i].problem)} for i in valid]
            completions, seeds = solver.sample(problems)
            grades = solver.grade(problems, [[c.text for c in group] for group in completions])
            for i, problem, group, graded, seed in zip(valid, problems, completions, grades, seeds, strict=True):
                solve_rate = sum(g.correct for g in graded) / len(graded)
                accepted, reason = accept(solve_rate)
                learnability = proposer_reward(solve_rate)
                meta = {
                    "valid": True,
                    "s_bar": round(solve_rate, 4),
                    "n": len(graded),
                    "r_propose": round(learnability, 4),
                    "reward": composite_reward(True, learnability),
                    "solver_rewards": [solver_reward(g.extracted is not None, g.correct) for g in graded],
                }
                decisions[i] = Decision(
                    accepted,
                    reason,
                    meta,
                    solver.rows(problem, group, graded, seed=seed),
                    provenance="executed",
                    checks=EXECUTED,
                    # only a too-easy task: every solver read its statement to the label, so the
                    # statement determines it; an unsolved one may be an interpreter fact or a hint
                    # the hidden half contradicts (red team), as often as hard
                    out_of_band=solve_rate >= 1.0,
                )
        return [decisions[i] for i in range(len(candidates))]

    def _build(self, candidate: Candidate, results: list[RunResult]) -> str | None:
        """Fill in the solver's problem from the sandbox runs; the reason when the task is invalid."""
        cfg, problem = self.settings, candidate.problem
        fields, task = problem["fields"], problem["task"]
        for given, result in zip(fields.get("inputs") or [fields["input"]], results, strict=True):
            if result.status == "banned":
                return f"banned: {result.detail}"
            if not result.passed:
                kind = "nondeterministic" if "nondeterministic" in (result.detail or "") else "invalid"
                return f"{kind}: f({given[:60]}) {result.status}: {result.detail}"
            reason = output_error(result.value or "", cfg.output_cap, literal=task == "deduction")
            if reason is not None:
                return reason
        outputs = [r.value or "" for r in results]
        if all(output == "None" for output in outputs):
            # AZR asks for a function that returns a value; any input "gives" None
            return "invalid: f returns None"
        program = fields["program"]
        if task == "induction":
            shown, hidden = split_io(list(zip(fields["inputs"], outputs, strict=True)))
            statement = solver_statement(task, shown=shown, message=fields["message"])
            answer = answer_json(task, hidden=[list(pair) for pair in hidden])
            extra = {"program": program, "message": fields["message"], "shown": [list(p) for p in shown]}
            fields["pairs"] = [*shown, *hidden]
        else:
            statement = solver_statement(task, program, fields["input"], outputs[0])
            answer = (
                answer_json(task, output=outputs[0])
                if task == "deduction"
                else answer_json(task, program=program, output=outputs[0])
            )
            extra = {"program": program, "input": fields["input"], "output": outputs[0]}
            fields["output"] = outputs[0]
        problem.update(statement=statement, answer=answer, extra=extra)
        candidate.meta.update(valid=True)
        return None

    def dedup_key(self, candidate: Candidate) -> str:
        """A proposal is its task, program and input(s) (the statement is written after it runs)."""
        fields = candidate.problem["fields"]
        return content_key(
            "azr",
            candidate.problem["task"],
            program_form(fields["program"]),
            *(fields.get("inputs") or [fields["input"]]),
        )

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        data = candidate.seed.data
        if candidate.problem["task"] == "induction":
            return {"task": "induction", "program_entry": data.get("program_entry")}
        return {"task": candidate.problem["task"], "references": len(data.get("references", []))}

    def keep(
        self, warehouse: Warehouse, con: DuckDBPyConnection, validated: list[tuple[Candidate, Decision, SynthAttempt]]
    ) -> None:
        """Every valid task, learnable or not, enters its task's buffer (AZR: ``valid_program_filter: all``)."""
        entries = []
        stamp = now()
        for candidate, decision, attempt in validated:
            if not decision.meta.get("valid"):
                continue
            fields, task = candidate.problem["fields"], candidate.problem["task"]
            if task == "induction":
                key = content_key("azr", task, fields["program"], *fields["inputs"])
                extra = {"io": {"pairs": [list(p) for p in fields["pairs"]], "message": fields["message"]}}
            else:
                key = content_key("azr", task, fields["program"], fields["input"])
                extra = {"input": fields["input"], "output": fields["output"]}
            entries.append(
                AzrBufferEntry(
                    entry_id=key,
                    task=task,
                    program=fields["program"],
                    attempt_id=attempt.attempt_id,
                    policy_id=self._policy_id,
                    run_id=attempt.run_id,
                    added_at=stamp,
                    **extra,
                )
            )
        buffers.add(warehouse, con, entries, self.settings.buffer_cap)
