"""Versions of the graders. A sampling key includes the version of the problem's verifier, so
changing a verifier's rules (extraction, scoring, the code harness) means its problems are
measured again instead of trusting stale ``correct`` flags. Bump a number with any such change."""

from __future__ import annotations

GRADER_VERSIONS: dict[str, str] = {
    "math": "3",  # 2: strict/flexible extraction modes; 3: a trailing per cent sign is a unit
    "code": "3",  # 2: the harness runs the tests itself; 3: the tests run in their own process, plain values only
    "gym": "2",  # 2: audited tasks only; countdown and puzzle24 scored exactly, never evaluated
    "stdio": "2",  # 2: the program alone in its process (no harness state to reach)
    "azr": "2",  # 2: values rebuilt from plain data on the trusted side
    "qa": "2",  # 2: numbers keep sign, point and separators and compare by value; C++, C#
}
