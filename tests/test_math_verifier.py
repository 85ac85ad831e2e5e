import threading

import pytest

from verifiers.base import GradeItem
from verifiers.math.extract import extract_answer, last_boxed, normalize_answer
from verifiers.math.grade import MathVerifier


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so the answer is \boxed{42}.", "42"),
        (r"\boxed{1} then later \boxed{2}", "2"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{\left\{ 1, 2 \right\}}", r"\left\{ 1, 2 \right\}"),
        (r"\boxed{a_{n+1}^{2}} end", "a_{n+1}^{2}"),
        (r"\fbox{7}", "7"),
        (r"\boxed 5 is it", "5"),
        (r"\boxed{3} and an unbalanced \boxed{4", "3"),
        ("<answer>17</answer>", "17"),
        (r"<answer>so \boxed{18}</answer>", "18"),
        ("<answer>1</answer> ... <ANSWER> 2 </ANSWER>", "2"),
        ("no final statement here", None),
        ("", None),
    ],
)
def test_extract_answer(text, expected):
    """Boxes and answer tags: the same in both modes."""
    assert extract_answer(text) == expected
    assert extract_answer(text, "strict") == expected
    assert extract_answer(text, "flexible") == expected


@pytest.mark.parametrize(
    ("text", "strict", "flexible"),
    [
        ("The final answer is 12.", None, "12"),
        ("Therefore the answer is $\\frac{3}{4}$.", None, "\\frac{3}{4}"),
        ("Answer: x = 3", None, "x = 3"),
        ("work\n#### 72", None, "72"),
        # the last number in the reply (lm-eval-harness's flexible-extract)
        ("5 + 9 = 14", None, "14"),
        ("It is 1,024 apples.", None, "1024"),
        ("We get -3.5 in the end", None, "-3.5"),
        ("so 3/4 of them", None, "3/4"),
        ("first 2 then 7", None, "7"),
        ("version2 has no number boundary", None, None),
        (r"a box wins over a later number: \boxed{4}, not 5", "4", "4"),
        ("no digits at all", None, None),
    ],
)
def test_extraction_modes(text, strict, flexible):
    assert extract_answer(text, "strict") == strict
    assert extract_answer(text, "flexible") == flexible


def test_unknown_extraction_mode_raises():
    with pytest.raises(ValueError):
        extract_answer("1", "loose")


def test_a_grader_whose_pool_cannot_start_raises(monkeypatch):
    """An infrastructure failure must never become "incorrect" grades."""
    import verifiers.math.grade as grade_module
    from schemas.errors import HardforgeError

    class Broken:
        def Pool(self, *args, **kwargs):
            raise OSError("cannot spawn")

    monkeypatch.setattr(grade_module, "_context", lambda: Broken())
    with MathVerifier(workers=1) as verifier, pytest.raises(HardforgeError, match="did not start"):
        verifier.grade([GradeItem("1", r"\boxed{1}")])


def test_a_dying_worker_is_retried_then_raises(monkeypatch):
    """A worker that dies mid-chunk loses the chunk: it is retried on a fresh pool, and a
    second death raises instead of recording grades nobody computed."""
    import verifiers.math.grade as grade_module
    from schemas.errors import HardforgeError

    monkeypatch.setattr(grade_module, "_grade_chunk", _die)
    with (
        MathVerifier(workers=1) as verifier,
        pytest.raises(HardforgeError, match="failed twice.*a grading worker died"),
    ):
        verifier.grade([GradeItem("1", r"\boxed{1}")])


def _die(chunk, timeout_s):
    import os

    os._exit(1)


def test_last_boxed_none_without_box():
    assert last_boxed("plain") is None


@pytest.mark.parametrize(
    ("gold", "completion", "correct"),
    [
        ("239", r"\boxed{239}", True),
        ("239", r"\boxed{240}", False),
        (r"\frac{1}{2}", r"\boxed{0.5}", True),
        ("1/3", r"\boxed{\dfrac{1}{3}}", True),
        (r"\sqrt{8}", r"\boxed{2\sqrt{2}}", True),
        ("x^2+2x+1", r"\boxed{(x+1)^2}", True),
        ("(1,2)", r"\boxed{(1, 2)}", True),
        ("[1,2)", r"\boxed{(1,2]}", False),
        ("2^floor(n/2)*floor(n/2)!", "<answer>2^floor(n/2)*floor(n/2)!</answer>", True),
        ("5", "I do not know", False),
    ],
)
def test_grading_table(gold, completion, correct):
    with MathVerifier(workers=1) as verifier:
        (grade,) = verifier.grade([GradeItem(gold, completion)])
    assert grade.correct is correct
    if "know" in completion:
        assert grade.extracted is None and grade.detail == "no answer found"
    else:
        assert grade.extracted is not None


