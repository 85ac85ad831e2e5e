"""The program side: the zygote, forked before the worker reads any request, and the program
process it forks per request. The zygote is handed a work dir and limits, never a program: the
program reads its own from its work dir, so its address space holds no trace of another request."""

import builtins
import gc
import json
import os
import select
import sys
import time

import plain
from jail_common import (
    PROGRAM_UID,
    SEALED,
    SEALED_SECCOMP,
    VALUE_CAP,
    _audit,
    _sealed_audit,
    close_all_but,
    describe,
    kill,
    lock_down,
    recv_frame,
    recv_message,
    send_frame,
    send_message,
)


def program_process(request, channel):
    """Locked down, reads its own program from its work dir (the zygote never held it), runs it,
    then does what the mode asks; everything it says goes on ``channel`` and is taken as a claim,
    never as a verdict."""
    lock_down(request["workdir"], request["limits"], PROGRAM_UID, program=True)
    # the supervisor's file, read before anything of it runs (and before the audit hook: its open
    # checks cost more than the read)
    request = {**request, **json.loads(_read_all("request.json"))}
    sys.dont_write_bytecode = True
    sys.pycache_prefix = "/nonexistent"  # imports compile from source: marshal is refused below
    sys.addaudithook(_audit)
    sys.stdin = open(0, closefd=False)
    sys.stdout = stdout = open(1, "w", closefd=False)
    sys.stderr = stderr = open(2, "w", closefd=False)
    # the zygote's own module would hand the program the harness's globals
    sys.modules["__main__"] = type(sys)("__main__")
    namespace = {"__name__": "__main__", "__builtins__": dict(vars(builtins))}
    mode = request["mode"]
    if SEALED:  # the last thing before the program: from here on it sees no clock, entropy or file
        gc.collect()  # the collector's counts start where every run's do, not where the zygote's history left them
        sys.addaudithook(_sealed_audit)
        SEALED_SECCOMP.load()
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


def _read_all(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


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
