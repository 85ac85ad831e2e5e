"""Self-questioning: its pure pieces table-driven, every path with a scripted engine, and a run on
the real bundled model (topic prompts are its only input: no labels, nothing fabricated)."""

import json

import pytest

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from synth import rewards
from synth.gates import gate
from synth.runner import run_method
from synth.sqlm.algorithm import decide, examples, parse_v1, parse_v2, parse_v3, pass_rate_decision
from synth.sqlm.method import SqlmSynthesizer
from synth.voting import vote
from tests.conftest import ScriptedEngine
from verifiers import VerifierSet

POLICY = "p" * 32


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["4", "4", "5", None], None),  # m = 2 of 4
        (["4", "4", "4", "5"], None),  # m = 3 of 4
        (["4", "4", "4", "4"], "too easy"),
        (["3", "5", "3", "5"], "no majority"),  # a tie is not a majority
        ([None, None, "5", "5"], "no majority"),  # "no answer" votes count, as in the official code
        ([None, None, None, "5"], "no answer"),  # "no answer" wins: there is no label
        ([None, "7", None, None], "no answer"),
        (["1", "2", "3", "4"], "no majority"),
        (["1", "2", "2", "3"], None),
        ([], "no answer"),
    ],
)
def test_decide_counts_votes_as_the_paper(answers, reason):
    accepted, why = decide(vote(answers))
    assert accepted is (reason is None), why
    assert (why or "").startswith(reason or "")


@pytest.mark.parametrize(("rate", "ok"), [(0.0, False), (0.2, True), (0.99, True), (1.0, False)])
def test_code_pass_rate_band(rate, ok):
    assert pass_rate_decision(rate)[0] is ok


def test_topic_examples_are_found():
    from synth.sqlm.algorithm import TOPICS

    # a user's topic may show one (its copies are gated); the shipped topics show none to copy
    assert examples("Write a sum (for example: What is 23 + 48 - 9?).") == ["What is 23 + 48 - 9?"]
    assert examples("Write a hard problem.") == []
    assert all(examples(prompt) == [] for prompt in TOPICS.values())


@pytest.mark.parametrize(
    ("output", "v1", "v2"),
    [
        ("What is 12 + 30?", "What is 12 + 30?", None),
        (
            "1. A...\n2. B...\nSelected Question: Solve 2x + 3 = 7.",
            "1. A...\n2. B...\nSelected Question: Solve 2x + 3 = 7.",
            "Solve 2x + 3 = 7.",
        ),
        ("Selected Question: first\nselected question:  the last one ", None, "the last one"),
        ("<think>hmm</think>  What is 9 * 9?  ", "What is 9 * 9?", None),
        ("   ", None, None),
        ("**Question:** What is 2 + 2?", "What is 2 + 2?", None),
        ("Problem 1: What is 3 + 4?", "What is 3 + 4?", None),
        # numbered labels that go on stay: the gate must count both parts (the review's attack)
        (
            "Problem 1: Compute 3 + 4.\nProblem 2: Compute 15 + 6.",
            "Problem 1: Compute 3 + 4.\nProblem 2: Compute 15 + 6.",
            None,
        ),
    ],
)
def test_parsers_v1_v2(output, v1, v2):
    if v1 is not None:
        assert parse_v1(output) == v1
    else:
        assert parse_v1(output) in (None, output.strip() or None)
    assert parse_v2(output) == v2
    if output.startswith("Problem 1: Compute"):
        assert gate(parse_v1(output)) == "gate: not one question: several numbered parts"


def test_parser_v3():
    output = "Sum the numbers.\nTest Cases:\n1 2 3 ||| 6\n`4 5` ||| `9`\nnot a test\n ||| 3\n"
    assert parse_v3(output) == ("Sum the numbers.", [("1 2 3", "6"), ("4 5", "9")])
    assert parse_v3("Sum the numbers. 1 2 ||| 3") is None  # no Test Cases: section
    assert parse_v3("Sum.\nTest Cases:\nnone here") is None


