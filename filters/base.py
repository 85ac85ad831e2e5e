"""What every filter is: a name, the config it reads, and a call that returns one verdict (keep or
drop, with a reason) per problem, in the style of datatrove's filters."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from schemas.config import HardforgeConfig
from schemas.keys import content_key


@dataclass(frozen=True)
class Verdict:
    keep: bool
    reason: str | None = None
    detail: dict[str, Any] | None = field(default=None)


KEEP = Verdict(True)


class Filter(ABC):
    name: ClassVar[str]
    # True: a verdict depends on the problem alone, so only problems without one are checked.
    # False: it depends on the problems before it (dedup), so every survivor is seen again.
    per_problem: ClassVar[bool] = True

    def __init__(self, config: HardforgeConfig) -> None:
        self.config = config

    def enabled(self) -> bool:
        return True

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """The configuration this filter's verdicts depend on."""

    def config_hash(self) -> str:
        """Verdicts record it: a changed threshold or benchmark list re-evaluates the filter."""
        return content_key("filter", self.name, json.dumps(self.settings(), sort_keys=True, default=str))[:16]

    @abstractmethod
    def __call__(self, problems: list[dict[str, Any]]) -> list[Verdict]:
        """One verdict per problem, in order."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the filter holds (worker processes, indexes)."""
