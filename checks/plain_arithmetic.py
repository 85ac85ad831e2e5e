"""What a plain-arithmetic statement is, read as a whole: one question about one expression, in
sentences from short allow-lists of whole sentences, never of single words.

A statement is plain arithmetic when every sentence is either the one question (a lead-in from
``LEADS``, or none, then the expression, then ``?``, ``=``, ``= ?`` or ``.``) or an answer-format
sentence from ``FORMATS``. A sentence built from the words those use ("Give the product of the
result and 2 as your final answer.") is neither, so the statement is not plain: it may ask
something else than the expression, and a check that read only the expression would agree with a
wrong label. The expression may be written in symbols (``×``, ``÷``, ``−``, LaTeX's ``\\times``,
``\\cdot``, ``\\div``, ``\\frac{a}{b}``, inside ``\\(...\\)`` or ``$...$``), in the operator words
"plus", "minus", "times", "multiplied by", "divided by", or as "the sum (total, product) of a, b and
c", "the difference between a and b" (a ≥ b: the other way round its sign is not said), "add a and
b" or "multiply a by b".
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction

from verifiers.arithmetic import NotArithmetic, has_operation, parse_expression

# Lead-ins of the one question (lowercase, whole phrases; "please" may precede, ":" may follow).
LEADS = (
    "what is",
    "what's",
    "what is the value of",
    "what is the result of",
    "what is the answer to",
    "how much is",
    "compute",
    "compute the value of",
    "compute the following",
    "calculate",
    "calculate the value of",
    "calculate the following",
    "evaluate",
    "evaluate the expression",
    "evaluate the following",
    "evaluate the following expression",
    "find",
    "find the value of",
    "find the result of",
    "work out",
    "simplify",
    "determine",
    "determine the value of",
    "solve",
    "solve the following arithmetic problem",
    "solve the following problem",
    "state the final answer to the following arithmetic problem",
)
# A lead-in that names an operation fits only an expression made of that operation alone.
NAMED_OPERATION = {"solve the following multiplication": "*"}
# Answer-format sentences, whole (lowercase, no end punctuation; "please" may precede). None of
# them changes the value asked for: no rounding, units, bases, percentages or "in words".
FORMATS = frozenset(
    {
        "give only the result as your final answer",
        "give only the result",
        "give only the answer",
        "give only the final answer",
        "give only the number",
        "give your answer as a number",
        "give the answer as a number",
        "answer with a number",
        "answer with a single number",
        "answer with only the number",
        "answer with just the number",
        "reply with only the number",
        "reply with just the number",
        "reply with only the final value",
        "only reply with the final value",
        "reply only with the final value",
        "write only the number",
        "write only the answer",
        "write just the number",
        "just give the number",
        "provide only the final answer",
        "return only the answer",
        "do not show your work",
        "show your work",
        "think step by step",
        "reason step by step",
        "do not use a calculator",
        "put your final answer within \\boxed{}",
        "reason step by step, and put your final answer within \\boxed{}",
    }
)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")
_END_PUNCTUATION = " \t.!:;"
_TAIL = re.compile(r"\s*(?:=\s*\?|=|\?|\.|!)?\s*$")
_LEADS_LONGEST_FIRST = sorted([*LEADS, *NAMED_OPERATION], key=len, reverse=True)
_LIST_FORM = re.compile(
    r"(?:please\s+)?(?:(?:what is|what's|find|compute|calculate|determine|give)\s+the\s+"
    r"(?P<op>(?:total\s+)?sum|total|product|difference)\s+(?:of|between)|(?P<verb>add|multiply))\s+"
    r"(?:the\s+(?:numbers|integers)\s+)?(?P<terms>.+?)\s*[?.]?\s*",
    re.IGNORECASE,
)
_SIGNED_NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?")
_LATEX = [
    (re.compile(r"^\\\(|\\\)$|^\\\[|\\\]$|^\$+|\$+$"), ""),
    (re.compile(r"\\(?:left|right)\s*"), ""),
    (re.compile(r"\\(?:times|cdot|ast)\b"), "*"),
    (re.compile(r"\\div\b"), "/"),
    (re.compile(r"\\[dt]?frac\{\s*(\d+(?:\.\d+)?)\s*\}\{\s*(\d+(?:\.\d+)?)\s*\}"), r"(\1/\2)"),
]
OPERATOR_WORDS = [  # the operator words, between numbers
    (re.compile(r"\bmultiplied\s+by\b", re.IGNORECASE), "*"),
    (re.compile(r"\btimes\b", re.IGNORECASE), "*"),
    (re.compile(r"\bdivided\s+by\b", re.IGNORECASE), "/"),
    (re.compile(r"\bplus\b", re.IGNORECASE), "+"),
    (re.compile(r"\bminus\b", re.IGNORECASE), "-"),
]
_SYMBOLS = str.maketrans({"×": "*", "·": "*", "∗": "*", "÷": "/", "−": "-", "–": "-"})
_TIMES_X = re.compile(r"(?<=\d)\s*[xX]\s*(?=\d)")


def sentences(statement: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(statement.strip()) if s.strip()]


def is_format_sentence(sentence: str) -> bool:
    text = " ".join(sentence.lower().split()).strip(_END_PUNCTUATION)
    return text.removeprefix("please ") in FORMATS


def expression_of(sentence: str) -> str | None:
    """The expression one question sentence asks for, in ``+ - * /`` (None when it is not one
    question about one expression)."""
    listed = _LIST_FORM.fullmatch(sentence)
    if listed is not None:
        if re.search(r"\d,\d", listed.group("terms")):
            return None  # "1,234" is a number or a list: which, the sentence does not say
        op = " ".join((listed.group("op") or listed.group("verb")).lower().split())
        if op == "multiply" and re.search(r"\sby\s", listed.group("terms")):
            # "multiply a by b", two numbers only: "Multiply 3 by 4 and 5 by 6" asks for two products
            terms = re.split(r"\s+by\s+", listed.group("terms"))
            if len(terms) != 2:
                return None
        else:
            terms = re.split(r"\s*,\s+(?:and\s+)?|\s+and\s+", listed.group("terms"))
        if len(terms) < 2 or not all(_SIGNED_NUMBER.fullmatch(t) for t in terms):
            return None  # "the sum of the result and 2" is not a list of numbers
        numbers = [t.translate(_SYMBOLS) for t in terms]
        if op == "difference":
            # "the difference between 9 and 4" is 5; between 4 and 9 it may be 5 or -5: no reading
            # (compared exactly: as floats, 9007199254740992 and ...993 are equal)
            if len(numbers) != 2 or Fraction(numbers[0]) < Fraction(numbers[1]):
                return None
            return _checked(f"({numbers[0]}) - ({numbers[1]})")
        symbol = " * " if op in ("product", "multiply") else " + "
        return _checked(symbol.join(f"({t})" for t in numbers))
    text = re.sub(r"^please\s+", "", sentence.strip(), flags=re.IGNORECASE)
    body = _TAIL.sub("", text)
    lowered = body.lower()
    for lead in [*_LEADS_LONGEST_FIRST, ""]:
        if lead and not re.match(re.escape(lead) + r"\s*:?\s+", lowered):
            continue
        rest = re.sub(r"^\s*:?\s*", "", body[len(lead) :]) if lead else body
        expression = _symbols(rest)
        checked = _checked(expression) if expression else None
        if checked is None:
            continue
        if lead in NAMED_OPERATION and operations(checked) != {NAMED_OPERATION[lead]}:
            return None  # "Solve the following multiplication: 4 + 3" asks two things
        return checked
    return None


def _symbols(text: str) -> str | None:
    text = text.strip().translate(_SYMBOLS)
    for pattern, replacement in _LATEX:
        text = pattern.sub(replacement, text.strip())
    if "\\" in text or "$" in text:
        return None  # other notation: not the four operations
    for pattern, symbol in OPERATOR_WORDS:
        text = pattern.sub(f" {symbol} ", text)
    return _TIMES_X.sub(" * ", text).strip()


def _checked(expression: str) -> str | None:
    expression = " ".join(expression.split())
    # a leading "*" or "/" is half an expression; a leading "+" only a unary plus on a number ("+12 + 30")
    if expression[:1] in ("*", "/") or (expression[:1] == "+" and not re.match(r"\+\s*[\d(]", expression)):
        return None
    try:
        tree = parse_expression(expression)
    except NotArithmetic:
        return None
    return expression if has_operation(tree) else None


# notation the four operations do not read: a factorial ("3!"), a base prefix ("0x10"), powers
_OTHER_NOTATION = re.compile(r"[\d)]\s*!|\b0[xXbBoO][0-9a-fA-F]|\^|\*\*")


def plain_expression(statement: str) -> str | None:
    """The expression of a statement that is plain arithmetic as a whole (module docstring), or None."""
    if _OTHER_NOTATION.search(statement):
        return None
    parts = sentences(statement)
    questions = [s for s in parts if not is_format_sentence(s)]
    if len(questions) != 1:
        return None
    return expression_of(questions[0])


def partial_expression(statement: str) -> str | None:
    """The expression of the one sentence that asks for one, when the statement as a whole is not
    plain arithmetic: what a check may report as evidence, never confirm a label with."""
    if _OTHER_NOTATION.search(statement):
        return None
    found = [e for e in (expression_of(s) for s in sentences(statement)) if e is not None]
    return found[0] if len(found) == 1 else None


def operations(expression: str) -> set[str]:
    """The binary operations of an expression (``{"*"}`` for ``4 * -3``)."""
    symbols = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
    return {symbols[type(n.op)] for n in ast.walk(parse_expression(expression)) if isinstance(n, ast.BinOp)}
