"""Independent label checks: one module per check and one registry (verl's pattern, as for
verifiers). A check judges a proposed label with something other than the policy's own agreement;
``run_checks`` applies the configured ones in order and ``label_provenance`` turns their verdicts
into the label's provenance (``schemas/provenance.py``). ``derive_labels`` asks the same checks for
the label of a statement that has none: where one can compute it, that is the label, and the
policy's votes only measure how hard the problem is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checks.base import LabelCheck, LabelItem, Verdict
from engines.base import Engine
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from verifiers.code.sandbox import CodeSandbox


@dataclass
class CheckContext:
    """What checks may use: the config, a sandbox, and an engine for checks that ask a model (the
    checker), each reached only when a check needs it; and how the checker relates to the policy
    (``synth.labels.choose_checker``): of the policy's own weights, its agreement is not independent."""

    config: HardforgeConfig
    sandbox: Callable[[], CodeSandbox]
    checker: Callable[[], Engine]
    # (whether the checker's agreement is independent of the policy, how it relates to it), asked
    # when a model check is built: not independent when it is the policy or of its own weights
    independence: Callable[[], tuple[bool, str]] = lambda: (True, "another model")


def _arithmetic(context: CheckContext) -> LabelCheck:
    from checks.arithmetic import ArithmeticCheck

    return ArithmeticCheck()


def agreement_settings(settings) -> None:
    """Settings under which "min_agree of samples agree" means something, else one sentence: more
    than half must agree (two of four against two others is no verdict), and samples drawn at
    temperature 0 agree with each other by construction."""
    where = "checks.program_of_thought"
    if not settings.samples / 2 < settings.min_agree <= settings.samples:
        raise HardforgeError(
            f"{where}.min_agree ({settings.min_agree}) must be more than half of samples ({settings.samples}) "
            "and at most samples."
        )
    if settings.samples > 1 and settings.temperature == 0:
        raise HardforgeError(f"{where}.temperature is 0: its {settings.samples} samples would agree by construction.")


def _program_of_thought(context: CheckContext) -> LabelCheck:
    from checks.program_of_thought import ProgramOfThoughtCheck

    agreement_settings(context.config.checks.program_of_thought)
    independent, relation = context.independence()
    return ProgramOfThoughtCheck(
        context.checker(),
        context.sandbox(),
        context.config.checks.program_of_thought,
        seed=context.config.rollouts.seed,
        independent=independent,
        relation=relation,
    )


def _reading(context: CheckContext) -> LabelCheck:
    from checks.reading import ReadingCheck

    agreement_settings(context.config.checks.program_of_thought)
    independent, relation = context.independence()
    return ReadingCheck(
        context.checker(),
        context.config.checks.program_of_thought,
        seed=context.config.rollouts.seed,
        independent=independent,
        relation=relation,
    )


def _satisfiable_tests(context: CheckContext) -> LabelCheck:
    from checks.satisfiable_tests import SatisfiableTestsCheck

    return SatisfiableTestsCheck(context.sandbox())


# the checks that ask the checker model (seconds per statement); the others compute
MODEL_CHECKS = frozenset({"program_of_thought", "reading"})

REGISTRY: dict[str, Callable[[CheckContext], LabelCheck]] = {
    "arithmetic": _arithmetic,
    "program_of_thought": _program_of_thought,
    "reading": _reading,
    "satisfiable_tests": _satisfiable_tests,
}


def configured(config: HardforgeConfig, verifier: str) -> list[str]:
    names = list(getattr(config.checks, verifier, []) or [])
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise HardforgeError(
            f"checks.{verifier} names '{unknown[0]}', which is not a label check (known: {', '.join(REGISTRY)})."
        )
    return names


def run_checks(
    context: CheckContext, verifier: str, items: list[LabelItem], names: list[str] | None = None
) -> list[list[Verdict]]:
    """Each item's verdicts, the configured checks in order: a check runs only on the items no
    earlier check has decided. Only a verdict about the whole statement decides (a disagreement
    rejects, an agreement is enough); one about a part of it is evidence, and the next check is
    asked."""
    names = configured(context.config, verifier) if names is None else names
    verdicts: list[list[Verdict]] = [[] for _ in items]
    open_items = list(range(len(items)))
    for name in names:
        if not open_items:
            break
        found = REGISTRY[name](context).check([items[i] for i in open_items])
        for i, verdict in zip(open_items, found, strict=True):
            verdicts[i].append(verdict)
        open_items = [i for i in open_items if not verdicts[i][-1].decides]
    return verdicts


def derive_labels(
    context: CheckContext, verifier: str, statements: list[str], names: list[str] | None = None
) -> list[tuple[str | None, list[Verdict]]]:
    """Per statement: the label the first check that can compute it from the whole statement
    derives (None when none can), and every verdict asked for it. A check that understood only a
    part of the statement, or whose checker is the policy, derives nothing."""
    found = run_checks(context, verifier, [LabelItem(s, None, verifier=verifier) for s in statements], names)
    return [(next((v.derived for v in verdicts if v.derived is not None), None), verdicts) for verdicts in found]


def label_provenance(base: str, verdicts: list[Verdict]) -> tuple[str | None, str | None]:
    """(provenance, None), or (None, the reason) when a check that understood the whole statement
    disagrees with the label. Only such a check's agreement makes it ``checked``: a verdict about a
    part of the statement confirms nothing alone and refutes nothing alone."""
    against = next((v for v in verdicts if v.decides and v.outcome == "disagree"), None)
    if against is not None:
        return None, f"label check failed: {against.check}: {against.reason}"
    if any(v.decides and v.outcome == "agree" for v in verdicts):
        return "checked", None
    return base, None


def verdict_rows(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    return [v.as_dict() for v in verdicts]


__all__ = [
    "CheckContext",
    "LabelItem",
    "Verdict",
    "REGISTRY",
    "MODEL_CHECKS",
    "run_checks",
    "derive_labels",
    "label_provenance",
    "configured",
    "verdict_rows",
]
