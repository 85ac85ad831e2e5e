"""Sandbox benchmark: snippets/s on this machine with the full sandbox (bubblewrap workers, fork
per snippet, rlimits, uid drop, seccomp), the same without the bubblewrap layer, graded programs
(the program in one process, its tests in another, the calls crossing as plain data: what the
code reward costs; goal >= 350/s on 2 workers), AZR-style calls (sealed: three runs in three
sealed workers, no clock, entropy or files), and the cost of each in-child layer.

Run: .venv/bin/python bench/sandbox.py [--snippets 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from verifiers.code.sandbox import JAIL_PYTHON, UNSAFE, WORKER, CodeSandbox  # noqa: E402

SNIPPET = (
    "def f(xs, k):\n    d = {x: x * k for x in xs}\n    return sum(d.values())\nassert f(list(range(20)), 3) == 570\n"
)
PROGRAM = "def f(xs, k):\n    d = {x: x * k for x in xs}\n    return sum(d.values())\n"
PROMPT = 'def f(xs, k):\n    """The sum of k * x over the distinct x."""\n'
TESTS = "def check(candidate):\n    assert candidate(list(range(20)), 3) == 570\n    assert candidate([1, 1], 2) == 2\n\ncheck(f)\n"

LAYERS = r"""
import json, os, resource, sys, time
sys.argv = ["worker", "60000"]
sys.path.insert(0, sys.argv_dir if hasattr(sys, "argv_dir") else WORKER_DIR)
import jail_common as jw
def fork_with(setup, n=400):
    t0 = time.perf_counter()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            setup()
            os._exit(0)
        os.waitpid(pid, 0)
    return (time.perf_counter() - t0) / n * 1000
def rlimits():
    for limit, value in [(resource.RLIMIT_AS, 1 << 30), (resource.RLIMIT_CPU, 5), (resource.RLIMIT_FSIZE, 1 << 20),
                         (resource.RLIMIT_NOFILE, 64), (resource.RLIMIT_NPROC, 32), (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(limit, (value, value))
def uid():
    rlimits(); os.setgroups([]); os.setresgid(60000, 60000, 60000); os.setresuid(60000, 60000, 60000)
def seccomp():
    uid(); jw.SECCOMP.load()
base = fork_with(lambda: None)
print(json.dumps({"fork + wait": base, "+ rlimits": fork_with(rlimits) - base,
                  "+ uid drop": fork_with(uid) - fork_with(rlimits), "+ seccomp": fork_with(seccomp) - fork_with(uid)}))
"""


def throughput(mode: str, snippets: int, repeats: int) -> list[float]:
    rates = []
    with CodeSandbox(workers=2, mode=mode) as box:
        box.run_programs([SNIPPET] * 100)  # warm up
        for _ in range(repeats):
            t0 = time.perf_counter()
            results = box.run_programs([SNIPPET] * snippets)
            rates.append(snippets / (time.perf_counter() - t0))
            assert all(r.passed for r in results), {r.status for r in results}
    return rates


def graded(snippets: int, repeats: int) -> list[float]:
    rates = []
    with CodeSandbox(workers=2) as box:

        def run(n: int) -> list:
            return box.run_tests([PROGRAM] * n, [TESTS] * n, [PROMPT] * n, [["f"]] * n)

        run(100)
        for _ in range(repeats):
            t0 = time.perf_counter()
            results = run(snippets)
            rates.append(snippets / (time.perf_counter() - t0))
            assert all(r.passed for r in results), {r.detail for r in results}
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snippets", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    full = throughput("bwrap", args.snippets, args.repeats)
    bare = throughput(UNSAFE, args.snippets, args.repeats)
    print(
        f"full sandbox (bwrap workers + fork + rlimits + uid + seccomp), 2 workers: median {statistics.median(full):,.0f} snippets/s  {[round(r) for r in full]}"
    )
    print(
        f"without the bubblewrap layer (same in-child lockdown):          median {statistics.median(bare):,.0f} snippets/s  {[round(r) for r in bare]}"
    )
    tested = graded(args.snippets, args.repeats)
    print(
        f"graded programs (program and tests in two processes, 2 calls):  median {statistics.median(tested):,.0f} programs/s  {[round(r) for r in tested]}"
    )
    with CodeSandbox(workers=2) as box:
        codes = ["def f(xs):\n    return sorted(set(xs))"] * (args.snippets // 2)
        box.run_calls(codes[:50], ["[3, 1, 2]"] * 50)  # warm up (the sealed workers start here)
        t0 = time.perf_counter()
        results = box.run_calls(codes, ["[3, 1, 2, 3]"] * len(codes))
        elapsed = time.perf_counter() - t0
    assert all(r.passed for r in results)
    print(f"AZR-style calls (AST ban + f(input) sealed, in three workers):  {len(codes) / elapsed:,.0f} tasks/s")
    layer_script = LAYERS.replace("WORKER_DIR", repr(str(WORKER.parent)))
    out = subprocess.run([JAIL_PYTHON, "-c", layer_script], capture_output=True, text=True, check=True).stdout
    print("per-snippet cost of each in-child layer (ms, one process):")
    for layer, ms in json.loads(out).items():
        print(f"  {layer:<12} {ms:6.3f} ms")
    print("  bubblewrap   paid once per worker start (not per snippet)")


if __name__ == "__main__":
    main()
