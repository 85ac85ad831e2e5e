"""The qa verifier: short factual answers, graded by normalized exact match. The normalization
deletes only what cannot change an answer: case, punctuation at the edges of a word (quotes,
brackets, a full stop or comma after it), the dots of an abbreviation (``U.S.``), a currency sign
before a number, and one leading article before a longer answer ("The Beatles"). Everything inside
a word stays (``2^10``, ``C++``, ``C#``, ``3:45``, ``1/5``, ``-40``), single letters stay ("Vitamin
A" is not "Vitamin"), and so do the spaces between words ("1 2 3" is not "123"): SQuAD's
normalization deleted all three. When both answers read as numbers they are compared as numbers
(``1,000`` is ``1000``, ``-40`` is not ``40``).
``correct`` is the exact match (with the answer or one of its other names, the problem's
``extra.aliases``: "IBM" for International Business Machines), the only thing a reward pays for;
``score`` records the token F1
(what ASearcher's RL reward uses), so a reply that pads the answer with guesses gains nothing but
is visible in the warehouse.

Extraction: strict reads the last ``<answer>...</answer>`` (or ``\\boxed{}``); flexible also takes
a plain "the answer is X" phrase, else the reply's first line when it is short (a small model
replies "Lisp." more often than it writes tags; a stray tag is no part of it: "C <answer></answer>"
is "C"). A reply longer than ``MAX_WORDS`` words is not an
answer: listing many candidates must not match by luck.
"""

from __future__ import annotations

import re
import string
from collections import Counter

from verifiers.base import Grade, GradeItem
from verifiers.math.extract import answer_tag, as_rational, last_boxed, plain_final_answer

MAX_WORDS = 12
_ARTICLES = ("the", "a", "an")
_EDGE = "".join(sorted(set(string.punctuation + "‘’“”′″") - set("+-#%$&@/\\^~*=<>|_")))
_ABBREVIATION = re.compile(r"(?:[a-z]\.){2,}|[a-z]\.")
_CURRENCY_SIGNS = "$€£¥"
_CURRENCY = re.compile(r"^[$€£¥](?=[\d.])")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "`": "`"}
_STRAY_TAG = re.compile(r"</?answer>", re.IGNORECASE)
_MARKS = set("'\"′″’”")  # feet and inches, primes: after a letter or digit they are part of it


def _unquoted(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def _token(token: str) -> str:
    if _ABBREVIATION.fullmatch(token.strip(_EDGE.replace(".", ""))):
        return token.strip(_EDGE.replace(".", "")).replace(".", "")  # "u.s." -> "us", "e." -> "e"
    core = token.lstrip(_EDGE)
    end = len(core)
    while end > 0 and core[end - 1] in _EDGE:
        mark, before = core[end - 1], core[end - 2] if end > 1 else ""
        if (mark in _MARKS and before.isalnum()) or (mark == "!" and before.isdigit()):
            break  # 5' is not 5", f' is not f, 5! is not 5
        end -= 1
    return _CURRENCY.sub("", core[:end])


def normalize(text: str) -> str:
    tokens = [t for t in (_token(t) for t in _unquoted(text.casefold()).split()) if t]
    if len(tokens) > 1 and tokens[0] in _ARTICLES and len(" ".join(tokens[1:])) > 1:
        tokens = tokens[1:]  # "The Beatles" is "Beatles"; "A B" is not "B"
    return " ".join(tokens)


def _currency(text: str) -> set[str]:
    return {c for c in text if c in _CURRENCY_SIGNS}


def same_answer(predicted: str, gold: str) -> bool:
    """Normalized exact match; two plain numbers (no fraction: "2/4" may be a date) are compared by
    value; two currency signs must be the same one."""
    a, b = normalize(predicted), normalize(gold)
    if not a:
        return False
    mine, theirs = _currency(predicted), _currency(gold)
    if mine and theirs and mine != theirs:
        return False
    x, y = as_rational(a), as_rational(b)
    if x is not None and y is not None and "/" not in a + b:
        return x == y
    return a == b


def names_answer(predicted: str, gold: str, aliases: object = ()) -> bool:
    """The answer, or one of its other names: ``aliases`` are a problem's (an ASearcher label's,
    which its dictionary entry gives: ``warehouse.corpus.Doc.other_names``), from the corpus, never
    from the policy. Anything but a list of strings names none."""
    others = aliases if isinstance(aliases, (list, tuple)) else ()
    return same_answer(predicted, gold) or any(isinstance(a, str) and same_answer(predicted, a) for a in others)


def token_f1(predicted: str, gold: str) -> float:
    pred, want = normalize(predicted).split(), normalize(gold).split()
    common = sum((Counter(pred) & Counter(want)).values())
    if not pred or not want or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(want)
    return 2 * precision * recall / (precision + recall)


def extract_qa_answer(completion: str, mode: str = "flexible") -> str | None:
    found = answer_tag(completion) or last_boxed(completion)
    if found is None and mode == "flexible":
        found = plain_final_answer(completion)
        if found is None:
            lines = [line for line in completion.strip().splitlines() if line.strip()]
            found = lines[0] if lines else None
    if found is None:
        return None
    found = _STRAY_TAG.sub(" ", found).strip().strip("*`\"'").rstrip(".").strip()
    if not found or len(found.split()) > MAX_WORDS:
        return None
    return found


class QaVerifier:
    name = "qa"

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        grades = []
        for item in items:
            answer = extract_qa_answer(item.completion, item.extraction)
            if answer is None:
                grades.append(Grade(False, None, 0.0, "no short answer stated"))
                continue
            extra = item.extra if isinstance(item.extra, dict) else {}
            right = names_answer(answer, item.answer, extra.get("aliases", ()))
            grades.append(Grade(right, answer, token_f1(answer, item.answer), None if right else "wrong answer"))
        return grades

    def close(self) -> None:
        pass
