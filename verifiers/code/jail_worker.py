"""The jailed side of the code sandbox. Runs INSIDE bubblewrap under Debian's /usr/bin/python3,
with the stdlib, python3-seccomp and ``plain.py`` (beside this file) only: nothing of the host's.

The graded program never shares a process with anything it could use to forge a grade:

- the *supervisor* (this script's main process, root inside the jail) talks to the host, one JSON
  request per line on stdin and one response per line on stdout. It never runs request code.
- the *program zygote* is forked at start-up, before any request, and then only ever receives what
  a program may see (its code, stdin and limits): its memory has never held a test, an expected
  value or a verdict channel. It forks the *program process* P of each request. ``ctypes`` is not
  loaded here (and its extension is masked in the jail), so P has no native memory access.
- with tests, the supervisor forks the *tests process* T under another uid: the problem's prompt
  and tests run there with pristine builtins and modules; the entry point is a proxy that sends its
  arguments to P as plain data and rebuilds P's answer from plain data (``plain.decode``). T alone
  writes the verdict, on a pipe P never had. Whatever P does to itself (exit, forge, shadow,
  monkeypatch, fake equality, read its own memory) changes nothing T relies on.

Each child locks itself down before anything runs: own session, fresh work dir, capped output,
closed descriptors, rlimits, its own non-root uid, a seccomp deny-list (no fork or exec, no sockets
but AF_UNIX, no ptrace or process_vm_*).
"""

import builtins
import errno
import fcntl
import gc
import importlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import plain  # noqa: E402

# Warm the stdlib modules that model-written code (and tests) usually import: a fork then shares
# them and a program that imports them pays nothing. A program process can load no new native code
# (its seccomp filter refuses executable mappings) and reads no bytecode (marshal is refused; it
# compiles from source), so the extension modules it may need are loaded here, before any request;
# others (the native parts of bz2, lzma, sqlite3, mmap, ssl) are not available to it. Not
# `threading`: its at-fork hook costs every fork 0.4 ms (a program that needs it compiles it).
# Imported by name so that no linter "fixes" them away.
WARM_MODULES = (
    "abc", "array", "base64", "bisect", "calendar", "cmath", "collections", "collections.abc", "contextlib",
    "contextvars", "copy", "csv", "dataclasses", "datetime", "decimal", "enum", "fractions", "functools", "hashlib",
    "heapq", "io", "itertools", "json", "keyword", "math", "numbers", "operator", "random", "re", "statistics",
    "string", "struct", "textwrap", "time", "types", "typing", "unicodedata", "weakref", "zlib",
)
for _name in WARM_MODULES:
    importlib.import_module(_name)

PROGRAM_UID = int(sys.argv[1])
TESTS_UID = PROGRAM_UID + 1
OUTPUT_CAP = 64 * 1024
FRAME_CAP = plain.MAX_TEXT + 4096  # one message between T and P
VALUE_CAP = 16 * 1024  # characters of the repr of a call's value
CLONE_THREAD = 0x00010000
_HEADER = struct.Struct(">I")

DENIED_SYSCALLS = [
    "fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev", "mount",
    "umount2", "pivot_root", "chroot", "unshare", "setns", "init_module", "finit_module", "delete_module",
    "kexec_load", "bpf", "perf_event_open", "io_uring_setup", "userfaultfd", "add_key", "request_key",
    "keyctl", "setsid", "setpgid", "reboot", "swapon", "swapoff", "acct",
]


PROT_EXEC = 0x4


