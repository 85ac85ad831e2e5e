"""MathSmith: its pure pieces table-driven, every path with a scripted engine, and a run on the
real bundled model with CHAMP's real concept bank."""

import json

import pytest

from ingest.service import ingest
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from synth.mathsmith.algorithm import (
    consistency,
    cot_score,
    format_score,
    parse_output,
    render_concepts,
    step_count,
    step_score,
    total_reward,
)
from synth.mathsmith.method import MathsmithSynthesizer
from synth.runner import run_method
from tests.conftest import ScriptedEngine
from verifiers import VerifierSet

POLICY = "p" * 32


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("Step 1 ... step 2 ... STEP 3", 3),
        ("Step 1, Step 1, Step 2", 2),
        ("no steps", 0),
        ("Step1 Step2 Step3 Step4 Step5 Step6", 6),
        ("Step 10", 1),
    ],
)
def test_step_count_counts_distinct_labels(text, steps):
    assert step_count(text) == steps


@pytest.mark.parametrize(("steps", "score"), [(0, 0.0), (1, 0.2), (5, 1.0), (6, 0.8), (9, 0.2), (10, 0.0), (14, 0.0)])
def test_step_score_peaks_at_five(steps, score):
    assert step_score(steps) == pytest.approx(score)


@pytest.mark.parametrize(
    ("parsed", "steps", "score"), [(False, 5, 0.0), (True, 0, 0.7), (True, 5, 1.0), (True, 7, 0.88)]
)
def test_format_score(parsed, steps, score):
    assert format_score(parsed, steps) == pytest.approx(score)


@pytest.mark.parametrize(
    ("lengths", "budget", "score"), [([128, 256], 256, 0.75), ([], 256, 0.0), ([600], 256, 1.0), ([10], 0, 0.0)]
)
def test_cot_score(lengths, budget, score):
    assert cot_score(lengths, budget) == pytest.approx(score)


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["4", "4", "4", "5", None, None], ("4", 3, True)),  # exactly 3 of 6
        (["4", "4", "4", "5", "5", "5"], (None, 3, False)),  # a tie is not a majority (our deviation)
        (["4", "4", "5", "5", "6", None], (None, 2, False)),
        ([None] * 6, (None, 6, False)),  # "no answer" wins: there is no label
        ([None, None, None, None, "4", "4"], (None, 4, False)),  # the official sentinel group counts
        (["1"] * 6, ("1", 6, True)),
    ],
)
def test_consistency_rule(answers, expected):
    counted, valid = consistency(answers)
    assert (counted.answer, counted.count, valid) == expected


@pytest.mark.parametrize(
    ("r_format", "r_cot", "r_consist", "total"), [(1.0, 0.5, 1.0, 1.65), (0.7, 0.0, 0.0, 0.7), (0.0, 0.9, 1.0, 0.0)]
)
def test_total_reward_is_zero_without_the_format(r_format, r_cot, r_consist, total):
    assert total_reward(r_format, r_cot, r_consist) == pytest.approx(total)


@pytest.mark.parametrize(
    ("output", "strict", "lenient"),
    [
        (
            "<rationale>Step 1: x</rationale>\n<problem>Find n.</problem>",
            ("Step 1: x", "Find n."),
            ("Step 1: x", "Find n."),
        ),
        (
            "<think>...</think><rationale>r</rationale><problem> </problem>",
            "unparsable: no <problem>",
            "unparsable: no <problem>",
        ),
        ("<problem>Find n.</problem>", "unparsable: no <rationale>", (None, "Find n.")),
        (
            "Here it is.\nProblem: Find n such that n^2 = 49.\nSolution: 7",
            "unparsable: no <problem>",
            (None, "Find n such that n^2 = 49."),
        ),
        ("I'm ready to help.", "unparsable: no <problem>", "unparsable: no <problem>"),
    ],
)
def test_parse_output(output, strict, lenient):
    for result, want in ((parse_output(output), strict), (parse_output(output, require_tags=False), lenient)):
        if isinstance(want, tuple):
            assert result == want
        else:
            assert isinstance(result, str) and result.startswith(want)


def test_render_concepts():
    assert render_concepts([("A", "a"), ("B", "b")]) == "1. A: a\n2. B: b"


TAGGED = "<rationale>Step 1: combine. Step 2: twist.</rationale>\n<problem>{}</problem>"


def _script(chat, n):
    content = chat[0]["content"]
    if "def solution()" in content or "function solution()" in content:  # the program-of-thought check
        # a program that computes; one that only returns a constant states an answer and does not count
        body = (
            "return next(p for p in range(41, 99) if all(p % d for d in range(2, p)))"
            if "prime above 40" in content
            else "return 0"
        )
        return [f"```python\ndef solution():\n    {body}\n```"] * n
    if "mathematical concepts" in content:
        return [
            TAGGED.format("What is the smallest prime above 40?"),
            TAGGED.format("Compute 6 * 7."),
            TAGGED.format("Name a colour."),
            "No tags at all.",
            TAGGED.format("Compute 6 * 7."),
        ][:n]
    if "prime above 40" in content:
        return ["\\boxed{41}", "\\boxed{41}", "\\boxed{43}", "\\boxed{41}", "It is 47", "\\boxed{43}"][
            :n
        ]  # 41 x3: valid
    if "6 * 7" in content:
        return ["\\boxed{42}", "\\boxed{41}", "\\boxed{40}", "\\boxed{42}", "\\boxed{39}", "\\boxed{38}"][
            :n
        ]  # 42 x2: inconsistent
    if "colour" in content:
        return ["blue", "red", "green", "none", "sky", "grass"][:n]  # nothing parses as math
    raise AssertionError(content)


