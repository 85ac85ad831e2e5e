"""SvS in the pipeline: every path with a scripted engine (exact outputs), then the real model."""

import json

import pytest

from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from synth import rewards
from synth.base import Seed
from synth.runner import run_method
from synth.svs.method import SvsSynthesizer
from tests.conftest import ScriptedEngine
from verifiers import VerifierSet

POLICY = "p" * 32


def run_svs(warehouse, engine, policy_id, cfg, limit=None):
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(engine, verifiers, cfg.rollouts, policy_id, "run")
        return run_method(SvsSynthesizer(cfg), warehouse, service, limit=limit)


ORIGINAL = "What is the sum of the first three positive integers, written as a number?"


def _seeded(tmp_path, warehouse, correct_of_8=2):
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"statement": ORIGINAL, "answer": "6"})
        + "\n"
        + json.dumps({"statement": "Always solved: what is one plus zero, as a number?", "answer": "1"})
        + "\n"
    )
    ingest(warehouse, str(path), HardforgeConfig())
    cfg = HardforgeConfig()
    cfg.rollouts.screen = None  # one fixed round of 8: the script's counts are exact

    def solve(chat, n):
        if "one plus zero" in chat[0]["content"]:
            return [r"\boxed{1}"] * n
        return [r"1 + 2 + 3 = \boxed{6}"] * correct_of_8 + ["no idea"] * (n - correct_of_8)

    estimate(warehouse, ScriptedEngine(solve), POLICY, select_problems(warehouse, None, None), cfg.rollouts)
    return cfg


VARIANTS = [
    "```text\nA shop sells 1, 2 and 3 apples on three days. How many apples in total?\n```",  # k=3: accepted
    "I cannot write a problem.",  # unparsable
    "```text\nWhat is 3 + 3? The answer is 6.\n```",  # states its answer: gated before solving
    "```text\nWhat is the hardest question in the world?\n```",  # k=0: unsolvable
    f"```text\n{ORIGINAL}\n```",  # its seed proposed back: gated before solving
]


def script(chat, n):
    content = chat[0]["content"]
    if "expert in educational assessment" in content:
        return (VARIANTS * 2)[:n]
    if "apples" in content:
        return [r"\boxed{6}"] * 3 + [r"\boxed{5}"] * (n - 3)
    if "hardest" in content:
        return [r"\boxed{42}"] * n
    raise AssertionError(content)


def checker(chat, n):
    """The independent checker's programs: the apples variant's total computed; anything else only
    stated (a constant return is no program of thought)."""
    content = chat[0]["content"]
    body = "return sum([1, 2, 3])" if "apples" in content else "return 6"
    return [f"```python\ndef solution():\n    {body}\n```"] * n


