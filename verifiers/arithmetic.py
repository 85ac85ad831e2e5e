"""Exact arithmetic on untrusted text, never run as Python: the text is checked character by
character, parsed by ``ast`` into numbers and the four operations (and parentheses), checked node
by node, and computed with ``Fraction``. What reasoning-gym evaluates with ``eval`` or sympy
(countdown, puzzle24) is scored with this instead, and label checks reuse it."""

from __future__ import annotations

import ast
import re
from collections import Counter
from fractions import Fraction

MAX_CHARS = 300
_INTEGER_EXPRESSION = re.compile(r"[0-9+\-*/() \t]+")
_OPERATORS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}


class NotArithmetic(ValueError):
    """Text that is not an arithmetic expression of the allowed form."""


def _parse(text: str, chars: re.Pattern[str], *, signs: bool, literals: tuple[type, ...]) -> ast.expr:
    text = text.strip()
    if not text or len(text) > MAX_CHARS or not chars.fullmatch(text):
        raise NotArithmetic("only numbers, + - * /, parentheses and spaces are allowed")
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise NotArithmetic("not a well-formed expression") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            if type(node.op) not in (*_OPERATORS, ast.Div):
                raise NotArithmetic(f"operator {type(node.op).__name__} is not allowed")
        elif isinstance(node, ast.UnaryOp):
            if not signs or type(node.op) not in (ast.USub, ast.UAdd):
                raise NotArithmetic(f"operator {type(node.op).__name__} is not allowed")
        elif isinstance(node, ast.Constant):
            if type(node.value) not in literals:
                raise NotArithmetic("only number literals are allowed")
        elif not isinstance(node, (ast.operator, ast.unaryop)):
            raise NotArithmetic(f"{type(node).__name__} is not allowed")
    return tree


def parse_integer_expression(text: str) -> ast.expr:
    """The tree of an expression made only of non-negative integer literals, ``+ - * /`` and
    parentheses (no unary sign, no power, no names): anything else raises ``NotArithmetic``."""
    return _parse(text, _INTEGER_EXPRESSION, signs=False, literals=(int,))


def integer_literals(tree: ast.expr) -> list[int]:
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]


def evaluate(tree: ast.expr, source: str = "") -> Fraction:
    """The exact value of a parsed tree (decimal literals read from ``source`` exactly, never
    through a float); division by zero raises ``NotArithmetic``."""
    if isinstance(tree, ast.Constant):
        literal = ast.get_source_segment(source, tree) if source else None
        return Fraction(literal) if literal else Fraction(tree.value)
    if isinstance(tree, ast.UnaryOp):
        inner = evaluate(tree.operand, source)
        return -inner if isinstance(tree.op, ast.USub) else inner
    assert isinstance(tree, ast.BinOp)
    left, right = evaluate(tree.left, source), evaluate(tree.right, source)
    if isinstance(tree.op, ast.Div):
        if right == 0:
            raise NotArithmetic("division by zero")
        return left / right
    return _OPERATORS[type(tree.op)](left, right)


def uses_exactly(answer: str, numbers: list[int], target: Fraction | int) -> tuple[bool, str]:
    """Whether ``answer`` is an expression of the allowed form that uses each of ``numbers``
    exactly once (as a multiset) and equals ``target`` exactly; with the reason when it is not."""
    try:
        tree = parse_integer_expression(answer)
    except NotArithmetic as exc:
        return False, str(exc)
    if Counter(integer_literals(tree)) != Counter(numbers):
        return False, "does not use exactly the puzzle's numbers"
    try:
        value = evaluate(tree)
    except NotArithmetic as exc:
        return False, str(exc)
    return (True, "") if value == target else (False, f"equals {value}, not {target}")


# -- general expressions: signs, decimals, the four operations (label checks of synthesized math)

_EXPRESSION = re.compile(r"[0-9+\-*/(). \t]+")


def parse_expression(text: str) -> ast.expr:
    """The tree of an expression of integer or decimal literals, unary ``+``/``-``, ``+ - * /``
    and parentheses; ``NotArithmetic`` for anything else (no power, no names, no calls)."""
    return _parse(text, _EXPRESSION, signs=True, literals=(int, float))


def has_operation(tree: ast.expr) -> bool:
    """Whether the expression computes something (a binary operation), beyond a signed number."""
    return any(isinstance(node, ast.BinOp) for node in ast.walk(tree))


def value(text: str) -> Fraction:
    """The exact value of ``text`` (decimal literals read exactly, never through a float)."""
    return evaluate(parse_expression(text), text.strip())


# -- the canonical form of an expression: what makes two proposals the same arithmetic problem


def canonical(text: str) -> str:
    """One spelling per expression, from its parse: unary plus, redundant parentheses, spacing and
    trailing decimal zeros drop out; chains of ``+`` (or of ``*``) are one n-ary node whose operands
    are sorted, so ``30 + 12`` and ``(12) + +30.0`` are the same problem. ``-`` and ``/`` keep their
    order. Raises ``NotArithmetic`` as ``parse_expression`` does."""
    text = text.strip()
    return _canonical(parse_expression(text), text)


def _canonical(node: ast.expr, source: str) -> str:
    if isinstance(node, ast.Constant):
        number = Fraction(ast.get_source_segment(source, node) or repr(node.value))
        return str(number.numerator) if number.denominator == 1 else f"{number.numerator}/{number.denominator}"
    if isinstance(node, ast.UnaryOp):
        inner = _canonical(node.operand, source)
        if isinstance(node.op, ast.UAdd) or inner == "0":
            return inner
        return (
            inner[1:]
            if inner.startswith("-") and _atomic(inner[1:])
            else f"-{inner}"
            if _atomic(inner)
            else f"-({inner})"
        )
    assert isinstance(node, ast.BinOp)
    if isinstance(node.op, (ast.Add, ast.Mult)):
        symbol = "+" if isinstance(node.op, ast.Add) else "*"
        operands = sorted(_canonical(part, source) for part in _chain(node, type(node.op)))
        return "(" + symbol.join(operands) + ")"
    symbol = "-" if isinstance(node.op, ast.Sub) else "/"
    return f"({_canonical(node.left, source)}{symbol}{_canonical(node.right, source)})"


def _chain(node: ast.expr, op: type) -> list[ast.expr]:
    """The operands of a chain of one associative operator: ``a + (b + c)`` -> [a, b, c]."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, op):
        return _chain(node.left, op) + _chain(node.right, op)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
        return _chain(node.operand, op)
    return [node]


def _atomic(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:/\d+)?", text)) or (text.startswith("(") and text.endswith(")"))
