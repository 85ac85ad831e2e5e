"""The jailed side of the code sandbox, and its main process. Runs INSIDE bubblewrap under Debian's /usr/bin/python3,
with the stdlib, python3-seccomp and ``plain.py`` (beside this file) only: nothing of the host's.

The graded program never shares a process with anything it could use to forge a grade:

- the *supervisor* (this script's main process, root inside the jail) talks to the host, one JSON
  request per line on stdin and one response per line on stdout. It never runs request code.
- the *program zygote* is forked at start-up, before any request, and then only ever receives what
  a program may see (its code, stdin and limits): its memory has never held a test, an expected
  value or a verdict channel. It forks the *program process* P of each request. ``ctypes`` is not
  loaded here (and its extension is masked in the jail), so P has no native memory access.
- with tests, the *tests process* T, forked by the supervisor under another uid and kept across
  requests, runs the problem's prompt and tests with pristine builtins; the entry point is a
  proxy that sends its arguments to P as plain data and rebuilds P's answer from plain data
  (``plain.decode``). T alone writes the verdict, on a socket P never had. Whatever P does to
  itself (exit, forge, shadow, monkeypatch, fake equality, read its own memory) changes nothing T
  relies on. T is replaced when it dies, times out, was locked down with other limits, has
  served ``TestsProcess.RECYCLE`` requests, or retires itself (a thread left running, its CPU
  life used: ``jail_tests.serve``).
- a *sealed* worker (``--sealed``) serves the calls whose values become labels (Absolute Zero's
  outputs, programs of thought): the host rewrote its clock entry points before it forked
  anything (``clock_seal.py``), it never loads ``random``, and each program process stacks a
  filter that ends it at the first clock, entropy or process-identity read and refuses files.

Each child locks itself down before anything runs: own session, fresh work dir, capped output,
closed descriptors, rlimits, its own non-root uid, a seccomp deny-list (no fork or exec, no sockets
but AF_UNIX, no ptrace or process_vm_*).
"""

import fcntl
import gc
import json
import os
import select
import shutil
import signal
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import plain  # noqa: E402
from jail_common import (  # noqa: E402
    FRAME_CAP,
    HEADER,
    OUTPUT_CAP,
    PROGRAM_UID,
    SEALED,
    SECCOMP,
    TESTS_UID,
    VALUE_CAP,
    close_all_but,
    kill,
    lock_down,
    recv_message,
    send_message,
    warm,
)
from jail_program import zygote  # noqa: E402
from jail_tests import serve  # noqa: E402

# ---------------------------------------------------------------- the supervisor


class TestsProcess:
    """The tests process T: forked from the supervisor, locked down under TESTS_UID, then serving
    one request at a time on its control socket (``jail_tests.serve``)."""

    RECYCLE = 1000  # requests before a fresh T (its memory, its modules)

    def __init__(self, limits):
        # a wall-clock deadline bounds each request; T's CPU limit is for its whole life
        self.limits = {**limits, "cpu_s": max(limits["cpu_s"], 3600)}
        self.key = json.dumps(limits, sort_keys=True)
        self.control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                close_all_but(child_end.fileno())
                lock_down("/", self.limits, TESTS_UID, stdin=os.devnull, output=os.devnull, errors=os.devnull)
                serve(child_end)
                code = 0
            finally:
                os._exit(code)
        child_end.close()
        self.pid, self.pidfd, self.served = pid, os.pidfd_open(pid), 0

    def end(self, force=False):
        """Stop T (SIGKILL when ``force``) and its wait status."""
        if force:
            kill(self.pidfd)
        self.control.close()
        os.close(self.pidfd)
        return os.waitpid(self.pid, 0)[1]