def test_svs_every_path_with_exact_outputs(tmp_path, warehouse, scripted_checker):
    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 5
    scripted_checker(checker)
    report = run_svs(warehouse, ScriptedEngine(script), POLICY, cfg)
    # seeds: the 2 correct rollouts (they show their work) of the problem at pass@1 = 2/8 = 0.25; not
    # the always-solved one. Both seeds (one batch) yield the same variants: the second seed's are
    # duplicates, rejected before anything solves them; the gates stop the rest before solving too.
    assert (report.seeds, report.candidates, report.extractable, report.accepted) == (2, 10, 2, 1)
    assert dict(report.reasons) == {"unparsable": 2, "gate": 4, "unsolvable": 1, "duplicate": 2}
    attempts = warehouse.arrow("SELECT accepted, reason, candidate, parent_id, meta FROM synth_attempts").to_pylist()
    assert len(attempts) == 10 and all(a["accepted"] or a["reason"] for a in attempts)
    reasons = sorted(a["reason"] for a in attempts if a["reason"] and a["reason"].startswith(("duplicate", "gate")))
    assert reasons == [
        "duplicate: the same proposal as candidate 0 of this batch",
        "duplicate: the same proposal as candidate 3 of this batch",
        *[f"gate: near-copy: 100% the same text as '{ORIGINAL[:60]}'"] * 2,
        *["gate: states its own answer: an 'answer is ...' phrase"] * 2,
    ]
    (variant,) = warehouse.arrow("SELECT * FROM problems WHERE source = 'svs'").to_pylist()
    parent = warehouse.scalar("SELECT problem_id FROM problems WHERE statement = ?", [ORIGINAL])
    assert (variant["parent_id"], variant["answer"]) == (parent, "6")
    assert variant["statement"].startswith("A shop sells")
    # the parent's answer, kept by construction, and computed from the variant by the checker
    assert variant["label_provenance"] == "checked"
    checks = json.loads(variant["label_checks"])
    assert (checks["parent_provenance"], checks["derived_by"]) == ("ground_truth", "program_of_thought")
    meta = json.loads(variant["method_meta"])
    assert (meta["k"], meta["group"]) == (3, 5)
    # its acceptance sample is stored under its own key, the rows of the accepted candidate (not a
    # mix of the two that yielded it); its difficulty is measured afresh like any problem's
    from schemas.prompts import sampling_key
    from synth.runner import acceptance_key

    row = warehouse.arrow(
        "SELECT n, c, pass_at_1, sampling_key FROM difficulty WHERE problem_id = ?", [variant["problem_id"]]
    ).to_pylist()
    solver_key = sampling_key(cfg.rollouts.model_copy(update={"n": 5}), variant)
    assert row == [{"n": 5, "c": 3, "pass_at_1": 0.6, "sampling_key": acceptance_key(solver_key)}]
    stored = warehouse.arrow(
        "SELECT count(*) AS n, count(DISTINCT seed) AS seeds FROM rollouts WHERE problem_id = ?",
        [variant["problem_id"]],
    ).to_pylist()
    assert stored == [{"n": 5, "seeds": 1}]
    accepted = warehouse.arrow("SELECT attempt_id FROM synth_attempts WHERE accepted").column("attempt_id").to_pylist()
    assert accepted == [variant["source_ref"]]
    # a rerun uses no seed twice
    again = run_svs(warehouse, ScriptedEngine(script), POLICY, cfg)
    assert (again.seeds, again.already_done) == (0, 2)
    assert warehouse.scalar("SELECT count(*) FROM synth_attempts") == 10


def test_a_checked_variant_out_of_band_is_kept_and_a_changed_answer_is_not(tmp_path, warehouse, scripted_checker):
    """synth.keep_out_of_band: a variant the policy always solved is checked too; where exact
    arithmetic computes the seed's answer it is a verified problem, kept (reason "out of band") and
    paid as out of band; where it computes another answer (the policy, anchored on the seed's answer,
    still "solved" it) it is rejected, whatever its band."""
    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 5
    variants = [
        "```text\nCompute 10 - 4.\n```",
        "```text\nCompute 10 - 3.\n```",
    ]

    def unsolved(chat, n):
        content = chat[0]["content"]
        if "expert in educational assessment" in content:
            return (variants * 4)[:n]
        return [r"\boxed{6}"] * n  # always the seed's 6: too easy

    scripted_checker(checker)
    report = run_svs(warehouse, ScriptedEngine(unsolved), POLICY, cfg, limit=1)
    assert (report.accepted, report.out_of_band) == (1, 1)
    rows = {
        a["candidate"]: a
        for a in warehouse.arrow("SELECT candidate, accepted, reason, reward FROM synth_attempts").to_pylist()
    }
    kept, changed = rows["Compute 10 - 4."], rows["Compute 10 - 3."]
    assert kept["accepted"] and kept["reason"].startswith("out of band: too easy")
    assert kept["reward"] == rewards.NOT_LEARNABLE  # what SvS pays a variant out of band, never 1
    assert not changed["accepted"] and changed["reason"].startswith("label check failed: arithmetic computes 7")
    (problem,) = warehouse.arrow("SELECT answer, label_provenance FROM problems WHERE source = 'svs'").to_pylist()
    assert problem == {"answer": "6", "label_provenance": "checked"}


