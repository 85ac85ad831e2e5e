"""Validity: the statement's length is within bounds and the answer is usable by its verifier."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from filters.base import KEEP, Filter, Verdict
from schemas.config import FilterConfig


def code_compiles(problem: dict[str, Any]) -> str | None:
    """Why a code problem cannot run (None when it can): its tests and its prompt must parse."""
    for name, source in (("tests", problem["answer"]), ("statement", problem["statement"] + "\n    pass\n")):
        try:
            ast.parse(source)
        except SyntaxError as exc:
            return f"{name} do not parse: {exc.msg} (line {exc.lineno})"
    return None


def check_validity(
    problems: list[dict[str, Any]],
    config: FilterConfig,
    math_answer_parses: Callable[[list[str]], list[bool]],
) -> list[Verdict]:
    """``math_answer_parses`` is the math verifier's parser (run in its worker processes)."""
    verdicts: list[Verdict | None] = [None] * len(problems)
    math_rows = []
    for i, problem in enumerate(problems):
        length = len(problem["statement"].strip())
        if length < config.min_statement_chars:
            verdicts[i] = Verdict(False, f"statement too short ({length} < {config.min_statement_chars} characters)")
        elif length > config.max_statement_chars:
            verdicts[i] = Verdict(False, f"statement too long ({length} > {config.max_statement_chars} characters)")
        elif problem["verifier"] == "code":
            why = code_compiles(problem)
            verdicts[i] = KEEP if why is None else Verdict(False, f"invalid code problem: {why}")
        elif problem["verifier"] == "math":
            math_rows.append(i)
        else:
            verdicts[i] = KEEP if problem["answer"].strip() else Verdict(False, "empty answer")
    for i, ok in zip(math_rows, math_answer_parses([problems[i]["answer"] for i in math_rows]), strict=True):
        verdicts[i] = KEEP if ok else Verdict(False, "answer does not parse as math")
    return verdicts  # type: ignore[return-value]


class ValidityFilter(Filter):
    name = "validity"

    def settings(self) -> dict[str, Any]:
        cfg = self.config.filters
        return {"min_statement_chars": cfg.min_statement_chars, "max_statement_chars": cfg.max_statement_chars}

    def __call__(self, problems: list[dict[str, Any]]) -> list[Verdict]:
        from verifiers.math.grade import MathVerifier

        if not problems:
            return []
        with MathVerifier(timeout_s=self.config.rollouts.grade_timeout_s) as math:
            return check_validity(problems, self.config.filters, math.parses)
