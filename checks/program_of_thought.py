"""Program of thought: a checker model writes ``solution()`` computing the statement's answer (it
never sees the label), the programs run in the sandbox (never in this process), and the label
stands only if at least ``min_agree`` of them compute the same number and that number is the
label. The checker is an engine of its own: by default the policy, and then its agreement is not
independent (it abstains; a disagreement still rejects), or any model folder or OpenAI-compatible
server, whose agreement makes the label ``checked``."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from checks.base import LabelItem, Verdict, abstain
from engines.base import Engine
from schemas.config import ProgramOfThoughtConfig
from schemas.engine import SamplingParams
from verifiers.code.sandbox import CodeSandbox, Limits
from verifiers.code.verifier import extract_code
from verifiers.math.extract import as_rational

NAME = "program_of_thought"
PROMPT = (
    "Write a Python function solution() that computes the answer to the problem below and returns it as a number. "
    "Use plain Python only; do not print; reply with the code in one ```python block.\n\nProblem: {statement}"
)
_DEFINES = re.compile(r"^\s*def\s+solution\s*\(\s*\)", re.MULTILINE)
FLOAT_TOLERANCE = 1e-9
ABSOLUTE_CAP = Fraction(1, 10**6)


_OPEN_FENCE = re.compile(r"^\s*```[ \t]*(?:python|py|python3)?[ \t]*\n", re.IGNORECASE)


def program(completion: str) -> str | None:
    """The code of a reply that defines ``solution()``: a fenced block, or the reply itself (its
    opening fence dropped: generation stops at the closing one)."""
    code = extract_code(completion, "solution")
    if code is None and _DEFINES.search(completion):
        code = _OPEN_FENCE.sub("", completion, count=1)
    return code if code is not None and _DEFINES.search(code) else None


def number(shown: str | None) -> Fraction | None:
    """The value a program returned (the repr the sandbox rebuilt), as an exact number."""
    if shown is None:
        return None
    exact = as_rational(shown)
    if exact is not None:
        return exact
    try:
        as_float = float(shown)
    except ValueError:
        return None
    if as_float != as_float or as_float in (float("inf"), float("-inf")):
        return None
    return Fraction(as_float).limit_denominator(10**9)


def same(a: Fraction, b: Fraction) -> bool:
    """Integers exactly (a relative tolerance let 1234567890500 pass for 1234567890000); a
    fraction within float noise, never more than ``ABSOLUTE_CAP`` away."""
    if a.denominator == 1 and b.denominator == 1:
        return a == b
    return abs(a - b) <= min(FLOAT_TOLERANCE * max(1, abs(b)), ABSOLUTE_CAP)


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
    ) -> None:
        self.engine, self.sandbox, self.settings, self.seed = engine, sandbox, settings, seed
        # the policy checking its own label: its programs may still refute the label, but their
        # agreement is the policy agreeing with itself again (a proposer trained on this reward
        # would learn to write problems its own programs get wrong the same way)
        self.independent = independent

    def check(self, items: list[LabelItem]) -> list[Verdict]:
        if not items:
            return []
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
                [code for _, code in runs], [""] * len(runs), banned=(), limits=limits, function="solution"
            )
            if runs
            else []
        )
        values: list[list[Fraction]] = [[] for _ in items]
        written = Counter(i for i, _ in runs)
        for (i, _), result in zip(runs, results, strict=True):
            value = number(result.value) if result.passed else None
            if value is not None:
                values[i].append(value)
        return [self._verdict(item, values[i], written[i]) for i, item in enumerate(items)]

    def _verdict(self, item: LabelItem, values: list[Fraction], written: int) -> Verdict:
        cfg = self.settings
        detail = {"programs": written, "numbers": [_show(v) for v in values]}
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
        label = as_rational(item.label.strip())
        if label is not None and same(top[0], label):
            if not self.independent:
                return abstain(
                    NAME,
                    f"{len(top)} programs compute {_show(top[0])}, but the checker is the policy: "
                    "not independent (set checks.program_of_thought.model)",
                    **detail,
                )
            return Verdict(NAME, "agree", f"{len(top)} programs compute {_show(top[0])}", detail)
        return Verdict(NAME, "disagree", f"{len(top)} programs compute {_show(top[0])}, not {item.label}", detail)


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
