"""One jailed sandbox worker, seen from the host: its command (bubblewrap and the filesystem view
it gives), its start (and, for a sealed worker, the rewrite of its clock), and one request at a
time over its pipes. ``sandbox.CodeSandbox`` pools them."""

from __future__ import annotations

import json
import logging
import os
import secrets
import select
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from schemas.errors import HardforgeError

WORKER = Path(__file__).with_name("jail") / "jail_worker.py"  # its folder is bound at /run/sbx
JAIL_PYTHON = "/usr/bin/python3"
FIRST_UID = 60000
SEALED_INDEX = 100  # sealed workers' uids start at FIRST_UID + 2 * SEALED_INDEX
SEALED_RUNS = 3  # a 1-bit value of a hash seed agrees in 3 runs 1 time in 4: worse than an honest task
TMPFS_BYTES = 64 * 1024 * 1024
UNSAFE = "unsafe-no-jail"
log = logging.getLogger(__name__)


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


def bwrap_command(worker_dir: Path, uid: int, sealed: bool = False) -> list[str]:
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
        *(["--sealed"] if sealed else []),
    ]


class _Worker:
    def __init__(self, index: int, mode: str, sealed: bool = False) -> None:
        self.index, self.mode, self.sealed = index, mode, sealed
        self.clock_sealed, self.clock_note = False, "not a sealed worker"
        self.lock = threading.Lock()
        self._start()

    def _environment(self) -> dict[str, str]:
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        if self.sealed:  # every sealed worker's environment differs, in its size and its content
            env.update({f"HARDFORGE_RUN_{k}": secrets.token_hex(4 + self.index % 8) for k in range(1 + self.index % 8)})
        return env

    def _start(self) -> None:
        uid = FIRST_UID + 2 * self.index  # the program's uid; the tests process runs as uid + 1
        if self.mode == UNSAFE:
            python = JAIL_PYTHON if Path(JAIL_PYTHON).exists() else "python3"
            command = [python, "-I", str(WORKER), str(uid), *(["--sealed"] if self.sealed else [])]
        else:
            command = bwrap_command(WORKER.parent, uid, self.sealed)
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self._environment(),
            bufsize=0,
        )
        hello = self._read_line(30.0)
        if hello is not None and self.sealed and json.loads(hello).get("hello"):
            self.proc.stdin.write(json.dumps(self._seal_clock(json.loads(hello)["pid"])).encode() + b"\n")
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

    def _seal_clock(self, inner_pid: int) -> dict[str, Any]:
        """Rewrite the sealed worker's clock entry points (before it forks anything)."""
        from verifiers.code.clock_seal import SealError, descendant, seal_vdso

        try:
            patched = seal_vdso(descendant(self.proc.pid, inner_pid))
        except (SealError, OSError) as exc:
            self.clock_sealed, self.clock_note = False, str(exc)
            log.warning("the sandbox's sealed calls can still read the clock: %s", exc)
            return {"clock_sealed": False, "clock_error": str(exc)}
        self.clock_sealed, self.clock_note = True, f"vDSO entry points made system calls: {', '.join(patched)}"
        return {"clock_sealed": True, "patched": patched}

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
