"""The qa verifier: short factual answers, graded by normalized exact match (SQuAD's normalization:
lower case, no punctuation, no articles, single spaces). ``correct`` is the exact match, the only
thing a reward pays for; ``score`` records the token F1 (what ASearcher's RL reward uses), so a
reply that pads the answer with guesses gains nothing but is visible in the warehouse.

Extraction: strict reads the last ``<answer>...</answer>`` (or ``\\boxed{}``); flexible also takes
a plain "the answer is X" phrase, else the reply's first line when it is short (a small model
replies "Lisp." more often than it writes tags). A reply longer than ``MAX_WORDS`` words is not an
answer: listing many candidates must not match by luck.
"""

from __future__ import annotations

import re
import string
from collections import Counter

from verifiers.base import Grade, GradeItem
from verifiers.math.extract import answer_tag, last_boxed, plain_final_answer

MAX_WORDS = 12
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation + "‘’“”")


def normalize(text: str) -> str:
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


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
    found = found.strip().strip("*`\"'").rstrip(".").strip()
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
            right = bool(normalize(answer)) and normalize(answer) == normalize(item.answer)
            grades.append(Grade(right, answer, token_f1(answer, item.answer), None if right else "wrong answer"))
        return grades

    def close(self) -> None:
        pass