def test_every_path_with_exact_outputs(warehouse, monkeypatch):
    # a checker model of its own (scripted here): with the policy as checker its agreement is not independent
    from synth.labels import Checker

    monkeypatch.setattr("synth.labels.choose_checker", lambda *a: Checker("scripted", "another model", True, "x"))
    monkeypatch.setattr("synth.labels.checker_engine", lambda config, service, checker: service.engine)
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.mathsmith.proposals = 5
    with pytest.raises(HardforgeError, match="samples 5 concepts and the warehouse has 0"):
        MathsmithSynthesizer(cfg).seeds(warehouse, POLICY)
    ingest(warehouse, "champ", cfg)
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(_script), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(MathsmithSynthesizer(cfg), warehouse, service, limit=1)
    assert (report.candidates, report.extractable, report.accepted) == (5, 3, 2)
    # the repeated "Compute 6 * 7." is a duplicate before anything solves it; exact arithmetic
    # computes its label (42), so its inconsistent votes (42 x2) only measure it
    assert dict(report.reasons) == {"unparsable": 1, "duplicate": 1, "no answer": 1}
    problem, product = warehouse.arrow(
        "SELECT statement, answer, source, method_meta, label_provenance FROM problems WHERE source = 'mathsmith' "
        "ORDER BY statement DESC"
    ).to_pylist()
    assert (product["answer"], product["label_provenance"], json.loads(product["method_meta"])["k"]) == (
        "42",
        "checked",
        2,
    )
    assert (problem["statement"], problem["answer"], problem["source"]) == (
        "What is the smallest prime above 40?",
        "41",
        "mathsmith",
    )
    assert problem["label_provenance"] == "checked"  # programs run in the sandbox computed it
    meta = json.loads(problem["method_meta"])
    assert (meta["k"], meta["n"], meta["derived_by"], meta["r_consist"], meta["steps"], meta["r_format"]) == (
        3,
        6,
        "program_of_thought",
        1.0,
        2,
        0.82,
    )
    assert len(meta["concepts"]) == 5
    assert meta["reward"] == pytest.approx(0.82 + 0.7 * meta["r_cot"] + 0.3, abs=1e-4)
    names = warehouse.arrow("SELECT concept_id FROM concepts WHERE list_contains(?, concept_id)", [meta["concepts"]])
    assert names.num_rows == 5  # lineage: the concepts it was written from
    assert warehouse.arrow("SELECT n, c FROM difficulty ORDER BY c").to_pylist() == [
        {"n": 6, "c": 2},
        {"n": 6, "c": 3},
    ]  # CHAMP is not measured here


def test_mathsmith_on_the_real_model(real_config, data_dir):
    from engines.bundled import resolve_model
    from engines.hf import TransformersEngine
    from rollouts.policies import resolve_policy
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    warehouse.init()
    ingest(warehouse, "champ", real_config)
    policy = resolve_policy(warehouse, real_config)
    real_config.synth.mathsmith.max_tokens = 128
    real_config.rollouts.per_source["mathsmith"].max_tokens = 96
    engine = TransformersEngine(resolve_model(policy.model_path, real_config.models_dir), batch_size=64)
    with VerifierSet(real_config) as verifiers:
        service = RolloutService(engine, verifiers, real_config.rollouts, policy.policy_id, "real")
        report = run_method(MathsmithSynthesizer(real_config), warehouse, service, limit=2)
    assert (report.seeds, report.candidates) == (2, 4)
    attempts = warehouse.arrow("SELECT accepted, reason, output, meta FROM synth_attempts").to_pylist()
    assert len(attempts) == 4 and all(a["output"] for a in attempts)
    assert all(a["accepted"] or a["reason"] for a in attempts)
    assert all("r_format" in json.loads(a["meta"]) for a in attempts)
    print(json.dumps(report.as_dict()))


def test_weakness_driven_concepts_come_from_the_problems_the_policy_keeps_failing(warehouse):
    """``concepts = "weakness"`` (SwS): a CHAMP problem measured twice and never solved gives its
    concepts first; random sampling does not look at difficulty."""
    import datetime as dt

    from rollouts.service import difficulty_from_counts
    from warehouse.db import records_to_arrow

    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    ingest(warehouse, "champ", cfg)
    failed = warehouse.arrow(
        "SELECT problem_id, json_extract(extra, '$.ch_list') AS ch FROM problems WHERE source = 'champ' "
        "AND json_array_length(json_extract(extra, '$.ch_list')) > 0 ORDER BY problem_id LIMIT 1"
    ).to_pylist()[0]
    now = dt.datetime.now(dt.UTC)
    rows = [difficulty_from_counts(failed["problem_id"], POLICY, key, 4, 0, [1], now) for key in ("k1", "k2")]
    with warehouse.write() as con:
        warehouse.insert("difficulty", records_to_arrow("difficulty", rows), con)
    concepts_of_failure = set(json.loads(failed["ch"])) & set(
        warehouse.arrow("SELECT concept_id FROM concepts").column("concept_id").to_pylist()
    )
    assert concepts_of_failure
    cfg.synth.mathsmith.concepts = "weakness"
    weak = MathsmithSynthesizer(cfg)
    (seed,) = [s for _, s in zip(range(1), weak.seeds(warehouse, POLICY), strict=False)]
    chosen = {c["concept_id"] for c in weak._concepts(seed, warehouse)}
    assert concepts_of_failure <= chosen or chosen <= concepts_of_failure  # the failure's concepts first
    assert seed.key.startswith("weak-")
    cfg.synth.mathsmith.concepts = "random"
    plain = MathsmithSynthesizer(cfg)
    (seed,) = [s for _, s in zip(range(1), plain.seeds(warehouse, POLICY), strict=False)]
    assert len(plain._concepts(seed, warehouse)) == 5
