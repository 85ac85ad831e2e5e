"""hardforge's own scorers for the reasoning-gym tasks whose scorer cannot be trusted as a reward
but whose problems are worth keeping (docs/gym-scorer-audit.md): each parses the answer (never
runs it) and pays only an answer that is right, with no tolerance beyond the precision the task
states. Pure functions of (the extracted answer, the gold answer, the entry's metadata) -> 0 or 1.

- ``countdown``, ``puzzle24``: digits, ``+ - * /`` and parentheses; exactly the puzzle's numbers;
  the exact target (their scorers run ``sympy.parse_expr``);
- ``complex_arithmetic``: its scorer pays ``min(1, exp(-distance))``, and a reply of ``nan`` makes
  that 1.0 for every problem; here the parsed number must be finite and the result exactly;
- ``pool_matrix``: its scorer accepts every entry within 1 % of the gold; here every entry must
  agree with the gold to the two decimal places the task asks for;
- ``decimal_arithmetic``: its scorer accepts any answer within one unit of the operands' last
  decimal place (12.461 for 12.46); here the value itself, or more digits that round to it;
- ``codeio``: its scorer pays a JSON answer by tree similarity (a number quoted as a string, or
  off by a little, scores 1.0); here the JSON value must be the gold's, types included.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from verifiers.arithmetic import uses_exactly

_NON_FINITE = re.compile(r"(?i)(?<![a-z])[+-]?(?:nan|inf(?:inity)?)(?![a-z])")


def non_finite(text: str) -> bool:
    """Whether a reply names a NaN or an infinity (``nan``, ``-inf``, ``Infinity``): scorers that
    compute with what they parse turn those into passes (``min(1.0, nan)`` is 1.0)."""
    return bool(_NON_FINITE.search(text))


def puzzle(task: str, extracted: str, metadata: dict[str, Any]) -> float:
    numbers = [int(n) for n in metadata.get("numbers") or []]
    target = int(metadata["target"]) if task == "countdown" else 24
    right, _ = uses_exactly(extracted, numbers, target)
    return float(right)


def _complex(text: str) -> complex | None:
    """``a + bi`` / ``a - bi`` / ``bi`` / ``a`` (spaces, outer parentheses, ``j`` for ``i``)."""
    text = text.replace(" ", "").lower().replace("j", "i")
    while len(text) > 1 and text[0] == "(" and text[-1] == ")":
        text = text[1:-1]
    match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)?(?:([+-])(\d+(?:\.\d+)?)?i)?|([+-]?\d*(?:\.\d+)?)i", text)
    if not text or match is None:
        return None
    if match.group(4) is not None:  # "7i", "-i"
        coefficient = match.group(4)
        return complex(0, float(coefficient + "1" if coefficient in ("", "+", "-") else coefficient))
    real = float(match.group(1)) if match.group(1) else 0.0
    imaginary = 0.0
    if match.group(2):
        imaginary = float(match.group(3) or 1) * (-1 if match.group(2) == "-" else 1)
    return complex(real, imaginary)


def complex_arithmetic(extracted: str, metadata: dict[str, Any]) -> float:
    found = _complex(extracted)
    expected = complex(*metadata["result"])
    if found is None or not (math.isfinite(found.real) and math.isfinite(found.imag)):
        return 0.0
    return float(abs(found - expected) <= 1e-9 * max(1.0, abs(expected)))


def _matrix(text: str) -> list[list[float]] | None:
    rows = [line.split() for line in text.strip().splitlines() if line.strip()]
    try:
        values = [[float(v) for v in row] for row in rows]
    except ValueError:
        return None
    return values if values and all(math.isfinite(v) for row in values for v in row) else None


def pool_matrix(extracted: str, gold: str) -> float:
    """Every entry within half a unit of the second decimal place ("correct to 2 decimal places")."""
    mine, want = _matrix(extracted), _matrix(gold)
    if mine is None or want is None or [len(r) for r in mine] != [len(r) for r in want]:
        return 0.0
    return float(
        all(abs(a - b) <= 0.005 + 1e-9 for ra, rb in zip(mine, want, strict=True) for a, b in zip(ra, rb, strict=True))
    )


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decimal_arithmetic(extracted: str, gold: str) -> float:
    """The gold's value exactly, or an answer with more digits that rounds (half up) to it."""
    mine, want = _decimal(extracted), _decimal(gold)
    if mine is None or want is None:
        return 0.0
    if mine == want:
        return 1.0
    places = want.as_tuple().exponent
    if not isinstance(places, int) or mine.as_tuple().exponent >= places:
        return 0.0
    return float(mine.quantize(Decimal(1).scaleb(places), rounding=ROUND_HALF_UP) == want)


def same_json(a: Any, b: Any) -> bool:
    """JSON values equal with their types: ``true`` is not ``1``, ``"5"`` is not ``5``; numbers by
    value (``5`` and ``5.0`` are one number)."""
    number = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, number) and isinstance(b, number):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def codeio(extracted: str, gold: str) -> float:
    try:
        mine, want = json.loads(extracted), json.loads(gold)
    except (ValueError, RecursionError):
        return float(extracted.strip() == gold.strip())
    return float(same_json(mine, want))


def own_score(task: str, extracted: str, gold: str, metadata: dict[str, Any]) -> float:
    """The score of a task in ``schemas.gym_tasks.OWN_SCORERS``."""
    if task in ("countdown", "puzzle24"):
        return puzzle(task, extracted, metadata)
    if task == "complex_arithmetic":
        return complex_arithmetic(extracted, metadata)
    if task == "pool_matrix":
        return pool_matrix(extracted, gold)
    if task == "decimal_arithmetic":
        return decimal_arithmetic(extracted, gold)
    if task == "codeio":
        return codeio(extracted, gold)
    raise ValueError(f"no own scorer for {task}")
