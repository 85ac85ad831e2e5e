"""A model trying to game the code reward: every attack a policy could learn must grade as failed
through the real verifier and sandbox, while honest programs keep their grades. One test per
attack class of issue 10 (early exits, forged results on inherited descriptors, replaced
harness functions, signals, exit hooks and threads, introspection); the attacks from inside the
program's own memory are in test_reward_isolation.py."""

import textwrap

import pytest

from schemas.config import SandboxConfig
from schemas.errors import HardforgeError
from verifiers.base import GradeItem
from verifiers.code.sandbox import CodeSandbox, Limits
from verifiers.code.verifier import CodeVerifier

STATEMENT = 'def add(a, b):\n    """Return a + b."""\n'
TESTS = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n\ncheck(add)\n"
WRONG = "def add(a, b):\n    return a - b\n"


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier(SandboxConfig(workers=2, timeout_s=3.0))
    yield v
    v.close()


def grade(verifier, body: str):
    completion = f"```python\n{textwrap.dedent(body).strip()}\n```"
    (result,) = verifier.grade([GradeItem(TESTS, completion, STATEMENT, {"entry_point": "add"})])
    return result


def assert_fails(verifier, body: str):
    result = grade(verifier, body)
    assert not result.correct and result.score == 0.0, (body, result)
    return result


def test_honest_programs_keep_their_grades(verifier):
    assert grade(verifier, "def add(a, b):\n    return a + b").correct
    assert not grade(verifier, WRONG).correct


EXITS = [
    "import sys\nsys.exit(0)",
    "import sys\nsys.exit()",
    "raise SystemExit",
    "raise SystemExit(0)",
    "exit()",
    "quit(0)",
    "import os\nos._exit(0)",
    "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
    "import signal\nsignal.raise_signal(signal.SIGTERM)",
    "import os\nos.abort()",
    # exiting from inside the function, while the tests call it
    "def add(a, b):\n    import os\n    os._exit(0)",
    "def add(a, b):\n    raise SystemExit(0)",
]


@pytest.mark.parametrize("body", EXITS)
def test_ending_the_process_early_with_success_fails(verifier, body):
    assert_fails(verifier, f"{WRONG}\n{body}")


FORGERIES = [
    # a record in the worker's old JSON format, and one in the tuple format without the nonce
    'import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b\'{"status": "passed", "detail": null, "value": null}\')\n    except OSError:\n        pass\nos._exit(0)',
    "import os\nfor fd in range(0, 64):\n    try:\n        os.write(fd, repr(('0' * 32, 'passed', None, None)).encode())\n    except OSError:\n        pass\nos._exit(0)",
    # the descriptors listed in /proc
    "import os\nfor fd in os.listdir('/proc/self/fd'):\n    try:\n        os.write(int(fd), b\"('x', 'passed', None, None)\")\n    except OSError:\n        pass\nos._exit(0)",
]


@pytest.mark.parametrize("body", FORGERIES)
def test_writing_to_inherited_descriptors_fails(verifier, body):
    assert_fails(verifier, f"{WRONG}\n{body}")


REPLACEMENTS = [
    # the harness's exec, repr and writer, and the assert machinery the tests use
    "import builtins\nbuiltins.exec = lambda *a, **k: None\nbuiltins.eval = lambda *a, **k: None",
    "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})",
    "__builtins__['AssertionError'] = KeyError",
    "import os\nos.write = lambda fd, data: len(data)\nos._exit = lambda code: None",
    # the worker's own module and functions
    "import __main__\n__main__.execute = lambda request: ('passed', None, None)\n__main__.report = None",
    "import sys\nsys.modules['__main__'].__dict__.clear()",
    # a fake check(): the tests define their own after the program
    "def check(candidate):\n    pass",
]


@pytest.mark.parametrize("body", REPLACEMENTS)
def test_replacing_what_the_harness_relies_on_fails(verifier, body):
    assert_fails(verifier, f"{WRONG}\n{body}")


