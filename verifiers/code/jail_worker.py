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
import secrets
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


# The harness's own references, taken before any snippet runs: a snippet that replaces
# os.write, repr, exec or the builtins module changes nothing the harness uses.
_write, _exit, _close = os.write, os._exit, os.close
_repr, _exec, _eval, _compile, _isinstance, _type, _str = repr, exec, eval, compile, isinstance, type, str
_BaseException, _SystemExit = BaseException, SystemExit
_PRISTINE_BUILTINS = dict(vars(__import__("builtins")))
VALUE_CAP = 16 * 1024

# Audit events a snippet may not raise: they reach the harness's frames and objects (where the
# run's nonce lives), trace or rewrite running code, load native code, or signal other processes.
# The hook is armed in every forked child (its pid differs from the worker's) and keeps its whole
# state in default arguments, which no snippet can reach or rebind (rebinding is audited too).
_WORKER_PID = os.getpid()


def _audit(
    event, args, _worker=_WORKER_PID, _getpid=os.getpid, _isinstance=isinstance, _str=str,
    _error=RuntimeError,
    _events=frozenset({
        "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile", "gc.get_objects",
        "gc.get_referrers", "gc.get_referents", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
        "ctypes.addressof", "ctypes.call_function", "ctypes.string_at", "ctypes.wstring_at",
        "code.__new__", "function.__new__", "cpython.remove_audit_hook",
    }),
    _attributes=frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "f_globals", "f_locals"}),
    _rebind=frozenset({"__code__", "__defaults__", "__kwdefaults__", "__globals__", "__closure__"}),
    _modules=frozenset({"ctypes", "_ctypes", "gc", "_testcapi", "_testinternalcapi", "_xxsubinterpreters"}),
):
    if _getpid() == _worker:
        return
    blocked = event in _events
    if event == "object.__getattr__":
        blocked = args[1] in _attributes
    elif event in ("object.__setattr__", "object.__delattr__"):
        blocked = args[1] in _attributes or args[1] in _rebind
    elif event == "import":
        blocked = args[0].split(".")[0] in _modules
    elif event in ("os.kill", "os.killpg"):
        blocked = args[0] not in (0, _getpid())
    elif event == "open" and _isinstance(args[0], _str):
        blocked = args[0].startswith("/proc/") and args[0].rsplit("/", 1)[-1] in ("mem", "maps", "environ")
    if blocked:
        raise _error(f"blocked by the sandbox: {event}")


sys.addaudithook(_audit)


def lock_down(request):
    os.setsid()
    os.chdir(request["workdir"])
    out = os.open("output", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    stdin = os.open("stdin", os.O_RDONLY)
    os.dup2(stdin, 0)
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
    SECCOMP.load()


def _failure(exc):
    text = _str(exc).strip()
    message = text.splitlines()[0][:300] if text else ""
    return ("failed", f"{_type(exc).__name__}: {message}".rstrip(": "), None)


def execute(request):
    """Runs in the locked-down child: the snippet, then the tests, then the call. Returns
    (status, detail, value) as the harness itself saw them: "passed" only when the tests (and
    the call) returned normally, whatever the snippet did to the process around them."""
    namespace = {"__name__": "__main__", "__builtins__": dict(_PRISTINE_BUILTINS)}
    sys.stdin = open(0, closefd=False)
    sys.stdout = stdout = open(1, "w", closefd=False)
    sys.stderr = stderr = open(2, "w", closefd=False)
    try:
        return _run_snippet(request, namespace)
    finally:
        for stream in (stdout, stderr):  # our own objects, not whatever sys.stdout is by now
            try:
                stream.flush()
            except _BaseException:
                pass


def _run_snippet(request, namespace):
    try:
        code = _compile(request["code"], "<snippet>", "exec")
        tests = _compile(request["tests"], "<tests>", "exec") if request.get("tests") else None
    except (SyntaxError, ValueError) as exc:
        return ("failed", f"{_type(exc).__name__}: {getattr(exc, 'msg', exc)}", None)
    value = None
    # the worker's own module would hand the snippet every harness global
    sys.modules["__main__"] = _type(sys)("__main__")
    try:
        _exec(code, namespace)
        if tests is not None:
            # the tests see the builtins as they were before the snippet ran
            _exec(tests, {**namespace, "__builtins__": dict(_PRISTINE_BUILTINS)})
        if request.get("call") is not None:
            value = _repr(_eval(request["call"], namespace))
            if request.get("twice") and _repr(_eval(request["call"], namespace)) != value:
                return ("failed", "nondeterministic: two calls gave different results", None)
    except _SystemExit as exc:
        # In stdio mode the output is what is graded, so a clean exit after printing it is fine;
        # anywhere else an exit means the tests did not run to their end.
        if request.get("exit_ok") and exc.code in (None, 0):
            return ("passed", None, None)
        return ("failed", f"exited before the tests finished (SystemExit: {exc.code})", None)
    except _BaseException as exc:  # the snippet's failure, whatever it is
        return _failure(exc)
    if value is not None and len(value) > VALUE_CAP:
        return ("failed", f"return value too long: its repr has {len(value)} characters (limit {VALUE_CAP})", None)
    return ("passed", None, value)


def report(result_fd, nonce, result):
    """The one genuine result: the nonce (known only to the worker and this harness) first."""
    status, detail, value = result
    _write(result_fd, _repr((nonce, status, detail, value)).encode("utf-8", "backslashreplace")[:RESULT_CAP])


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
        nonce = secrets.token_hex(16)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.close(read_end)
                # only the result pipe and the standard streams stay open
                os.closerange(3, write_end)
                os.closerange(write_end + 1, 65536)
                lock_down(request)
                report(write_end, nonce, execute(request))
                code = 0
            finally:
                _exit(code)
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
        raw = b""
        try:
            while len(raw) <= 2 * RESULT_CAP and (chunk := os.read(read_end, RESULT_CAP)):
                raw += chunk
        except BlockingIOError:
            pass
        os.close(read_end)
        with open(os.path.join(workdir, "output"), "rb") as fh:
            output = fh.read(OUTPUT_CAP).decode("utf-8", "replace")
        genuine = genuine_result(raw, nonce)
        if timed_out:
            result = {"status": "timeout", "detail": f"no result within {request['timeout_s']} s"}
        elif genuine is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            result = genuine
        elif raw and genuine is None:
            result = {"status": "failed", "detail": "the program wrote to the harness's result channel"}
        elif os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
            result = {"status": "timeout", "detail": f"CPU time limit of {request['limits']['cpu_s']} s"}
        elif os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            result = {"status": "crash", "detail": f"killed by {name}"}
        else:
            result = {"status": "failed", "detail": f"exited with code {os.WEXITSTATUS(status)} before the harness saw the tests finish"}
        result["output"] = output
        result["seconds"] = round(elapsed, 4)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def genuine_result(raw, nonce):
    """The harness's record, if the pipe holds exactly one with this run's nonce."""
    import ast

    try:
        record = ast.literal_eval(raw.decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        return None
    if not (isinstance(record, tuple) and len(record) == 4 and record[0] == nonce):
        return None
    _, status, detail, value = record
    return {"status": status, "detail": detail, "value": value}


def main():
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if SECCOMP is None:
        sys.stdout.write(json.dumps({"ready": False, "error": "the seccomp filter cannot load (python3-seccomp is missing)"}) + "\n")
        sys.stdout.flush()
        return
    sys.stdout.write(json.dumps({"ready": True, "seccomp": True, "uid": UID}) + "\n")
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
