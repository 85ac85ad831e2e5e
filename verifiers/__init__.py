"""Grading, one module per verifier and one registry: adding a verifier is one line here."""

from __future__ import annotations

from collections.abc import Callable

from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from verifiers.base import Grade, GradeItem, Verifier


def _math(config: HardforgeConfig) -> Verifier:
    from verifiers.math.grade import MathVerifier

    return MathVerifier(timeout_s=config.rollouts.grade_timeout_s)


def _code(config: HardforgeConfig) -> Verifier:
    from verifiers.code.verifier import CodeVerifier

    return CodeVerifier(config.sandbox)


def _gym(config: HardforgeConfig) -> Verifier:
    from verifiers.gym import GymVerifier

    return GymVerifier()


def _stdio(config: HardforgeConfig) -> Verifier:
    from verifiers.code.stdio import StdioVerifier

    return StdioVerifier(config.sandbox)


def _azr(config: HardforgeConfig) -> Verifier:
    from verifiers.code.azr import AzrVerifier

    return AzrVerifier(config.sandbox)


def _qa(config: HardforgeConfig) -> Verifier:
    from verifiers.qa import QaVerifier

    return QaVerifier()


REGISTRY: dict[str, Callable[[HardforgeConfig], Verifier]] = {
    "math": _math,
    "code": _code,
    "gym": _gym,
    "stdio": _stdio,
    "azr": _azr,
    "qa": _qa,
}


def grade_isolated(verifier: Verifier, items: list[GradeItem]) -> list[Grade]:
    """``verifier.grade(items)``, where one item's fault never costs the others their grades: if
    the batch raises, each item is graded alone and the one that raises fails with the reason."""
    try:
        return verifier.grade(items)
    except HardforgeError:
        raise  # the grader cannot run at all (no sandbox): the user's one sentence, not failed grades
    except Exception as exc:
        if len(items) == 1:
            return [_grader_error(exc)]
    grades = []
    for item in items:
        try:
            (grade,) = verifier.grade([item])
        except HardforgeError:
            raise
        except Exception as exc:
            grade = _grader_error(exc)
        grades.append(grade)
    return grades


def _grader_error(exc: Exception) -> Grade:
    return Grade(False, None, 0.0, f"grader error: {type(exc).__name__}: {str(exc)[:200]}")


def get_verifier(name: str, config: HardforgeConfig | None = None) -> Verifier:
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise HardforgeError(f"no verifier named '{name}' (known: {', '.join(sorted(REGISTRY))}).") from None
    return factory(config or HardforgeConfig())


class VerifierSet:
    """The verifiers one stage uses: each built on first use (worker pools, sandboxes), all
    closed together."""

    def __init__(self, config: HardforgeConfig | None = None) -> None:
        self.config = config or HardforgeConfig()
        self._built: dict[str, Verifier] = {}

    def __contains__(self, name: object) -> bool:
        return name in REGISTRY

    def get(self, name: str) -> Verifier:
        if name not in self._built:
            self._built[name] = get_verifier(name, self.config)
        return self._built[name]

    def close(self) -> None:
        while self._built:
            self._built.popitem()[1].close()

    def __enter__(self) -> VerifierSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Grade", "GradeItem", "Verifier", "VerifierSet", "get_verifier", "grade_isolated", "REGISTRY"]