def _run(warehouse, cfg, script, limit=2):
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
        return run_method(SqlmSynthesizer(cfg), warehouse, service, limit=limit)


MATH_PROPOSALS = ["What is 12 + 30?", "What is 2 + 2?", "What is the colour of time?", "Compute 7 * 6 - 1."]
# exact arithmetic computes the label of three of them; the votes only measure
MATH_SOLUTIONS = {
    "12 + 30": ["42", "42", "41", "I think 42"],  # 3 of 4 right: in band
    "2 + 2": ["4"] * 4,  # all right: too easy
    "colour": ["blue", "red", "no idea", "green"],  # no check computes it, and no answer parses
    "7 * 6": ["41", "40", "39", "42"],  # 1 of 4 right (the official vote: "no agreement"): in band
}


def _math_script(chat, n):
    content = chat[0]["content"]
    if "arithmetic problem" in content:
        return MATH_PROPOSALS[:n]
    return next(v for k, v in MATH_SOLUTIONS.items() if k in content)[:n]


def test_every_math_path_with_exact_outputs(warehouse):
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.keep_out_of_band = False  # SQLM's own acceptance: in band only
    script = _math_script
    report = _run(warehouse, cfg, script, limit=1)
    assert (report.seeds, report.candidates, report.extractable, report.accepted) == (1, 4, 4, 2)
    assert dict(report.reasons) == {"too easy": 1, "no answer": 1}
    problem, other = warehouse.arrow(
        "SELECT statement, answer, source, method_meta, label_provenance FROM problems ORDER BY statement DESC"
    ).to_pylist()
    assert (problem["statement"], problem["answer"], problem["source"]) == ("What is 12 + 30?", "42", "sqlm")
    assert problem["label_provenance"] == other["label_provenance"] == "checked"  # exact arithmetic computed them
    meta = json.loads(problem["method_meta"])
    assert (meta["k"], meta["n"], meta["label"], meta["derived_by"], meta["topic"]) == (
        3,
        4,
        "42",
        "arithmetic",
        "arithmetic",
    )
    assert (other["answer"], json.loads(other["method_meta"])["majority"]) == ("41", None)  # 1 vote each: no majority
    # the acceptance sample is kept under its own key: the problem's difficulty is measured afresh
    from schemas.prompts import sampling_key
    from synth.runner import acceptance_key

    difficulty = warehouse.arrow("SELECT n, c, sampling_key FROM difficulty").to_pylist()
    problem_kind = {"source": "sqlm", "domain": "math", "verifier": "math"}
    solvers = sampling_key(cfg.rollouts.model_copy(update={"n": cfg.synth.sqlm.solvers}), problem_kind)
    assert sorted(d["c"] for d in difficulty) == [1, 3] and {d["n"] for d in difficulty} == {4}
    assert {d["sampling_key"] for d in difficulty} == {acceptance_key(solvers)}
    assert acceptance_key(solvers) != sampling_key(cfg.rollouts, problem_kind)
    assert report.as_dict()["accepted_by_provenance"] == {"checked": 2}
    # so the nightly measures them afresh, first among the unmeasured
    from rollouts.selection import nightly_selection

    fresh = nightly_selection(warehouse, cfg.rollouts, POLICY, "source = 'sqlm'", 10)
    assert sorted((f["statement"], f["remeasure"]) for f in fresh) == [
        ("Compute 7 * 6 - 1.", False),
        ("What is 12 + 30?", False),
    ]
    # a rerun takes the next seed, never the same one twice
    again = _run(warehouse, cfg, script, limit=1)
    assert (again.already_done, again.seeds) == (1, 1)
    assert warehouse.scalar("SELECT count(DISTINCT json_extract_string(meta, '$.seed_key')) FROM synth_attempts") == 2


