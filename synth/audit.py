"""An audit on gold: every labelling rule of the synthesis methods (the methods' votes at their n
and band, each label check, and their combinations) run on problems whose answer is known (gym
tasks, CHAMP) as if it were not, with TTRL's metrics (arXiv 2504.16084) per rule:

- label accuracy: of the problems the rule gave a label, the share whose label is the gold answer;
- reward accuracy: of the rollouts of those problems, the share whose reward under the rule's label
  equals their reward under the gold answer (what the policy would be paid, right or wrong);
- majority ratio: the mean share of votes the most voted answer got (vote rules);
- acceptance precision and yield: of the problems the rule accepts (what would become training
  data), the share with the right label, and the share of all problems accepted.

The solvers answer as self-questioning's do (its per-source rule, ``max(solvers)`` samples each;
SQLM's vote reads the first ``synth.sqlm.solvers`` of them, MathSmith's all ``synth.mathsmith.solvers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from checks import LabelItem, label_provenance, run_checks
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.keys import content_key
from synth.labels import context
from synth.mathsmith.algorithm import consistency
from synth.sqlm.algorithm import decide
from synth.voting import stated_answers, vote
from verifiers.math.extract import as_rational, normalize_answer
from warehouse.db import Warehouse

GOLD_SQL = """
SELECT problem_id, statement, answer, source FROM problems
WHERE domain = 'math' AND label_provenance = 'ground_truth' AND ({where})
ORDER BY hash(problem_id || 'audit'), problem_id
"""
DEFAULT_SOURCES = "source LIKE 'gym:%' OR source = 'champ'"
VOTED_AS = "sqlm"  # the per-source rule the audit's solvers answer under


def same_answer(a: str | None, b: str | None) -> bool:
    """Two answers are the same number, or the same loose string."""
    if a is None or b is None:
        return False
    x, y = as_rational(a), as_rational(b)
    if x is not None and y is not None:
        return x == y
    return normalize_answer(a) == normalize_answer(b)


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
    """The table: one row per rule, in the order docs/labels.md lists them."""
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
    # each check on its own, as a labeller: the statement only (the gold is never shown)
    checks_alone = {
        name: run_checks(
            context(config, service), "math", [LabelItem(p["statement"], "") for p in problems], names=[name]
        )
        for name in ("arithmetic", "program_of_thought")
    }
    # the methods' votes, then the configured checks on the voted labels (the default acceptance rule)
    checked: dict[str, list[tuple[str | None, list]]] = {}
    for method in ("sqlm", "mathsmith"):
        todo = [i for i, ok in enumerate(in_band[method]) if ok]
        found = run_checks(
            context(config, service),
            "math",
            [LabelItem(problems[i]["statement"], votes[method][i].answer or "") for i in todo],
        )
        checked[method] = [(None, [])] * len(problems)
        for i, verdicts in zip(todo, found, strict=True):
            checked[method][i] = (label_provenance("vote", verdicts)[0], verdicts)
    tallies: dict[str, RuleTally] = {}

    def tally(rule: str) -> RuleTally:
        return tallies.setdefault(rule, RuleTally())

    for i, problem in enumerate(problems):
        gold, own = problem["answer"], answers[i]
        for method, n in (("sqlm", sqlm_n), ("mathsmith", smith_n)):
            counted = votes[method][i]
            mine = own[:n]
            tally(f"{method} vote (n={n})").add(gold, counted.answer, in_band[method][i], mine, counted.ratio)
            provenance, verdicts = checked[method][i]
            tally(f"{method} vote + checks (default)").add(gold, counted.answer, provenance == "checked", mine)
            for name in ("arithmetic", "program_of_thought"):
                agreed = any(v.check == name and v.decides and v.outcome == "agree" for v in verdicts)
                tally(f"{method} vote + {name}").add(gold, counted.answer, in_band[method][i] and agreed, mine)
        for name, found in checks_alone.items():
            label = computed(found[i][-1], config.checks.program_of_thought.min_agree)
            tally(f"{name} alone").add(gold, label, label is not None, own)
    return [tallies[rule].row(rule) for rule in tallies]


def computed(verdict, min_agree: int) -> str | None:
    """The value a check computed by itself (its detail), as a label: the arithmetic check's
    value, or the number most programs returned (at least ``min_agree`` of them, no tie). A value
    computed from a part of the statement is no label."""
    if verdict.scope != "statement":
        return None
    value = verdict.detail.get("value")
    numbers = verdict.detail.get("numbers") or []
    if value is None and numbers:
        ranked = sorted({n: numbers.count(n) for n in numbers}.items(), key=lambda kv: -kv[1])
        top, count = ranked[0]
        if count >= min_agree and (len(ranked) == 1 or ranked[1][1] < count):
            value = top
    return str(Fraction(value)) if value is not None else None
