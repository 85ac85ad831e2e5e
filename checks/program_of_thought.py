"""Program of thought: a checker model writes ``solution()`` computing the statement's answer (it
never sees the label), the programs run in the sandbox (never in this process), and the label
stands only if at least ``min_agree`` of them compute the same number and that number is the
label. The checker is an engine of its own: by default the policy, and then its agreement is not
independent (it abstains; a disagreement still rejects), or any model folder or OpenAI-compatible
server, whose agreement makes the label ``checked``."""

from __future__ import annotations

import ast
import re
from collections import Counter
from fractions import Fraction

from checks.addressed import addresses_the_checker
from checks.base import LabelItem, Verdict, abstain
from engines.base import Engine
from schemas.config import ProgramOfThoughtConfig
from schemas.engine import SamplingParams
from verifiers.code.sandbox import CodeSandbox, Limits
from verifiers.code.verifier import extract_code
from verifiers.math.extract import as_rational

NAME = "program_of_thought"
# The function to complete, as a stub: small coder models fill a stub far more often than they
# follow "write a function solution()" (Qwen2.5-Coder-0.5B: 337 of 384 replies defined it, against
# 107; docs/labels.md).
PROMPT = (
    "Problem: {statement}\n\n"
    "Complete the Python function below so that it computes the answer to the problem and returns it as a number. "
    "Use plain Python (the standard library is fine); do not print. Reply with the whole function in one ```python "
    "block.\n\n```python\ndef solution():\n    ...\n```"
)
# asked of a statement whose label the programs derived (``ProgramOfThoughtCheck._posed``)
POSED = (
    "Problem: {statement}\n\nIs this a clear, well-posed math problem that asks one thing and has exactly one "
    "numerical answer? Reply with only yes or no."
)


def _yes(text: str) -> bool:
    words = re.findall(r"[a-z]+", text.lower())
    return bool(words) and words[0] == "yes"


_DEFINES = re.compile(r"^\s*def\s+solution\s*\(\s*\)", re.MULTILINE)
FLOAT_TOLERANCE = 1e-9
MAX_DENOMINATOR = 10_000  # a derived label must be exact: 1/3 is, 1.41421356... (sqrt 2) is not
ABSOLUTE_CAP = Fraction(1, 10**6)
FLOAT_EXACT_BELOW = 2.0**53  # every integer below it is a float exactly; above, floats skip integers
_INTEGER = re.compile(r"[-+]?\d+")
# the sandbox rebuilds a returned Fraction or Decimal as one, on the trusted side (``jail/plain.py``)
_FRACTION = re.compile(r"Fraction\(([-+]?\d+)(?:, (\d+))?\)")
_DECIMAL = re.compile(r"Decimal\('([-+]?[\d.]+(?:E[-+]?\d+)?)'\)")
# What a checker's program may use without importing it: the 1.5B coder wrote math.lcm and gcd()
# with no import (a 0.5B nightly, 2026-12-07: of 18 self-questioning proposals the programs were
# written for, 4 had not one program that ran). Modules the sealed workers start with; the
# program's own names win. Of math, only its integer functions: a program that imports another
# name from math computes in floats (``computes_in_floats``).
_EXACT_IMPORTS = ("comb", "factorial", "gcd", "isqrt", "lcm", "perm")
PRELUDE = (
    f"import itertools\nimport math\nfrom fractions import Fraction\nfrom math import {', '.join(_EXACT_IMPORTS)}\n"
)


_OPEN_FENCE = re.compile(r"^\s*```[ \t]*(?:python|py|python3)?[ \t]*\n", re.IGNORECASE)


def program(completion: str) -> str | None:
    """The code of a reply that defines ``solution()``: a fenced block, or the reply itself (its
    opening fence dropped: generation stops at the closing one). A ``solution()`` that only returns
    a constant states an answer, it computes none (a checker asked about "Name a colour." wrote
    ``return 0`` three times): it is no program of thought."""
    code = extract_code(completion, "solution")
    if code is None and _DEFINES.search(completion):
        code = _OPEN_FENCE.sub("", completion, count=1)
    if code is None or not _DEFINES.search(code):
        return None
    return None if only_returns_a_constant(code) else code


