"""The contract every synthesis method follows, in five parts: which seeds it takes, the
proposer's prompts, how a candidate is parsed, how it is validated (usually by putting it to the
policy through the rollout service), and the accept/reject decision with its reason. The shared
runner (``synth.runner``) does everything else the same way for every method.

A method is a folder ``synth/<name>/`` with a ``Synthesizer`` subclass and one line in
``synth.METHODS``; its config is a section under ``[synth]``.
"""

from __future__ import annotations

import datetime as dt
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from duckdb import DuckDBPyConnection
from pydantic import BaseModel

from checks.arithmetic import plain_expression
from rollouts.service import Measured, RolloutService
from schemas.config import HardforgeConfig
from schemas.engine import Chat, SamplingParams
from schemas.keys import content_key, normalize_text, problem_id
from schemas.records import SynthAttempt
from verifiers.arithmetic import canonical
from warehouse.db import Warehouse


@dataclass(frozen=True)
class Seed:
    key: str  # unique per seed: a seed with attempts already recorded is never used again
    parent_id: str | None  # the problem a new problem derives from
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Candidate:
    """One proposal. ``problem`` holds the new problem's fields (domain, statement, answer,
    verifier, task, extra) when it parsed; otherwise ``reason`` says why not."""

    seed: Seed
    index: int
    prompt: str
    output: str
    problem: dict[str, Any] | None = None
    reason: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # as proposer training data: the whole prompt, the group of proposals sharing it, the sampling
    chat: list[dict[str, str]] | None = None
    group_id: str | None = None
    sampling: dict[str, Any] | None = None


@dataclass
class Decision:
    accepted: bool
    reason: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the method's figures, kept with the attempt
    measured: Measured | None = None  # the acceptance sample, stored under its own sampling key
    # how the accepted label is known (schemas/provenance.py): the least trusted unless a method says more
    provenance: str = "vote"
    checks: dict[str, Any] | None = None  # {"base": ..., "checks": [verdicts]} of the label checks
    # rejected only by the method's band, as too easy (its executed or checked label confirmed by the
    # policy solving it every time) or as unsolved where exact arithmetic computed its label (a plain
    # expression has one value); kept as a verified problem when synth.keep_out_of_band is on. An
    # unsolved label the checker's programs alone hold is not (4 of 11 such SQLM proposals were
    # ill-posed)
    out_of_band: bool = False


def problem_key(problem: dict[str, Any]) -> str:
    """The id a candidate's problem gets: domain, statement and answer (the one id rule)."""
    return problem_id(problem["domain"], problem["statement"], problem["answer"])


def statement_key(domain: str, statement: str) -> str:
    """What makes two proposals the same before anything is solved: their form (below)."""
    return content_key("statement", domain, proposal_form(domain, statement))


_TRAILING_ZEROS = re.compile(r"(\d+)\.0+\b|(\d+\.\d*?)0+\b")
# a decimal point stays, and so do a comma between digits ("1,2,3" is not "12,3") and a "!" after one
_LOOSE = re.compile(r"\s+|[?;:]|(?<![\d)])!|(?<!\d),|,(?!\d)|(?<!\d)\.|\.(?!\d)")
_WORD = re.compile(r"\b\w{2,}\b")


def proposal_form(domain: str, statement: str) -> str:
    """A statement with what does not make it a new problem taken out, so a policy is not paid
    twice for one problem respelled: a plain-arithmetic statement is the canonical parse of its
    expression (``verifiers.arithmetic.canonical``: "12+30", "What is (12) + +30.0?" and "30 + 12"
    are one problem); prose loses the case of its words (not of single letters), spacing, sentence
    punctuation (not a comma between digits, nor a "!" after one) and trailing decimal zeros.
    Code keeps its text (indentation is meaningful)."""
    if domain == "code":
        return normalize_text(statement, domain)
    expression = plain_expression(statement)
    if expression is not None:
        return "arithmetic:" + canonical(expression)
    # case goes from words, not from single letters: "a" and "A" may be two variables
    text = _WORD.sub(lambda m: m.group().casefold(), normalize_text(statement, domain))
    text = _TRAILING_ZEROS.sub(lambda m: m.group(1) or m.group(2).rstrip("."), text)
    return _LOOSE.sub("", text)


