"""The proposer's online judge: what a proposal is paid (a repeat or a respelling once, an
unchecked or changed label nothing), whatever the method."""

from __future__ import annotations

import pytest

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.errors import NothingToTrain
from synth import rewards
from synth.base import Candidate, Decision, Seed
from synth.batches import settle
from synth.proposer import ProposerJudge, proposer_rows
from synth.sqlm.method import SqlmSynthesizer
from tests.conftest import ScriptedEngine
from verifiers import VerifierSet

POLICY = "p" * 32
PROPOSALS = ["What is 12 + 30?", "What is 2 + 2?", "What is the colour of time?", "Compute 7 * 6 - 1."]


def _judge(tmp_path, method_cls, script, cfg=None):
    from warehouse.db import Warehouse

    cfg = cfg or HardforgeConfig(data_dir=tmp_path)
    warehouse = Warehouse(tmp_path / "w")
    warehouse.init()
    verifiers = VerifierSet(cfg)
    service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
    method = method_cls(cfg)
    return (
        method,
        proposer_rows(method, warehouse, service, 1),
        ProposerJudge({method.name: method}, service),
        verifiers,
    )


def test_a_respelled_or_repeated_proposal_is_paid_once(tmp_path):
    """ "12+30", "what is 12 + 30 ?" and "12.0 + 30" are the problem already proposed in this group;
    the same proposal at a later step is a repeat too (the judge remembers, as the nightly does)."""

    def solve(chat, n):
        return PROPOSALS[:n] if "arithmetic problem" in chat[0]["content"] else ["42", "42", "41", "42"][:n]

    method, (row,), judge, verifiers = _judge(tmp_path, SqlmSynthesizer, solve)
    try:
        first = judge.rewards([row] * 4, ["What is 12 + 30?", "12+30", "what is 12 + 30 ?", "12.0 + 30"])
        later = judge.rewards([row], ["What is 12 + 30?"])
    finally:
        verifiers.close()
    assert first[0] > 0 and first[1:] == [rewards.REJECTED] * 3 and later == [rewards.REJECTED]


def test_words_that_change_the_expression_are_not_checked(tmp_path):
    """ "Subtract seven from that" beside "12 + 30": the policy's 42 is wrong, and the arithmetic
    check no longer agrees with it; with the policy as the only other checker, nothing pays."""

    def solve(chat, n):
        content = chat[0]["content"]
        if "arithmetic problem" in content:
            return ["What is 12 + 30? Subtract seven from that."] * n
        if "solution()" in content:
            return ["```python\ndef solution():\n    return 42\n```"] * n  # the policy's own program agrees
        return ["42", "42", "42", "35"][:n]

    method, (row,), judge, verifiers = _judge(tmp_path, SqlmSynthesizer, solve)
    try:
        (reward,) = judge.rewards([row], ["What is 12 + 30? Subtract seven from that."])
    finally:
        verifiers.close()
    assert reward == rewards.UNVERIFIED  # a vote nothing independent confirmed


def test_a_program_that_overflows_the_parser_is_invalid_not_a_crash(tmp_path):
    from synth.azr.method import AzrSynthesizer

    hostile = "```python\ndef f(a):\n    return " + "-" * 3000 + "a\n```\n```input\n1\n```"
    method, (row,), judge, verifiers = _judge(tmp_path, AzrSynthesizer, lambda chat, n: ["?"] * n)
    try:
        (reward,) = judge.rewards([row], [hostile])
    finally:
        verifiers.close()
    assert reward == rewards.REJECTED  # an invalid task, below a valid one, above a format error


def test_an_unanswerable_mathsmith_problem_earns_nothing(tmp_path):
    """The official HC reward paid format and CoT length (1.7) to a problem no two solvers answer
    alike: a proposer would learn ambiguity."""
    from ingest.service import ingest
    from synth.mathsmith.method import MathsmithSynthesizer

    tagged = "<rationale>Step 1: a. Step 2: b.</rationale>\n<problem>How long is the coast of a country?</problem>"

    def solve(chat, n):
        if "mathematical concepts" in chat[0]["content"]:
            return [tagged] * n
        return [f"Long thoughts {'x ' * 40}\\boxed{{{i}}}" for i in range(n)]

    cfg = HardforgeConfig(data_dir=tmp_path)
    from warehouse.db import Warehouse

    ingest(Warehouse(tmp_path / "w"), "champ", cfg)
    method, (row,), judge, verifiers = _judge(tmp_path, MathsmithSynthesizer, solve, cfg)
    try:
        (reward,) = judge.rewards([row], [tagged])
    finally:
        verifiers.close()
    assert reward == rewards.UNVERIFIED < 0  # no label: never the HC reward