def test_a_verified_problem_out_of_band_is_kept_and_paid_as_its_band_says(warehouse, scripted_checker):
    """By default (synth.keep_out_of_band) a problem whose label a check computed is kept though
    the policy solved it every time: a verified problem for a fresh measurement. One the policy
    never solves is kept only where exact arithmetic computed its label (a 0.5B answered "Compute
    83 - 65." with 28 four times); where only the checker's programs hold it, not (4 of 11 such were
    ill-posed). The proposer is paid what SQLM pays a problem out of band, never the in-band reward."""
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    story = "Tom has 9 apples and eats one of them. How many apples are left?"

    def script(chat, n):
        content = chat[0]["content"]
        if "arithmetic problem" in content:
            return [*MATH_PROPOSALS, "Compute 9 - 1.", story][:n]
        if "Tom has 9" in content:  # answers that differ: the checker's programs are asked
            return ["7", "7", "6", "5"][:n]
        return ["7"] * n if "9 - 1" in content else _math_script(chat, n)

    def programs(chat, n):
        return ["```python\ndef solution():\n    apples = 9\n    return apples - 1\n```"] * n

    scripted_checker(programs)
    cfg.synth.sqlm.proposals = 6
    report = _run(warehouse, cfg, script, limit=1)
    assert (report.accepted, report.out_of_band) == (4, 2)
    assert dict(report.reasons) == {"no answer": 1, "unsolvable for the policy": 1}
    attempts = {
        a["candidate"]: a
        for a in warehouse.arrow(
            "SELECT candidate, accepted, reason, reward, problem_id, json_extract_string(meta, '$.derived_by') AS by "
            "FROM synth_attempts"
        ).to_pylist()
    }
    easy, in_band = attempts["What is 2 + 2?"], attempts["What is 12 + 30?"]
    assert easy["accepted"] and easy["reason"].startswith("out of band: too easy") and easy["problem_id"]
    assert easy["reward"] == rewards.NOT_LEARNABLE < in_band["reward"]
    unsolved, told = attempts["Compute 9 - 1."], attempts[story]
    assert unsolved["accepted"] and unsolved["reason"].startswith("out of band: unsolvable for the policy")
    assert unsolved["reward"] == rewards.NOT_LEARNABLE and unsolved["by"] == "arithmetic"
    assert not told["accepted"] and told["by"] == "program_of_thought"
    kept = warehouse.arrow(
        "SELECT statement, answer, label_provenance FROM problems WHERE statement IN ('What is 2 + 2?', 'Compute 9 - 1.') "
        "ORDER BY statement"
    ).to_pylist()
    assert kept == [
        {"statement": "Compute 9 - 1.", "answer": "8", "label_provenance": "checked"},
        {"statement": "What is 2 + 2?", "answer": "4", "label_provenance": "checked"},
    ]
    assert report.as_dict()["accepted_out_of_band"] == 2


def test_each_batch_proposes_with_its_own_seed(warehouse):
    """A fixed proposer seed made every batch repeat the first token for token (transformers):
    each batch's seed comes from its seed keys."""
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.sqlm.batch_seeds, cfg.synth.sqlm.topics = 1, ["arithmetic"]
    engine = ScriptedEngine(
        lambda chat, n: ["What is 1 + 1?"] * n if "arithmetic problem" in chat[0]["content"] else ["2"] * n
    )
    with VerifierSet(cfg) as verifiers:
        run_method(
            SqlmSynthesizer(cfg), warehouse, RolloutService(engine, verifiers, cfg.rollouts, POLICY, "run"), limit=3
        )
    proposals = [params.seed for prompts, params in engine.calls if "arithmetic problem" in prompts[0][0]["content"]]
    assert len(proposals) == 3 and len(set(proposals)) == 3
    # the same seed keys give the same seed: a batch rerun after a kill samples as it did
    from synth.base import Seed
    from synth.runner import proposal_seed

    assert (
        proposal_seed(0, [Seed("arithmetic#0", None)])
        == proposal_seed(0, [Seed("arithmetic#0", None)])
        != proposal_seed(0, [Seed("arithmetic#1", None)])
    )


