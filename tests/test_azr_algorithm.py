"""Absolute Zero's pure pieces, table-driven: parsing proposals and replies, program shapes,
the rewards, the ban check."""

import pytest

from synth.azr.algorithm import (
    accept,
    composite_reward,
    output_error,
    parse_induction,
    parse_proposal,
    program_error,
    program_form,
    proposer_reward,
    solver_reward,
    split_io,
)
from verifiers.code.azr import call_args, extract_input, extract_output
from verifiers.code.policy import banned_names

POLICY = "p" * 32


# -- pure functions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "canonical"),
    [
        ("4", "4"),
        ("'a', 2", "'a', 2"),
        ('"a"', "'a'"),
        ("x=1", "x=1"),
        ("1, x=(2, 3)", "1, x=(2, 3)"),
        ("[1, [2, 3]]", "[1, [2, 3]]"),
        ("-3", "-3"),
        ("{'b': 1}", "{'b': 1}"),
        ("0) or (5", None),  # injection around the call
        ("*[1]", None),
        ("**{'a': 1}", None),
        ("__import__('os')", None),
        ("1 + 2", None),
        ("", None),
        ('"a" * 10**9', None),
        ("[" * 1000 + "]" * 1000, None),
        ("x", None),
        ("lambda: 1", None),
    ],
)
def test_call_args_take_literal_arguments_only(args, canonical):
    assert call_args(args) == canonical


@pytest.mark.parametrize(
    ("reply", "flexible", "strict"),
    [
        ("```output\n[1, 2]\n```", "[1, 2]", "[1, 2]"),
        ("<answer>'x'</answer>", "'x'", "'x'"),
        ("<answer>not a literal</answer>", None, None),
        ("f(4) returns 5.", "5", None),
        ("The value of f(4) is 5, because f(4) is f(4) = 4", "5", None),
        ('`f("Hello world")` returns `"Hello world"`.', "'Hello world'", None),
        ("The output of f(7) is [7, 7] when passed to f.", "[7, 7]", None),
        ("The function f(4) returns the value 5.", None, None),
        ("'hi'.", "'hi'", None),
        ("True", "True", None),
        ("no value here", None, None),
        ("9" * 5000, None, None),  # too long to read
    ],
)
def test_extract_output(reply, flexible, strict):
    assert extract_output(reply, "flexible") == flexible
    assert extract_output(reply, "strict") == strict


@pytest.mark.parametrize(
    ("reply", "flexible", "strict"),
    [
        ("```input\n3\n```", "3", "3"),
        ("```input\nf('a', 2)\n```", "'a', 2", "'a', 2"),
        ("<answer>0) or (5</answer>", None, None),
        ("f(4)", "4", None),
        ("print(f(50) == 60)", "50", None),
        ("```python\ndef f(x):\n    return [x, x + 1]\n\nf(7)\n```", "7", None),
        ("f(0) or 5", "0", None),  # only the call's own arguments count
        ("F(0) returns 1.", None, None),
        ("7", "7", None),
    ],
)
def test_extract_input(reply, flexible, strict):
    assert extract_input(reply, "flexible") == flexible
    assert extract_input(reply, "strict") == strict


