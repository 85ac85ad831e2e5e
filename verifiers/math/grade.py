"""Math grading with math-verify, in worker processes with a per-item timeout.

math-verify's own timeouts use ``signal.alarm``, which fails off the main thread (Prefect task
threads, reward-function threads). So the caller never runs it: items go in chunks to spawned
worker processes, where each item runs under our own ``setitimer`` alarm on the worker's main
thread, with math-verify's timeouts off. A chunk that overruns its backstop kills the pool.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from functools import lru_cache

from verifiers.base import Grade, GradeItem
from verifiers.math.extract import as_rational, extract_answer, normalize_answer

CHUNK = 64


class _ItemTimeout(BaseException):
    """BaseException on purpose: math-verify catches Exception inside parse() and verify()."""


def _on_alarm(signum: int, frame: object) -> None:
    raise _ItemTimeout


def _worker_init() -> None:
    import logging

    # math-verify warns on every call that we disabled its timeouts: we enforce our own.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    signal.signal(signal.SIGALRM, _on_alarm)
    import math_verify  # noqa: F401  (pay the import once per worker)


@lru_cache(maxsize=4096)
def _parse(answer: str) -> list:
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    return parse(
        f"\\boxed{{{answer}}}",
        extraction_config=[LatexExtractionConfig(), ExprExtractionConfig()],
        parsing_timeout=None,
    )


def equivalent(gold: str, predicted: str) -> bool:
    """Symbolic equivalence (math-verify), after two cheap exact checks: the same loose string,
    or the same rational number. math-verify costs ~1 ms per pair even for integers (sympy);
    most competition answers are plain numbers, and those need no computer algebra."""
    from math_verify import verify

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


def grade_one(gold: str, completion: str) -> Grade:
    extracted = extract_answer(completion)
    if extracted is None:
        return Grade(False, None, 0.0, "no answer found")
    correct = equivalent(gold, extracted)
    return Grade(correct, extracted, float(correct), None)


def _grade_chunk(chunk: list[tuple[str, str]], timeout_s: float) -> list[Grade]:
    grades = []
    for gold, completion in chunk:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        try:
            grades.append(grade_one(gold, completion))
        except _ItemTimeout:
            grades.append(Grade(False, extract_answer(completion), 0.0, "timeout"))
        except Exception as exc:  # a parser bug must not sink the batch
            grades.append(Grade(False, extract_answer(completion), 0.0, f"grader error: {type(exc).__name__}"))
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
    """Grades completions against reference answers; ``extracted`` keeps the answer string."""

    name = "math"

    def __init__(self, workers: int | None = None, timeout_s: float = 5.0) -> None:
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self._pool: multiprocessing.pool.Pool | None = None

    def _get_pool(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")  # never fork a process holding torch threads
            self._pool = ctx.Pool(self.workers, initializer=_worker_init)
        return self._pool

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        pairs = [(item.answer, item.completion) for item in items]
        if not pairs:
            return []
        chunks = [pairs[i : i + CHUNK] for i in range(0, len(pairs), CHUNK)]
        pool = self._get_pool()
        pending = [pool.apply_async(_grade_chunk, (chunk, self.timeout_s)) for chunk in chunks]
        grades: list[Grade] = []
        for chunk, result in zip(chunks, pending, strict=True):
            try:
                # backstop for a worker stuck where the alarm cannot reach (C code)
                grades.extend(result.get(timeout=self.timeout_s * len(chunk) + 60))
            except multiprocessing.TimeoutError:
                self.close()
                grades.extend(Grade(False, extract_answer(c), 0.0, "timeout") for _, c in chunk)
                pool = self._get_pool()
        return grades

    def parses(self, answers: list[str]) -> list[bool]:
        """Whether each reference answer parses as math (for the validity filter)."""
        if not answers:
            return []
        chunks = [answers[i : i + CHUNK] for i in range(0, len(answers), CHUNK)]
        pool = self._get_pool()
        pending = [pool.apply_async(_parse_chunk, (chunk, self.timeout_s)) for chunk in chunks]
        return [ok for result in pending for ok in result.get(timeout=self.timeout_s * CHUNK + 60)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> MathVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
