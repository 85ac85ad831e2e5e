"""Independent label checks: one module per check and one registry (verl's pattern, as for
verifiers). A check judges a proposed label with something other than the policy's own agreement;
``run_checks`` applies the configured ones in order and ``label_provenance`` turns their verdicts
into the label's provenance (``schemas/provenance.py``)."""

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
    checker), each reached only when a check needs it."""

    config: HardforgeConfig
    sandbox: Callable[[], CodeSandbox]
    checker: Callable[[], Engine]
    checker_is_policy: bool = False  # then a model check's agreement is not independent


def _arithmetic(context: CheckContext) -> LabelCheck:
    from checks.arithmetic import ArithmeticCheck

    return ArithmeticCheck()


def _program_of_thought(context: CheckContext) -> LabelCheck:
    from checks.program_of_thought import ProgramOfThoughtCheck

    return ProgramOfThoughtCheck(
        context.checker(),
        context.sandbox(),
        context.config.checks.program_of_thought,
        seed=context.config.rollouts.seed,
        independent=not context.checker_is_policy,
    )


def _satisfiable_tests(context: CheckContext) -> LabelCheck:
    from checks.satisfiable_tests import SatisfiableTestsCheck

    return SatisfiableTestsCheck(context.sandbox())


REGISTRY: dict[str, Callable[[CheckContext], LabelCheck]] = {
    "arithmetic": _arithmetic,
    "program_of_thought": _program_of_thought,
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
    "run_checks",
    "label_provenance",
    "configured",
    "verdict_rows",
]