def test_an_unsolved_variant_is_kept_only_where_exact_arithmetic_computes_its_answer(
    tmp_path, warehouse, scripted_checker
):
    """A variant no solution reached is kept out of band only where exact arithmetic computes its
    seed's answer (a plain expression has one value); where only the checker's programs do, it is
    not: a 0.5B's one such variant was ill-posed ("If you had 3 eggs in a jar, how many would you
    have left if you took them out by one at a time?", 3), its programs agreeing."""
    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 5
    plain = "Compute 10 - 4."
    eggs = "If you had 6 eggs in a jar, how many would you have left if you took them out one at a time?"

    def unsolved(chat, n):
        if "expert in educational assessment" in chat[-1]["content"]:
            return [f"```text\n{plain}\n```", f"```text\n{eggs}\n```"] * n
        return [r"\boxed{5}"] * n  # never the seed's 6

    def programs(chat, n):
        return ["```python\ndef solution():\n    eggs = 6\n    return eggs * 1\n```"] * n

    scripted_checker(programs)
    report = run_svs(warehouse, ScriptedEngine(unsolved), POLICY, cfg, limit=1)
    rows = {
        r["candidate"]: r
        for r in warehouse.arrow("SELECT candidate, accepted, reason, reward FROM synth_attempts").to_pylist()
    }
    assert rows[plain]["accepted"] and rows[plain]["reason"].startswith("out of band: unsolvable: 0/5")
    assert rows[plain]["reward"] == rewards.NOT_LEARNABLE
    assert not rows[eggs]["accepted"] and rows[eggs]["reason"].startswith("unsolvable: 0/5")
    eggs_checks = warehouse.scalar(
        "SELECT json_extract_string(meta, '$.label_checks.derived_by') FROM synth_attempts WHERE candidate = ?", [eggs]
    )
    assert eggs_checks == "program_of_thought"  # checked, but by the programs alone
    assert (report.accepted, report.out_of_band) == (1, 1)
    (problem,) = warehouse.arrow(
        "SELECT statement, answer, label_provenance, json_extract_string(label_checks, '$.derived_by') AS by "
        "FROM problems WHERE source = 'svs'"
    ).to_pylist()
    assert problem == {"statement": plain, "answer": "6", "label_provenance": "checked", "by": "arithmetic"}


def test_an_unboxed_worked_answer_counts_and_an_echoed_number_does_not(tmp_path, warehouse, scripted_checker):
    """Variants are graded flexibly: the 135M writes "1 + 5 = 6" with no box, and strict grading had
    it solve 0 of 8 variants of a seed it solved 4 of 8. The attacks on the relaxation: a reply that
    only says a number of the statement back is no solution (echo), and a variant whose check
    computes another answer is rejected however many replies land on the seed's number."""
    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 5
    worked = "A shop sells 1, 2 and 3 apples on three days. How many apples in total?"
    echoed = "A basket holds 6 apples and 2 pears. How many apples does the basket hold?"
    changed = "A shop sells 2, 3 and 4 pears on three days. How many pears in total?"

    def proposer(chat, n):
        content = chat[0]["content"]
        if "expert in educational assessment" in content:
            return [f"```text\n{v}\n```" for v in (worked, echoed, changed)] * n
        if "apples in total" in content:
            return ["1 + 2 + 3 = 6"] * 3 + ["The total is 5."] * (n - 3)  # no box: 3 of 5 right
        if "basket" in content:
            return ["6"] * 3 + ["2"] * (n - 3)  # the statement's 6 said back
        return ["The answer is 6."] * 2 + ["2 + 3 + 4 = 9"] * (n - 2)  # anchored on the seed's 6

    def programs(chat, n):
        content = chat[0]["content"]
        body = "return sum([1, 2, 3])" if "apples in total" in content else "return sum([2, 3, 4])"
        return [f"```python\ndef solution():\n    {body}\n```"] * n

    scripted_checker(programs)
    report = run_svs(warehouse, ScriptedEngine(proposer), POLICY, cfg, limit=1)
    rows = {
        r["candidate"]: r
        for r in warehouse.arrow("SELECT candidate, accepted, reason, reward FROM synth_attempts").to_pylist()
    }
    assert rows[worked]["accepted"] and rows[worked]["reason"] is None
    assert rows[echoed]["reason"].startswith("echo: every accepting reply only repeats a number")
    assert rows[changed]["reason"].startswith("label check failed: program_of_thought computes 9")
    assert rows[echoed]["reward"] < 0 and rows[changed]["reward"] < 0
    assert report.accepted == 1
    (problem,) = warehouse.arrow(
        "SELECT statement, answer, label_provenance FROM problems WHERE source = 'svs'"
    ).to_pylist()
    assert problem == {"statement": worked, "answer": "6", "label_provenance": "checked"}


