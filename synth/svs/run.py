"""SvS inside the pipeline (methods.md §1, steps 3-7):

1. seeds: every correct rollout of the policy on a math problem whose accuracy is in the
   under-performing band [0.125, 0.5];
2. the policy writes G variational problems per seed from the synthesis prompt (over-long
   prompts are dropped);
3. each candidate's problem is extracted (fenced-block rules), then solved G times and graded
   against the ORIGINAL answer;
4. accepted iff G*0.125 <= k <= G*0.625; the accepted problem keeps the original answer, and its
   solving rollouts are stored, so its difficulty is known without sampling again.

Each batch of seeds is written in one transaction, and a seed with attempts already recorded is
skipped, so a rerun resumes without duplicates.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from engines.base import Engine
from rollouts.estimate import difficulty_row
from schemas.config import HardforgeConfig
from schemas.engine import SamplingParams
from schemas.keys import content_key, problem_id
from schemas.prompts import problem_chat, sampling_key
from schemas.records import Problem, Rollout, SynthAttempt
from synth.base import Outcome, SynthReport, now, record_outcomes
from synth.svs.algorithm import SYNTHESIS_PROMPT, decide, extract_problem, synthesis_prompt
from verifiers.base import GradeItem
from verifiers.math.grade import MathVerifier
from warehouse.db import Warehouse

METHOD = "svs"
VARIANT = {"source": METHOD, "domain": "math", "verifier": "math"}  # what an accepted variant is

SEEDS_SQL = """
SELECT r.rollout_id, r.problem_id, r.completion, p.statement, p.answer, d.pass_at_1
FROM rollouts r
JOIN difficulty d USING (problem_id, policy_id, sampling_key)
JOIN problems p USING (problem_id)
WHERE r.policy_id = $policy AND r.correct AND p.domain = 'math'
  AND d.pass_at_1 BETWEEN $low AND $high
