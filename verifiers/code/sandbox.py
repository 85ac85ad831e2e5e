"""Sandboxed execution of model-written Python (design and measurements: shared/specs/sandbox.md).

Long-lived workers, each inside bubblewrap (no network, a root holding only the interpreter and
its libraries, private size-capped /tmp, no /proc, own pid namespace, dies with us). In each
worker a zygote that never sees tests forks one process per program, and a tests process of its
own runs the problem's tests against it, plain data both ways (``jail/``). Every child
locks itself down (session, temp dir, capped output, rlimits, non-root uid, seccomp) before
running anything. The jailed side runs Debian's /usr/bin/python3: the pyenv Python lives under
/root (mode 700), so a child that dropped its uid could not import from it.
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

WORKER = Path(__file__).with_name("jail") / "jail_worker.py"  # its folder is bound at /run/sbx
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


# Native modules a program could use to read or patch memory, or to run code outside the audit
# hook (subinterpreters): each is replaced by an empty file in the jail, so it cannot be loaded.
MASKED_MODULES = (
    "_ctypes",
    "_ctypes_test",
    "_testcapi",
    "_testinternalcapi",
    "_testbuffer",
    "_testmultiphase",
    "_testclinic",
    "_testimportmultiple",
    "_xxsubinterpreters",
    "_xxtestfuzz",
)


def filesystem_view(python: str = JAIL_PYTHON) -> list[str]:
    """bubblewrap arguments for a root holding only what the interpreter needs: its binary, its
    standard library, Debian's dist-packages (python3-seccomp) and the shared libraries. No /proc,
    no project checkout, no data directory, no home, nothing else of the host."""
    binary = os.path.realpath(python)
    version = Path(binary).name  # python3.11
    links: list[str] = []
    binds: list[tuple[str, str]] = []
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):  # a system without merged /usr keeps libc here
            binds.append((top, top))
    binds.append((binary, binary))
    if binary != python:
        links += ["--symlink", binary, python]
    stdlib = f"/usr/lib/{version}"
    machine = sysconfig_multiarch()
    for folder in (stdlib, "/usr/lib/python3/dist-packages", f"/usr/lib/{machine}", "/usr/lib64", "/etc/ld.so.cache"):
        if os.path.exists(folder):
            binds.append((folder, folder))
    masks = [
        str(path) for module in MASKED_MODULES for path in sorted(Path(stdlib, "lib-dynload").glob(f"{module}.*so"))
    ]
    return [
        *parent_dirs([dest for _, dest in binds] + [python, "/run/sbx/x"]),
        *links,
        *(arg for src, dest in binds for arg in ("--ro-bind", src, dest)),
        *(arg for path in masks for arg in ("--ro-bind", "/dev/null", path)),
    ]


def parent_dirs(paths: list[str]) -> list[str]:
    """``--dir`` for every ancestor of ``paths``, readable by all: bubblewrap would otherwise make
    them 0700 (as root), and a process that dropped its uid could not reach the standard library."""
    ancestors = sorted(
        {str(parent) for path in paths for parent in Path(path).parents if str(parent) != "/"},
        key=lambda d: (d.count("/"), d),
    )
    return [arg for d in ancestors for arg in ("--perms", "0755", "--dir", d)]


def sysconfig_multiarch() -> str:
    """The Debian multiarch folder name of this machine (x86_64-linux-gnu, aarch64-linux-gnu)."""
    import platform

    return f"{platform.machine()}-linux-gnu"


def bwrap_command(worker_dir: Path, uid: int) -> list[str]:
    return [
        "bwrap",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        *filesystem_view(),
        "--size",
        str(TMPFS_BYTES),
        "--tmpfs",
        "/tmp",
        "--dev",
        "/dev",
        "--ro-bind",
        str(worker_dir),
        "/run/sbx",
        JAIL_PYTHON,
        "-I",
        "/run/sbx/jail_worker.py",
        str(uid),
    ]


class _Worker:
    def __init__(self, index: int, mode: str) -> None:
        self.index, self.mode = index, mode
        self.lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        uid = FIRST_UID + 2 * self.index  # the program's uid; the tests process runs as uid + 1
        if self.mode == UNSAFE:
            command = [JAIL_PYTHON if Path(JAIL_PYTHON).exists() else "python3", "-I", str(WORKER), str(uid)]
        else:
            command = bwrap_command(WORKER.parent, uid)
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            bufsize=0,
        )
        hello = self._read_line(30.0)
        if hello is None:
            err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.poll() is not None else ""
            self.close()
            raise HardforgeError(f"the code sandbox did not start: {err or 'no answer from the worker'}.")
        ready = json.loads(hello)
        if not ready.get("ready"):
            self.close()
            raise HardforgeError(
                f"the code sandbox refuses to start: {ready.get('error', 'the worker is not ready')}; run `make setup`."
            )
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
                    "the code sandbox cannot start: it needs "
                    + " and ".join(missing)
                    + f" (run `make setup`; for development only, sandbox.mode = '{UNSAFE}')."
                )
        count = workers or max(2, os.cpu_count() or 2)
        self.workers = [_Worker(i, mode) for i in range(count)]
        self._spare: _Worker | None = None
        self._ids = 0

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
        trusted side: the AST ban first (AZR's list by default), then two runs in two different
        workers (so the hash seeds differ), which must agree."""
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
        requests = [self._request(codes[j], call=f"{function}({inputs[j]})", twice=True, limits=limits) for j in todo]
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