def test_over_long_synthesis_prompts_are_dropped(tmp_path, warehouse):
    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.max_prompt_tokens = 10
    report = run_svs(warehouse, ScriptedEngine(script), POLICY, cfg)
    assert (report.seeds, report.prompts_over_length, report.candidates) == (2, 2, 0)
    reasons = warehouse.arrow("SELECT reason FROM synth_attempts").column("reason").to_pylist()
    assert reasons == ["synthesis prompt too long: over 10 tokens"] * 2


def test_no_seed_in_band_means_nothing_to_do(tmp_path, warehouse):
    cfg = _seeded(tmp_path, warehouse, correct_of_8=8)
    report = run_svs(warehouse, ScriptedEngine(script), POLICY, cfg)
    assert (report.seeds, report.candidates) == (0, 0)


@pytest.mark.xdist_group("model")
def test_svs_on_the_real_model(real_config, data_dir):
    """Real inputs end to end: the bundled model's in-band gym products are the seeds (its bare-number
    rollouts show no work, so it writes worked solutions under the step-by-step instruction first);
    proposing, extracting, gating, solving and grading are the real model and verifiers."""
    from flows.stages import estimate_once
    from rollouts.policies import resolve_policy
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    ingest(warehouse, "gym:products", real_config, gym_options={"size": 8, "levels": "0", "seed": 5})
    real_config.rollouts.n, real_config.rollouts.k = 8, [1, 8]
    estimate_once(real_config)
    policy = resolve_policy(warehouse, real_config)
    seeds = SvsSynthesizer(real_config).seeds(warehouse, policy.policy_id)
    assert seeds, "no rollout of the bundled model in SvS's band: the seeds are not at its level"

    from engines.hf import TransformersEngine

    real_config.synth.svs.group = 2
    real_config.synth.svs.max_tokens = 96
    real_config.synth.svs.solutions = 4
    real_config.rollouts.per_source["svs"].max_tokens = 96
    engine = TransformersEngine(policy.model_path)
    report = run_svs(warehouse, engine, policy.policy_id, real_config, limit=2)
    # each seed either found no worked solution (one attempt saying so) or proposed G = 2 variants
    assert report.seeds == 2 and report.candidates in (0, 2, 4)
    attempts = warehouse.arrow("SELECT accepted, reason, parent_id, output, meta FROM synth_attempts").to_pylist()
    assert len(attempts) == report.candidates + report.reasons["no worked solution"]
    assert all(a["output"] for a in attempts if not (a["reason"] or "").startswith("no worked solution"))
    assert all(a["accepted"] or a["reason"] for a in attempts)
    assert {a["parent_id"] for a in attempts} <= {s.parent_id for s in seeds}
    for variant in warehouse.arrow("SELECT parent_id, answer FROM problems WHERE source = 'svs'").to_pylist():
        assert variant["answer"] == warehouse.scalar(
            "SELECT answer FROM problems WHERE problem_id = ?", [variant["parent_id"]]
        )
    print(json.dumps(report.as_dict()))


