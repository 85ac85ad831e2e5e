"""Sandboxed execution of model-written Python (design and measurements: shared/specs/sandbox.md).

Long-lived workers, each inside bubblewrap (no network, read-only root, private size-capped /tmp,
own pid namespace, dies with us), fork one child per snippet; the child locks itself down
(session, temp dir, capped output, rlimits, non-root uid, seccomp) before running anything.
The jailed side runs Debian's /usr/bin/python3: the pyenv Python lives under /root (mode 700), so
a child that dropped its uid could not import from it.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import HardforgeError

WORKER = Path(__file__).with_name("jail_worker.py")
JAIL_PYTHON = "/usr/bin/python3"
FIRST_UID = 60000
TMPFS_BYTES = 64 * 1024 * 1024
UNSAFE = "unsafe-no-jail"


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


def missing_requirements() -> list[str]:
    """What the full sandbox needs and this machine lacks (empty when it can start)."""
    missing = []
    if shutil.which("bwrap") is None:
        missing.append("bubblewrap (apt-get install bubblewrap)")
    if not Path(JAIL_PYTHON).exists():
        missing.append(f"{JAIL_PYTHON} (apt-get install python3)")
    elif subprocess.run([JAIL_PYTHON, "-c", "import seccomp"], capture_output=True).returncode != 0:
        missing.append("the seccomp bindings for /usr/bin/python3 (apt-get install python3-seccomp)")
    if os.geteuid() != 0:
        missing.append("root, to give each worker its own non-root uid")
    return missing


def bwrap_command(worker_dir: Path, uid: int) -> list[str]:
    return [
        "bwrap",
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--ro-bind", "/", "/",
        "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp",
        "--tmpfs", "/var/tmp", "--tmpfs", "/run", "--tmpfs", "/root", "--tmpfs", "/home",
        "--proc", "/proc", "--dev", "/dev",
        "--ro-bind", str(worker_dir), "/run/sbx",
        JAIL_PYTHON, "-I", "/run/sbx/jail_worker.py", str(uid),
    ]


class _Worker:
    def __init__(self, index: int, mode: str) -> None:
        self.index, self.mode = index, mode
        self.lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        uid = FIRST_UID + self.index
        if self.mode == UNSAFE:
            command = [JAIL_PYTHON if Path(JAIL_PYTHON).exists() else "python3", "-I", str(WORKER), str(uid)]
        else:
            command = bwrap_command(WORKER.parent, uid)
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, bufsize=0,
        )
        hello = self._read_line(30.0)
        if hello is None:
            err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.poll() is not None else ""
            self.close()
            raise HardforgeError(f"the code sandbox did not start: {err or 'no answer from the worker'}.")
        ready = json.loads(hello)
        if not ready.get("ready"):
            self.close()
            raise HardforgeError(f"the code sandbox refuses to start: {ready.get('error', 'the worker is not ready')}; run `make setup`.")
        self.seccomp = ready["seccomp"]

    def _read_line(self, timeout: float) -> bytes | None:
        buffer = b""
        fd = self.proc.stdout.fileno()
        while not buffer.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            buffer += chunk
        return buffer

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            try:
                self.proc.stdin.write(json.dumps(request).encode() + b"\n")
                line = self._read_line(request["timeout_s"] + 30)
            except (BrokenPipeError, OSError):
                line = None
            if line is None:  # the worker itself died or hung: replace it
                self.close()
                self._start()
                return {"status": "crash", "detail": "sandbox worker restarted"}
            return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


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
                    "the code sandbox cannot start: it needs " + " and ".join(missing)
                    + f" (run `make setup`; for development only, sandbox.mode = '{UNSAFE}')."
                )
        count = workers or max(2, os.cpu_count() or 2)
        self.workers = [_Worker(i, mode) for i in range(count)]
        self._spare: _Worker | None = None
        self._ids = 0

    def _request(self, code: str, *, stdin: str | None, call: str | None, twice: bool, limits: Limits | None,
                 tests: str | None = None, exit_ok: bool = False) -> dict[str, Any]:
        limits = limits or self.limits
        self._ids += 1
        return {
            "id": self._ids, "code": code, "tests": tests, "stdin": stdin, "call": call, "twice": twice,
            "exit_ok": exit_ok,
            "timeout_s": limits.timeout_s,
            "limits": {"memory_bytes": limits.memory_bytes, "cpu_s": limits.cpu_s, "file_bytes": limits.file_bytes},
        }

    def _run_all(self, requests: list[dict[str, Any]], offset: int = 0) -> list[RunResult]:
        """Request j runs on worker (j + offset) % N: one thread per worker."""
        results: list[RunResult | None] = [None] * len(requests)
        count = len(self.workers)

        def serve(w: int) -> None:
            for j in range(len(requests)):
                if (j + offset) % count == w:
                    response = self.workers[w].call(requests[j])
                    response.pop("id", None)
                    results[j] = RunResult(**response)

        threads = [threading.Thread(target=serve, args=(w,)) for w in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results  # type: ignore[return-value]

    def run_programs(self, programs: list[str], tests: list[str | None] | None = None,
                     limits: Limits | None = None) -> list[RunResult]:
        """Run each program, then its tests (in the program's namespace); passed = the harness saw
        both return normally. An exit of any kind before that is a failure."""
        tests = tests or [None] * len(programs)
        return self._run_all([self._request(p, tests=t, stdin=None, call=None, twice=False, limits=limits)
                              for p, t in zip(programs, tests, strict=True)])

    def run_stdio(self, programs: list[str], stdins: list[str], expected: list[str], limits: Limits | None = None) -> list[RunResult]:
        """Run each program on its stdin; passed = it ran cleanly (a zero exit is fine here) and
        printed the expected stdout."""
        results = self._run_all([self._request(p, stdin=s, call=None, twice=False, limits=limits, exit_ok=True)
                                 for p, s in zip(programs, stdins, strict=True)])
        for result, want in zip(results, expected, strict=True):
            if result.status == "passed" and _lines(result.output) != _lines(want):
                result.status, result.detail = "failed", "wrong output"
        return results

    def run_calls(self, codes: list[str], inputs: list[str], banned: tuple[str, ...] | None = None, limits: Limits | None = None) -> list[RunResult]:
        """``repr(f(<input>))`` for each (code, input): the AST ban first, then two runs in two
        different workers (so the hash seeds differ), which must agree."""
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
        requests = [self._request(codes[j], stdin=None, call=f"f({inputs[j]})", twice=True, limits=limits) for j in todo]
        first = self._run_all(requests, offset=0)
        second = self._second_opinion([dict(r) for r in requests])
        for j, a, b in zip(todo, first, second, strict=True):
            if a.passed and b.passed and a.value != b.value:
                a.status, a.detail = "failed", "nondeterministic: two workers gave different results"
            elif a.passed and not b.passed:
                a = b
            results[j] = a
        return results  # type: ignore[return-value]

    def _second_opinion(self, requests: list[dict[str, Any]]) -> list[RunResult]:
        """Run each request in another worker process than the first run (another hash seed), so
        that the determinism check holds with one configured worker too."""
        if len(self.workers) > 1:
            return self._run_all(requests, offset=1)
        if self._spare is None:
            self._spare = _Worker(len(self.workers), self.mode)
        results = []
        for request in requests:
            response = self._spare.call(request)
            response.pop("id", None)
            results.append(RunResult(**response))
        return results

    def close(self) -> None:
        for worker in [*self.workers, *([self._spare] if self._spare else [])]:
            worker.close()

    def __enter__(self) -> CodeSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()]
