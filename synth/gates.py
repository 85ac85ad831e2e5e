"""Gates a proposed math statement passes before any solver rollout is spent on it: pure
functions, each returning the reason it rejects, or None.

- it does not state its own answer ("23 + 48 - 9 = 22", "the answer is 22", a boxed value); an
  operand that happens to equal the answer is fine, and so is an equation with an unknown;
- it carries no solution text (a worked solution, code, "Solution:", "Step 1");
- it reads as one question (not several, not prose with no task in it; a bare arithmetic
  expression asks for its value);
- it is not a near-copy of the prompt's examples or of its seed (same text, or the example's numbers);
- it does not copy its prompt's instructions (six words in a row of them);
- it does not ask for a comparison with nothing to compare to ("How much less is 5 times 5?");
- it does not ask for a thing that is no number ("What number generator might output ...?");
- it does not ask yes or no ("Can 3/1 be solved in English?"), unless the answer it keeps is one.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable
from fractions import Fraction

from checks.addressed import addresses_the_checker
from checks.plain_arithmetic import OPERATOR_WORDS, plain_expression
from verifiers.arithmetic import NotArithmetic, value

NEAR_COPY_RATIO = 0.8  # difflib similarity of normalized texts
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")
_PURE = set("0123456789+-*/×÷·−(). \t")
_OPERATOR = set("+-*/×÷·−")
_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_NUMBER_WORD = "|".join([*_UNITS, *_TENS, *_SCALES])
# a spelled number: "forty-two", "one hundred and five", "three thousand"
_SPELLED = re.compile(rf"\b(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b", re.IGNORECASE)
_VALUE_AHEAD = rf"[-−]?\$?\s*(?:\d|(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}))*\s*(?:[.,;!?)\]]|$))"
_ANSWER_PHRASE = re.compile(
    r"\b(?:the\s+)?(?:final\s+|correct\s+)?(?:answer|result|solution)\s*(?:is|=|:|equals|being)\s*" + _VALUE_AHEAD,
    re.IGNORECASE,
)
# the answer under another label ("Expected: 6", "[key: 6]", "(answer 6)"), or named after the
# question (", namely 6.", ", i.e. 6." at the end); "output is 13" or "answer 6 questions" ask
_LABELLED_ANSWER = re.compile(
    r"\b(?:key|hint|output|expected(?:\s+(?:answer|output|result|value))?)\s*[:=]\s*"
    + _VALUE_AHEAD
    + r"|[(\[]\s*(?:answer|ans|key)\b\s*[:=]?\s*"
    + _VALUE_AHEAD
    + rf"|(?:\bnamely|\bi\.e\.)\s*[-−]?\$?\s*(?:\d[\d.,/]*?|(?:{_NUMBER_WORD})(?:[\s-]+(?:{_NUMBER_WORD}))*)\s*[.)]*\s*$",
    re.IGNORECASE,
)
_SOLUTION_TEXT = re.compile(
    r"\\boxed|```|\bdef\s+\w+\s*\(|\breturn\b|\bprint\s*\(|\bsolution\s*:|\bstep\s*1\b|\blet'?s\s+(?:solve|calculate|compute)"
    r"|\btherefore\b|\bso the answer\b|\bexplanation\s*:",
    re.IGNORECASE,
)
_ENUMERATED = re.compile(
    r"(?m)^\s*(?:\d+[.)]|\(?[a-h]\)|question\s*\d+|problem\s*\d+|q\d+)\s*[:.]?\s+\S", re.IGNORECASE
)
_IMPERATIVE = re.compile(
    r"(?:^|[.:;!?]\s+|\n)\s*(?:please\s+)?(?:find|compute|calculate|evaluate|determine|solve|simplify|show|prove|give|"
    r"write|express|state|work out|list|count|estimate|convert|round|add|subtract|multiply|divide|factor|expand|name)\b"
    # after an introductory clause ("Given ..., find the roots"): only verbs that are no nouns
    # ("..., and list prices went up" asks nothing), and never the verb alone ("..., find.")
    r"|,\s+(?:then\s+|and\s+)?(?:please\s+)?(?:find|compute|calculate|evaluate|determine|solve|simplify|work out|"
    r"express|count|estimate|convert|add|subtract|multiply|divide)\s+(?:\w|\\\(|\$(?![\s\d]))",  # or math: "\\(a_3\\)", "$x$"
    re.IGNORECASE,
)


_RELATION = re.compile(
    r"(?:=|\b(?:equals|is\s+equal\s+to|is|makes|gives|yields|comes\s+to|results\s+in|totals)\b)\s*[-−]?\$?\s*\d",
    re.IGNORECASE,
)
# "..., which equals 42." / "(this is 42)": a clause that gives a value and ends there
_VALUE_CLAUSE = re.compile(
    r"\b(?:which|that|this|it|the\s+total)\s+(?:equals|is\s+equal\s+to|is|makes|gives|yields|comes\s+to|totals)"
    r"\s+[-−]?\$?\d[\d.,/]*\s*(?:[.,;:!?)]|$)",
    re.IGNORECASE,
)
_LATEX_OPERATORS = [(re.compile(r"\\(?:times|cdot|ast)\b"), "*"), (re.compile(r"\\div\b"), "/")]


_LATEX_FRACTION = re.compile(r"\\[dt]?frac\{\s*(-?\d+(?:\.\d+)?)\s*\}\{\s*(-?\d+(?:\.\d+)?)\s*\}")
_RUN = re.compile(r"[\d.+\-*/() ]+")
_VALUE_TOKEN = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:/\d+)?(?![\w])")


def _as_symbols(statement: str) -> str:
    text = _LATEX_FRACTION.sub(r"(\1/\2)", statement)
    for pattern, symbol in _LATEX_OPERATORS:
        text = pattern.sub(f" {symbol} ", text)
    text = text.translate(str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-", "＝": "=", "≈": "="}))
    for pattern, symbol in OPERATOR_WORDS:
        text = pattern.sub(f" {symbol} ", text)
    return re.sub(r"(?<=\d)\s*[xX]\s*(?=\d)", " * ", text)


def _values(text: str) -> Counter:
    found: Counter = Counter()
    for token in _VALUE_TOKEN.findall(text):
        try:
            found[Fraction(token)] += 1
        except (ValueError, ZeroDivisionError):
            continue
    for spelled in spelled_numbers(text):
        found[Fraction(spelled)] += 1
    return found


def gives_its_value(statement: str) -> str | None:
    """An expression in the statement whose value is written elsewhere in it (in digits or words):
    whatever the phrasing ("Hint: 62", "expected output 62", "is sixty-two"), the answer is there to
    copy. An operand that happens to equal the value is not elsewhere."""
    text = _as_symbols(statement)
    everywhere = _values(text)
    for found in _RUN.finditer(text):
        candidate = _balanced(found.group().strip(" ."))
        if _in_algebra(text, found.start() + found.group().find(candidate), candidate):
            continue
        if not re.search(r"\d\s*\)*\s*[-+*/]\s*\(*\s*-?\d", candidate) or _VALUE_TOKEN.fullmatch(candidate):
            continue  # "1/2" written twice, or a date "10/5", is a number, not a worked result
        try:
            result = value(candidate)
        except (NotArithmetic, ZeroDivisionError):
            continue
        if everywhere[result] > _values(candidate)[result]:
            return f"states its own answer: '{candidate}' is {result}, and {result} is in the statement"
    return None


def _in_algebra(text: str, start: int, candidate: str) -> bool:
    """Whether a run's numbers belong to algebra around it: an exponent or index before it, or, in
    a statement written in algebra (a power or an index somewhere), a one-letter variable on either
    side ("x^3 - 3x^2" holds no "3 - 3", "a_n^2 - 1" no "2 - 1"). A unit is no variable: "7*8kg
    (56 kg)" and "7*8m long, that is 56 m" still give their value."""
    end = start + len(candidate)
    before = text[start - 1] if start > 0 else ""
    if before in ("^", "_"):
        return True
    if "^" not in text and "_" not in text:
        return False
    one_letter_before = before.isalpha() and not (start > 1 and text[start - 2].isalpha())
    after = text[end : end + 2]
    one_letter_after = after[:1].isalpha() and not after[1:].isalpha()
    return one_letter_before or one_letter_after or after[:1] == "^"


