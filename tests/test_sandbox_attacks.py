"""The attack matrix of shared/specs/sandbox.md, each through the real sandbox, checked on the
host: the effect did not happen, or the damage was capped."""

import os
import socket
import subprocess
import uuid

import pytest

from verifiers.code.sandbox import FIRST_UID, CodeSandbox, Limits


@pytest.fixture(scope="module")
def sandbox():
    with CodeSandbox(workers=2, limits=Limits(timeout_s=3.0, cpu_s=3)) as box:
        yield box


def run(sandbox, code):
    (result,) = sandbox.run_programs([code])
    return result


def test_correct_program_passes(sandbox):
    result = run(sandbox, "def add(a, b):\n    return a + b\nassert add(2, 3) == 5\nprint('ok')")
    assert (result.status, result.output) == ("passed", "ok\n")


def test_network_connect_is_blocked(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(1.0)
    port = listener.getsockname()[1]
    try:
        result = run(
            sandbox,
            f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=1)\nprint('connected')",
        )
        assert result.status == "failed" and "connected" not in result.output
        with pytest.raises(TimeoutError):
            listener.accept()  # nothing reached the host
    finally:
        listener.close()


def test_writes_outside_the_temp_dir_do_not_reach_the_host(sandbox, tmp_path):
    os.chmod(tmp_path, 0o755)
    shared = tmp_path / "world"
    shared.mkdir(mode=0o1777)
    os.chmod(shared, 0o1777)
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    host_tmp = f"/tmp/hardforge-attack-{uuid.uuid4().hex}"
    code = f"""
results = []
for path in [{str(tmp_path / "new.txt")!r}, {str(shared / "new.txt")!r}, {host_tmp!r}, '/dev/shm/hf-attack']:
    try:
        open(path, 'w').write('pwned')
        results.append('wrote ' + path)
    except OSError as exc:
        results.append(type(exc).__name__)
try:
    open({str(victim)!r}, 'w').write('pwned')
except OSError as exc:
    results.append(type(exc).__name__)
print(results)
"""
    result = run(sandbox, code)
    assert result.status == "passed", result
    assert not (tmp_path / "new.txt").exists()
    assert not (shared / "new.txt").exists()
    assert not os.path.exists(host_tmp)
    assert not os.path.exists("/dev/shm/hf-attack")
    assert victim.read_text() == "original"


def test_fork_bomb_is_blocked(sandbox):
    code = """
import os
forks = 0
for _ in range(1000):
    try:
        pid = os.fork()
    except OSError:
        continue
    if pid == 0:
        os._exit(0)
    forks += 1
print('forks', forks)
"""
    result = run(sandbox, code)
    assert result.status == "passed"
    assert int(result.output.split()[-1]) < 100


def test_orphan_escape_leaves_no_process(sandbox):
    """Both escapees run `sleep 15.4321`, so this test finds its own leftovers by that mark (and not
    another test worker's sandbox programs running at the same moment)."""
    code = """
import os, subprocess, time
escaped = []
try:
    if os.fork() == 0:
        os.setsid()
        os.execvp('sleep', ['sleep', '15.4321'])
    escaped.append('fork')
except OSError:
    pass
try:
    subprocess.Popen(['sleep', '15.4321'], start_new_session=True)
    escaped.append('popen')
except OSError:
    pass
print('escaped', escaped)
"""
    result = run(sandbox, code)
    assert result.status in ("passed", "failed") and result.status != "timeout"
    out = subprocess.run(["ps", "-eo", "uid=,pid=,args="], capture_output=True, text=True).stdout
    assert [line for line in out.splitlines() if "15.4321" in line and "ps -eo" not in line] == []


def test_memory_bomb_fails(sandbox):
    result = run(
        sandbox, "b = bytearray(10 * 2**30)\nfor i in range(0, len(b), 4096):\n    b[i] = 1\nprint('allocated')"
    )
    assert result.status in ("failed", "crash") and "allocated" not in result.output
    assert "MemoryError" in (result.detail or "") or result.status == "crash"


def _leftovers(sandbox):
    """Program processes (an even uid from FIRST_UID) under this sandbox's own workers: an orphan
    inside a worker's pid namespace is reparented to the worker's init, so it stays below it; another
    test worker's sandbox, running at the same moment, is not counted."""
    import psutil

    found = []
    for worker in sandbox.workers:
        try:
            for child in psutil.Process(worker.proc.pid).children(recursive=True):
                uid = child.uids().real
                if FIRST_UID <= uid < FIRST_UID + 100 and uid % 2 == 0:
                    found.append(f"{uid} {child.pid} {child.name()}")
        except psutil.NoSuchProcess:
            continue
    return found


def test_infinite_loop_times_out(sandbox):
    assert run(sandbox, "while True:\n    pass").status == "timeout"
    assert _leftovers(sandbox) == []


def test_reading_etc_shadow_fails(sandbox):
    result = run(sandbox, "print(open('/etc/shadow').read())")
    # not even there: the jail's /etc holds only the loader cache
    assert result.status == "failed" and "FileNotFoundError" in result.detail
    assert "root:" not in result.output


def test_stdout_flood_is_capped(sandbox):
    result = run(sandbox, "import os\nfor _ in range(2 * 1024):\n    os.write(1, b'x' * (1 << 20))")
    assert result.status != "passed"
    assert len(result.output) <= 64 * 1024


def test_sandbox_still_works_after_the_attacks(sandbox):
    assert [r.status for r in sandbox.run_programs(["assert True"] * 8)] == ["passed"] * 8
