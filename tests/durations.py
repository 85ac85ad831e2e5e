"""``python -m tests.durations JUNIT.xml``: record the suite's slow tests (seconds each, from a
pytest ``--junitxml`` report) in tests/durations.json, which ``tests/conftest.py`` reads to hand
the two test workers the longest tests first (the longest-first rule: a 7-minute test started
last would run alone at the end)."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATIONS = ROOT / "tests" / "durations.json"
SLOW_S = 10.0  # a faster test's place in the order changes little


def node_id(classname: str, name: str) -> str:
    """pytest's id of a junit test case: ``tests.test_a.TestB`` + ``test_c`` is
    ``tests/test_a.py::TestB::test_c``."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        module = Path(*parts[:cut]).with_suffix(".py")
        if (ROOT / module).exists():
            return "::".join([module.as_posix(), *parts[cut:], name])
    return f"{classname}::{name}"


def slow_tests(junit: Path) -> dict[str, float]:
    cases = ET.parse(junit).getroot().iter("testcase")
    seconds = {node_id(c.get("classname", ""), c.get("name", "")): float(c.get("time", 0)) for c in cases}
    return {k: round(v, 1) for k, v in sorted(seconds.items(), key=lambda kv: -kv[1]) if v >= SLOW_S}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.durations JUNIT.xml")
    slow = slow_tests(Path(sys.argv[1]))
    DURATIONS.write_text(json.dumps(slow, indent=1) + "\n")
    print(f"tests/durations.json: {len(slow)} tests of {SLOW_S:.0f} s or more, {sum(slow.values()):.0f} s in all")