ORDER BY p.problem_id, r.sample_idx
"""


def select_seeds(warehouse: Warehouse, policy_id: str, low: float, high: float) -> list[dict[str, Any]]:
    with warehouse.read() as con:
        return con.sql(SEEDS_SQL, params={"policy": policy_id, "low": low, "high": high}).to_arrow_table().to_pylist()


def used_seeds(warehouse: Warehouse) -> set[str]:
    rows = warehouse.arrow(
        "SELECT DISTINCT json_extract_string(meta, '$.seed_rollout_id') AS seed FROM synth_attempts WHERE method = 'svs'"
    )
    return set(rows.column("seed").to_pylist())


def run_svs(
    warehouse: Warehouse,
    engine: Engine,
    policy_id: str,
    config: HardforgeConfig,
    *,
    limit: int | None = None,
    run_id: str | None = None,
    verifier: MathVerifier | None = None,
) -> SynthReport:
    cfg = config.synth.svs
    run_id = run_id or uuid.uuid4().hex
    report = SynthReport(METHOD)
    start = time.monotonic()
    seeds = select_seeds(warehouse, policy_id, cfg.under_low, cfg.under_high)
    done = used_seeds(warehouse)
    report.already_done = sum(s["rollout_id"] in done for s in seeds)
    seeds = [s for s in seeds if s["rollout_id"] not in done][:limit]
    report.seeds = len(seeds)
    # the variants' solving rollouts are stored under the rollout config with n = G
    solve_cfg = config.rollouts.model_copy(update={"n": cfg.group})
    solve_key = sampling_key(solve_cfg, VARIANT)
    own = verifier is None
    verifier = verifier or MathVerifier(timeout_s=config.rollouts.grade_timeout_s)
    try:
        for offset in range(0, len(seeds), cfg.batch_seeds):
            batch = seeds[offset : offset + cfg.batch_seeds]
            outcomes = _run_batch(engine, policy_id, batch, config, solve_cfg, solve_key, run_id, verifier, report,
                                  lambda ids: existing_problems(warehouse, ids))
            record_outcomes(warehouse, outcomes, report)
    finally:
        if own:
            verifier.close()
    report.elapsed_s = time.monotonic() - start
    return report


def existing_problems(warehouse: Warehouse, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    rows = warehouse.arrow("SELECT problem_id FROM problems WHERE list_contains(?, problem_id)", [ids])
    return set(rows.column("problem_id").to_pylist())


def _attempt(seed: dict[str, Any], index: int, run_id: str, **fields: Any) -> SynthAttempt:
    meta = {"seed_rollout_id": seed["rollout_id"], "candidate": index, "seed_pass_at_1": seed["pass_at_1"],
            **fields.pop("meta", {})}
    return SynthAttempt(
        attempt_id=content_key(METHOD, seed["rollout_id"], str(index)), run_id=run_id, method=METHOD,
        parent_id=seed["problem_id"], candidate_answer=seed["answer"], meta=meta, created_at=now(), **fields,
    )


def _run_batch(engine, policy_id, batch, config, solve_cfg, solve_key, run_id, verifier, report, exists) -> list[Outcome]:
    cfg = config.synth.svs
    outcomes: list[Outcome] = []
    prompts, kept = [], []
    for seed in batch:
        chat = [{"role": "user", "content": synthesis_prompt(seed["completion"])}]
        if engine.count_tokens(chat) > cfg.max_prompt_tokens:
            report.prompts_over_length += 1
            outcomes.append(Outcome(_attempt(seed, -1, run_id, prompt=chat[0]["content"], accepted=False,
                                             reason=f"synthesis prompt too long: over {cfg.max_prompt_tokens} tokens")))
            continue
        prompts.append(chat)
        kept.append(seed)
    if not prompts:
        return outcomes
    proposals = engine.generate(prompts, SamplingParams(
        n=cfg.group, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
        seed=config.rollouts.seed + int(content_key(*[s["rollout_id"] for s in kept])[:8], 16) % 1_000_000,
    ))
    candidates = []  # (seed, index, prompt, output, problem text)
    for seed, chat, group in zip(kept, prompts, proposals, strict=True):
        for index, completion in enumerate(group):
            report.candidates += 1
            text = extract_problem(completion.text)
            common = {"prompt": chat[0]["content"], "output": completion.text}
            if text is None:
                outcomes.append(Outcome(_attempt(seed, index, run_id, **common, accepted=False,
                                                 reason="unparsable: no problem block in the output")))
                continue
            report.extractable += 1
            solve_chat = problem_chat({**VARIANT, "statement": text}, solve_cfg)
            if engine.count_tokens(solve_chat) > cfg.max_prompt_tokens:
                outcomes.append(Outcome(_attempt(seed, index, run_id, **common, candidate=text, accepted=False,
                                                 reason=f"solve prompt too long: over {cfg.max_prompt_tokens} tokens")))
                continue
            candidates.append((seed, index, common, text, solve_chat))
    if not candidates:
        return outcomes
    rule = solve_cfg.for_source(METHOD)
    solve_params = SamplingParams(
        n=cfg.group, temperature=solve_cfg.temperature, top_p=solve_cfg.top_p, max_tokens=rule.max_tokens,
        seed=config.rollouts.seed + 1,
    )
    solutions = engine.generate([c[4] for c in candidates], solve_params)
    items = [GradeItem(seed["answer"], s.text, extraction=rule.extraction)
             for (seed, *_), group in zip(candidates, solutions, strict=True) for s in group]
    grades = iter(verifier.grade(items))
    known = exists([problem_id("math", c[3], c[0]["answer"]) for c in candidates])
    stamp = now()
    for (seed, index, common, text, _), group in zip(candidates, solutions, strict=True):
        graded = [next(grades) for _ in group]
        k = sum(g.correct for g in graded)
        accepted, reason = decide(k, cfg.group, (cfg.positive_low, cfg.positive_high))
        new_id = problem_id("math", text, seed["answer"])
        if accepted and new_id in known:
            accepted, reason = False, "duplicate: the variant is a problem already in the warehouse"
        figures = {"k": k, "group": cfg.group, "positive_band": [cfg.positive_low, cfg.positive_high],
                   "under_band": [cfg.under_low, cfg.under_high], "prompt_sha": content_key(SYNTHESIS_PROMPT),
                   "sampling": {"temperature": cfg.temperature, "top_p": cfg.top_p, "max_tokens": cfg.max_tokens}}
        attempt = _attempt(seed, index, run_id, **common, candidate=text, accepted=accepted, reason=reason,
                           problem_id=new_id if accepted else None, meta=figures)
        if not accepted:
            outcomes.append(Outcome(attempt))
            continue
        problem = Problem(
            problem_id=new_id, domain="math", statement=text, answer=seed["answer"], verifier="math",
            task="svs_variant", source=METHOD, source_ref=attempt.attempt_id, parent_id=seed["problem_id"],
            method_meta={**figures, "seed_rollout_id": seed["rollout_id"], "policy_id": policy_id},
            created_run=run_id, created_at=stamp,
        )
        rollouts = [
            Rollout(
                rollout_id=content_key(new_id, policy_id, solve_key, str(j)), problem_id=new_id, policy_id=policy_id,
                sampling_key=solve_key, sample_idx=j, seed=solve_params.seed, completion=s.text,
                extracted_answer=g.extracted, correct=g.correct, score=g.score, prompt_tokens=s.prompt_tokens,
                completion_tokens=s.completion_tokens, finish_reason=s.finish_reason, detail=g.detail,
                extraction=rule.extraction, run_id=run_id, created_at=stamp,
            )
            for j, (s, g) in enumerate(zip(group, graded, strict=True))
        ]
        difficulty = difficulty_row(new_id, policy_id, solve_key, [g.correct for g in graded], config.rollouts.k, stamp)
        outcomes.append(Outcome(attempt, problem, rollouts, difficulty))
    return outcomes