def _balanced(run: str) -> str:
    """A run without the parentheses it opens or closes around other text ("9 (so y = 62)")."""
    while run.count("(") > run.count(")") and "(" in run:
        run = run[: run.rindex("(")].rstrip() if run.rstrip().endswith("(") else run[run.index("(") + 1 :].lstrip()
    while run.count(")") > run.count("(") and ")" in run:
        run = run[run.index(")") + 1 :].lstrip() if run.lstrip().startswith(")") else run[: run.rindex(")")].rstrip()
    return run.strip(" .")


def states_own_answer(statement: str) -> str | None:
    """A worked result in the statement: a computable expression followed by ``= number`` (or
    "equals", "is", "makes", ... a number), wherever it stands (an equation inside the question
    counts); a clause that gives a value ("which equals 42"); an "answer is N" phrase; or a boxed
    value. An expression glued to an unknown ("2x + 3 = 11", "a2 + 3 = 5") is an equation to solve."""
    if "\\boxed" in statement:
        return "states its own answer: a boxed value"
    if _ANSWER_PHRASE.search(statement):
        return "states its own answer: an 'answer is ...' phrase"
    labelled = _LABELLED_ANSWER.search(statement)
    if labelled:
        return f"states its own answer: '{labelled.group(0).strip()}'"
    clause = _VALUE_CLAUSE.search(statement)
    if clause:
        return f"states its own answer: '{clause.group(0).strip()}'"
    given = gives_its_value(statement)
    if given:
        return given
    text = statement
    for pattern, symbol in _LATEX_OPERATORS:
        text = pattern.sub(f" {symbol} ", text)
    for match in _RELATION.finditer(text):
        left = text[: match.start()]
        i = len(left)
        while i > 0 and left[i - 1] in _PURE:
            i -= 1
        run = left[i:]
        expression = run.strip()
        if (
            not expression
            or not any(c in _OPERATOR for c in expression[1:])
            or not any(c.isdigit() for c in expression)
        ):
            continue
        glued = i > 0 and not run[:1].isspace() and (left[i - 1].isalnum() or left[i - 1] in ")^_")
        if expression[0] in "+*/×÷·" or glued:
            continue  # part of an expression with an unknown ("2x + 3 = 11"), not a worked result
        shown = text[match.start() : match.end()]
        return f"states its own answer: '{expression} {shown}...'"
    return None


