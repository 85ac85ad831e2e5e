"""The proposer reward's ladder (issue 34): strictly monotone in how close a proposal came to a
verified, learnable problem, the same for every method, and no unverified proposal above a
verified one, whatever the method would have paid."""

from __future__ import annotations

import pytest

from synth import rewards
from synth.base import Decision
from synth.batches import settle


@pytest.mark.parametrize(
    ("reason", "reward"),
    [
        ("unparsable: no 'Selected Question:' marker", rewards.FORMAT_ERROR),
        ("base QA unparsable: no question and answer", rewards.FORMAT_ERROR),
        ("gate: states its own answer: an 'answer is ...' phrase", rewards.REJECTED),
        ("duplicate: proposed before (not solved again)", rewards.REJECTED),
        ("invalid: one function f is needed at the top level (found: none)", rewards.REJECTED),
        ("copy: the same program as a reference in the prompt", rewards.REJECTED),
        ("base QA ungrounded: the answer is not a phrase of the document", rewards.REJECTED),
    ],
)
def test_a_proposal_that_ended_before_validation(reason, reward):
    assert rewards.ended(reason) == reward


@pytest.mark.parametrize(
    ("accepted", "reason", "verified", "method_reward", "reward"),
    [
        (True, None, True, 1.0, 1.0),  # verified and in band: the method's reward
        (True, None, True, 0.04, 0.04),  # AZR's 1 - s̄ for a task nearly always solved
        (True, None, True, -0.5, 0.0),  # never below zero once verified and in band
        (False, "too easy: all 4 solutions are right", True, 0.0, rewards.NOT_LEARNABLE),
        (False, "unsolvable for the policy: none of 4 solutions is right", True, 1.7, rewards.NOT_LEARNABLE),
        (False, "no majority: the most voted answers are tied at 2 of 4", False, 1.7, rewards.UNVERIFIED),
        (False, "unverified label: its provenance is vote", False, 1.0, rewards.UNVERIFIED),
        (False, "label check failed: arithmetic: '6 * 7' = 42, not 41", False, 1.0, rewards.REJECTED),
        (False, "echo: every accepting reply only repeats a number of the statement", False, 1.0, rewards.REJECTED),
        (False, "nondeterministic: f(3) failed", False, 0.0, rewards.REJECTED),
        # ASearcher names the QA a reason is about: its judges' rejections are rejections
        (False, "base QA invalid: the validity judge said no", False, 0.0, rewards.REJECTED),
        (False, "base QA not unique: 2 of 8 answers differ", False, 0.0, rewards.REJECTED),
        (False, "base QA no answer: the solvers wrote none", False, 0.0, rewards.UNVERIFIED),
    ],
)
def test_a_validated_proposal(accepted, reason, verified, method_reward, reward):
    assert rewards.decided(accepted, reason, verified, method_reward) == reward


def test_the_ladder_is_strictly_monotone_and_unverified_never_beats_verified():
    ladder = [rewards.FORMAT_ERROR, rewards.REJECTED, rewards.UNVERIFIED, rewards.NOT_LEARNABLE, 0.0]
    assert ladder == sorted(set(ladder))
    unverified = [rewards.decided(False, r, False, 9.9) for r in ("no answer: x", "unverified label: x", "gate: x")]
    verified = [rewards.decided(False, "too easy: x", True, 0.0), rewards.decided(True, None, True, 0.0)]
    assert max(unverified) < min(verified)


@pytest.mark.parametrize(
    ("provenance", "accepted", "reason"),
    [
        ("checked", True, None),
        ("vote", True, "unverified label"),  # the method accepted it, but a vote is no label
        ("judged", True, "unverified label"),
        ("inherited", True, "unverified label"),
        ("executed", False, "too easy"),
    ],
)
def test_settle_pays_the_method_only_for_a_trusted_label(provenance, accepted, reason):
    """The red team's 1.7 for an unanswerable problem: a method's own figure is paid only when the
    label is trusted (``synth.min_label_provenance``, default checked) and the problem in band."""
    from schemas.config import HardforgeConfig
    from synth.sqlm.method import SqlmSynthesizer

    method = SqlmSynthesizer(HardforgeConfig())
    decision = Decision(accepted, None if accepted else "too easy: x", {"reward": 1.7}, provenance=provenance)
    got_accepted, got_reason, reward = settle(method, decision)
    assert got_accepted == (accepted and reason is None)
    assert (got_reason or "").startswith(reason or "")
    expected = 1.7 if got_accepted else rewards.UNVERIFIED if reason == "unverified label" else rewards.NOT_LEARNABLE
    assert reward == expected
    # a repeat is rejected whatever its band: copying a stored easy problem pays no more (red team)
    assert settle(method, decision, duplicate="duplicate: in the warehouse")[1:] == (
        "duplicate: in the warehouse",
        rewards.REJECTED,
    )


@pytest.mark.parametrize("minimum", ["vote", "judged", "inherited"])
def test_a_lowered_minimum_keeps_a_vote_below_a_checked_problem(minimum):
    """A user may lower synth.min_label_provenance to keep voted problems in the curriculum; the
    proposer reward still pays a vote as unverified, below a checked problem that is too easy."""
    from schemas.config import HardforgeConfig
    from synth.sqlm.method import SqlmSynthesizer

    config = HardforgeConfig()
    config.synth.min_label_provenance = minimum
    method = SqlmSynthesizer(config)
    voted = settle(method, Decision(True, None, {"reward": 1.0}, provenance="vote"))
    too_easy = settle(method, Decision(False, "too easy: all 4", {"reward": 0.0}, provenance="checked"))
    assert voted[:2] == (minimum == "vote", None if minimum == "vote" else voted[1])
    assert voted[2] == rewards.UNVERIFIED < too_easy[2] == rewards.NOT_LEARNABLE


@pytest.mark.parametrize(
    ("provenance", "keep", "duplicate", "kept"),
    [
        ("checked", True, None, True),
        ("executed", True, None, True),
        ("vote", True, None, False),  # a vote out of band is no verified problem
        ("inherited", True, None, False),
        ("checked", False, None, False),  # the method's own acceptance
        ("checked", True, "duplicate: in the warehouse", False),
    ],
)
def test_a_verified_problem_out_of_band_is_kept_but_paid_as_out_of_band(provenance, keep, duplicate, kept):
    """synth.keep_out_of_band keeps a verified problem the band rejected (it is measured afresh);
    the proposer's reward is what the band pays, whatever is kept: never the in-band reward."""
    from schemas.config import HardforgeConfig
    from synth.sqlm.method import SqlmSynthesizer

    config = HardforgeConfig()
    config.synth.keep_out_of_band = keep
    method = SqlmSynthesizer(config)
    decision = Decision(False, "too easy: all 4", {"reward": 0.0}, provenance=provenance, out_of_band=True)
    accepted, reason, reward = settle(method, decision, duplicate)
    assert accepted == kept
    assert reason.startswith("out of band: too easy") if kept else not (reason or "").startswith("out of band")
    in_band = settle(method, Decision(True, None, {"reward": 1.0}, provenance="checked"))[2]
    assert reward < in_band
    if provenance in ("checked", "executed"):
        assert reward == (rewards.REJECTED if duplicate else rewards.NOT_LEARNABLE)
