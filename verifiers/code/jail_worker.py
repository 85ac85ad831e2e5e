"""A long-lived sandbox worker. Runs INSIDE bubblewrap under Debian's /usr/bin/python3 (stdlib and
python3-seccomp only: it must not import anything of ours).

Protocol: one JSON request per line on stdin, one JSON response per line on stdout. Each request
runs in a forked child that, before any untrusted code: starts its own session, enters a fresh
work dir, sends stdout/stderr to a capped file, closes inherited fds, sets rlimits, drops to this
worker's own non-root uid, and loads a seccomp deny-list. The worker is a child subreaper, so
anything the snippet leaves behind comes back to it and is killed.
"""

import ctypes
import errno
import importlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time

# Warm the stdlib modules that model-written code usually imports: a fork then shares them and a
# snippet that imports them pays nothing. Imported by name so that no linter "fixes" them away
# (an unused-import fix once did, and each snippet got ~1.5 ms slower).
WARM_MODULES = (
    "bisect", "collections", "copy", "dataclasses", "decimal", "fractions", "functools", "hashlib",
    "heapq", "itertools", "math", "operator", "re", "string", "statistics", "typing", "unicodedata",
)
for _name in WARM_MODULES:
    importlib.import_module(_name)

UID = int(sys.argv[1])
OUTPUT_CAP = 64 * 1024
RESULT_CAP = 32 * 1024
PR_SET_CHILD_SUBREAPER = 36
CLONE_THREAD = 0x00010000
libc = ctypes.CDLL(None, use_errno=True)

DENIED_SYSCALLS = [
    "fork", "vfork", "execve", "execveat", "ptrace", "mount", "umount2", "pivot_root", "chroot",
    "unshare", "setns", "init_module", "finit_module", "delete_module", "kexec_load", "bpf",
    "perf_event_open", "io_uring_setup", "userfaultfd", "add_key", "request_key", "keyctl",
    "setsid", "setpgid", "reboot", "swapon", "swapoff", "acct", "process_vm_writev",
]


def build_filter():
    try:
        import seccomp
    except ImportError:
        return None
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        try:
            f.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except Exception:
            pass  # a syscall this kernel/arch does not have
    f.add_rule(seccomp.ERRNO(errno.EPERM), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    # clone without CLONE_THREAD is a fork; threads (with CLONE_THREAD) stay allowed
    f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone
    return f


SECCOMP = build_filter()


def lock_down(request, result_fd):
    os.setsid()
    os.chdir(request["workdir"])
    out = os.open("output", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    stdin = os.open("stdin", os.O_RDONLY)
    os.dup2(stdin, 0)
    os.closerange(3, result_fd)
    os.closerange(result_fd + 1, 65536)
    limits = request["limits"]
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (32, 32))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.getuid() == 0:
        os.setgroups([])
        os.setresgid(UID, UID, UID)
        os.setresuid(UID, UID, UID)
    if SECCOMP is not None:
        SECCOMP.load()


def execute(request):
    """Runs in the locked-down child; returns the result dict."""
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    try:
        code = compile(request["code"], "<snippet>", "exec")
    except SyntaxError as exc:
        return {"status": "failed", "detail": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    try:
        exec(code, namespace)
        value = None
        if request.get("call") is not None:
            value = repr(eval(request["call"], namespace))
            if request.get("twice") and repr(eval(request["call"], namespace)) != value:
                return {"status": "failed", "detail": "nondeterministic: two calls gave different results"}
    except SystemExit as exc:
        if exc.code in (None, 0):
            return {"status": "passed", "detail": None, "value": None}
        return {"status": "failed", "detail": f"SystemExit: {exc.code}"}
    except BaseException as exc:  # the snippet's failure, whatever it is
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return {"status": "failed", "detail": f"{type(exc).__name__}: {message}".rstrip(": ")}
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return {"status": "passed", "detail": None, "value": value}


def process_uid(pid):
    """Real uid of a process from /proc/PID/status (its /proc folder belongs to root once it
    changed uid, since that makes it non-dumpable)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return None


def kill_leftovers():
    """Kill what a snippet left behind: every process owned by this worker's own uid, which no
    other process on the machine uses. Selecting by uid (not by pid namespace) keeps this safe
    when a development run has no jail around the worker."""
    if os.getuid() != 0:
        return  # no uid drop happened (unprivileged development run): nothing is ours to kill
    for _ in range(5):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            if process_uid(entry) == UID:
                found = True
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        while True:  # reap what came back to us as the subreaper
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not found:
            return
        time.sleep(0.001)


def run(request):
    workdir = tempfile.mkdtemp(prefix="s", dir="/tmp")
    try:
        with open(os.path.join(workdir, "stdin"), "w") as fh:
            fh.write(request.get("stdin") or "")
        os.chown(workdir, UID, UID)
        request["workdir"] = workdir
        read_end, write_end = os.pipe()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.close(read_end)
                lock_down(request, write_end)
                result = execute(request)
                os.write(write_end, json.dumps(result).encode()[:RESULT_CAP])
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        pidfd = os.pidfd_open(pid)
        timed_out = not select.select([pidfd], [], [], request["timeout_s"])[0]
        if timed_out:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        elapsed = time.monotonic() - start
        kill_leftovers()
        os.set_blocking(read_end, False)
        try:
            raw = os.read(read_end, RESULT_CAP)
        except BlockingIOError:
            raw = b""
        os.close(read_end)
        with open(os.path.join(workdir, "output"), "rb") as fh:
            output = fh.read(OUTPUT_CAP).decode("utf-8", "replace")
        if timed_out:
            result = {"status": "timeout", "detail": f"no result within {request['timeout_s']} s"}
        elif raw:
            result = json.loads(raw)
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
            result = {"status": "timeout", "detail": f"CPU time limit of {request['limits']['cpu_s']} s"}
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            result = {"status": "crash", "detail": f"killed by {name}"}
        else:
            result = {"status": "crash", "detail": f"exited with code {os.WEXITSTATUS(status)} and no result"}
        result["output"] = output
        result["seconds"] = round(elapsed, 4)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.stdout.write(json.dumps({"ready": True, "seccomp": SECCOMP is not None, "uid": UID}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            response = run(request)
        except Exception as exc:  # a worker bug must not hang the caller
            response = {"status": "crash", "detail": f"sandbox worker error: {type(exc).__name__}: {exc}"}
        response["id"] = request.get("id")
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