def carries_solution(statement: str) -> str | None:
    found = _SOLUTION_TEXT.search(statement)
    return f"carries solution text: '{found.group(0)}'" if found else None


# "Calculate -(-4 * -7). Is this correct?": a task and a yes/no question about nothing stated
_ASKS_IF_RIGHT = re.compile(r"\b(?:is|are)\s+(?:this|that|it|these)\s+(?:correct|right|true|valid)\s*\?", re.IGNORECASE)


def reads_as_one_question(statement: str) -> str | None:
    """A question, an instruction, or a bare arithmetic expression (``23 + 48 - 9``, ``\\(216 -
    50\\) =``: what it asks is its value, as a plain-arithmetic statement means it); not several
    questions, not prose with no task in it."""
    text = statement.strip()
    if text.count("?") > 1:
        return f"not one question: {text.count('?')} question marks"
    if len(_ENUMERATED.findall(text)) >= 2:
        return "not one question: several numbered parts"
    asks = _ASKS_IF_RIGHT.search(text)
    if asks and asks.start() > 0:
        return "not one question: a task, then whether it is correct"
    if text.rstrip("\"'”)*").endswith("?") or _IMPERATIVE.search(text) or plain_expression(text) is not None:
        return None
    return "not a question: it neither asks nor tells the solver what to find"


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s+\-*/=]", " ", text.lower()).split())