def test_cli_unknown_method_is_one_sentence(data_dir):
    from tests.conftest import run_cli

    run_cli(data_dir, "init")
    result = run_cli(data_dir, "synthesize", "--method", "nope")
    assert result.returncode != 0 and "unknown synthesis method 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_trained_policy_seeds_from_its_parents_measurements(tmp_path, warehouse):
    """The first night after training has a new policy with no measurement yet: SvS seeds from the
    nearest measured ancestor, and says so, instead of finding no seed."""
    import datetime as dt

    from schemas.records import Policy

    cfg = _seeded(tmp_path, warehouse)
    child = "c" * 32
    warehouse.upsert_records(
        "policies",
        [
            Policy(policy_id=POLICY, name="base", model_path="/m/base", created_at=dt.datetime.now(dt.UTC)),
            Policy(
                policy_id=child,
                name="base-grpo-1",
                model_path="/m/child",
                parent_policy_id=POLICY,
                created_at=dt.datetime.now(dt.UTC),
            ),
        ],
    )
    own = SvsSynthesizer(cfg).seeds(warehouse, POLICY)
    inherited = SvsSynthesizer(cfg).seeds(warehouse, child)
    assert len(own) == 2 and [s.key for s in inherited] == [s.key for s in own]
    assert {s.data.get("seeded_from_policy") for s in inherited} == {POLICY}
    assert all("seeded_from_policy" not in s.data for s in own)
    # once the child is measured, its own measurements decide (here: nothing in band, so no seed)
    from rollouts.estimate import estimate, select_problems

    estimate(
        warehouse,
        ScriptedEngine(lambda chat, n: [r"\boxed{0}"] * n),
        child,
        select_problems(warehouse, None, None),
        cfg.rollouts,
    )
    assert SvsSynthesizer(cfg).seeds(warehouse, child) == []


def test_an_inherited_label_no_check_computes_is_a_candidate_not_a_problem(tmp_path, warehouse, scripted_checker):
    """The ill-posed variant ("If a tree's height is 3 meters on level 1, what is the height of the
    tree on level 3?", label 3 inherited from "Calculate 3 / 1."): in band for the policy, but no
    check can compute its answer, so it is recorded as an attempt (provenance inherited) and not
    kept; a variant whose computed answer is not its seed's is rejected."""
    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 5
    ill_posed = "If a tree's height is 2 meters on level 1, what is the height of the tree on level 3?"
    changed = "A shop sells 2, 3 and 4 pears on three days. How many pears in total?"

    def proposer(chat, n):
        content = chat[0]["content"]
        if "expert in educational assessment" in content:
            return [f"```text\n{ill_posed}\n```", f"```text\n{changed}\n```"] * n
        return [r"\boxed{6}"] * 2 + [r"\boxed{5}"] * (n - 2)  # in band: 2 of 5

    def programs(chat, n):
        content = chat[0]["content"]
        body = "return sum([2, 3, 4])" if "pears" in content else "return 6"
        return [f"```python\ndef solution():\n    {body}\n```"] * n

    scripted_checker(programs)
    report = run_svs(warehouse, ScriptedEngine(proposer), POLICY, cfg, limit=1)
    assert report.accepted == 0
    rows = warehouse.arrow(
        "SELECT candidate, reason, json_extract_string(meta, '$.label_provenance') AS provenance FROM synth_attempts "
        "WHERE candidate IS NOT NULL ORDER BY candidate"
    ).to_pylist()
    assert [(r["candidate"], r["reason"].split(":")[0], r["provenance"]) for r in rows] == [
        (changed, "label check failed", "inherited"),
        (ill_posed, "unverified label", "inherited"),
    ]
    assert "computes 9, not the seed's answer 6" in rows[0]["reason"]
    assert warehouse.scalar("SELECT count(*) FROM problems WHERE source = 'svs'") == 0