def _sent_batches(cfg, service):
    """A stand-in for a Ray future: runs the batch when sent and hands back a copy that crossed a pickle."""
    import pickle

    from synth.runner import propose

    outstanding = {"now": 0, "most": 0}

    class Future:
        def __init__(self, prompts):
            self.value = pickle.loads(
                pickle.dumps(propose(SqlmSynthesizer(cfg), service, pickle.loads(pickle.dumps(prompts))))
            )
            outstanding["now"] += 1
            outstanding["most"] = max(outstanding["most"], outstanding["now"])

        def result(self):
            outstanding["now"] -= 1
            return self.value

    return Future, outstanding


def test_batches_sent_elsewhere_give_the_rows_of_an_in_process_run(tmp_path):
    """The cluster path of the runner (propose and validate through ``submit``, decide and store
    here, ``in_flight`` batches at a time) writes the same rows as the in-process path."""
    from warehouse.db import Warehouse

    def script(chat, n):
        content = chat[0]["content"]
        if "arithmetic problem" in content:
            return ["What is 12 + 30?", "What is 2 + 2?", "Compute 7 * 6 - 1."][:n]
        return {"12 + 30": ["42", "42", "41", "x"], "2 + 2": ["4"] * 4}.get(
            content.split("?")[0][-7:], ["41", "40", "39", "42"]
        )[:n]

    cfg = HardforgeConfig(data_dir=tmp_path)
    cfg.synth.sqlm.batch_seeds, cfg.synth.sqlm.topics = 1, ["arithmetic"]
    tables = {}
    for name in ("here", "sent"):
        warehouse = Warehouse(tmp_path / name)
        warehouse.init()
        with VerifierSet(cfg) as verifiers:
            service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
            future, outstanding = _sent_batches(cfg, service)
            report = run_method(
                SqlmSynthesizer(cfg),
                warehouse,
                service,
                limit=3,
                submit=future if name == "sent" else None,
                in_flight=2,
            )
        # later seeds propose the same problems: duplicates of the first batch's, never solved again
        # in process; in flight, caught where the batch is stored (the same rows either way); "What
        # is 2 + 2?", never solved here, is kept out of band: exact arithmetic computed its label
        assert (report.seeds, report.candidates, report.accepted, report.reasons["duplicate"]) == (3, 9, 3, 6)
        if name == "sent":
            assert outstanding["most"] == 2  # two batches in flight, never more
        tables[name] = [
            warehouse.arrow(f"SELECT * EXCLUDE (created_at) FROM {t} ORDER BY ALL").to_pylist()
            for t in ("synth_attempts", "problems")
        ]
        tables[name].append(warehouse.arrow("SELECT problem_id, n, c FROM difficulty ORDER BY ALL").to_pylist())
    assert tables["sent"] == tables["here"]