# what a program that computes does somewhere in solution(): an operation, a call, a loop, a test
_COMPUTING = (ast.BinOp, ast.Call, ast.AugAssign, ast.For, ast.While, ast.comprehension, ast.Compare, ast.BoolOp)


def only_returns_a_constant(code: str) -> bool:
    """Whether the top-level ``solution()`` of ``code`` computes nothing: no operation, call, loop
    or comparison anywhere in it (``return 7``, ``x = 0; return x``, ``return -(-7)``). Code that
    does not parse is left to the sandbox, which fails it."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "solution":
            return not any(_computes(inner) for part in node.body for inner in ast.walk(part))
    return False


# a call of these on literals only writes a constant down (``return Fraction(7)``, ``int(7)``)
_WRAPPERS = {"Fraction", "Decimal", "int", "float", "abs", "str"}


def _computes(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _WRAPPERS:
        return not all(isinstance(a, ast.Constant) for a in [*node.args, *(k.value for k in node.keywords)])
    return isinstance(node, _COMPUTING)


# what rounds a value on purpose: a program that calls it computes no exact number, at any size
# (``Fraction(math.pi).limit_denominator(100)`` is 311/99, a red team's, 2026-12-07)
_ROUNDING = {"limit_denominator", "quantize"}


def rounds(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return True
    return any(isinstance(n, ast.Attribute) and n.attr in _ROUNDING for n in ast.walk(tree))


_FLOAT_CALLS = {
    "float",
    "sqrt",
    "exp",
    "log",
    "pow",
    "fsum",
    "prod",
    "mean",
    "fmean",
    "median",
    "Decimal",
    "getcontext",
}
_FLOAT_MODULES = {"math", "cmath", "numpy", "statistics", "decimal"}


def _natural(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0


def computes_in_floats(code: str) -> bool:
    """Whether ``code`` may pass through a float on its way to a value: a true division, a float
    literal, ``float()``, a ``math``/``numpy``/``statistics`` function or a power whose exponent is
    not a natural number written out (``2 ** 64`` is exact, ``x ** n`` may not be). Above 2**53
    such a value is a rounding even when ``int()`` makes it look exact. Code that does not parse
    counts as floats: nothing is trusted that cannot be read."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return True
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.Div):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not _natural(node.right):
            return True
        if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Pow) and not _natural(node.value):
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex)):
            return True
        if isinstance(node, ast.Name) and node.id in _FLOAT_CALLS:
            return True
        if isinstance(node, ast.Attribute) and node.attr in _FLOAT_CALLS | {"pi", "e", "tau", "inf", "ceil", "floor"}:
            return True
        if isinstance(node, ast.Name) and node.id in {"math", "numpy", "np", "decimal", "statistics"}:
            return True
        # "from math import pi" (or "*", or "pi as P"): the name is bare where it is used
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").split(".")[0] in _FLOAT_MODULES
            and any(alias.name not in _EXACT_IMPORTS for alias in node.names)
        ):
            return True
    return False


_FUTURE = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n|[ \t]*from\s+__future__\s+import[^\n]*\n)*")


def with_prelude(code: str) -> str:
    """``PRELUDE`` before the program, after its ``from __future__`` imports (which must come first)."""
    head = _FUTURE.match(code + "\n")
    end = head.end() if head and "__future__" in head.group(0) else 0
    return code[:end] + PRELUDE + code[end:]


