"""The code verifier: a completion is correct when its program passes the problem's tests in
the sandbox. HumanEval format: the statement is the function's signature and docstring, the
answer is the test program (``check`` plus its call on the entry point).

The tests never run beside the program: they run in another process with the statement (its
imports and helpers) and call the program's entry point through the sandbox, plain data both ways
(``CodeSandbox.run_tests``). Which names the tests reach in the program is decided here, from the
source, before anything runs (``proxied_names``)."""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from schemas.config import SandboxConfig
from verifiers.base import Grade, GradeItem
from verifiers.code.sandbox import CodeSandbox, Limits, RunResult

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def extract_code(completion: str, entry_point: str | None = None) -> str | None:
    """The last fenced code block that defines ``entry_point`` (else the last fenced block);
    None when the completion has no fenced block."""
    blocks = _FENCE.findall(completion)
    if not blocks:
        return None
    if entry_point:
        defining = [b for b in blocks if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", b, re.MULTILINE)]
        if defining:
            return defining[-1]
    return blocks[-1]


def build_program(statement: str, completion: str, entry_point: str | None = None) -> tuple[str, str]:
    """(program, what was graded). A fenced block is a whole solution placed after the prompt
    (so the prompt's imports and helpers stay in scope); otherwise the completion continues the
    prompt's function body, as in HumanEval. The tests are not part of the program: the sandbox's
    harness runs them itself after it, so the program cannot end the run before they finish."""
    code = extract_code(completion, entry_point)
    if code is None:
        return f"{statement}{completion}\n", completion
    return f"{statement}\n    pass\n\n{code}\n", code


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A signature whose body is only a docstring, ``pass`` or ``...``: the function to write."""
    for statement in node.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        return False
    return True


def _top_level_bindings(source: str) -> dict[str, ast.AST | None]:
    """Names bound at the top level of ``source`` (a def maps to its node); {} when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        try:
            tree = ast.parse(source + "\n    pass\n")
        except (SyntaxError, ValueError):
            return {}
    bound: dict[str, ast.AST | None] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound[node.name] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound[(alias.asname or alias.name).split(".")[0]] = None
        else:
            for child in ast.walk(node):
                if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                    bound[child.id] = None
    return bound


@dataclass(frozen=True)
class Proxied:
    """What the tests reach in the program: ``names`` always (the problem's entry point), each of
    ``optional`` only if the prompt, once run, left it unbound or bound to one of ``stubs`` (the
    signatures to write). The tests process decides the optional ones after running the prompt, so
    a helper the prompt binds in any way (``from math import *``, a ``def`` inside ``try``) stays
    the prompt's own."""

    names: list[str]
    optional: list[str]
    stubs: list[str]


def proxied_names(statement: str, program: str, tests: str, entry_point: str | None) -> Proxied:
    """The problem's entry point when it names one; else each function the tests use that the
    program defines, never a builtin or a name the tests bind themselves (they use their own)."""
    stubs = sorted(
        name
        for name, node in _top_level_bindings(statement).items()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_stub(node)
    )
    if entry_point:
        return Proxied([entry_point], [], stubs)
    written = {
        name
        for name, node in _top_level_bindings(program).items()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    own = set(_top_level_bindings(tests))
    try:
        used = {n.id for n in ast.walk(ast.parse(tests)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    except (SyntaxError, ValueError):
        used = set()
    return Proxied([], sorted((used & written) - own - set(dir(builtins))), stubs)


def grade_from_result(result: RunResult, graded: str) -> Grade:
    passed = result.status == "passed"
    detail = None if passed else f"{result.status}: {result.detail}" if result.detail else result.status
    return Grade(passed, graded, float(passed), detail)


class SandboxedVerifier:
    """A verifier that runs programs: the sandbox starts on first use and closes with it."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._sandbox: CodeSandbox | None = None

    @property
    def sandbox(self) -> CodeSandbox:
        if self._sandbox is None:
            limits = Limits(timeout_s=self.config.timeout_s, memory_bytes=self.config.memory_mb << 20)
            self._sandbox = CodeSandbox(self.config.workers or None, mode=self.config.mode, limits=limits)
        return self._sandbox

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            self._sandbox = None


class CodeVerifier(SandboxedVerifier):
    name = "code"

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        if not items:
            return []
        grades: list[Grade | None] = [None] * len(items)
        runs: list[tuple[int, str, str, Proxied]] = []  # (item, program, graded, what the tests reach)
        for i, item in enumerate(items):
            entry_point = (item.extra or {}).get("entry_point")
            program, graded = build_program(item.statement, item.completion, entry_point)
            if not item.answer.strip():
                grades[i] = Grade(False, graded, 0.0, "the problem has no tests to grade against")
                continue
            reach = proxied_names(item.statement, program, item.answer, entry_point)
            if not reach.names and not reach.optional:
                grades[i] = Grade(False, graded, 0.0, "the tests call no function the program defines")
                continue
            runs.append((i, program, graded, reach))
        results = (
            self.sandbox.run_tests(
                [r[1] for r in runs],
                [items[r[0]].answer for r in runs],
                [items[r[0]].statement for r in runs],
                [r[3] for r in runs],
            )
            if runs
            else []
        )
        for (i, _, graded, _), result in zip(runs, results, strict=True):
            grades[i] = grade_from_result(result, graded)
        return grades  # type: ignore[return-value]
