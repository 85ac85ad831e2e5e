"""Satisfiable tests: tests a proposer wrote (self-questioning's code topic: ``INPUT ||| OUTPUT``
lines) count only if some program passes all of them. The programs are the solvers' (the
evidence); tests that give one input two outputs are unsatisfiable before anything runs."""

from __future__ import annotations

import json

from checks.base import LabelItem, Verdict, abstain
from verifiers.code.sandbox import CodeSandbox

NAME = "satisfiable_tests"


class SatisfiableTestsCheck:
    name = NAME
    applies_to = ("stdio",)

    def __init__(self, sandbox: CodeSandbox) -> None:
        self.sandbox = sandbox

    def check(self, items: list[LabelItem]) -> list[Verdict]:
        verdicts: list[Verdict | None] = [None] * len(items)
        runs: list[tuple[int, int, str, str, str]] = []  # (item, program, code, stdin, expected)
        tests_of: dict[int, list[tuple[str, str]]] = {}
        for i, item in enumerate(items):
            if item.label is None:
                verdicts[i] = abstain(NAME, "tests cannot be derived from a description")
                continue
            try:
                tests = [(str(a), str(b)) for a, b in json.loads(item.label)]
            except (ValueError, TypeError):
                verdicts[i] = Verdict(NAME, "disagree", "the tests are not [[input, output], ...]")
                continue
            outputs: dict[str, str] = {}
            clash = next(
                (given for given, want in tests if outputs.setdefault(given.strip(), want.strip()) != want.strip()),
                None,
            )
            if clash is not None:
                verdicts[i] = Verdict(NAME, "disagree", f"input {clash!r} is given two different outputs")
                continue
            programs = [p for p in item.evidence.get("programs", []) if p]
            if not tests or not programs:
                verdicts[i] = abstain(NAME, "no program to run the tests on")
                continue
            tests_of[i] = tests
            runs.extend((i, j, code, given, want) for j, code in enumerate(programs) for given, want in tests)
        results = (
            self.sandbox.run_stdio([r[2] for r in runs], [r[3] for r in runs], [r[4] for r in runs]) if runs else []
        )
        failed: dict[tuple[int, int], bool] = {}
        for (i, j, *_), result in zip(runs, results, strict=True):
            failed[(i, j)] = failed.get((i, j), False) or not result.passed
        for i in tests_of:
            passing = sorted(j for (k, j), bad in failed.items() if k == i and not bad)
            if passing:
                verdicts[i] = Verdict(
                    NAME,
                    "agree",
                    f"program {passing[0]} passes all {len(tests_of[i])} tests",
                    {"passing_programs": passing},
                )
            else:  # not shown satisfiable: the tests do not count, but they are not shown wrong either
                verdicts[i] = abstain(
                    NAME,
                    f"no program passes all {len(tests_of[i])} tests",
                    programs=len({j for k, j in failed if k == i}),
                )
        return verdicts  # type: ignore[return-value]
