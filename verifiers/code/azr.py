"""The azr verifier (Absolute Zero's three code-reasoning tasks, methods.md §5).

A problem's answer is a JSON document naming its task:

- deduction ``{"task", "output"}``: the completion states what f returns; right iff the repr of
  the stated value equals the gold output's repr (compared as literals, nothing is executed);
- abduction ``{"task", "program", "output"}``: the completion gives an input; it is run through
  the gold program in the sandbox and is right iff f returns the gold output (any such input);
- induction ``{"task", "hidden": [[input, output], ...]}``: the completion writes f; it is run in
  the sandbox on the hidden inputs and is right iff it returns every hidden output.

An input is the text between the parentheses of a call ``f(...)``; it must be literal arguments
(``ast.literal_eval`` on each), so an "input" cannot smuggle in code (``0) or (5``) that runs
around f or reads the answer. Values are compared by repr; over ``VALUE_CAP`` characters a stated
value is not read at all.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from verifiers.base import Grade, GradeItem
from verifiers.code.jail.plain import canonical_repr
from verifiers.code.sandbox import Limits
from verifiers.code.verifier import SandboxedVerifier, extract_code

TASKS = ("deduction", "abduction", "induction")
VALUE_CAP = 4096  # characters of a stated value or input; longer ones are not parsed
_BLOCK = r"```[ \t]*{tag}[ \t]*\n(.*?)```"
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_BACKTICKS = re.compile(r"`([^`\n]+)`")
_STATED = re.compile(r"(?:\breturns\b|\bis\b|->|=)\s*", re.IGNORECASE)
_CALL = re.compile(r"\bf\(")


def literal_repr(text: str) -> str | None:
    """repr of the Python literal ``text`` (None when it is not one, or too long to read)."""
    text = text.strip()
    if not text or len(text) > VALUE_CAP:
        return None
    try:
        return canonical_repr(ast.literal_eval(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def call_args(args: str) -> str | None:
    """The canonical form of ``args`` as the arguments of one call of f, or None unless ``f(args)``
    parses as exactly that call with literal arguments (no starred ones)."""
    if len(args) > VALUE_CAP:
        return None
    try:
        tree = ast.parse(f"f({args})", mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "f"):
        return None
    parts: list[str] = []
    try:
        for arg in call.args:
            if isinstance(arg, ast.Starred):
                return None
            parts.append(canonical_repr(ast.literal_eval(arg)))
        for keyword in call.keywords:
            if keyword.arg is None:  # **kwargs
                return None
            parts.append(f"{keyword.arg}={canonical_repr(ast.literal_eval(keyword.value))}")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return ", ".join(parts) if parts else None


def _blocks(completion: str, tag: str) -> list[str]:
    return re.findall(_BLOCK.format(tag=tag), completion, re.DOTALL | re.IGNORECASE)


def _literal_prefix(text: str) -> str | None:
    """The longest run of whole words at the start of ``text`` that is a literal (a sentence such
    as "5, because ..." states 5)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    words = line.split(" ")
    for end in range(min(len(words), 64), 0, -1):
        candidate = " ".join(words[:end]).strip().rstrip(".,;:!").strip("`")
        value = literal_repr(candidate)
        if value is not None:
            return value
    return None


def extract_output(completion: str, mode: str = "flexible") -> str | None:
    """The value a deduction completion states, as a repr: the last ```output block or <answer>
    tag; in flexible mode also a reply that is only a literal, else the last literal in
    backticks, else the literal right after the first "returns" / "is" / "->" / "=". One value
    only: a reply that lists many is graded on the one these rules pick."""
    for found in (_blocks(completion, "output"), _ANSWER_TAG.findall(completion)):
        if found:
            return literal_repr(found[-1])
    if mode != "flexible":
        return None
    whole = literal_repr(completion.strip().rstrip("."))
    if whole is not None:
        return whole
    spans = [v for v in (literal_repr(s) for s in _BACKTICKS.findall(completion)) if v is not None]
    if spans:
        return spans[-1]
    marker = _STATED.search(completion)
    return _literal_prefix(completion[marker.end() :]) if marker else None