def test_the_nightlys_methods_that_cannot_be_trained_are_left_out(tmp_path):
    from trainer.grpo import proposer_methods

    config = HardforgeConfig(data_dir=tmp_path)
    config.nightly.synthesize = ["asearcher", "sqlm"]
    assert list(proposer_methods(config)) == ["sqlm"]
    config.nightly.synthesize = ["asearcher"]
    with pytest.raises(NothingToTrain, match="can be trained as a proposer"):
        proposer_methods(config)


def test_a_night_with_nothing_to_train_skips_the_stage(tmp_path, monkeypatch):
    """A proposer-only night whose methods have no fresh seed finishes, and its summary says why."""
    import flows.pipeline as pipeline
    from flows.reports import nightly_summary, train_artifacts

    def nothing(*_):
        raise NothingToTrain("no proposer prompts: every method's fresh seeds ran out.")

    monkeypatch.setattr(pipeline, "train_task", nothing)

    class Session:
        config = HardforgeConfig(data_dir=tmp_path)
        run_id = "r" * 32

    result = pipeline._train(Session(), {"role": "proposer"})
    assert result == {"skipped": "no proposer prompts: every method's fresh seeds ran out.", "role": "proposer"}
    train_artifacts(None, result)  # nothing to draw, no error
    counts = {
        "ingest": [],
        "synthesize": [],
        "filter": {"checked": {}, "dropped": {}},
        "train": result,
        "estimate": {"policy_id": POLICY, "estimated": 0, "already_done": 0, "rollouts": 0, "correct": 0},
        "export": {"curriculum_id": "c" * 32, "items": 0, "shards": 0, "out_dir": "x"},
    }
    assert "| train | skipped (proposer): no proposer prompts" in nightly_summary(None, counts)


def test_an_svs_variant_that_changed_its_answer_is_not_paid(tmp_path):
    """A variant keeps its seed's answer (42); "What is 6 * 8?" does not, though solvers anchored on
    42 put it in band: exact arithmetic rejects it. A variant that keeps it is checked."""
    from synth.svs.method import SvsSynthesizer

    cfg = HardforgeConfig(data_dir=tmp_path)
    method = SvsSynthesizer(cfg)
    seed = Seed("r", "p", {"statement": "What is 40 + 2?", "answer": "42"})
    candidates = [
        Candidate(seed, i, "", "", {"domain": "math", "statement": s, "answer": "42"})
        for i, s in enumerate(["What is 6 * 8?", "What is 6 * 7?", "A crate holds 6 rows of 7. How many?"])
    ]
    decisions = [
        Decision(True, None, {"reward": 1.0}, provenance="inherited", checks={"base": "inherited", "checks": []})
        for _ in candidates
    ]
    # the policy is the checker here: its programs derive nothing, the arithmetic check decides
    policy = ScriptedEngine(lambda chat, n: ["```python\ndef solution():\n    return 6 * 7\n```"] * n)
    with VerifierSet(cfg) as verifiers:
        method._check_labels(RolloutService(policy, verifiers, cfg.rollouts, POLICY, "run"), candidates, decisions)
    assert [(d.accepted, d.provenance) for d in decisions] == [
        (False, "inherited"),
        (True, "checked"),
        (True, "inherited"),  # inherited alone: a candidate (synth.min_label_provenance decides)
    ]
    assert "label check failed: arithmetic" in decisions[0].reason
    # what the proposer is paid: rejected, the method's reward, unverified
    assert [settle(method, d)[2] for d in decisions] == [rewards.REJECTED, 1.0, rewards.UNVERIFIED]
