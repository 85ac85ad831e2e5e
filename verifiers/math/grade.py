"""Math grading with math-verify, in worker processes with a per-item timeout.

math-verify's own timeouts use ``signal.alarm``, which fails off the main thread (Prefect task
threads, reward-function threads). So the caller never runs it: items go in chunks to spawned
worker processes, where each item runs under our own ``setitimer`` alarm on the worker's main
thread, with math-verify's timeouts off. A chunk that overruns its backstop kills the pool.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from functools import lru_cache

from schemas.errors import HardforgeError
from verifiers.base import Grade, GradeItem
from verifiers.math.extract import as_rational, extract_answer, normalize_answer

CHUNK = 64
START_TIMEOUT_S = 120.0  # spawning workers and importing math-verify takes seconds on 2 cores


def _context() -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context("spawn")  # never fork a process holding torch threads


def _ping() -> bool:
    return True


def _wait(result: multiprocessing.pool.AsyncResult, pool: multiprocessing.pool.Pool, limit_s: float) -> str | None:
    """None once ``result`` is ready, else why it never will be: a worker died (the pool
    replaces it, but the chunk it held is lost) or the backstop ran out (stuck in C code)."""
    deadline = time.monotonic() + limit_s
    workers = list(pool._pool)  # the processes that may hold this chunk
    while not result.ready():
        if time.monotonic() > deadline:
            return f"no result within the {limit_s:.0f} s backstop"
        if any(w.exitcode is not None for w in workers):
            return "a grading worker died"
        result.wait(0.2)
    return None


class _ItemTimeout(BaseException):
    """BaseException on purpose: math-verify catches Exception inside parse() and verify()."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _ItemTimeout


