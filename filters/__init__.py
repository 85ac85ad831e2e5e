"""Filters: one small pure function per filter, each returning keep/drop with a reason per
problem (in the style of datatrove). The flow records every verdict in ``filter_verdicts``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str | None = None
    detail: dict[str, Any] | None = field(default=None)


KEEP = Verdict(True)
FILTER_ORDER = ("validity", "exact_dedup", "near_dedup", "decontamination")