class Supervisor:
    def __init__(self):
        # sealed workers get the same requests in the same order: what their history leaves (a
        # work dir's number, the heap's size) must differ between them, so that a value that reads
        # it disagrees across the runs
        self.dirs = int.from_bytes(os.urandom(3), "big") if SEALED else 0
        # (lists: objects the collector tracks, so its generation counts move too)
        self.history = [[] for _ in range(int.from_bytes(os.urandom(2), "big"))] if SEALED else []
        for _ in range(os.urandom(1)[0] % 64 if SEALED else 0):
            gc.collect()  # the collector's own statistics (gc.get_stats) differ between workers too
        gc.freeze()  # forks then share the warm heap instead of copying the pages the collector touches
        self.control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            self.control.close()
            zygote(zygote_end)
        zygote_end.close()
        self.zygote_pid = pid
        self.tests = None

    def _tests_for(self, limits):
        """The tests process for these limits: the running one, or a fresh one."""
        key = json.dumps(limits, sort_keys=True)
        if self.tests is not None and os.waitpid(self.tests.pid, os.WNOHANG)[0]:
            self.tests.control.close()  # it died between requests (and was reaped just now)
            os.close(self.tests.pidfd)
            self.tests = None
        if self.tests is not None and (self.tests.key != key or self.tests.served >= TestsProcess.RECYCLE):
            self.tests.end()
            self.tests = None
        if self.tests is None:
            self.tests = TestsProcess(limits)
        self.tests.served += 1
        return self.tests

    def _fresh_dir(self):
        """A new work dir in the jail's own /tmp (this process is the only one making them)."""
        while True:
            self.dirs += 1
            path = f"/tmp/p{self.dirs}"
            try:
                os.mkdir(path, 0o700)
                return path
            except FileExistsError:
                continue

    def run(self, request):
        workdir = self._fresh_dir()
        try:
            with open(os.path.join(workdir, "stdin"), "w") as fh:
                fh.write(request.get("stdin") or "")
            os.chown(workdir, PROGRAM_UID, PROGRAM_UID)
            request["workdir"] = workdir
            deadline = time.monotonic() + request["timeout_s"]
            start = time.monotonic()
            if request.get("tests") is not None:
                result = self._with_tests(request, deadline)
            else:
                result = self._alone(request, deadline)
            result["seconds"] = round(time.monotonic() - start, 4)
            result["output"] = read_capped(os.path.join(workdir, "output"), OUTPUT_CAP)
            result["extra"] = {"stderr": read_capped(os.path.join(workdir, "errors"), 4096)}
            return result
        finally:
            remove_tree(workdir)

    def _send_program(self, request, fd):
        """Hand the zygote a program to run (it enforces the deadline). The program's content goes
        to its work dir, never through the zygote: a program process, a fork of the zygote, then
        holds no trace of any other request, whatever it reads of its memory."""
        path = os.path.join(request["workdir"], "request.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"code": request["code"], "call": request.get("call")}, fh)
        os.chown(path, PROGRAM_UID, PROGRAM_UID)
        program = {k: request[k] for k in ("workdir", "limits", "twice", "timeout_s") if k in request}
        program["mode"] = request["mode"]
        send_message(self.control, program, [fd])
        os.close(fd)

    def _program_end(self, deadline, stop=False):
        """How the program ended (its wait status, and whether its time ran out), after telling
        the zygote to stop it when ``stop``."""
        if stop:
            send_message(self.control, {"stop": True})
        if not select.select([self.control], [], [], max(0.0, deadline - time.monotonic()) + 10.0)[0]:
            raise RuntimeError("the program zygote does not answer")
        reply, _ = recv_message(self.control)
        if reply is None:
            raise RuntimeError("the program zygote is gone")
        return reply["status"], reply["timed_out"]

    def _alone(self, request, deadline):
        """Program, stdio and call modes: P alone, its claims checked here."""
        request["mode"] = (
            "call" if request.get("call") is not None else ("stdio" if request.get("exit_ok") else "program")
        )
        read_end, write_end = os.pipe()
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 1 << 20)  # the claim is read once the program has ended
        try:
            self._send_program(request, write_end)
            status, timed_out = self._program_end(deadline)
            os.set_blocking(read_end, False)
            raw = b""
            try:
                while len(raw) <= FRAME_CAP and (chunk := os.read(read_end, 1 << 16)):
                    raw += chunk
            except BlockingIOError:
                pass
        finally:
            os.close(read_end)
        if timed_out:
            return {"status": "timeout", "detail": f"no result within {request['timeout_s']} s"}
        ended = ended_badly(status, request)
        claim = parse_claim(raw)
        if claim is None and request["mode"] == "stdio" and ended is None:
            return {"status": "passed", "detail": None}  # it exited 0 its own way: its output is graded
        if claim is None:
            return ended or {"status": "failed", "detail": "the program ended without a result"}
        if "error" in claim:
            return {"status": "failed", "detail": str(claim["error"])[:400]}
        if ended:
            return ended
        if request["mode"] != "call":
            return (
                {"status": "passed", "detail": None}
                if claim.get("ok") is True
                else {"status": "failed", "detail": "unreadable result"}
            )
        return judge_values(claim, request)

    def _with_tests(self, request, deadline):
        request["mode"] = "serve"
        program_end, tests_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._send_program(request, program_end.detach())
        tests = self._tests_for(request["limits"])
        job = {k: request.get(k) for k in ("prelude", "tests", "proxied", "optional", "stubs")}
        reply, tests_status, timed_out = None, None, False
        try:
            send_message(tests.control, job, [tests_end.fileno()], socket.MSG_NOSIGNAL)
            tests_end.close()
            if select.select([tests.control], [], [], max(0.0, deadline - time.monotonic()))[0]:
                reply, _ = recv_message(tests.control)
            else:
                timed_out = True
        except (OSError, ValueError):
            reply = None
        finally:
            tests_end.close()
        if reply is None:  # T timed out or died: it is replaced at the next request
            tests_status = tests.end(force=True)
            self.tests = None
        elif reply.get("retire"):  # T asked to be replaced (a thread left, its CPU life used)
            tests.end()
            self.tests = None
        program_status, _ = self._program_end(deadline, stop=True)  # the tests are over: so is P
        if timed_out:
            return {"status": "timeout", "detail": f"the tests did not finish within {request['timeout_s']} s"}
        if reply is None:
            return ended_badly(tests_status, request, "the tests") or {
                "status": "crash",
                "detail": "the tests process gave no verdict",
            }
        status, detail = reply["verdict"]
        if status == "passed":
            return {"status": "passed", "detail": None}
        if detail and "ended during a call" in detail:
            killed = os.WIFSIGNALED(program_status) and os.WTERMSIG(program_status) == signal.SIGKILL
            if killed and time.monotonic() >= deadline - 0.1:
                # killed at the deadline while the tests waited on it: a timeout (under load the
                # tests' verdict can arrive just before their own wait ends)
                return {"status": "timeout", "detail": f"the tests did not finish within {request['timeout_s']} s"}
            # say why: the program's own end (CPU limit, a signal) is the more useful detail
            ended = ended_badly(program_status, request)
            if ended and ended["status"] != "failed":
                return ended
        return {"status": "failed", "detail": detail}


