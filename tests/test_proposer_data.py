"""Every synthesis attempt is proposer training data (issue 23): the proposer's rewards are pure
functions beside each method (table-driven here), a label that fails or skips the independent
checks earns the invalid-proposal value, and every attempt row carries the policy, the sampling,
the whole chat, its group and its reward, the unparsable ones included."""

from __future__ import annotations

import json

import pytest

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from synth import rewards as ladder
from synth.azr.algorithm import composite_reward
from synth.mathsmith.algorithm import proposer_reward as mathsmith_reward
from synth.runner import run_method
from synth.sqlm.algorithm import proposer_reward as sqlm_reward
from synth.sqlm.method import SqlmSynthesizer
from synth.svs.algorithm import variational_reward
from tests.conftest import ScriptedEngine
from verifiers import VerifierSet

POLICY = "p" * 32


@pytest.mark.parametrize(
    ("k", "group", "echo", "reward"),
    [
        (0, 8, False, 0.0),
        (1, 8, False, 1.0),
        (5, 8, False, 1.0),
        (6, 8, False, 0.0),
        (8, 8, False, 0.0),
        (3, 8, True, 0.0),  # right only by echoing a number of the statement
    ],
)
def test_svs_variational_reward(k, group, echo, reward):
    assert variational_reward(k, group, echo) == reward


@pytest.mark.parametrize(
    ("in_band", "checked", "reward"),
    [
        (True, True, 1.0),
        (True, False, 0.0),
        (False, True, 0.0),
        (False, False, 0.0),
    ],
)
def test_sqlm_proposer_reward_pays_only_checked_labels(in_band, checked, reward):
    assert sqlm_reward(in_band, checked) == reward


@pytest.mark.parametrize(
    ("r_format", "r_cot", "consistent", "checked", "failed", "reward"),
    [
        (1.0, 0.5, True, True, False, 1.0 + 0.35 + 0.3),
        # three agreeing solvers are not a label, and a problem nobody answers alike has none: the
        # official code pays both their format and CoT length, which pays for problems no check can
        # stand behind (the red team's 1.7 for an unanswerable problem); here both earn the invalid value
        (1.0, 0.5, True, False, False, 0.0),
        (1.0, 0.5, False, False, False, 0.0),
        (1.0, 0.5, True, True, True, 0.0),  # a check found the label wrong: the invalid value
        (0.0, 0.9, True, True, False, 0.0),  # no format, no reward (official)
    ],
)
def test_mathsmith_proposer_reward(r_format, r_cot, consistent, checked, failed, reward):
    assert mathsmith_reward(r_format, r_cot, consistent, checked, failed) == pytest.approx(reward)


@pytest.mark.parametrize(
    ("valid", "learnability", "reward"), [(False, 0.0, -1.0), (True, 0.0, -0.5), (True, 0.25, 0.25)]
)
def test_azr_composite_reward(valid, learnability, reward):
    assert composite_reward(valid, learnability) == reward


def test_every_attempt_row_is_training_data(warehouse):
    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.sqlm.proposals = 4
    proposals = ["What is 12 + 30?", "What is 2 + 2? The answer is 4.", "What is 12 + 30?", "What is 5 * 6?"]

    def script(chat, n):
        content = chat[0]["content"]
        if "arithmetic problem" in content:
            return proposals[:n]
        if "12 + 30" in content:
            return ["42", "42", "41", "40"][:n]
        if "5 * 6" in content:
            return ["31", "31", "29", "28"][:n]  # the label is the check's, 30: no solver is right
        raise AssertionError(content)

    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "run")
        report = run_method(SqlmSynthesizer(cfg), warehouse, service, limit=1)
    assert (report.accepted, report.out_of_band) == (2, 1)
    rows = warehouse.arrow(
        "SELECT candidate, reason, accepted, policy_id, chat, sampling, group_id, reward, meta "
        "FROM synth_attempts ORDER BY json_extract(meta, '$.candidate')::INT"
    ).to_pylist()
    assert len(rows) == 4
    assert {r["policy_id"] for r in rows} == {POLICY} and len(
        {r["group_id"] for r in rows}
    ) == 1  # one prompt, one group
    for row in rows:
        messages = json.loads(row["chat"])["messages"]
        assert messages[0]["role"] == "user" and "arithmetic problem" in messages[0]["content"]
        sampling = json.loads(row["sampling"])
        assert sampling["n"] == 4 and sampling["seed"] != cfg.rollouts.seed  # the batch's own seed
    by_reason = {(r["reason"] or "accepted").split(":")[0]: r["reward"] for r in rows}
    assert by_reason == {
        "accepted": 1.0,
        "gate": ladder.REJECTED,
        "duplicate": ladder.REJECTED,
        # exact arithmetic computed its label, but nobody solves it: kept out of band, paid as such
        "out of band": ladder.NOT_LEARNABLE,
    }