def _worker_init() -> None:
    import logging

    # math-verify warns on every call that we disabled its timeouts: we enforce our own.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    signal.signal(signal.SIGALRM, _on_alarm)
    _exit_with_parent(os.getppid())
    import math_verify  # noqa: F401  (pay the import once per worker)


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A pool worker outlives a parent killed without cleanup (SIGKILL, or Ray ending its worker
    processes) and waits on its task queue forever: leave once the parent is gone."""
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@lru_cache(maxsize=4096)
def _parse(answer: str) -> list:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(
        f"\\boxed{{{answer}}}",
        extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
        parsing_timeout=None,
    )


# A per cent sign is a unit: "42\\%" means 42. math-verify reads it both as 42 and as 0.42, so
# "42%" was right for gold 42 and for gold 0.42; one reading only, wherever the sign stands (at
# the end, wrapped in braces, \\text or \\mathbf, followed by spacing or words): every per cent
# sign is taken out of both answers before anything compares them, and math-verify never sees one.
_PERCENT = re.compile(
    r"\\(?:text|mathrm|textrm|mbox|mathbf|textbf|operatorname)\{\s*(?:\\?%|percent|per\s*cent)\s*\}"
    r"|\\%|%|\\percent\b|\bper\s*cent\b|\bpercent\b",
    re.IGNORECASE,
)
_SPACING = re.compile(r"\\[ ,;:!]|\\q?quad\b|~")


def without_percent(answer: str) -> str:
    """The answer with every per cent sign (and the spacing it leaves) taken out."""
    if not _PERCENT.search(answer):
        return answer
    text = re.sub(r"(?<=\d)\\,(?=\d{3}(?!\d))", ",", answer)  # "1\\,000\\%": a thousands separator stays
    text = _SPACING.sub(" ", _PERCENT.sub(" ", text))
    text = re.sub(r"\{\s*\}", "", text).strip().rstrip(".").strip()
    return text or answer


def equivalent(gold: str, predicted: str) -> bool:
    """Symbolic equivalence (math-verify), after two cheap exact checks: the same loose string,
    or the same rational number. math-verify costs ~1 ms per pair even for integers (sympy);
    most competition answers are plain numbers, and those need no computer algebra."""
    from math_verify import verify

    gold, predicted = without_percent(gold), without_percent(predicted)

    if normalize_answer(gold) == normalize_answer(predicted):
        return True
    gold_number, predicted_number = as_rational(gold), as_rational(predicted)
    if gold_number is not None and predicted_number is not None:
        if gold_number == predicted_number:
            return True
        if gold_number.denominator == 1 == predicted_number.denominator and "." not in gold + predicted:
            return False  # two different integers; decimals go to math-verify (it rounds)
    gold_parsed, predicted_parsed = _parse(gold), _parse(predicted)
    if not gold_parsed or not predicted_parsed:
        return False
    return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=None))


def grade_one(gold: str, completion: str, mode: str = "strict") -> Grade:
    extracted = extract_answer(completion, mode)
    if extracted is None:
        return Grade(False, None, 0.0, "no answer found")
    correct = equivalent(gold, extracted)
    return Grade(correct, extracted, float(correct), None)


def _grade_chunk(chunk: list[tuple[str, str, str]], timeout_s: float) -> list[Grade]:
    grades = []
    for gold, completion, mode in chunk:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            grades.append(grade_one(gold, completion, mode))
        except _ItemTimeout:
            # this item was graded: it exceeded its own time budget (a pathological answer)
            grades.append(Grade(False, extract_answer(completion, mode), 0.0, "timeout"))
        except Exception as exc:  # a parser bug must not sink the batch
            grades.append(Grade(False, extract_answer(completion, mode), 0.0, f"grader error: {type(exc).__name__}"))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return grades


def _parse_chunk(answers: list[str], timeout_s: float) -> list[bool]:
    parsed = []
    for answer in answers:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            parsed.append(as_rational(answer) is not None or bool(_parse(answer)))
        except _ItemTimeout:
            parsed.append(False)
        except Exception:
            parsed.append(False)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return parsed


class MathVerifier:
    """Grades completions against reference answers; ``extracted`` keeps the answer string.

    A failure of the grading machinery itself (the pool cannot start, a worker dies, a chunk
    overruns its backstop) is never recorded as "incorrect": the chunk is retried once on a fresh
    pool, and a second failure raises, so no item is stored with a grade it did not get."""

    name = "math"

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self._pool: multiprocessing.pool.Pool | None = None

    def _get_pool(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            try:
                pool = _context().Pool(self.workers, initializer=_worker_init)
                pool.apply_async(_ping).get(timeout=START_TIMEOUT_S)
            except Exception as exc:
                if "pool" in locals():
                    pool.terminate()
                raise HardforgeError(
                    f"the math grader's worker processes did not start ({type(exc).__name__}: {exc})."
                ) from None
            self._pool = pool
        return self._pool

    def _run(self, function, chunks: list[list], budget_s: float) -> list:
        """``function(chunk, timeout)`` over chunks in the pool, results in order; a failed chunk
        is retried once on a fresh pool (with every chunk after it), then a HardforgeError."""
        out: list = []
        pool = self._get_pool()
        pending = [pool.apply_async(function, (chunk, self.timeout_s)) for chunk in chunks]
        index, retried = 0, False
        while index < len(chunks):
            why = _wait(pending[index], pool, self.timeout_s * len(chunks[index]) + budget_s)
            if why is None:
                out.extend(pending[index].get())
                index, retried = index + 1, False
                continue
            self.close()
            if retried:
                raise HardforgeError(f"math grading failed twice on one chunk ({why}); nothing was recorded for it.")
            retried = True
            pool = self._get_pool()
            pending[index:] = [pool.apply_async(function, (c, self.timeout_s)) for c in chunks[index:]]
        return out

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        triples = [(item.answer, item.completion, item.extraction) for item in items]
        if not triples:
            return []
        return self._run(_grade_chunk, [triples[i : i + CHUNK] for i in range(0, len(triples), CHUNK)], 60)

    def parses(self, answers: list[str]) -> list[bool]:
        """Whether each reference answer parses as math (for the validity filter)."""
        if not answers:
            return []
        return self._run(_parse_chunk, [answers[i : i + CHUNK] for i in range(0, len(answers), CHUNK)], 60)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> MathVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
