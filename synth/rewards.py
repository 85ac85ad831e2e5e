"""The proposer reward's ladder, one for every method (issue 34): graded as the official AZR
composite is (a format error below an invalid task below a valid one), and strictly monotone in how
close a proposal came to a verified, learnable problem, so that a group of proposals has a gradient
before any of them verifies:

    unparsable  <  rejected  <  unverified  <  verified, not learnable  <  verified and in band
       -1.0         -0.75         -0.5               -0.25                the method's reward >= 0

- rejected: parsed, but a gate stopped it (it states its answer, copies its seed, an invalid AZR
  task), a duplicate, or a label a check found wrong;
- unverified: it passed the gates, but no check confirmed a label (a vote, a judge's word, an
  inherited answer), or no label came out at all;
- verified, not learnable: its label is trusted, but the policy solves it always or never;
- verified and in band: the method's own reward (SQLM and SvS 1, MathSmith's HC total, AZR 1 - s̄,
  ASearcher 1), never negative.

No unverified proposal earns more than any verified one: a reward that pays for a label nothing
checked teaches the proposer to write labels nothing can check."""

from __future__ import annotations

FORMAT_ERROR = -1.0
REJECTED = -0.75
UNVERIFIED = -0.5
NOT_LEARNABLE = -0.25

# reasons (their kind, the text before the first ":") that reject a parsed proposal
_REJECTING = (
    "gate",
    "duplicate",
    "label check failed",
    "echo",  # SvS: the accepting replies only repeat a number of the statement
    "invalid",  # an AZR task that does not run, or a QA the agent's judges rejected ("base QA invalid")
    "banned",
    "nondeterministic",
    "copy",
    "output too long",
    "ungrounded",  # an ASearcher answer that is not a phrase of its document
    "not unique",  # an ASearcher QA that another answer also fits
)
# ASearcher names which QA a reason is about ("base QA invalid: ..."): the kind is what follows
_QA_PREFIX = ("base QA ", "link QA ")


def _kind(reason: str | None) -> str:
    kind = (reason or "").split(":", 1)[0]
    for prefix in _QA_PREFIX:
        kind = kind.removeprefix(prefix)
    return kind


def ended(reason: str | None) -> float:
    """The reward of a proposal that ended before validation (unparsable, gated, a duplicate)."""
    return FORMAT_ERROR if "unparsable" in _kind(reason) else REJECTED


def decided(accepted: bool, reason: str | None, verified: bool, method_reward: float | None) -> float:
    """The reward of a validated proposal: accepted (its label trusted, in the method's band), or
    not, and why (``verified``: its label is trusted, so only the band failed it)."""
    if accepted:
        return max(float(method_reward or 0.0), 0.0)
    if _kind(reason).startswith(_REJECTING):
        return REJECTED
    return NOT_LEARNABLE if verified else UNVERIFIED