def _last_call(text: str) -> str | None:
    """The arguments of the last ``f(...)`` call in ``text`` whose arguments are literals."""
    found = None
    for match in _CALL.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, min(len(text), start + VALUE_CAP)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                args = call_args(text[start:i])
                if args is not None:
                    found = args
                break
    return found


def extract_input(completion: str, mode: str = "flexible") -> str | None:
    """The input an abduction completion gives, canonical: the last ```input block or <answer> tag
    (the arguments, or a call f(...)); in flexible mode also the last literal call ``f(...)``
    anywhere in the reply, else a reply that is only a literal."""
    for found in (_blocks(completion, "input"), _ANSWER_TAG.findall(completion)):
        if found:
            text = found[-1].strip()
            return _last_call(text) if _CALL.match(text) else call_args(text)
    if mode != "flexible":
        return None
    called = _last_call(completion)
    if called is not None:
        return called
    whole = completion.strip().rstrip(".")
    return call_args(whole) if literal_repr(whole) is not None else None


def answer_json(task: str, **fields: Any) -> str:
    if task not in TASKS:
        raise ValueError(f"unknown AZR task {task!r}")
    return json.dumps({"task": task, **fields}, sort_keys=True)


class AzrVerifier(SandboxedVerifier):
    name = "azr"

    def limits(self) -> Limits:
        return Limits(timeout_s=self.config.timeout_s, memory_bytes=self.config.memory_mb << 20)

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        grades: list[Grade | None] = [None] * len(items)
        tasks: list[str] = [""] * len(items)
        runs: list[tuple[int, str, str, str]] = []  # (item, program, input, gold output)
        for i, item in enumerate(items):
            try:
                answer = json.loads(item.answer)
                tasks[i] = answer["task"]
                grades[i] = self._plan(i, item, answer, runs)
            except (ValueError, KeyError, TypeError) as exc:  # a malformed answer fails alone
                grades[i] = Grade(
                    False, None, 0.0, f"grader error: the answer is not an AZR task ({type(exc).__name__})"
                )
        results = (
            self.sandbox.run_calls([r[1] for r in runs], [r[2] for r in runs], limits=self.limits()) if runs else []
        )
        tally: dict[int, list[tuple[bool, str]]] = {}
        for (i, _, given, want), result in zip(runs, results, strict=True):
            # a value is what the sandbox rebuilt from plain data; a result without one is a failure
            ok = result.passed and result.value is not None and result.value == want
            if ok:
                why = ""
            elif not result.passed:
                why = f"{result.status}: {result.detail}"
            else:
                why = f"f({given}) gave {(result.value or 'no value')[:80]}"
            tally.setdefault(i, []).append((ok, why))
        for i, outcomes in tally.items():
            passed = sum(ok for ok, _ in outcomes)
            right = passed == len(outcomes)
            item = items[i]
            graded = (
                extract_input(item.completion, item.extraction)
                if tasks[i] == "abduction"
                else extract_code(item.completion, "f")
            )
            first = next((why for ok, why in outcomes if not ok), None)
            detail = (
                None
                if right
                else (first if tasks[i] == "abduction" else f"{passed}/{len(outcomes)} hidden inputs; {first}")
            )
            grades[i] = Grade(right, graded, passed / len(outcomes), detail)
        return grades  # type: ignore[return-value]

    def _plan(
        self, i: int, item: GradeItem, answer: dict[str, Any], runs: list[tuple[int, str, str, str]]
    ) -> Grade | None:
        """The grade of a deduction (nothing runs), or None after queueing the sandbox runs."""
        task = answer["task"]
        if task == "deduction":
            stated = extract_output(item.completion, item.extraction)
            if stated is None:
                return Grade(False, None, 0.0, "no value stated")
            right = stated == answer["output"]
            return Grade(right, stated, float(right), None if right else "wrong output")
        if task == "abduction":
            given = extract_input(item.completion, item.extraction)
            if given is None:
                return Grade(False, None, 0.0, "no input given")
            runs.append((i, answer["program"], given, answer["output"]))
            return None
        if task != "induction":
            raise ValueError(task)
        code = extract_code(item.completion, "f")
        if code is None or not re.search(r"^\s*def\s+f\s*\(", code, re.MULTILINE):
            return Grade(False, None, 0.0, "no function f")
        runs.extend((i, code, given, want) for given, want in answer["hidden"])
        return None