def build_filter(program: bool = False):
    """The seccomp deny-list; a program process's also refuses new executable memory (mmap,
    mprotect with PROT_EXEC): no native code of its own (a written .so, a JIT) can run there."""
    try:
        import seccomp
    except ImportError:
        return None
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    if program:
        for name in ("mmap", "mprotect", "pkey_mprotect"):
            try:
                f.add_rule(seccomp.ERRNO(errno.EPERM), name, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
            except Exception:
                pass
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
PROGRAM_SECCOMP = build_filter(program=True)

# ---------------------------------------------------------------- framing (length + JSON)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_exact(fd, n):
    """n bytes, or None at end of file."""
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send_frame(fd, obj):
    data = json.dumps(obj).encode()
    write_all(fd, _HEADER.pack(len(data)) + data)


class ChannelError(Exception):
    pass


def recv_frame(fd, cap=FRAME_CAP):
    """The next message, None at end of file; ChannelError when it is not a capped JSON object."""
    header = read_exact(fd, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > cap:
        raise ChannelError(f"a message of {size} bytes (limit {cap})")
    data = read_exact(fd, size)
    if data is None:
        return None
    try:
        message = json.loads(data)
    except (ValueError, RecursionError):
        raise ChannelError("a message that is not JSON") from None
    if type(message) is not dict:
        raise ChannelError("a message that is not an object")
    return message


# ---------------------------------------------------------------- the lockdown of every child

# Audit events a program may not raise: loading native code (a memory-reading primitive), building
# code objects by hand or unmarshalling them (crafted bytecode reads memory), signalling other
# processes. Defence in depth: the program's process holds nothing worth reading (it was forked
# from a zygote that never saw another request's content), and the jail has neither /proc nor ctypes.
_BLOCKED_EVENTS = frozenset({
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.addressof", "ctypes.call_function",
    "ctypes.string_at", "ctypes.wstring_at", "code.__new__", "marshal.loads", "marshal.load",
})
_BLOCKED_MODULES = frozenset({
    "ctypes", "_ctypes", "_ctypes_test", "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase",
    "_xxsubinterpreters", "_xxtestfuzz",
})


def _audit(event, args, _getpid=os.getpid, _type=type, _str=str, _bytes=bytes, _int=int, _error=RuntimeError,
           _fsdecode=os.fsdecode, _realpath=os.path.realpath, _events=_BLOCKED_EVENTS, _modules=_BLOCKED_MODULES):
    blocked = event in _events
    if event == "import":
        blocked = _str(args[0]).split(".")[0] in _modules
    elif event in ("os.kill", "os.killpg"):
        blocked = args[0] not in (0, _getpid())
    elif event == "open":
        path = args[0]
        kind = _type(path)
        if kind is _int:
            return
        # a str or bytes path, in any spelling, resolved; other path-likes could answer differently later
        blocked = kind is not _str and kind is not _bytes or _realpath(_fsdecode(path)).startswith("/proc")
    if blocked:
        raise _error(f"blocked by the sandbox: {event}")


def lock_down(workdir, limits, uid, stdin="stdin", output="output", errors="errors", program=False):
    os.setsid()
    os.chdir(workdir)
    for fd, name in ((1, output), (2, errors)):
        flags = os.O_WRONLY | (0 if name == os.devnull else os.O_CREAT | os.O_TRUNC)
        os.dup2(os.open(name, flags, 0o600), fd)
    os.dup2(os.open(stdin, os.O_RDONLY), 0)
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu_s"], limits["cpu_s"] + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_NPROC, (32, 32))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    (PROGRAM_SECCOMP if program else SECCOMP).load()


def close_all_but(*keep):
    """Close every descriptor above 2 except ``keep``."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def describe(exc):
    try:
        text = str(exc).strip()
    except BaseException:
        text = ""
    message = text.splitlines()[0][:300] if text else ""
    return f"{type(exc).__name__}: {message}".rstrip(": ")


# ---------------------------------------------------------------- the program process (P)


def program_process(request, channel):
    """Locked down, reads its own program from its work dir (the zygote never held it), runs it,
    then does what the mode asks; everything it says goes on ``channel`` and is taken as a claim,
    never as a verdict."""
    lock_down(request["workdir"], request["limits"], PROGRAM_UID, program=True)
    sys.dont_write_bytecode = True
    sys.pycache_prefix = "/nonexistent"  # imports compile from source: marshal is refused below
    sys.addaudithook(_audit)
    with open("request.json", encoding="utf-8") as fh:
        request = {**request, **json.load(fh)}
    sys.stdin = open(0, closefd=False)
    sys.stdout = stdout = open(1, "w", closefd=False)
    sys.stderr = stderr = open(2, "w", closefd=False)
    # the zygote's own module would hand the program the harness's globals
    sys.modules["__main__"] = type(sys)("__main__")
    namespace = {"__name__": "__main__", "__builtins__": dict(vars(builtins))}
    mode = request["mode"]
    try:
        try:
            exec(compile(request["code"], "<program>", "exec"), namespace)
        except SystemExit as exc:
            if mode == "stdio" and exc.code in (None, 0):
                send_frame(channel, {"ok": True})
                return
            send_frame(channel, {"error": f"the program exited (SystemExit: {exc.code})"})
            return
        except BaseException as exc:
            send_frame(channel, {"error": describe(exc)})
            return
        if mode == "serve":
            send_frame(channel, {"ready": True})
            serve_calls(namespace, channel)
        elif mode == "call":
            send_frame(channel, call_twice(namespace, request))
        else:
            _join_threads()
            send_frame(channel, {"ok": True})
    finally:
        for stream in (stdout, stderr):
            try:
                stream.flush()
            except BaseException:
                pass


def _join_threads():
    """A program that prints from a thread it did not join still prints everything (as at the end
    of a script): wait for its non-daemon threads before claiming the run is over."""
    threading = sys.modules.get("threading")
    if threading is None:  # not imported by the program: it started no such thread
        return
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()


def call_twice(namespace, request):
    """``f(input)`` (twice when asked), each value plain-encoded."""
    values = []
    for _ in range(2 if request.get("twice") else 1):
        try:
            text = plain.encode(eval(request["call"], namespace))
        except plain.NotPlain as exc:
            return {"error": f"the return value is not plain data: {exc}"}
        except SystemExit as exc:
            return {"error": f"the program exited (SystemExit: {exc.code})"}
        except BaseException as exc:
            return {"error": describe(exc)}
        if len(text) > 4 * VALUE_CAP:  # the verdict pipe is read once the program has ended
            return {"error": f"return value too long: {len(text)} characters encoded (limit {4 * VALUE_CAP})"}
        values.append(text)
    return {"values": values}


def serve_calls(namespace, channel):
    """Answer the tests' calls until they hang up: arguments arrive as plain data, the answer (a
    value, or the exception raised) goes back as plain data."""
    while True:
        message = recv_frame(channel)
        if message is None:
            return
        try:
            args, kwargs = plain.decode(message["args"])
            function = namespace[message["name"]]
        except BaseException as exc:
            send_frame(channel, {"raised": "RuntimeError", "message": f"bad call: {describe(exc)}"})
            continue
        try:
            value = function(*args, **kwargs)
        except SystemExit as exc:
            send_frame(channel, {"exited": str(exc.code)[:100]})
            continue
        except BaseException as exc:
            send_frame(channel, {"raised": type(exc).__name__, "message": describe(exc)})
            continue
        try:
            send_frame(channel, {"value": plain.encode(value)})
        except plain.NotPlain as exc:
            send_frame(channel, {"not_plain": str(exc)})


def zygote(control):
    """Forks one program process per request and watches it: until it ends, until its deadline
    (then it is killed), or until the supervisor says stop (the tests are over); then reports how
    it ended. A stop that arrives after the program ended is ignored."""
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    while True:
        try:
            request, fds = recv_message(control)
        except (ConnectionError, OSError, ValueError):
            os._exit(0)
        if request is None:
            os._exit(0)
        if "workdir" not in request:
            continue  # a late stop
        deadline = time.monotonic() + request["timeout_s"]
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                close_all_but(fds[0])
                program_process(request, fds[0])
                code = 0
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)
        timed_out = False
        while True:
            ready = select.select([pidfd, control], [], [], max(0.0, deadline - time.monotonic()))[0]
            if pidfd in ready:
                break
            if not ready:
                timed_out = True
            elif recv_message(control)[0] is None:
                os._exit(0)  # the supervisor is gone
            kill(pidfd)  # out of time, or told to stop
            break
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        send_message(control, {"status": status, "timed_out": timed_out})


def send_message(sock, obj, fds=()):
    data = json.dumps(obj).encode()
    payload = _HEADER.pack(len(data)) + data
    sent = socket.send_fds(sock, [payload], list(fds))
    if sent < len(payload):
        sock.sendall(payload[sent:])


def recv_message(sock):
    header, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 4)
    if not header:
        return None, fds
    while len(header) < _HEADER.size:
        more = sock.recv(_HEADER.size - len(header))
        if not more:
            return None, fds
        header += more
    (size,) = _HEADER.unpack(header)
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            return None, fds
        data += chunk
    return json.loads(data), fds


# ---------------------------------------------------------------- the tests process (T)


class ProgramFault(BaseException):
    """The program broke the call protocol (ended, exited, sent something that is not plain data).
    Not an ``Exception``, so a test's ``except Exception`` cannot swallow it, and it is remembered:
    the verdict is a failure whatever the tests do after it."""


_CONTROL_FLOW = (StopIteration, StopAsyncIteration)  # raised into a test, they end loops silently


def make_proxy(name, channel, faults):
    def fault(message):
        faults.append(message)
        raise ProgramFault(message)

    def proxy(*args, **kwargs):
        if faults:
            raise ProgramFault(faults[0])
        try:
            payload = plain.encode([list(args), kwargs])
        except plain.NotPlain as exc:
            fault(f"the tests pass {name} an argument that cannot cross to the program ({exc})")
        try:
            send_frame(channel, {"name": name, "args": payload})
            reply = recv_frame(channel)
        except (OSError, ChannelError) as exc:
            fault(f"the program broke the call protocol ({describe(exc)})")
        if reply is None:
            fault(f"the program ended during a call of {name}")
        if "value" in reply and type(reply["value"]) is str:
            try:
                return plain.decode(reply["value"])
            except plain.NotPlain as exc:
                fault(f"{name} returned something that is not plain data ({exc})")
        if "not_plain" in reply:
            fault(f"{name} returned something that is not plain data ({str(reply['not_plain'])[:200]})")
        if "exited" in reply:
            fault(f"the program exited during a call of {name} (SystemExit: {str(reply['exited'])[:100]})")
        if "raised" in reply:
            kind = getattr(builtins, str(reply["raised"]), None)
            message = str(reply.get("message", ""))[:300]
            ordinary = isinstance(kind, type) and issubclass(kind, Exception) and not issubclass(kind, _CONTROL_FLOW)
            try:
                error = kind(message) if ordinary else RuntimeError(f"{str(reply['raised'])[:60]}: {message}")
            except Exception:  # an exception type that takes other arguments
                error = RuntimeError(f"{kind.__name__}: {message}")
            raise error
        fault("the program sent an answer the tests cannot read")

    proxy.__name__ = proxy.__qualname__ = name
    return proxy


def tests_process(request, channel):
    """Runs the prompt and the tests (never the program) and returns the verdict."""
    namespace = {"__name__": "__main__"}
    prelude = request.get("prelude") or ""
    try:
        try:
            code = compile(prelude, "<prompt>", "exec")
        except SyntaxError:
            code = compile(prelude + "\n    pass\n", "<prompt>", "exec")  # a signature with no body
        exec(code, namespace)
    except BaseException as exc:
        return ("failed", f"the problem's prompt does not run on its own: {describe(exc)}")
    faults = []
    for name in request["proxied"]:
        namespace[name] = make_proxy(name, channel, faults)
    for name in request.get("optional") or []:
        # a name the prompt already binds (a helper, a star import) stays the prompt's own
        if name not in namespace or name in (request.get("stubs") or []):
            namespace[name] = make_proxy(name, channel, faults)
    try:
        hello = recv_frame(channel)
    except (OSError, ChannelError) as exc:
        return ("failed", f"the program broke the call protocol ({describe(exc)})")
    if hello is None or "ready" not in hello:
        why = str((hello or {}).get("error") or "it ended")[:300]
        return ("failed", f"the program failed before the tests ran: {why}")
    try:
        exec(compile(request["tests"], "<tests>", "exec"), namespace)
    except BaseException as exc:
        return ("failed", faults[0] if faults else describe(exc))
    if faults:
        return ("failed", faults[0])
    return ("passed", None)


# ---------------------------------------------------------------- the supervisor


class Supervisor:
    def __init__(self):
        gc.freeze()  # forks then share the warm heap instead of copying the pages the collector touches
        self.control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            self.control.close()
            zygote(zygote_end)
        zygote_end.close()
        self.zygote_pid = pid

    def run(self, request):
        workdir = tempfile.mkdtemp(prefix="p", dir="/tmp")
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
        request["mode"] = "call" if request.get("call") is not None else ("stdio" if request.get("exit_ok") else "program")
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
            return {"status": "passed", "detail": None} if claim.get("ok") is True else {"status": "failed", "detail": "unreadable result"}
        return judge_values(claim, request)

    def _with_tests(self, request, deadline):
        request["mode"] = "serve"
        program_end, tests_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._send_program(request, program_end.detach())
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.close(read_end)
                self.control.close()
                channel = tests_end.detach()
                close_all_but(channel, write_end)
                lock_down("/", request["limits"], TESTS_UID, stdin=os.devnull, output=os.devnull, errors=os.devnull)
                write_all(write_end, json.dumps(tests_process(request, channel)).encode())
                code = 0
            finally:
                os._exit(code)
        tests_end.close()
        os.close(write_end)
        tests_pidfd = os.pidfd_open(pid)
        timed_out = not select.select([tests_pidfd], [], [], max(0.0, deadline - time.monotonic()))[0]
        if timed_out:
            kill(tests_pidfd)
        os.close(tests_pidfd)
        _, tests_status = os.waitpid(pid, 0)
        program_status, _ = self._program_end(deadline, stop=True)  # the tests are over: so is P
        raw = b""
        while chunk := os.read(read_end, 1 << 16):
            raw += chunk
        os.close(read_end)
        if timed_out:
            return {"status": "timeout", "detail": f"the tests did not finish within {request['timeout_s']} s"}
        try:
            status, detail = json.loads(raw)
        except ValueError:
            return ended_badly(tests_status, request, "the tests") or {"status": "crash", "detail": "the tests process gave no verdict"}
        if status == "passed" and os.WIFEXITED(tests_status) and os.WEXITSTATUS(tests_status) == 0:
            return {"status": "passed", "detail": None}
        if detail and "ended during a call" in detail:
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


def kill(pidfd):
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass


def ended_badly(status, request, who="the program"):
    """A result for a process that did not exit with 0, else None."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return {"status": "timeout", "detail": f"CPU time limit of {request['limits']['cpu_s']} s"}
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return {"status": "crash", "detail": f"{who}: killed by {name}"}
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
        return {"status": "failed", "detail": f"{who} exited with code {os.WEXITSTATUS(status)}"}
    return None


def parse_claim(raw):
    if len(raw) > FRAME_CAP or len(raw) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(raw[: _HEADER.size])
    try:
        claim = json.loads(raw[_HEADER.size : _HEADER.size + size])
    except (ValueError, RecursionError):
        return None
    return claim if type(claim) is dict else None


def judge_values(claim, request):
    """A call's value as the canonical repr of what ``plain.decode`` rebuilt here (never the
    program's repr; set elements sorted, so the hash seed of a worker does not show)."""
    encoded = claim.get("values")
    if type(encoded) is not list or len(encoded) != (2 if request.get("twice") else 1) or any(type(e) is not str for e in encoded):
        return {"status": "failed", "detail": "the program ended without a result"}
    try:
        shown = [plain.canonical_repr(plain.decode(e)) for e in encoded]
    except plain.NotPlain as exc:
        return {"status": "failed", "detail": f"the return value is not plain data: {exc}"}
    if len(shown[0]) > VALUE_CAP:
        return {"status": "failed", "detail": f"return value too long: its repr has {len(shown[0])} characters (limit {VALUE_CAP})"}
    if len(shown) == 2 and shown[0] != shown[1]:
        return {"status": "failed", "detail": "nondeterministic: two calls gave different results"}
    return {"status": "passed", "detail": None, "value": shown[0]}


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if SECCOMP is None:
        sys.stdout.write(json.dumps({"ready": False, "error": "the seccomp filter cannot load (python3-seccomp is missing)"}) + "\n")
        sys.stdout.flush()
        return
    supervisor = Supervisor()
    sys.stdout.write(json.dumps({"ready": True, "seccomp": True, "uid": PROGRAM_UID}) + "\n")
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