def near_copy(statement: str, references: Iterable[str], *, numbers: bool = True) -> str | None:
    """A copy of a reference (text similarity at least ``NEAR_COPY_RATIO``), or, with ``numbers``,
    a statement that reuses two or more of a reference's numbers (the prompt's example)."""
    mine = _normalized(statement)
    own_numbers = set(_NUMBER.findall(statement))
    for reference in references:
        ratio = difflib.SequenceMatcher(None, mine, _normalized(reference)).ratio()
        if ratio >= NEAR_COPY_RATIO:
            return f"near-copy: {ratio:.0%} the same text as '{reference[:60]}'"
        if numbers:
            shared = sorted(own_numbers & set(_NUMBER.findall(reference)), key=float)
            if len(shared) >= 2:
                return f"near-copy: reuses the numbers {', '.join(shared)} of '{reference[:60]}'"
    return None


INSTRUCTION_RUN = 6  # words in a row shared with the prompt's instructions that make a copy
_WORD = re.compile(r"[a-z0-9]+")


def _word_runs(text: str, length: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + length]) for i in range(len(words) - length + 1)}


def copies_instructions(statement: str, instructions: Iterable[str], length: int = INSTRUCTION_RUN) -> str | None:
    """A statement that carries ``length`` words in a row of its prompt's instructions: a small
    policy wraps its problem in the request it was given ("..., write one clear, realistic,
    explicit and unambiguous problem ... Problem: ..."), which no solver should read."""
    runs = set().union(*(_word_runs(text, length) for text in instructions)) if instructions else set()
    words = _WORD.findall(statement.lower())
    copied = next(
        (words[i : i + length] for i in range(len(words) - length + 1) if tuple(words[i : i + length]) in runs), None
    )
    return f"copies its prompt's instructions: '{' '.join(copied)}'" if copied else None


# "How much less is 5 times 5?": a comparison whose other side is nowhere in the statement
_BARE_COMPARISON = re.compile(
    r"\bhow\s+(?:much|many)\s+(?:less|more|fewer|greater|smaller|larger|bigger|higher|lower)\s+(?:is|are|was|were)"
    rf"\s+(?:[-−$(]?\s*\d|(?:{_NUMBER_WORD})\b)",
    re.IGNORECASE,
)
_COMPARED_TO = re.compile(r"\b(?:than|compared|from|between|over|exceeds?|relative)\b", re.IGNORECASE)


def compares_with_nothing(statement: str) -> str | None:
    """A question like "How much less is 5 times 5?" names one side of a comparison: its label is a guess (the
    0.5B policy's solvers and checker agreed on 20, less than what?)."""
    found = _BARE_COMPARISON.search(statement)
    if found and not _COMPARED_TO.search(statement):
        return f"compares with nothing: '{found.group(0)}' names no other side"
    return None


# "What is the frequency of the letter 'z' in the given text?" (a 0.5B's SvS variant, labelled 1 from
# its seed's text, kept in band on 2026-12-08): a statement that points at material it never shows
_POINTS_AT = re.compile(
    r"\b(?:the|this|these)\s+(?:given|following|above|below|provided|previous)\s+"
    r"(?:text|string|list|passage|sentence|words?|table|data|sequence|numbers?|set|array|paragraph|values?)\b",
    re.IGNORECASE,
)
_SHOWN = re.compile(r"\"[^\"]{3,}\"|“[^”]{3,}”|'[^']{3,}'|:\s*\S.{2,}|\[[^\]]+\]|\d[\d\s,]*,\s*\d", re.DOTALL)


def points_at_nothing(statement: str) -> str | None:
    """A statement that asks about "the given text" (or list, numbers, ...) and shows none: no
    quoted text, nothing after a colon, no bracketed or comma-separated values."""
    found = _POINTS_AT.search(statement)
    if found and not _SHOWN.search(statement):
        return f"points at nothing: '{found.group(0)}' is not in the statement"
    return None