def test_grading_from_a_thread_and_order_kept():
    """Prefect tasks and reward functions call from threads; math-verify's alarms would fail there."""
    items = [GradeItem(str(i), rf"\boxed{{{i if i % 3 else i + 1}}}") for i in range(200)]
    results = {}

    def work():
        with MathVerifier(workers=2) as verifier:
            results["grades"] = verifier.grade(items)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(120)
    grades = results["grades"]
    assert [g.correct for g in grades] == [bool(i % 3) for i in range(200)]
    assert [g.extracted for g in grades] == [str(i if i % 3 else i + 1) for i in range(200)]


def test_per_item_timeout():
    gold = "+".join(f"x_{i}^{i}" for i in range(60))
    pred = r"\boxed{" + "+".join(f"x_{{{i}}}^{{{i}}}" for i in reversed(range(60))) + "}"
    with MathVerifier(workers=1, timeout_s=0.001) as verifier:
        grades = verifier.grade([GradeItem(gold, pred), GradeItem("1", r"\boxed{1}")])
    assert grades[0].detail == "timeout" and grades[0].correct is False
    assert grades[0].extracted is not None


def test_normalize_answer():
    assert normalize_answer(r"$\text{10 cm}$.") == "10cm"
    assert normalize_answer(r"\dfrac{1}{2}") == normalize_answer(r"\frac{1}{2}")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", "42"),
        ("-3", "-3"),
        ("+7", "7"),
        ("1,000", "1000"),
        ("$12$", "12"),
        ("0.25", "1/4"),
        (".5", "1/2"),
        (r"\frac{3}{4}", "3/4"),
        (r"-\dfrac{1}{2}", "-1/2"),
        ("6/8", "3/4"),
        ("1,00", None),
        (r"\frac{1}{0}", None),
        ("x", None),
        ("2^3", None),
        ("50\\%", None),
        ("", None),
    ],
)
def test_as_rational(text, value):
    from fractions import Fraction

    from verifiers.math.extract import as_rational

    assert as_rational(text) == (None if value is None else Fraction(value))


@pytest.mark.parametrize(
    ("gold", "predicted", "equal"),
    [
        ("12", "12.0", True),
        ("3/4", "0.75", True),
        ("1000", "1,000", True),
        ("5", "6", False),
        (r"\frac{1}{3}", "0.5", False),
        ("50\\%", "50", True),
        ("0.5", r"\frac{1}{2}", True),
    ],
)
def test_fast_path_agrees_with_math_verify(gold, predicted, equal):
    """The rational fast path must decide exactly as math-verify would."""
    from math_verify import parse, verify

    from verifiers.math.grade import equivalent

    assert equivalent(gold, predicted) is equal
    slow = verify(
        parse(f"\\boxed{{{gold}}}", parsing_timeout=None),
        parse(f"\\boxed{{{predicted}}}", parsing_timeout=None),
        timeout_seconds=None,
    )
    assert slow is equal


ORPHAN_SCRIPT = """
import os, sys, time
from verifiers.math.grade import MathVerifier
if __name__ == "__main__":
    verifier = MathVerifier(workers=2)
    verifier._get_pool()
    # a forked helper inherits the pool's task queue: with it alive, the workers never read EOF
    helper = os.fork()
    if helper == 0:
        time.sleep(120)
        os._exit(0)
    print(helper, " ".join(str(p.pid) for p in verifier._pool._pool), flush=True)
    time.sleep(600)
"""


def test_grading_workers_leave_when_their_parent_is_killed(tmp_path):
    """SIGKILL (or Ray ending a worker process) skips every cleanup: the pool's processes notice
    that their parent is gone and exit instead of waiting on their queue forever."""
    import signal
    import subprocess
    import sys

    import psutil

    from tests.conftest import ROOT

    script = tmp_path / "owner.py"
    script.write_text(ORPHAN_SCRIPT)
    owner = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    helper, *pids = owner.stdout.readline().split()
    workers = [psutil.Process(int(pid)) for pid in pids]
    assert len(workers) == 2 and all(w.is_running() for w in workers)
    try:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        gone, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive and len(gone) == 2
    finally:
        for process in [psutil.Process(int(helper)), *workers]:
            if process.is_running():
                process.kill()
