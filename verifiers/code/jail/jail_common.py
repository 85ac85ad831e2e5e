"""What every process of the jail shares: the warm modules, the seccomp filters, the framing of
messages, the audit hook, and the lockdown each child goes through before anything else runs.
Stdlib only (and python3-seccomp): this runs under Debian's /usr/bin/python3 inside bubblewrap."""

import importlib
import json
import os
import resource
import signal
import socket
import struct
import sys

import plain
from jail_seccomp import PROGRAM_SECCOMP, SEALED, SEALED_SECCOMP, SECCOMP  # noqa: F401  (shared with the jail)

# Warm the stdlib modules that model-written code (and tests) usually import: a fork then shares
# them and a program that imports them pays nothing. A program process can load no new native code
# (its seccomp filter refuses executable mappings) and reads no bytecode (marshal is refused; it
# compiles from source), so the extension modules it may need are loaded here, before any request;
# others (the native parts of bz2, lzma, sqlite3, mmap, ssl) are not available to it. Not
# `threading`: its at-fork hook costs every fork 0.4 ms (a program that needs it compiles it).
# Imported by name so that no linter "fixes" them away.
WARM_MODULES = (
    "abc",
    "array",
    "base64",
    "bisect",
    "calendar",
    "cmath",
    "collections",
    "collections.abc",
    "contextlib",
    "contextvars",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "hashlib",
    "heapq",
    "io",
    "itertools",
    "json",
    "keyword",
    "math",
    "numbers",
    "operator",
    "random",
    "re",
    "statistics",
    "string",
    "struct",
    "textwrap",
    "time",
    "types",
    "typing",
    "unicodedata",
    "weakref",
    "zlib",
)
# A sealed worker (``--sealed``: the calls whose values become labels) never loads ``random`` (nor
# ``statistics``, which imports it): a program there that imports it seeds a generator, which
# needs entropy, which its filter refuses (SEALED_TRAP below), so randomness is not a capability
# it has, whatever name it reaches it by.
SEALED_WARM_MODULES = tuple(m for m in WARM_MODULES if m not in ("random", "statistics"))


def warm():
    for name in SEALED_WARM_MODULES if SEALED else WARM_MODULES:
        importlib.import_module(name)


PROGRAM_UID = int(sys.argv[1])
TESTS_UID = PROGRAM_UID + 1
OUTPUT_CAP = 64 * 1024
FRAME_CAP = plain.MAX_TEXT + 4096  # one message between T and P
VALUE_CAP = 16 * 1024  # characters of the repr of a call's value
HEADER = struct.Struct(">I")

# ---------------------------------------------------------------- framing (length + JSON)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
    write_all(fd, HEADER.pack(len(data)) + data)


class ChannelError(Exception):
    pass


def recv_frame(fd, cap=FRAME_CAP):
    """The next message, None at end of file; ChannelError when it is not a capped JSON object."""
    header = read_exact(fd, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
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
_BLOCKED_EVENTS = frozenset(
    {
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.cdata",
        "ctypes.addressof",
        "ctypes.call_function",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "code.__new__",
        "marshal.loads",
        "marshal.load",
    }
)
_BLOCKED_MODULES = frozenset(
    {
        "ctypes",
        "_ctypes",
        "_ctypes_test",
        "_testcapi",
        "_testinternalcapi",
        "_testbuffer",
        "_testmultiphase",
        "_xxsubinterpreters",
        "_xxtestfuzz",
    }
)


def _audit(
    event,
    args,
    _getpid=os.getpid,
    _type=type,
    _str=str,
    _bytes=bytes,
    _int=int,
    _error=RuntimeError,
    _fsdecode=os.fsdecode,
    _realpath=os.path.realpath,
    _events=_BLOCKED_EVENTS,
    _modules=_BLOCKED_MODULES,
):
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


_SEALED_EVENTS = frozenset(
    {
        "open",
        "os.listdir",
        "os.scandir",
        "os.chdir",
        "os.chmod",
        "os.rename",
        "os.remove",
        # the frames below the program's (the harness's, the zygote's: its clock-derived deadline,
        # its request counter) and the objects of the zygote's history
        "sys._getframe",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
    }
)
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})


def _sealed_audit(event, args, _events=_SEALED_EVENTS, _frames=_FRAME_ATTRIBUTES, _error=RuntimeError, _str=str):
    """A sealed program opens nothing and imports only what its worker loaded before it (its filter
    refuses the system calls either needs), and reaches no frame but its own: this says so first,
    in words."""
    if event == "object.__getattr__" and len(args) > 1 and args[1] in _frames:
        raise _error(f"blocked by the sandbox: {args[1]} (a sealed call sees no frame it did not make)")
    if event == "import":
        raise _error(
            f"blocked by the sandbox: import {_str(args[0])[:80]} (a sealed call has only the modules it started with)"
        )
    if event in _events:
        raise _error(f"blocked by the sandbox: {event} (a sealed call uses no file and sees only its own objects)")


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


def send_message(sock, obj, fds=(), flags=0):
    data = json.dumps(obj).encode()
    payload = HEADER.pack(len(data)) + data
    sent = socket.send_fds(sock, [payload], list(fds), flags)
    if sent < len(payload):
        sock.sendall(payload[sent:], flags)


def recv_message(sock):
    header, fds, _, _ = socket.recv_fds(sock, HEADER.size, 4)
    if not header:
        return None, fds
    while len(header) < HEADER.size:
        more = sock.recv(HEADER.size - len(header))
        if not more:
            return None, fds
        header += more
    (size,) = HEADER.unpack(header)
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            return None, fds
        data += chunk
    return json.loads(data), fds


def kill(pidfd):
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass
