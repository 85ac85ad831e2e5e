"""The tests side: the problem's prompt and tests run here, under their own uid, with pristine
builtins and no program code; the entry point is a proxy that calls into the program's process,
plain data both ways. Only this process writes the verdict.

The process is kept across requests (``serve``): it never runs a program's code, only the
problem's own prompt and tests (dataset text), each in a fresh namespace with the builtins as they
were when it started, and it receives from a program nothing but plain data. Forking and locking
down a process per graded program was most of a grade's cost."""

import builtins
import os
import resource
import signal
import sys

import plain
from jail_common import ChannelError, describe, recv_frame, recv_message, send_frame, send_message


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


_COMPILED = {}  # the problems' own prompts and tests, compiled once per text (this process lives on)
_COMPILED_CHARS = 4 << 20  # the cache's size in characters of source, at most
CPU_LIFE_S = 600  # CPU seconds this process serves for, well inside its limit


def _compiled(text, name):
    code = _COMPILED.get((name, text))
    if code is None:
        if len(_COMPILED) > 512 or sum(len(t) for _, t in _COMPILED) + len(text) > _COMPILED_CHARS:
            _COMPILED.clear()
        code = _COMPILED[(name, text)] = compile(text, name, "exec")
    return code


def tests_process(request, channel):
    """Runs the prompt and the tests (never the program) and returns the verdict."""
    namespace = {"__name__": "__main__"}
    prelude = request.get("prelude") or ""
    try:
        try:
            code = _compiled(prelude, "<prompt>")
        except SyntaxError:
            code = _compiled(prelude + "\n    pass\n", "<prompt>")  # a signature with no body
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
        exec(_compiled(request["tests"], "<tests>"), namespace)
    except BaseException as exc:
        return ("failed", faults[0] if faults else describe(exc))
    if faults:
        return ("failed", faults[0])
    return ("passed", None)


def serve(control):
    """One request at a time from the supervisor: the request and the channel to its program's
    process in, the verdict out; until the supervisor hangs up."""
    table = vars(builtins)
    pristine = dict(table)
    recursion = sys.getrecursionlimit()
    while True:
        try:
            request, fds = recv_message(control)
        except (OSError, ValueError):
            return
        if request is None or not fds:
            return
        table.clear()  # no builtin is looked up until the update is done
        table.update(pristine)
        try:
            verdict = tests_process(request, fds[0])
        except BaseException as exc:  # tests_process keeps its own errors; this is the last net
            verdict = ("failed", describe(exc))
        finally:
            for fd in fds:
                os.close(fd)
        # what a problem's tests may leave for the next one (a timer, a recursion limit, a thread),
        # and this process's CPU limit is for its whole life: undo it, or retire (the supervisor
        # then starts a fresh process for the next request)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.setrecursionlimit(recursion)
        threads = sys.modules.get("threading")
        used = resource.getrusage(resource.RUSAGE_SELF)
        retire = bool(threads and threads.active_count() > 1) or used.ru_utime + used.ru_stime > CPU_LIFE_S
        send_message(control, {"verdict": list(verdict), "retire": retire})
        if retire:
            return