# "What number generator might output ...?", "Which formula gives ...?", "Name the operation that
# ...": the asked-for thing is no number. The thing's word must be what is asked (followed by a verb,
# "that", a comma or the end): "What step size ...", "What approach speed ..." ask for quantities.
_THINGS = (
    "operation|generator|method|formula|function|strategy|rule|algorithm|approach|technique|equation|"
    "expression|tool|machine|program|procedure|step|way"
)
_ASKED_BY = (
    "might|could|would|can|will|should|may|must|do|does|did|is|are|was|were|has|have|gives?|yields?|produces?|"
    "outputs|returns?|makes?|turns?|satisf(?:y|ies)|generates?|results?|leads?|works?|appl(?:y|ies)|computes?|"
    "maps?|converts?|transforms?|describes?|represents?|equals?|that|which|whose|for|to"
)
_FILLER = r"(?:(?!(?:is|are|was|were|do|does|did|of|in|on|at|per|to|for)\b)[a-z]+[\s-]+)"
_THING_ASKED = rf"(?:{_THINGS})(?:e?s)?(?=\s*(?:[,?]|$)|\s+(?:{_ASKED_BY})\b)"
_ASKS_FOR_A_THING = re.compile(
    rf"(?:^|[.!?:;,]\s*|\b(?:equals?|is|are|was|were|gives?|yields?|makes?|becomes?)\s+)"
    rf"(?:(?:what|which)(?:'s|\s+is|\s+are|\s+was)?\s+(?:(?:the|a|an|kind|type|sort|of)\s+)*"
    rf"|(?:name|give|state|write|identify|describe)\s+(?:the|a|an)\s+){_FILLER}{{0,3}}?{_THING_ASKED}",
    re.IGNORECASE | re.MULTILINE,
)


def asks_for_a_thing(statement: str) -> str | None:
    """A question whose answer is a thing, not a number: "What number generator might output a
    number divisible by 36?" got 36 from the checker's programs and four yeses from its well-posed
    question (a 0.5B's SQLM proposal, 2026-12-06). A number of such things ("What is the number of
    methods ...") and a quantity named by one ("What step size ...") are numbers, and pass."""
    found = _ASKS_FOR_A_THING.search(statement)
    return f"asks for a thing, not a number: '{found.group(0).strip(' ,.;:!?')}'" if found else None


# "Can 3/1 be solved in English?": a question that starts with its verb asks yes or no, whatever
# number the checks compute for it (a 0.5B's SvS variant kept with label 3, 2026-12-07). A request
# put as a question ("Can you find ...?", "Could we compute ...?") asks for its number, and passes.
_YES_NO = re.compile(
    r"(?:^|[.!;:]\s+|,\s*)((?:is|are|was|were|do|does|did|can|could|will|would|should|shall|has|have|had|must|may|"
    r"might)\s+(?!(?:you|we|i|someone|anyone|one)\b)[^.!;:?]*\?)",
    re.IGNORECASE | re.MULTILINE,
)
YES_NO_ANSWERS = {"yes", "no", "true", "false"}


_ASKS_WHAT = re.compile(r"\b(?:what|which|how|who|whom|where|when)\b", re.IGNORECASE)
# "Can you prove that x^2 + x + 1 is a perfect square trinomial?" (a 0.5B's MathSmith problem): a
# proof, or a yes or no, asked as a request
_PROOF = re.compile(
    r"\b(?:prove|show|verify|check|explain|determine|decide)\s+(?:that|why|whether|if)\b", re.IGNORECASE
)


def asks_yes_or_no(statement: str) -> str | None:
    """A question answered yes or no, or a proof, which no number answers right ("Is 12 / 4 equal
    to what number?" asks for one, and passes)."""
    for found in _YES_NO.finditer(statement):
        if not _ASKS_WHAT.search(found.group(1)):
            return f"asks yes or no, not for a number: '{found.group(1).strip()[:60]}'"
    if found := _PROOF.search(statement):
        return f"asks yes or no, not for a number: '{found.group(0)}'"
    return None


_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
_ASSIGNED = re.compile(r"^\s*[a-zA-Z]\s*=")
_VARIABLE = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")