class Synthesizer(ABC):
    name: ClassVar[str]
    # proposing and validating need only the engine and the verifiers, so a Ray worker can run them
    remote: ClassVar[bool] = True

    def __init__(self, config: HardforgeConfig) -> None:
        self.config = config

    @property
    @abstractmethod
    def settings(self) -> BaseModel:
        """The method's config section."""

    @property
    def batch_seeds(self) -> int:
        """Seeds per generate call and per warehouse transaction (``batch_seeds`` in the section)."""
        return getattr(self.settings, "batch_seeds", 4)

    @abstractmethod
    def seeds(self, warehouse: Warehouse, policy_id: str) -> Iterable[Seed]:
        """Candidate seeds in a stable order (used ones are skipped by the runner). A list when
        they are few and known; a generator for methods whose seeds never run out (topics, task
        types, concept samples), so only the seeds a run uses are ever made."""

    @abstractmethod
    def prompts(self, seed: Seed, warehouse: Warehouse) -> list[Chat]:
        """The proposer's prompts for one seed (they may read the warehouse: buffers, concepts)."""

    def prepare(
        self, service: RolloutService, prompts: list[tuple[Seed, Chat]]
    ) -> tuple[list[tuple[Seed, Chat]], list[tuple[Seed, str]]]:
        """Engine work a prompt needs before proposing (SvS: a worked solution for a seed that has
        none); the prompts to propose from, and (seed, reason) for the seeds it drops."""
        return prompts, []

    def dedup_key(self, candidate: Candidate) -> str:
        """What makes two candidates the same proposal (default: the normalized statement); a
        duplicate is rejected before any solver rollout is spent on it."""
        assert candidate.problem is not None
        return statement_key(candidate.problem["domain"], candidate.problem["statement"])

    @abstractmethod
    def sampling(self) -> SamplingParams:
        """How the proposer samples (n proposals per prompt)."""

    def max_prompt_tokens(self) -> int | None:
        return None

    @abstractmethod
    def parse(self, seed: Seed, index: int, prompt: str, output: str) -> Candidate:
        """A candidate with its problem, or with the reason it has none."""

    @abstractmethod
    def validate(self, service: RolloutService, candidates: list[Candidate]) -> list[Decision]:
        """Accept or reject each parsed candidate, with the figures that decided it."""

    def lineage(self, candidate: Candidate) -> dict[str, Any]:
        """Extra method_meta for an accepted problem (what it was made from)."""
        return {}

    def keep(
        self, warehouse: Warehouse, con: DuckDBPyConnection, validated: list[tuple[Candidate, Decision, SynthAttempt]]
    ) -> None:
        """Rows the method keeps for itself (AZR's reference buffers), written in the batch's
        transaction with its attempts: a killed run neither loses nor repeats them."""
        return None


@dataclass
class SynthReport:
    method: str
    seeds: int = 0
    prompts_over_length: int = 0
    candidates: int = 0
    extractable: int = 0
    accepted: int = 0
    out_of_band: int = 0  # of the accepted: verified problems the method's band rejected (synth.keep_out_of_band)
    by_provenance: Counter[str] = field(default_factory=Counter)  # accepted problems by how their label is known
    reasons: Counter[str] = field(default_factory=Counter)
    already_done: int = 0
    elapsed_s: float = 0.0
    tokens: int = 0  # completion tokens generated in this process (proposals, solutions, checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "tokens": self.tokens,
            "seeds": self.seeds,
            "prompts_over_length": self.prompts_over_length,
            "candidates": self.candidates,
            "extractable": self.extractable,
            "accepted": self.accepted,
            "accepted_out_of_band": self.out_of_band,
            "extractable_pct": round(100 * self.extractable / self.candidates, 1) if self.candidates else 0.0,
            "accepted_pct": round(100 * self.accepted / self.candidates, 1) if self.candidates else 0.0,
            "accepted_by_provenance": dict(self.by_provenance.most_common()),
            "rejections": dict(self.reasons.most_common()),
            "already_done": self.already_done,
            "elapsed_s": round(self.elapsed_s, 1),
            "seconds_per_accepted": round(self.elapsed_s / self.accepted, 1) if self.accepted else None,
        }


# the reason an attempt kept by synth.keep_out_of_band carries, before the band's own reason
OUT_OF_BAND = "out of band"


def reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
