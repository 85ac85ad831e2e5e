"""Exact arithmetic: when a statement is plain arithmetic (one expression of numbers and
``+ - * /``, in words or symbols, behind a lead-in like "What is" or "Calculate"), the expression
is parsed and computed exactly (``verifiers.arithmetic``: never ``eval``), and the label must be
its value. Anything else (words between the numbers, two expressions, an unknown, any word beyond
the lead-in and an answer-format sentence) abstains."""

from __future__ import annotations

import re
from fractions import Fraction

from checks.base import LabelItem, Verdict, abstain
from verifiers.arithmetic import NotArithmetic, has_operation, parse_expression, value
from verifiers.math.extract import as_rational

NAME = "arithmetic"
_WORDS = [
    (re.compile(r"\bmultiplied\s+by\b", re.IGNORECASE), "*"),
    (re.compile(r"\btimes\b", re.IGNORECASE), "*"),
    (re.compile(r"\bdivided\s+by\b", re.IGNORECASE), "/"),
    (re.compile(r"\bplus\b", re.IGNORECASE), "+"),
    (re.compile(r"\bminus\b", re.IGNORECASE), "-"),
]
_SYMBOLS = str.maketrans({"×": "*", "·": "*", "∗": "*", "÷": "/", "−": "-", "–": "-"})
_TIMES_X = re.compile(r"(?<=\d)\s*[xX]\s*(?=\d)")
_SENTENCES = re.compile(r"(?<=[.?!])\s+")
_EXPRESSION_CHARS = set("0123456789+-*/(). \t")
_TAIL = re.compile(r"(?:\s*=\s*\??)?[\s?.!:]*$")
_MATH_SYMBOLS = re.compile(r"[-+*/^=()<>\[\]{}|_\\$]")
# The only words a plain-arithmetic statement may hold besides its expression: a lead-in ("What
# is", "State the final answer to the following arithmetic problem:") and an answer-format
# sentence ("Give only the result as your final answer."). Any other word may change what the
# expression means ("every plus sign means minus", "subtract seven from that"), so it abstains.
_FRAMING = frozenset(
    [
        "what",
        "what's",
        "is",
        "compute",
        "calculate",
        "evaluate",
        "find",
        "work",
        "out",
        "simplify",
        "determine",
        "solve",
        "state",
        "give",
        "put",
        "write",
        "reply",
        "answer",
        "respond",
        "return",
        "the",
        "a",
        "an",
        "value",
        "result",
        "of",
        "following",
        "arithmetic",
        "problem",
        "expression",
        "calculation",
        "sum",
        "product",
        "difference",
        "quotient",
        "multiplication",
        "addition",
        "subtraction",
        "division",
        "to",
        "your",
        "final",
        "only",
        "as",
        "with",
        "just",
        "number",
        "please",
        "exactly",
        "and",
        "after",
        "without",
        "additional",
        "text",
    ]
)
_WORD = re.compile(r"[a-z']+|[^\sa-z']")


def plain_expression(statement: str) -> str | None:
    """The one arithmetic expression a plain-arithmetic statement asks for, or None."""
    text = statement.translate(_SYMBOLS)
    for pattern, symbol in _WORDS:
        text = pattern.sub(f" {symbol} ", text)
    text = _TIMES_X.sub(" * ", text)
    sentences = [s for s in _SENTENCES.split(text.strip()) if s.strip()]
    numbered = [s for s in sentences if re.search(r"\d", s)]
    if len(numbered) != 1 or not all(framing(s) for s in sentences if s is not numbered[0]):
        return None
    sentence = _TAIL.sub("", numbered[0])
    i = len(sentence)
    while i > 0 and sentence[i - 1] in _EXPRESSION_CHARS:
        i -= 1
    lead, expression = sentence[:i], sentence[i:]
    if re.search(r"\d", lead) or _MATH_SYMBOLS.search(lead):
        return None  # numbers or notation outside the expression: "... of sqrt(ab)/(abc)^(1/3)"
    if lead and not expression[:1].isspace() and lead[-1] not in ":,;":
        return None  # a variable glued to it ("2x + 3")
    words = lead.split()
    if words and len(words[-1]) == 1 and words[-1].isalpha():
        return None  # a variable before it ("x - (1/3)")
    if not framing(lead.rstrip(":,; \t")):
        return None  # words that may redefine the expression ("treating + as -, what is")
    expression = expression.strip()
    if expression[:1] in ("+", "*", "/"):
        return None
    try:
        tree = parse_expression(expression)
    except NotArithmetic:
        return None
    return expression if has_operation(tree) else None


def framing(text: str) -> bool:
    """Whether ``text`` is only lead-in or answer-format words (and end punctuation)."""
    return all(token in _FRAMING or token in ".?!:,;'\"" for token in _WORD.findall(text.lower()))


def label_value(label: str) -> Fraction | None:
    return as_rational(label.strip().rstrip("."))


def rounded(label: str, exact: Fraction) -> bool:
    """A decimal label that is the value rounded to its places (not exact, not wrong)."""
    text, given = label.strip().rstrip("."), label_value(label)
    if given is None or "." not in text:
        return False
    return round(exact, len(text.split(".", 1)[1])) == given


class ArithmeticCheck:
    name = NAME
    applies_to = ("math",)

    def check(self, items: list[LabelItem]) -> list[Verdict]:
        return [self._one(item) for item in items]

    def _one(self, item: LabelItem) -> Verdict:
        expression = plain_expression(item.statement)
        if expression is None:
            return abstain(NAME, "not plain arithmetic")
        try:
            exact = value(expression)
        except NotArithmetic as exc:
            return abstain(NAME, f"cannot compute '{expression}': {exc}")
        shown = str(exact.numerator) if exact.denominator == 1 else f"{exact.numerator}/{exact.denominator}"
        if label_value(item.label) is None:
            return Verdict(
                NAME,
                "disagree",
                f"'{expression}' = {shown}; the label '{item.label}' is not a number",
                {"expression": expression, "value": shown},
            )
        if label_value(item.label) == exact:
            return Verdict(NAME, "agree", f"'{expression}' = {shown}", {"expression": expression, "value": shown})
        if rounded(item.label, exact):
            return abstain(
                NAME,
                f"'{expression}' = {shown}; the label {item.label} is it rounded",
                expression=expression,
                value=shown,
            )
        return Verdict(
            NAME, "disagree", f"'{expression}' = {shown}, not {item.label}", {"expression": expression, "value": shown}
        )