def number(shown: str | None) -> Fraction | None:
    """The value a program returned (the repr the sandbox rebuilt), as an exact number. A float
    that is a fraction of small denominator up to float noise is that fraction (8 / 3 - 5 returns
    -2.3333333333333335, which is -7/3); any other float is its exact decimal value, which is no
    exact label (``MAX_DENOMINATOR``); a float of 2**53 or more is no number at all (it may be
    any of the integers near it)."""
    if shown is None:
        return None
    if _INTEGER.fullmatch(shown.strip()):
        return Fraction(int(shown.strip()))
    if fraction := _FRACTION.fullmatch(shown.strip()):  # exact, at any size
        return Fraction(int(fraction.group(1)), int(fraction.group(2) or 1))
    if decimal := _DECIMAL.fullmatch(shown.strip()):
        # its text is its exact value; an exponent means it was rounded to its precision (28
        # digits, or fewer where the program lowered it): no number
        return None if "E" in decimal.group(1) else Fraction(decimal.group(1))
    try:
        as_float = float(shown)
    except ValueError:
        return as_rational(shown)
    if as_float != as_float or abs(as_float) == float("inf"):
        return None
    if abs(as_float) >= FLOAT_EXACT_BELOW:
        # a float this large is only a rounding of its value: programs that all divide agree on
        # 121932631112635264 where 246913578 / 2 * 987654321 is ...269
        return None
    exact = as_rational(shown)
    if exact is not None and exact.denominator == 1:
        return exact
    small = Fraction(as_float).limit_denominator(MAX_DENOMINATOR)
    # a value that is not zero is never snapped to zero (2 ** -50 is no 0)
    if (small != 0 or as_float == 0) and abs(float(small) - as_float) <= FLOAT_TOLERANCE * 1e-3 * max(
        1.0, abs(as_float)
    ):
        return small
    return exact if exact is not None else Fraction(as_float)


def same(a: Fraction, b: Fraction) -> bool:
    """Integers exactly (a relative tolerance let 1234567890500 pass for 1234567890000); a
    fraction within float noise, never more than ``ABSOLUTE_CAP`` away."""
    if a.denominator == 1 and b.denominator == 1:
        return a == b
    # in exact arithmetic: a float times a huge fraction overflows (a program may return 10**400 / 7)
    return abs(a - b) <= min(Fraction(FLOAT_TOLERANCE) * max(1, abs(b)), ABSOLUTE_CAP)


