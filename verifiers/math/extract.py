"""Final-answer extraction from a completion. Pure functions, tested table-driven.

Two modes, chosen per source in config and recorded on every rollout:
- ``strict``: the last ``\\boxed{}`` (brace-matched, so ``\\boxed{\\frac{1}{2}}`` works), else the
  last ``<answer>...</answer>``;
- ``flexible``: strict, else a plain final-answer phrase ("the answer is 42", "#### 42"), else the
  last number in the reply (lm-eval-harness's flexible-extract), for small models that state the
  right number without the requested format.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
# up to the end of the sentence: "The answer is 8. So ..." -> "8" (a decimal point is not an end)
_PLAIN = re.compile(
    r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?=\.\s|\.?$)|^####\s*(.+?)(?=\.\s|\.?$)",
    re.IGNORECASE | re.MULTILINE,
)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\fbox{...}`` (or ``\\boxed 5``)."""
    start = max(text.rfind(cmd) for cmd in _BOX_COMMANDS)
    while start >= 0:
        cmd = next(c for c in _BOX_COMMANDS if text.startswith(c, start))
        i = start + len(cmd)
        if i < len(text) and text[i] == "{":
            depth = 0
            for j in range(i, len(text)):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        return text[i + 1 : j].strip()
        elif i < len(text) and text[i] == " ":
            match = re.match(r" +([^\s$]+)", text[i:])
            if match:
                return match.group(1).strip()
        # unbalanced or empty box: look at an earlier one
        start = max(text.rfind(cmd, 0, start) for cmd in _BOX_COMMANDS)
    return None


def answer_tag(text: str) -> str | None:
    matches = _ANSWER_TAG.findall(text)
    if not matches:
        return None
    inner = matches[-1].strip()
    return last_boxed(inner) or inner or None


def plain_final_answer(text: str) -> str | None:
    matches = list(_PLAIN.finditer(text))
    if not matches:
        return None
    found = (matches[-1].group(1) or matches[-1].group(2)).strip()
    found = found.strip().rstrip(".").strip()
    if found.startswith("$") and found.endswith("$") and len(found) > 1:
        found = found.strip("$").strip()
    return found or None


_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:,\d{3})*(?:\.\d+)?(?:/\d+)?")
EXTRACTION_MODES = ("strict", "flexible")


def last_number(text: str) -> str | None:
    """The last number in the text (``-3``, ``1,000``, ``0.25``, ``3/4``), commas dropped."""
    matches = _NUMBER.findall(text)
    return matches[-1].replace(",", "") if matches else None


def extract_answer(text: str, mode: str = "strict") -> str | None:
    """The completion's final answer as a string, or None when it states none."""
    if mode not in EXTRACTION_MODES:
        raise ValueError(f"unknown extraction mode {mode!r}")
    found = last_boxed(text) or answer_tag(text)
    if found is None and mode == "flexible":
        found = plain_final_answer(text) or last_number(text)
    return found


_SPACES = re.compile(r"\s+")
_DIGIT_SPACE = re.compile(r"(?<=\d)\s+(?=\d)")
_TEXT_CMD = re.compile(r"\\(?:text|mathrm|textbf|mbox)\{([^{}]*)\}")


def normalize_answer(answer: str) -> str:
    """Loose string form for the fallback comparison when symbolic parsing fails."""
    answer = _TEXT_CMD.sub(r"\1", answer)
    answer = answer.replace("$", "").replace("\\!", "").replace("\\,", "").replace("\\left", "").replace("\\right", "")
    answer = answer.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    # spaces go, except between two digits: "1 2 3" lists three numbers, it is not 123
    answer = _DIGIT_SPACE.sub("␣", answer.strip())
    return _SPACES.sub("", answer).replace("␣", " ").rstrip(".").lower()


_SIGN_SPACE = re.compile(r"^([+-])\s+(?=\d)")
_THIN_THOUSANDS = re.compile(r"(?<=\d)\\,(?=\d{3}(?!\d))")
_INTEGER = re.compile(r"[+-]?\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)")
_FRAC = re.compile(r"([+-]?)\\[dt]?frac\{([+-]?\d+)\}\{([+-]?\d+)\}")
_SLASH = re.compile(r"([+-]?\d+)/([+-]?\d+)")


def as_rational(answer: str) -> Fraction | None:
    """The exact rational value of a plain numeric answer (``42``, ``-3``, ``1,000``, ``1\\,000``,
    ``0.25``, ``\\frac{3}{4}``, ``3/4``), or None for anything else. A space inside is not dropped:
    "1 2 3" lists three numbers, it is not 123 (a sign may stand apart: "- 5")."""
    text = answer.replace("$", "").replace("\\!", "").replace("{,}", ",").strip()
    text = _THIN_THOUSANDS.sub(",", _SIGN_SPACE.sub(r"\1", text))
    text = re.sub(r"\s*([{}/])\s*", r"\1", text)  # "\\frac{3} {4}", "3 / 4"
    if re.search(r"\s", text):
        return None
    if _INTEGER.fullmatch(text):
        return Fraction(int(text))
    if _THOUSANDS.fullmatch(text):
        return Fraction(int(text.replace(",", "")))
    if _DECIMAL.fullmatch(text):
        return Fraction(text)
    match = _FRAC.fullmatch(text) or _SLASH.fullmatch(text)
    if match:
        *sign, numerator, denominator = match.groups()
        if int(denominator) == 0:
            return None
        value = Fraction(int(numerator), int(denominator))
        return -value if sign and sign[0] == "-" else value
    return None
