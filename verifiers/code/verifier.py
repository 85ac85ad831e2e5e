"""The code verifier: a completion is correct when its program passes the problem's tests in
the sandbox. HumanEval format: the statement is the function's signature and docstring, the
answer is the test program (``check`` plus its call on the entry point)."""

from __future__ import annotations

import re

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
        built = [build_program(item.statement, item.completion, (item.extra or {}).get("entry_point")) for item in items]
        results = self.sandbox.run_programs([program for program, _ in built], [item.answer for item in items])
        return [grade_from_result(result, graded) for result, (_, graded) in zip(results, built, strict=True)]
