"""An audit on gold: every labelling rule of the synthesis methods (the methods' votes at their n
and band, each label check, and their combinations) run on problems whose answer is known (gym
tasks, CHAMP) as if it were not, with TTRL's metrics (arXiv 2504.16084) per rule:

- label accuracy: of the problems the rule gave a label, the share whose label is the gold answer;
- reward accuracy: of the rollouts of those problems, the share whose reward under the rule's label
  equals their reward under the gold answer (what the policy would be paid, right or wrong);
- majority ratio: the mean share of votes the most voted answer got (vote rules);
- acceptance precision and yield: of the problems the rule accepts (what would become training
  data), the share with the right label, and the share of all problems accepted.

The rules: the label the checks derive from the statement alone (the default: exact arithmetic,
then the checker's programs), each check alone, the methods' acceptance on it (SQLM's band on the
solvers graded against it, MathSmith's "not solved by all"), and, for comparison, the methods'
official votes and the rule before labels were derived (the vote kept when a check agreed).

The solvers answer as self-questioning's do (its per-source rule, ``max(solvers)`` samples each;
SQLM's vote reads the first ``synth.sqlm.solvers`` of them, MathSmith's all ``synth.mathsmith.solvers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks import configured, derive_labels
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.keys import content_key
from synth.labels import context
from synth.mathsmith.algorithm import consistency
from synth.sqlm.algorithm import decide
from synth.voting import same_answer, stated_answers, vote
from warehouse.db import Warehouse

GOLD_SQL = """
SELECT problem_id, statement, answer, source FROM problems
WHERE domain = 'math' AND label_provenance = 'ground_truth' AND ({where})
ORDER BY hash(problem_id || 'audit'), problem_id
"""
DEFAULT_SOURCES = "source LIKE 'gym:%' OR source = 'champ'"
VOTED_AS = "sqlm"  # the per-source rule the audit's solvers answer under


@dataclass
class RuleTally:
    """One rule's outcomes over the probe."""

    problems: int = 0
    labelled: int = 0
    right_labels: int = 0
    accepted: int = 0
    right_accepted: int = 0
    rewards: int = 0
    right_rewards: int = 0
    ratios: list[float] = field(default_factory=list)

    def add(
        self, gold: str, label: str | None, accepted: bool, answers: list[str | None], ratio: float | None = None
    ) -> None:
        self.problems += 1
        if ratio is not None:
            self.ratios.append(ratio)
        if label is None:
            return
        right = same_answer(label, gold)
        self.labelled += 1
        self.right_labels += right
        for answer in answers:
            self.rewards += 1
            self.right_rewards += same_answer(answer, label) == same_answer(answer, gold)
        if accepted:
            self.accepted += 1
            self.right_accepted += right

    def row(self, rule: str) -> dict[str, Any]:
        share = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
        return {
            "rule": rule,
            "problems": self.problems,
            "labelled": self.labelled,
            "label_accuracy": share(self.right_labels, self.labelled),
            "reward_accuracy": share(self.right_rewards, self.rewards),
            "majority_ratio": round(sum(self.ratios) / len(self.ratios), 4) if self.ratios else None,
            "accepted": self.accepted,
            "precision": share(self.right_accepted, self.accepted),
            "yield": share(self.accepted, self.problems),
        }


def gold_problems(warehouse: Warehouse, where: str | None, limit: int | None) -> list[dict[str, Any]]:
    rows = warehouse.arrow(GOLD_SQL.format(where=where or DEFAULT_SOURCES)).to_pylist()
    return rows[:limit] if limit else rows


def audit_labels(
    config: HardforgeConfig, service: RolloutService, problems: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The table: one row per rule, in the order docs/labels.md lists them. The checks are asked
    for the label of each statement alone (the gold is never shown to them)."""
    sqlm_n, smith_n = config.synth.sqlm.solvers, config.synth.mathsmith.solvers
    solver = service.with_config(config.rollouts.model_copy(update={"n": max(sqlm_n, smith_n)}))
    drafts = [
        {
            "problem_id": content_key("audit", p["problem_id"]),
            "domain": "math",
            "statement": p["statement"],
            "answer": "",
            "verifier": "math",
            "source": VOTED_AS,
        }
        for p in problems
    ]
    completions, _ = solver.sample(drafts)
    answers = stated_answers(solver, drafts, [[c.text for c in group] for group in completions])
    votes = {
        "sqlm": [vote(a[:sqlm_n]) for a in answers],
        "mathsmith": [consistency(a, config.synth.mathsmith.consistent_answers)[0] for a in answers],
    }
    in_band = {
        "sqlm": [decide(v)[0] for v in votes["sqlm"]],
        "mathsmith": [
            v.answer is not None and v.count >= config.synth.mathsmith.consistent_answers for v in votes["mathsmith"]
        ],
    }
    statements = [p["statement"] for p in problems]
    ctx = context(config, service)
    # each check alone as the labeller, then the configured checks in order (the default rule)
    alone = {name: derive_labels(ctx, "math", statements, names=[name]) for name in configured(config, "math")}
    derived = [
        next((found[i][0] for found in alone.values() if found[i][0] is not None), None) for i in range(len(problems))
    ]
    tallies: dict[str, RuleTally] = {}

    def tally(rule: str) -> RuleTally:
        return tallies.setdefault(rule, RuleTally())

    for i, problem in enumerate(problems):
        gold, own, label = problem["answer"], answers[i], derived[i]
        right = [same_answer(a, label) for a in own] if label is not None else []
        k_sqlm, k_smith = sum(right[:sqlm_n]), sum(right[:smith_n])
        tally("derived by the checks (default)").add(gold, label, label is not None, own)
        tally(f"sqlm default: derived, in band 0 < k < {sqlm_n}").add(
            gold, label, label is not None and 0 < k_sqlm < sqlm_n, own[:sqlm_n]
        )
        tally(f"mathsmith default: derived, in band 0 < k < {smith_n}").add(
            gold, label, label is not None and 0 < k_smith < smith_n, own[:smith_n]
        )
        for name, found in alone.items():
            tally(f"{name} alone").add(gold, found[i][0], found[i][0] is not None, own)
        for method, n in (("sqlm", sqlm_n), ("mathsmith", smith_n)):
            counted = votes[method][i]
            mine = own[:n]
            tally(f"{method} vote (n={n})").add(gold, counted.answer, in_band[method][i], mine, counted.ratio)
            # the rule before labels were derived: the vote, kept when a check computed the same value
            agreed = in_band[method][i] and label is not None and same_answer(counted.answer, label)
            tally(f"{method} vote + checks (before)").add(gold, counted.answer, agreed, mine)
    return [tallies[rule].row(rule) for rule in tallies]
