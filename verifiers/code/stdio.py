"""The stdio verifier: a program reads each test's input on stdin and must print its output.
The answer is a JSON list of [input, output] pairs (self-questioning's code topic). ``correct``
means every test passed; ``score`` is the fraction passed (the proposer's figure)."""

from __future__ import annotations

import json

from verifiers.base import Grade, GradeItem
from verifiers.code.verifier import SandboxedVerifier, extract_code


def stdio_answer(tests: list[tuple[str, str]]) -> str:
    return json.dumps([[given, expected] for given, expected in tests])


class StdioVerifier(SandboxedVerifier):
    name = "stdio"

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        runs: list[tuple[int, str, str, str]] = []  # (item, program, stdin, expected)
        codes: list[str | None] = []
        for i, item in enumerate(items):
            code = extract_code(item.completion)
            codes.append(code)
            if code is not None:
                runs.extend((i, code, given, expected) for given, expected in json.loads(item.answer))
        results = (
            self.sandbox.run_stdio([r[1] for r in runs], [r[2] for r in runs], [r[3] for r in runs]) if runs else []
        )
        passed = [0] * len(items)
        total = [0] * len(items)
        first_failure: dict[int, str] = {}
        for (i, *_), result in zip(runs, results, strict=True):
            total[i] += 1
            if result.passed:
                passed[i] += 1
            else:
                first_failure.setdefault(i, f"{result.status}: {result.detail}" if result.detail else result.status)
        grades = []
        for i, code in enumerate(codes):
            if code is None:
                grades.append(Grade(False, None, 0.0, "no code block"))
                continue
            score = passed[i] / total[i] if total[i] else 0.0
            correct = total[i] > 0 and passed[i] == total[i]
            grades.append(
                Grade(
                    correct,
                    code,
                    score,
                    None if correct else f"{passed[i]}/{total[i]} tests; {first_failure.get(i, '')}",
                )
            )
        return grades