def test_unparsable_proposals_and_code_topic(warehouse, monkeypatch):
    # a checker model of its own (here scripted like the rest): only then does its agreement check a label
    from synth.labels import Checker

    monkeypatch.setattr("synth.labels.choose_checker", lambda *a: Checker("scripted", "another model", True, "x"))
    monkeypatch.setattr("synth.labels.checker_engine", lambda config, service, checker: service.engine)
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.sqlm.topics = ["algebra", "code"]
    cfg.synth.sqlm.proposals = 2
    add = "```python\nprint(sum(map(int, input().split())))\n```"
    off_by_one = "```python\nprint(sum(map(int, input().split())) + (1 if len(input.__doc__ or '') else 0) - 1 + 1 if False else 0)\n```"

    def script(chat, n):
        content = chat[0]["content"]
        if "linear equations" in content:
            return ["1. x + 1 = 2\nSelected Question: Solve x + 1 = 3 for x.", "three problems but no marker"][:n]
        if "LeetCode" in content:
            return ["Print the sum of the numbers.\nTest Cases:\n1 2 ||| 3\n5 5 ||| 10\n0 0 ||| 0", "no tests here"][:n]
        if "def solution()" in chat[0]["content"] or "solution()" in content:  # the program-of-thought check
            return ["```python\ndef solution():\n    return 3 - 1\n```"] * n
        if "Solve x + 1 = 3" in content:
            return ["2", "2", "3", "x"][:n]
        if "Print the sum" in content:
            return [add, add, off_by_one, "no code"][:n]
        raise AssertionError(content)

    report = _run(warehouse, cfg, script, limit=2)
    assert (report.candidates, report.extractable, report.accepted) == (4, 2, 2)
    assert dict(report.reasons) == {"unparsable": 2}
    rows = {
        r["source"]: r
        for r in warehouse.arrow(
            "SELECT source, verifier, answer, method_meta, label_provenance, label_checks FROM problems"
        ).to_pylist()
    }
    assert rows["sqlm"]["answer"] == "2"
    # the vote said 2; programs run in the sandbox computed 2: the label is checked, not voted
    assert rows["sqlm"]["label_provenance"] == rows["sqlm:code"]["label_provenance"] == "checked"
    checks = json.loads(rows["sqlm"]["label_checks"])["checks"]
    assert [(c["check"], c["outcome"]) for c in checks] == [("arithmetic", "abstain"), ("program_of_thought", "agree")]
    assert json.loads(rows["sqlm:code"]["label_checks"])["checks"][0]["check"] == "satisfiable_tests"
    code = rows["sqlm:code"]
    assert code["verifier"] == "stdio" and json.loads(code["answer"]) == [["1 2", "3"], ["5 5", "10"], ["0 0", "0"]]
    meta = json.loads(code["method_meta"])
    assert 0 < meta["pass_rate"] < 1 and meta["n"] == 4


@pytest.mark.real_checker
def test_sqlm_on_the_real_model(real_config, data_dir, checker_model):
    """The bundled 135M policy proposes and solves; the bundled Qwen2.5-Coder-0.5B (another family)
    is the checker, on the real sandbox."""
    from engines.bundled import resolve_model
    from engines.hf import TransformersEngine
    from rollouts.policies import resolve_policy
    from warehouse.db import Warehouse

    warehouse = Warehouse(data_dir)
    warehouse.init()
    policy = resolve_policy(warehouse, real_config)
    real_config.synth.sqlm.proposals = 4
    real_config.checks.program_of_thought.model = str(checker_model)
    real_config.checks.program_of_thought.backend = "transformers"
    real_config.checks.program_of_thought.max_tokens = 160
    engine = TransformersEngine(resolve_model(policy.model_path, real_config.models_dir), batch_size=64)
    with VerifierSet(real_config) as verifiers:
        service = RolloutService(engine, verifiers, real_config.rollouts, policy.policy_id, "real")
        report = run_method(SqlmSynthesizer(real_config), warehouse, service, limit=2)
    assert (report.seeds, report.candidates) == (2, 8)
    attempts = warehouse.arrow("SELECT accepted, reason, output FROM synth_attempts").to_pylist()
    assert len(attempts) == 8 and all(a["output"] for a in attempts)
    assert all(a["accepted"] or a["reason"] for a in attempts)
    print(json.dumps(report.as_dict()))
    # every label kept was computed by a check; every model verdict names its checker and relation
    kept = warehouse.arrow("SELECT answer, label_provenance, label_checks FROM problems").to_pylist()
    assert all(p["label_provenance"] == "checked" and json.loads(p["label_checks"])["derived_by"] for p in kept)
    verdicts = [
        v
        for row in warehouse.arrow("SELECT meta FROM synth_attempts").to_pylist()
        for v in (json.loads(row["meta"]).get("label_checks") or {}).get("checks", [])
        if v["check"] == "program_of_thought"
    ]
    assert all("another family (qwen2), other weights" in v["detail"]["checker"] for v in verdicts), verdicts