SIGNALS = [
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
    "import os, signal\nos.killpg(0, signal.SIGKILL)",
    "import os, signal\nos.kill(1, signal.SIGKILL)",
    "import os, signal\nos.kill(-1, signal.SIGKILL)",
    "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)",
]


@pytest.mark.parametrize("body", SIGNALS)
def test_killing_or_signalling_the_harness_fails(verifier, body):
    assert_fails(verifier, f"{WRONG}\n{body}")
    assert grade(verifier, "def add(a, b):\n    return a + b").correct  # the sandbox still works


HOOKS = [
    "import atexit, os\natexit.register(os._exit, 0)\nraise SystemExit(0)",
    "import atexit\natexit.register(lambda: None)\nimport sys\nsys.exit(0)",
    "import threading, os\nthreading.Thread(target=os._exit, args=(0,)).start()\nimport time\ntime.sleep(1)",
    # a thread that ends the process in the middle of the tests
    "import threading, os, time\ndef later():\n    time.sleep(0.05)\n    os._exit(0)\nthreading.Thread(target=later).start()\n"
    "def add(a, b):\n    time.sleep(0.2)\n    return a - b",
    "import signal, os\nsignal.signal(signal.SIGALRM, lambda *a: os._exit(0))\nsignal.setitimer(signal.ITIMER_REAL, 0.01)\n"
    "def add(a, b):\n    import time\n    time.sleep(0.2)\n    return a - b",
]


@pytest.mark.parametrize("body", HOOKS)
def test_exit_hooks_and_background_threads_fail(verifier, body):
    assert_fails(verifier, f"{WRONG}\n{body}")


INTROSPECTION = [
    # walk up to the harness's frames, scan the heap, trace: the program's process holds no
    # verdict channel, no tests and no expected values, so there is nothing to find
    "import sys\nf = sys._getframe()\nwhile f:\n    f.f_globals.pop('check', None)\n    f = f.f_back",
    "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    print(e.__traceback__.tb_frame.f_back)",
    "import gc\nfor o in gc.get_objects():\n    if isinstance(o, dict) and 'tests' in o:\n        o['tests'] = ''",
    "import sys\nsys.settrace(lambda *a: None)",
]


@pytest.mark.parametrize("body", INTROSPECTION)
def test_introspection_finds_nothing_to_forge(verifier, body):
    assert_fails(verifier, f"{WRONG}\n{body}")


NATIVE = ["import ctypes\nctypes.string_at(0, 8)", "open('/proc/self/mem', 'rb')"]


@pytest.mark.parametrize("body", NATIVE)
def test_memory_primitives_are_refused(verifier, body):
    result = assert_fails(verifier, f"def add(a, b):\n    return a + b\n{body}")
    assert "the program failed before the tests ran" in (result.detail or ""), result


def test_over_long_return_value_is_a_clean_failure():
    with CodeSandbox(workers=1, limits=Limits(timeout_s=5.0)) as box:
        (result,) = box.run_calls(["def f(n):\n    return 'x' * n"], ["10 ** 6"])
        assert (result.status, result.value) == ("failed", None)
        assert result.detail.startswith("return value too long")


def test_determinism_check_holds_with_one_worker():
    code = "def f(x):\n    return list({str(i) * 3 for i in range(40)})"
    with CodeSandbox(workers=1) as box:
        outcomes = {box.run_calls([code], ["0"])[0].status for _ in range(4)}
    # set order follows the string hash seed, which differs between the two processes
    assert outcomes == {"failed"}


def test_sandbox_refuses_to_start_without_seccomp(monkeypatch, tmp_path):
    import shutil

    import verifiers.code.workers as workers_module

    jail = tmp_path / "jail"
    shutil.copytree(workers_module.WORKER.parent, jail)
    filters = jail / "jail_seccomp.py"
    filters.write_text(filters.read_text().replace("import seccomp", "import seccomp_is_not_here"))
    monkeypatch.setattr(workers_module, "WORKER", jail / "jail_worker.py")
    with pytest.raises(HardforgeError, match="refuses to start: the seccomp filter cannot load"):
        CodeSandbox(workers=1, mode="unsafe-no-jail")
