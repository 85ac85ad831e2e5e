"""Versions of the graders. A sampling key includes the version of the problem's verifier, so
changing a verifier's rules (extraction, scoring, the code harness) means its problems are
measured again instead of trusting stale ``correct`` flags. Bump a number with any such change."""

from __future__ import annotations

GRADER_VERSIONS: dict[str, str] = {
    "math": "2",  # 2: strict/flexible extraction modes
    "code": "2",  # 2: the harness runs the tests itself; exits and forged results fail
    "gym": "1",
    "stdio": "1",
    "azr": "1",
    "qa": "1",
}