@pytest.mark.parametrize(
    ("output", "parsed"),
    [
        ("```python\ndef f(x):\n    return x + 3\n\nprint(f(4))\n```", ("def f(x):\n    return x + 3", "4")),
        ("```python\ndef f(x):\n    return x + 3\n```\n```input\n4\n```", ("def f(x):\n    return x + 3", "4")),
        (
            "<think>hm</think>```python\ndef f(s):\n    return s[::-1]\nf('ab')\nf('cd')",
            ("def f(s):\n    return s[::-1]", "'cd'"),
        ),
        ("```python\ndef f(x):\n    return x + 3\n```", "unparsable: no input"),
        ("```python\ndef f(x):\n    return x\n```\n```input\nopen('x')\n```", "unparsable: the ```input block"),
        ("def f(x): return x\nf(1)", "unparsable: no ```python block"),
        ("```python\ndef f(x):\n    return x\n\nprint(f(y))\n```", "unparsable: no input"),
        # any name is f (issue 32: fizz, g, c), renamed with its calls, recursive ones included
        ("```python\ndef fizz(n):\n    return n % 3\n\nprint(fizz(7))\n```", ("def f(n):\n    return n % 3", "7")),
        (
            "```python\ndef c(n):\n    return 1 if n < 2 else n * c(n - 1)\nc(5)\n```",
            ("def f(n):\n    return 1 if n < 2 else n * f(n - 1)", "5"),
        ),
        ("```python\ndef g(x):\n    return x\n```\n```input\n4\n```", ("def f(x):\n    return x", "4")),
        # attacks on the renaming: it must not let through what program_error or the ban exists to stop
        ("```python\ndef g(f):\n    return f\nprint(g(3))\n```", "unparsable: no ```python block"),  # f taken
        ("```python\nf = 2\ndef g(x):\n    return x + f\nprint(g(3))\n```", "unparsable: no ```python block"),
        ("```python\ndef g(x):\n    return x\ndef h(x):\n    return g(x)\nh(1)\n```", "unparsable: no ```python"),
        ("```python\nasync def g(x):\n    return x\ng(1)\n```", "unparsable: no ```python block"),
        ("```python\nx = 1\nprint(x)\n```", "unparsable: no ```python block"),  # no function at all
        # example usage after the function (a 0.5B coder's habit) is taken off; the last literal call is the input
        (
            "```python\ndef square(num):\n    return num ** 2\n\nprint(2 ** 2)\nprint(square(5))\n```",
            ("def f(num):\n    return num ** 2", "5"),
        ),
        (
            "```python\ndef f(a):\n    return a\n\n# one\nprint(f('Hi'))\nresult = f(42)\nprint(result)\n```",
            ("def f(a):\n    return a", "42"),
        ),
        # a form feed or a line separator in the program: Python's lines, not str.splitlines' (red team)
        (
            "```python\ndef f(x):\n    s = 'a\u2028b'\x0c\n    return x\n\nprint(f(3))\n```",
            ("def f(x):\n    s = 'a\u2028b'\x0c\n    return x", "3"),
        ),
        # a tail with no literal call of f is no example usage: it stays, and there is no input
        ("```python\ndef f(x):\n    return x\nY = 3\nprint(Y)\n```", "unparsable: no input"),
    ],
)
def test_parse_proposal(output, parsed):
    result = parse_proposal(output)
    if isinstance(parsed, tuple):
        assert result == parsed
    else:
        assert isinstance(result, str) and result.startswith(parsed)


@pytest.mark.parametrize(
    ("program", "reason"),
    [
        ("import math\nclass A:\n    pass\nX = 3\ndef f(a, b):\n    '''doc'''\n    return a", None),
        ("def f(*xs):\n    return xs", None),
        ("def f():\n    return 1", "invalid: f takes no argument"),
        ("def g(a):\n    return 1\ndef f(a):\n    return a", "invalid: one function f"),
        ("def g(a):\n    return a", "invalid: one function f"),
        ("def f(a):\n    return a\nprint(1)", "invalid: top-level code"),
        ("async def f(a):\n    return a", "invalid: f is async"),
        ("def f(a):\n    return (", "invalid: syntax error"),
    ],
)
def test_program_shape(program, reason):
    found = program_error(program)
    assert (found is None) if reason is None else found.startswith(reason)


def test_a_renamed_program_keeps_its_bans_and_its_top_level_code():
    """The renaming changes the function's name only: a banned import, a helper function or code
    at the top level are still what ``program_error`` and the ban find."""
    program, given = parse_proposal(
        "```python\nimport random\ndef pick(x):\n    return random.choice(x)\npick([1, 2])\n```"
    )
    assert program.startswith("import random\n\ndef f(x)") and given == "[1, 2]"
    assert "random" in banned_names(program, ("random",))
    program, _ = parse_proposal("```python\nimport os\nos.system('id')\ndef g(x):\n    return x\ng(1)\n```")
    assert program_error(program).startswith("invalid: top-level code")


def test_the_usage_taken_off_a_program_is_never_part_of_what_is_run_or_shown():
    # attacks on the tail relaxation: what it takes off is gone from the program the solver sees
    # and the sandbox runs, so it can change no label; what stands before f is still judged
    program, given = parse_proposal(
        "```python\ndef f(x):\n    return x + 1\nimport os\nos.system('id')\nprint(f(3))\n```"
    )
    assert "system" not in program and given == "3"  # an import ends the usage; the call after it is gone
    assert program.endswith("import os")  # the import stays, for the sandbox's ban to judge
    program, given = parse_proposal("```python\nX = 1\ndef f(x):\n    return x + X\nX = 100\nprint(f(3))\n```")
    assert (program, given) == ("X = 1\ndef f(x):\n    return x + X", "3")  # the rebinding is not run
    program, given = parse_proposal("```python\ndef f(x):\n    return x\nf.__code__ = None\nprint(f(3))\n```")
    assert "__code__" not in program and given == "3"


