"""Exact arithmetic: when a statement is plain arithmetic as a whole (``checks.plain_arithmetic``:
one question about one expression, every other sentence an allow-listed answer-format sentence),
the expression is parsed and computed exactly (``verifiers.arithmetic``: never ``eval``), and the
label must be its value; that verdict covers the statement. When the statement holds one such
question among other sentences, the value of its expression is only evidence (scope ``part``: it
neither confirms nor refutes a label, since the other sentences may change what is asked).
Anything else abstains."""

from __future__ import annotations

from fractions import Fraction

from checks.base import LabelItem, Verdict, abstain
from checks.plain_arithmetic import partial_expression, plain_expression
from verifiers.arithmetic import NotArithmetic, value
from verifiers.math.extract import as_rational

NAME = "arithmetic"

__all__ = ["ArithmeticCheck", "plain_expression", "label_value", "rounded"]


def label_value(label: str) -> Fraction | None:
    return as_rational(label.strip().rstrip("."))


def rounded(label: str, exact: Fraction) -> bool:
    """A decimal label that is the value rounded to its places (not exact, not wrong)."""
    text, given = label.strip().rstrip("."), label_value(label)
    if given is None or "." not in text:
        return False
    return round(exact, len(text.split(".", 1)[1])) == given


def _shown(exact: Fraction) -> str:
    return str(exact.numerator) if exact.denominator == 1 else f"{exact.numerator}/{exact.denominator}"


class ArithmeticCheck:
    name = NAME
    applies_to = ("math",)

    def check(self, items: list[LabelItem]) -> list[Verdict]:
        return [self._one(item) for item in items]

    def _one(self, item: LabelItem) -> Verdict:
        expression = plain_expression(item.statement)
        scope = "statement"
        if expression is None:
            expression, scope = partial_expression(item.statement), "part"
            if expression is None:
                return abstain(NAME, "not plain arithmetic")
        try:
            exact = value(expression)
        except NotArithmetic as exc:
            return abstain(NAME, f"cannot compute '{expression}': {exc}")
        shown = _shown(exact)
        detail = {"expression": expression, "value": shown}
        if item.label is None:  # derive: the value is the label, when the expression is the whole question
            if scope == "part":
                return Verdict(
                    NAME, "abstain", f"'{expression}' = {shown}, but the statement asks more than it", detail, "part"
                )
            return Verdict(NAME, "agree", f"'{expression}' = {shown}", detail, value=shown)
        given = label_value(item.label)
        if given is not None and given != exact and rounded(item.label, exact):
            return abstain(NAME, f"'{expression}' = {shown}; the label {item.label} is it rounded", **detail)
        if scope == "part":
            # evidence only: the sentences around the question may ask for something else
            outcome = "agree" if given == exact else "disagree"
            why = "is" if given == exact else "is not"
            reason = f"'{expression}' = {shown}, which {why} the label, but the statement asks more than it"
            return Verdict(NAME, outcome, reason, detail, scope="part")
        if given is None:
            return Verdict(
                NAME,
                "disagree",
                f"'{expression}' = {shown}; the label '{item.label}' is not a number",
                detail,
                value=shown,
            )
        if given == exact:
            return Verdict(NAME, "agree", f"'{expression}' = {shown}", detail, value=shown)
        return Verdict(NAME, "disagree", f"'{expression}' = {shown}, not {item.label}", detail, value=shown)
