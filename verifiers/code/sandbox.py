"""Sandboxed execution of model-written Python (design and measurements: shared/specs/sandbox.md).

Long-lived workers, each inside bubblewrap (no network, a root holding only the interpreter and
its libraries, private size-capped /tmp, no /proc, own pid namespace, dies with us). In each
worker a zygote that never sees tests forks one process per program, and a tests process of its
own runs the problem's tests against it, plain data both ways (``jail/``). Every child
locks itself down (session, temp dir, capped output, rlimits, non-root uid, seccomp) before
running anything. The jailed side runs Debian's /usr/bin/python3: the pyenv Python lives under
/root (mode 700), so a child that dropped its uid could not import from it.

Calls whose values become labels or grades (``run_calls``: Absolute Zero's outputs, programs of
thought) run in *sealed* workers instead: no clock, entropy, process identity or file is there to
read (``clock_seal.py`` and ``jail_common.SEALED_TRAP``), and each call runs ``SEALED_RUNS`` times
in as many workers, which differ in hash seed, address layout, uid and environment: a value that
depends on any of them does not come out the same.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from schemas.errors import HardforgeError
from verifiers.code.workers import (  # noqa: F401  (the sandbox's constants, imported from here by callers)
    FIRST_UID,
    JAIL_PYTHON,
    SEALED_INDEX,
    SEALED_RUNS,
    UNSAFE,
    WORKER,
    _Worker,
    bwrap_command,
    filesystem_view,
    missing_requirements,
)


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 5.0
    memory_bytes: int = 1 << 30
    cpu_s: int = 5
    file_bytes: int = 1 << 20


@dataclass
class RunResult:
    status: str  # passed | failed | timeout | crash | banned
    detail: str | None = None
    output: str = ""  # stdout+stderr, first 64 KiB
    value: str | None = None  # repr of f(input), for calls
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


class CodeSandbox:
    """A pool of jailed workers. ``mode="bwrap"`` is the full sandbox; ``"unsafe-no-jail"``
    skips bubblewrap (and so the network, filesystem and pid isolation) for development only."""

    def __init__(self, workers: int | None = None, mode: str = "bwrap", limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.mode = mode
        if mode != UNSAFE:
            missing = missing_requirements()
            if missing:
                raise HardforgeError(
                    "the code sandbox cannot start: it needs "
                    + " and ".join(missing)
                    + f" (run `make setup`; for development only, sandbox.mode = '{UNSAFE}')."
                )
        count = workers or max(2, os.cpu_count() or 2)
        self.workers = [_Worker(i, mode) for i in range(count)]
        self._sealed: list[_Worker] = []
        self._sealed_lock = threading.Lock()
        self._ids = 0

    def sealed_workers(self) -> list[_Worker]:
        """The sealed workers (started on first use: most runs never need them)."""
        with self._sealed_lock:
            if not self._sealed:
                started: list[_Worker] = []
                try:
                    for k in range(SEALED_RUNS):
                        started.append(_Worker(SEALED_INDEX + k, self.mode, sealed=True))
                except BaseException:
                    for worker in started:  # none is left running when one cannot start
                        worker.close()
                    raise
                self._sealed = started
            return self._sealed

    @property
    def clock_sealed(self) -> bool:
        """Whether sealed calls see no clock at all (the vDSO of every sealed worker rewritten);
        starts the sealed workers if they are not yet."""
        return all(w.clock_sealed for w in self.sealed_workers())

    def _request(
        self,
        code: str,
        *,
        stdin: str | None = None,
        call: str | None = None,
        twice: bool = False,
        limits: Limits | None = None,
        tests: str | None = None,
        prelude: str | None = None,
        proxied: list[str] | None = None,
        exit_ok: bool = False,
    ) -> dict[str, Any]:
        limits = limits or self.limits
        self._ids += 1
        return {
            "id": self._ids,
            "code": code,
            "tests": tests,
            "prelude": prelude,
            "proxied": proxied or [],
            "stdin": stdin,
            "call": call,
            "twice": twice,
            "exit_ok": exit_ok,
            "timeout_s": limits.timeout_s,
            "limits": {"memory_bytes": limits.memory_bytes, "cpu_s": limits.cpu_s, "file_bytes": limits.file_bytes},
        }

    def _run_all(self, requests: list[dict[str, Any]], offset: int = 0) -> list[RunResult]:
        """Request j runs on worker (j + offset) % N: one thread per worker."""
        count = len(self.workers)
        return self._run_on(self.workers, requests, [(j + offset) % count for j in range(len(requests))])

    @staticmethod
    def _run_on(workers: list[_Worker], requests: list[dict[str, Any]], assignment: list[int]) -> list[RunResult]:
        """Request j on ``workers[assignment[j]]``, each worker's in order, the workers in parallel."""
        results: list[RunResult | None] = [None] * len(requests)

        def serve(w: int) -> None:
            for j in range(len(requests)):
                if assignment[j] == w:
                    response = workers[w].call(requests[j])
                    response.pop("id", None)
                    results[j] = RunResult(**response)

        threads = [threading.Thread(target=serve, args=(w,)) for w in sorted(set(assignment))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results  # type: ignore[return-value]

    def run_programs(self, programs: list[str], limits: Limits | None = None) -> list[RunResult]:
        """Run each program alone; passed = it ran to its end without an error. The program's own
        word: fine for a program that is its own test, never for grading (see ``run_tests``)."""
        return self._run_all([self._request(p, limits=limits) for p in programs])

    def run_tests(
        self,
        programs: list[str],
        tests: list[str],
        preludes: list[str],
        proxied: list[Any],
        limits: Limits | None = None,
    ) -> list[RunResult]:
        """Grade each program by its tests, which run in another process than the program: the
        prelude (the problem's prompt: imports, helpers) and the tests run there with pristine
        builtins, and each name in ``proxied`` (the entry point) calls into the program's process
        with plain data both ways. passed = the tests returned normally and the program kept to
        the protocol; any exit, crash or non-plain answer of the program is a failure."""
        requests = []
        for p, t, pre, reach in zip(programs, tests, preludes, proxied, strict=True):
            names, optional, stubs = (
                (reach, [], []) if isinstance(reach, list) else (reach.names, reach.optional, reach.stubs)
            )
            request = self._request(p, tests=t, prelude=pre, proxied=names, limits=limits)
            requests.append({**request, "optional": optional, "stubs": stubs})
        return self._run_all(requests)

    def run_stdio(
        self, programs: list[str], stdins: list[str], expected: list[str], limits: Limits | None = None
    ) -> list[RunResult]:
        """Run each program on its stdin; passed = it ran cleanly (a zero exit is fine here) and
        printed the expected stdout."""
        results = self._run_all(
            [self._request(p, stdin=s, limits=limits, exit_ok=True) for p, s in zip(programs, stdins, strict=True)]
        )
        for result, want in zip(results, expected, strict=True):
            if result.status == "passed" and _lines(result.output) != _lines(want):
                result.status, result.detail = "failed", "wrong output"
        return results

    def run_calls(
        self,
        codes: list[str],
        inputs: list[str],
        banned: tuple[str, ...] | None = None,
        limits: Limits | None = None,
        function: str = "f",
    ) -> list[RunResult]:
        """``function(<input>)`` for each (code, input), its value rebuilt from plain data on the
        trusted side: the AST ban first (AZR's list by default: a task-quality rule), then
        ``SEALED_RUNS`` runs in as many sealed workers (module docstring), which must all pass and
        agree."""
        from verifiers.code.policy import BANNED_MODULES, banned_names

        banned = BANNED_MODULES if banned is None else banned
        results: list[RunResult | None] = [None] * len(codes)
        todo = []
        for j, code in enumerate(codes):
            hits = banned_names(code, banned)
            if hits:
                results[j] = RunResult("banned", f"uses {', '.join(hits)}")
            else:
                todo.append(j)
        sealed = self.sealed_workers() if todo else []
        plan = [(j, r) for j in todo for r in range(SEALED_RUNS)]
        requests = [
            self._request(codes[j], call=f"{function}({inputs[j]})", twice=True, limits=limits) for j, _ in plan
        ]
        runs = self._run_on(sealed, requests, [(j + r) % len(sealed) for j, r in plan]) if plan else []
        for j in todo:
            mine = [run for (k, _), run in zip(plan, runs, strict=True) if k == j]
            failed = next((run for run in mine if not run.passed), None)
            if failed is not None:
                results[j] = failed
            elif len({run.value for run in mine}) > 1:
                results[j] = RunResult(
                    "failed",
                    f"nondeterministic: {len(mine)} runs in separate processes (other hash seeds, memory layouts, "
                    "uids and environments) gave different results",
                )
            else:
                results[j] = mine[0]
        return results  # type: ignore[return-value]

    def close(self) -> None:
        for worker in [*self.workers, *self._sealed]:
            worker.close()

    def __enter__(self) -> CodeSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()]
