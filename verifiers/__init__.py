"""Grading, one module per verifier and one registry: adding a verifier is one line here."""

from __future__ import annotations

from collections.abc import Callable

from schemas.errors import HardforgeError
from verifiers.base import Grade, GradeItem, Verifier


def _math() -> Verifier:
    from verifiers.math.grade import MathVerifier

    return MathVerifier()


REGISTRY: dict[str, Callable[[], Verifier]] = {"math": _math}


def get_verifier(name: str) -> Verifier:
    try:
        factory = REGISTRY[name]
    except KeyError:
        raise HardforgeError(
            f"no verifier named '{name}' (known: {', '.join(sorted(REGISTRY))})."
        ) from None
    return factory()


__all__ = ["Grade", "GradeItem", "Verifier", "get_verifier", "REGISTRY"]