def remove_tree(path):
    """A work dir is usually two flat files: unlink them; anything deeper goes through rmtree."""
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        os.rmdir(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


def read_capped(path, cap):
    """The first ``cap`` bytes of a file the program may have replaced: a link is not followed, a
    FIFO or device is not read (it could block the supervisor)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        return os.read(fd, cap).decode("utf-8", "replace")
    finally:
        os.close(fd)


def ended_badly(status, request, who="the program"):
    """A result for a process that did not exit with 0, else None."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "detail": f"CPU time limit of {request['limits']['cpu_s']} s"}
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if SEALED and sig == signal.SIGSYS:
            return {
                "status": "crash",
                "detail": f"{who} read a clock, entropy or its own process identity, which a sealed call may not "
                "(killed by SIGSYS): its value is not the same every time it runs",
            }
        return {"status": "crash", "detail": f"{who}: killed by {name}"}
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
        return {"status": "failed", "detail": f"{who} exited with code {os.WEXITSTATUS(status)}"}
    return None


def parse_claim(raw):
    if len(raw) > FRAME_CAP or len(raw) < HEADER.size:
        return None
    (size,) = HEADER.unpack(raw[: HEADER.size])
    try:
        claim = json.loads(raw[HEADER.size : HEADER.size + size])
    except (ValueError, RecursionError):
        return None
    return claim if type(claim) is dict else None


def judge_values(claim, request):
    """A call's value as the canonical repr of what ``plain.decode`` rebuilt here (never the
    program's repr; set elements sorted, so the hash seed of a worker does not show)."""
    encoded = claim.get("values")
    if (
        type(encoded) is not list
        or len(encoded) != (2 if request.get("twice") else 1)
        or any(type(e) is not str for e in encoded)
    ):
        return {"status": "failed", "detail": "the program ended without a result"}
    try:
        shown = [plain.canonical_repr(plain.decode(e)) for e in encoded]
    except plain.NotPlain as exc:
        return {"status": "failed", "detail": f"the return value is not plain data: {exc}"}
    if len(shown[0]) > VALUE_CAP:
        return {
            "status": "failed",
            "detail": f"return value too long: its repr has {len(shown[0])} characters (limit {VALUE_CAP})",
        }
    if len(shown) == 2 and shown[0] != shown[1]:
        return {"status": "failed", "detail": "nondeterministic: two calls gave different results"}
    return {"status": "passed", "detail": None, "value": shown[0]}


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if SECCOMP is None:
        sys.stdout.write(
            json.dumps({"ready": False, "error": "the seccomp filter cannot load (python3-seccomp is missing)"}) + "\n"
        )
        sys.stdout.flush()
        return
    warm()
    clock = {}
    if SEALED:  # the host rewrites this process's clock entry points before anything is forked
        sys.stdout.write(json.dumps({"hello": True, "pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        clock = json.loads(sys.stdin.readline() or "{}")
    supervisor = Supervisor()
    ready = {"ready": True, "seccomp": True, "uid": PROGRAM_UID, "sealed": SEALED, **clock}
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            response = supervisor.run(request)
        except Exception as exc:  # a worker bug must not hang the caller
            response = {"status": "crash", "detail": f"sandbox worker error: {type(exc).__name__}: {exc}"}
            if isinstance(exc, (RuntimeError, OSError)) and "zygote" in str(exc):
                response["id"] = request.get("id")
                sys.stdout.write(json.dumps(response) + "\n")
                sys.stdout.flush()
                return  # the host restarts this worker
        response["id"] = request.get("id")
        sys.stdout.write(json.dumps(response) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