@pytest.mark.parametrize(
    ("output", "count", "parsed"),
    [
        (
            "```python\n" + "\n".join(f"f({i})" for i in range(12)) + "\n```\nMessage: adds one",
            10,
            ([str(i) for i in range(10)], "adds one"),
        ),
        ("```input\n1\n```\n```input\n'a'\n```\n```message\nidentity\n```", 2, (["1", "'a'"], "identity")),
        ("```python\nf(1)\nf(1)\nprint(f(2))\n```\nMessage: same", 2, (["1", "2"], "same")),
        ("```python\nf(1)\nf(1)\nf(x)\n```\nMessage: same", 2, "unparsable: 1 distinct"),
        ("```python\nf(1)\nf(2)\n```", 2, "unparsable: no message"),
    ],
)
def test_parse_induction(output, count, parsed):
    result = parse_induction(output, count)
    if isinstance(parsed, tuple):
        assert result == parsed
    else:
        assert isinstance(result, str) and result.startswith(parsed)


def test_split_io_shows_the_first_half():
    pairs = [(str(i), str(i + 1)) for i in range(10)]
    assert split_io(pairs) == (pairs[:5], pairs[5:])
    assert split_io(pairs[:3]) == (pairs[:1], pairs[1:3])


@pytest.mark.parametrize(
    ("output", "literal", "reason"),
    [
        ("42", True, None),
        ("'x' * 3", True, "invalid"),
        ("<object at 0x1>", True, "invalid"),
        ("<object at 0x1>", False, None),
        ("inf", True, "invalid"),
        ("'" + "x" * 500 + "'", False, "output too long"),
    ],
)
def test_output_error(output, literal, reason):
    found = output_error(output, 400, literal=literal)
    assert (found is None) if reason is None else found.startswith(reason)


@pytest.mark.parametrize(
    ("rate", "reward", "ok"),
    [(0.0, 0.0, False), (0.125, 0.875, True), (0.5, 0.5, True), (0.875, 0.125, True), (1.0, 0.0, False)],
)
def test_learnability_reward_and_band(rate, reward, ok):
    assert proposer_reward(rate) == pytest.approx(reward)
    assert accept(rate)[0] is ok


@pytest.mark.parametrize(
    ("valid", "reward", "composite"), [(False, 0.0, -1.0), (False, 0.5, -1.0), (True, 0.0, -0.5), (True, 0.25, 0.25)]
)
def test_composite_reward(valid, reward, composite):
    assert composite_reward(valid, reward) == composite


@pytest.mark.parametrize(
    ("formatted", "correct", "reward"), [(True, True, 1.0), (True, False, -0.5), (False, False, -1.0)]
)
def test_solver_reward(formatted, correct, reward):
    assert solver_reward(formatted, correct) == reward


@pytest.mark.parametrize(
    ("code", "hits"),
    [
        ("import random\ndef f(a):\n    return a", ["random"]),
        ("from os import path\ndef f(a):\n    return a", ["os.path"]),
        ("import os\ndef f(a):\n    return os.path.join(a)", ["os.path"]),
        ("import time as t\ndef f(a):\n    return a", ["time"]),
        ("import sys\ndef f(a):\n    sys.exit(0)", ["sys.exit"]),
        ("from datetime import date\ndef f(a):\n    return a", ["datetime"]),
        ("import os\ndef f(a):\n    return os.environ", ["os.environ"]),
        ("import hashlib, hmac\ndef f(a):\n    return a", ["hashlib", "hmac"]),
        ("import numpy\ndef f(a):\n    return 'random time'", []),  # words in strings are not uses
        ("def f(a):\n    return calendar.month(a", ["calendar"]),  # unparsable: AZR's word match
    ],
)
def test_ban_check(code, hits):
    assert banned_names(code) == hits


# -- the verifier against a model gaming it ------------------------------------------------------


def test_a_proposal_that_only_adds_type_hints_is_the_same_program():
    """A 0.5B night proposed this padding program twice, once with ``-> List[str]`` and its import."""
    body = "    padded = ' ' * ((width - len(s)) // 2) + s\n    return padded"
    hinted = "from typing import List\n\ndef f(s: str, width: int) -> List[str]:\n" + body
    plain = "def f(text, w):\n" + body.replace("width", "w").replace("len(s)", "len(text)").replace("+ s", "+ text")
    assert program_form(hinted) == program_form(plain)
    assert program_form(hinted) != program_form(plain.replace("// 2", "// 3"))