def is_formula(answer: str) -> bool:
    """Whether an answer holds a free variable ("n^2", "2n", "n(n+1)/2"): a number however written
    ("2\\sqrt{3}", "90^\\circ", "36 cm", "x = 36", "\\pi") is none."""
    return _VARIABLE.search(_ASSIGNED.sub(" ", _LATEX_COMMAND.sub(" ", answer))) is not None


# Han, kana, hangul and full-width forms: a Qwen policy slips into Chinese mid-sentence ("Multiply 4
# by 1, and for an educational assessment设详细目标：", an SvS variant a 0.5B night accepted)
_EAST_ASIAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]+")


def switches_language(statement: str, sources: Iterable[str]) -> str | None:
    """East Asian script in a statement whose sources (the seeds, the prompt's examples) have none:
    a problem in two languages at once, never a translation its sources asked for."""
    found = _EAST_ASIAN.search(statement)
    if found is None or any(_EAST_ASIAN.search(source) for source in sources):
        return None
    return f"switches language: {found.group()!r}"


def gate(
    statement: str,
    references: Iterable[str] = (),
    seeds: Iterable[str] = (),
    instructions: Iterable[str] = (),
    answer: str | None = None,
    prompt: str = "",
) -> str | None:
    """The first gate a math statement fails, as its reason ("gate: ..."), or None. ``references``
    are the prompt's examples (text and numbers count); ``seeds`` the problems it derives from
    (text only: a variant may keep its seed's numbers); ``instructions`` the prompt's own words
    (the method's template without what it was filled with); ``answer`` the label it keeps, where
    it has one already (an SvS variant's: a formula may be asked for when the answer is one);
    ``prompt`` the filled prompt, whose language the statement may use (a concept bank's)."""
    numeric = answer is None or not is_formula(answer)
    references, seeds = list(references), list(seeds)
    for reason in (
        states_own_answer(statement),
        carries_solution(statement),
        addresses_the_checker(statement),
        reads_as_one_question(statement),
        compares_with_nothing(statement),
        points_at_nothing(statement),
        asks_for_a_thing(statement) if numeric else None,
        asks_yes_or_no(statement) if (answer or "").strip().rstrip(".").lower() not in YES_NO_ANSWERS else None,
        near_copy(statement, references),
        near_copy(statement, seeds, numbers=False),
        copies_instructions(statement, list(instructions)),
        switches_language(statement, [*references, *seeds, prompt]),
    ):
        if reason is not None:
            return f"gate: {reason}"
    return None


_STEP_OPERATION = re.compile(r"\d\s*[-+*/×÷=]\s*\(?\s*-?\d")


def shows_work(completion: str, min_words: int = 12) -> bool:
    """A solution that shows how it got there: a computation step (``12 * 4``, ``= 48``) or some
    sentences of reasoning, not a bare answer."""
    text = re.sub(r"\\boxed\{[^{}]*\}|<answer>.*?</answer>", " ", completion, flags=re.DOTALL)
    return bool(_STEP_OPERATION.search(text)) or len(text.split()) >= min_words


def echoes(completion: str, extracted: str | None, statement: str) -> bool:
    """A reply that only repeats a number of the statement: its answer is one of the statement's
    numbers and it shows no work. Such a "right" reply says nothing about the problem."""
    if extracted is None or shows_work(completion):
        return False
    return extracted.strip().rstrip(".") in set(_NUMBER.findall(statement)) | spelled_numbers(statement)


def spelled_numbers(text: str) -> set[str]:
    """The numbers ``text`` spells in words, as digits ("forty-two" -> "42"): an answer smuggled
    into a statement in words is still an echo."""
    found = set()
    for match in _SPELLED.finditer(text):
        total, current = 0, 0
        for word in re.split(r"[\s-]+", match.group(0).lower()):
            if word == "and":
                continue
            if word in _SCALES:
                current = max(current, 1) * _SCALES[word]
                if _SCALES[word] >= 1000:
                    total, current = total + current, 0
            elif word in _TENS:
                current += 10 * (_TENS.index(word) + 2)
            else:
                current += _UNITS.index(word)
        found.add(str(total + current))
    return found