class ProgramOfThoughtCheck:
    name = NAME
    applies_to = ("math",)

    def __init__(
        self,
        engine: Engine,
        sandbox: CodeSandbox,
        settings: ProgramOfThoughtConfig,
        seed: int = 0,
        independent: bool = True,
        relation: str = "another model",
    ) -> None:
        self.engine, self.sandbox, self.settings, self.seed = engine, sandbox, settings, seed
        # the policy (or its own weights) checking its own label: its programs may still refute the
        # label, but their agreement is the policy agreeing with itself again (a proposer trained
        # on this reward would learn to write problems its own programs get wrong the same way)
        self.independent, self.relation = independent, relation

    def check(self, items: list[LabelItem]) -> list[Verdict]:
        if not self.independent and all(item.label is None for item in items):
            # the policy's programs can derive no label (its agreement is not independent), and
            # with no label there is nothing for them to refute: no program is written
            why = f"the checker is {self.relation}: not independent, so it derives no label"
            return [abstain(NAME, why, checker=self.relation) for _ in items]
        if not items:
            return []
        # a statement that speaks to the checker is not shown to it: its programs would obey it
        refused = {i: why for i, item in enumerate(items) if (why := addresses_the_checker(item.statement))}
        if refused:
            asked = [i for i in range(len(items)) if i not in refused]
            verdicts = dict(zip(asked, self.check([items[i] for i in asked]), strict=True))
            refusal = lambda i: abstain(NAME, refused[i], checker=self.relation)  # noqa: E731
            return [verdicts[i] if i in verdicts else refusal(i) for i in range(len(items))]
        cfg = self.settings
        chats = [[{"role": "user", "content": PROMPT.format(statement=item.statement)}] for item in items]
        params = SamplingParams(
            n=cfg.samples, temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=self.seed, stop=("\n```",)
        )  # the program is done at its closing fence
        groups = self.engine.generate(chats, params)
        runs: list[tuple[int, str]] = []
        for i, group in enumerate(groups):
            runs.extend((i, code) for code in (program(c.text) for c in group) if code is not None)
        limits = Limits(timeout_s=cfg.timeout_s, cpu_s=max(1, int(cfg.timeout_s)))
        results = (
            self.sandbox.run_calls(
                [with_prelude(code) for _, code in runs],
                [""] * len(runs),
                banned=(),
                limits=limits,
                function="solution",
            )
            if runs
            else []
        )
        values: list[list[Fraction]] = [[] for _ in items]
        written = Counter(i for i, _ in runs)
        for (i, code), result in zip(runs, results, strict=True):
            value = number(result.value) if result.passed and not rounds(code) else None
            if value is not None and abs(value) >= FLOAT_EXACT_BELOW and computes_in_floats(code):
                value = None  # int(246913578 / 2 * 987654321) is an integer, and still a rounding
            if value is not None:
                values[i].append(value)
        verdicts = [self._verdict(item, values[i], written[i]) for i, item in enumerate(items)]
        return self._posed(items, verdicts) if cfg.posed else verdicts

    def _posed(self, items: list[LabelItem], verdicts: list[Verdict]) -> list[Verdict]:
        """A derived label stands only if the checker also finds the statement well posed, every
        time it is asked: programs agree on 8 for "What operation do you want to do between 3 apples
        and 5 oranges?" (3 + 5), which asks no one thing."""
        todo = [i for i, v in enumerate(verdicts) if v.derived is not None]
        if not todo:
            return verdicts
        chats = [[{"role": "user", "content": POSED.format(statement=items[i].statement)}] for i in todo]
        params = SamplingParams(
            n=self.settings.samples, temperature=self.settings.temperature, max_tokens=4, seed=self.seed
        )
        for i, group in zip(todo, self.engine.generate(chats, params), strict=True):
            answers = [_yes(c.text) for c in group]
            if not all(answers):
                detail = {**verdicts[i].detail, "posed": answers}
                why = f"{verdicts[i].reason}, but the checker does not find the problem well posed ({sum(answers)} of {len(answers)} yes)"
                verdicts[i] = abstain(NAME, why, **detail)
            else:
                verdicts[i] = Verdict(
                    NAME,
                    "agree",
                    verdicts[i].reason + ", a well-posed problem",
                    {**verdicts[i].detail, "posed": answers},
                    value=verdicts[i].value,
                )
        return verdicts

    def _verdict(self, item: LabelItem, values: list[Fraction], written: int) -> Verdict:
        cfg = self.settings
        detail = {"programs": written, "numbers": [_show(v) for v in values], "checker": self.relation}
        if not values:
            return abstain(
                NAME, f"no program computed a number ({written} of {cfg.samples} replies had solution())", **detail
            )
        groups: list[list[Fraction]] = []
        for value in values:
            home = next((g for g in groups if same(value, g[0])), None)
            (home.append(value) if home is not None else groups.append([value]))
        groups.sort(key=len, reverse=True)
        top = groups[0]
        if len(top) < cfg.min_agree or (len(groups) > 1 and len(groups[1]) == len(top)):
            return abstain(NAME, f"the programs do not agree: {', '.join(_show(v) for v in values)}", **detail)
        if top[0] != 0 and any(same(-v, top[0]) for v in values):
            # two readings of the statement, not one answer: "the difference between 7 and 10"
            return abstain(NAME, f"the programs disagree on the sign: {', '.join(_show(v) for v in values)}", **detail)
        value = _show(top[0])
        exact = top[0].denominator <= MAX_DENOMINATOR
        if not self.independent:
            why = f"{len(top)} programs compute {value}, but the checker is {self.relation}: not independent"
            if item.label is None:
                return abstain(NAME, why, **detail)
            label = as_rational(item.label.strip())
            if label is not None and same(top[0], label):
                return abstain(NAME, f"{why} (set checks.program_of_thought.model)", **detail)
            # its programs may still refute a label: a disagreement needs no independence
            return Verdict(NAME, "disagree", f"{len(top)} programs compute {value}, not {item.label}", detail)
        if item.label is None:
            if not exact:
                return abstain(NAME, f"{len(top)} programs compute {_show(top[0])[:40]}, not an exact number", **detail)
            return Verdict(NAME, "agree", f"{len(top)} programs compute {value}", detail, value=value)
        label = as_rational(item.label.strip())
        if label is not None and same(top[0], label):
            return Verdict(NAME, "agree", f"{len(top)} programs compute {value}", detail, value=value)
        return Verdict(NAME, "disagree", f"{len(top)} programs compute {value}, not {item.label}", detail, value=value)


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