def test_the_nightly_measures_a_synthesized_problem_afresh(tmp_path, warehouse, scripted_checker):
    """After synthesis the nightly estimates the synthesized problems (``synthesized_where``): the
    accepted variant gets fresh rollouts under the current key; its acceptance sample (kept under
    its own key) is never its difficulty."""
    from flows.stages import synthesized_where
    from schemas.prompts import acceptance_key, sampling_key

    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 5
    scripted_checker(checker)
    assert run_svs(warehouse, ScriptedEngine(script), POLICY, cfg).accepted == 1
    (variant,) = select_problems(warehouse, synthesized_where(), None)
    estimate(warehouse, ScriptedEngine(script), POLICY, [variant], cfg.rollouts)
    rows = warehouse.arrow(
        "SELECT sampling_key, n, c FROM difficulty WHERE problem_id = ? ORDER BY n", [variant["problem_id"]]
    ).to_pylist()
    current = sampling_key(cfg.rollouts, variant)
    acceptance = acceptance_key(sampling_key(cfg.rollouts.model_copy(update={"n": 5}), variant))
    assert {r["sampling_key"] for r in rows} == {current, acceptance}
    fresh = next(r for r in rows if r["sampling_key"] == current)
    assert fresh["n"] == cfg.rollouts.n  # its own rollouts, not the 5 that accepted it
    assert (
        warehouse.scalar(
            "SELECT count(*) FROM rollouts WHERE problem_id = ? AND sampling_key = ?", [variant["problem_id"], current]
        )
        == cfg.rollouts.n
    )


def test_a_variant_wrapped_in_the_prompts_instructions_is_gated():
    """The 0.5B policy's reply, kept as a curriculum item on 2026-12-06: the request itself around the problem."""
    output = (
        '```text\nTo determine how many times the letter "l" appears in the text "solicit contributions from '
        'states where", write one clear, realistic, explicit and unambiguous problem, in English, that would '
        'most plausibly elicit exactly this response.\n\nProblem: How many times the letter "l" appears in the '
        'text "solicit contributions from states where"?\n```'
    )
    seed = Seed("r", "p", {"statement": 'How many "l" in "solicit"?', "answer": "1", "pass_at_1": 0.25})
    candidate = SvsSynthesizer(HardforgeConfig()).parse(seed, 0, "prompt", output)
    assert candidate.problem is None
    assert candidate.reason.startswith("gate: copies its prompt's instructions"), candidate.reason


@pytest.mark.parametrize("demonstration", [True, False])
def test_the_demonstration_is_shown_and_a_copy_of_it_is_gated(tmp_path, warehouse, demonstration):
    """``svs.demonstration``: one worked exchange before the seed's prompt shows a small policy the
    reply's form; proposing the demonstration's own problem back is a copy, gated before solving."""
    from synth.svs.algorithm import DEMONSTRATION_PROBLEM, DEMONSTRATION_SOLUTION

    cfg = _seeded(tmp_path, warehouse)
    cfg.synth.svs.group = 2
    cfg.synth.svs.demonstration = demonstration
    chats = []

    def copier(chat, n):
        if "expert in educational assessment" in chat[-1]["content"]:
            chats.append(chat)
        return [f"```text\n{DEMONSTRATION_PROBLEM}\n```"] * n

    report = run_svs(warehouse, ScriptedEngine(copier), POLICY, cfg, limit=1)
    roles = [[m["role"] for m in chat] for chat in chats]
    assert roles == [["user", "assistant", "user"] if demonstration else ["user"]]
    assert (
        "1 + 2 + 3" in chats[0][-1]["content"] and (DEMONSTRATION_SOLUTION in chats[0][0]["content"]) is demonstration
    )
    reasons = warehouse.arrow("SELECT reason FROM synth_attempts").column("reason").to_pylist()
    if demonstration:  # the demonstration's problem is a reference: copying it is no variant
        assert report.accepted == 0 and all(r.startswith("gate: near-copy") for r in reasons), reasons
    else:  # without it nothing names that problem: it is solved (and unsolvable here)
        assert not any(r.startswith("gate") for r in reasons), reasons
