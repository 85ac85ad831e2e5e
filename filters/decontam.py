"""Benchmark decontamination by word n-gram overlap (open-r1's recipe: lower-cased words,
8-grams); the verdict records which benchmark was hit and the shared n-gram."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from filters.base import KEEP, Filter, Verdict

_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> set[str]:
    words = _WORD.findall(text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


class BenchmarkIndex:
    def __init__(self, n: int = 8) -> None:
        self.n = n
        self.owner: dict[str, str] = {}  # n-gram -> benchmark name

    def add(self, name: str, texts: Iterable[str]) -> None:
        for text in texts:
            for gram in ngrams(text, self.n):
                self.owner.setdefault(gram, name)

    def hit(self, text: str) -> tuple[str, str] | None:
        for gram in ngrams(text, self.n):
            name = self.owner.get(gram)
            if name is not None:
                return name, gram
        return None


def decontaminate(problems: list[dict[str, Any]], index: BenchmarkIndex) -> list[Verdict]:
    verdicts = []
    for problem in problems:
        found = index.hit(problem["statement"])
        if found is None:
            verdicts.append(KEEP)
        else:
            name, gram = found
            verdicts.append(
                Verdict(False, f"contaminated: {index.n}-gram overlap with {name}", {"benchmark": name, "ngram": gram})
            )
    return verdicts


class DecontaminationFilter(Filter):
    name = "decontamination"

    def enabled(self) -> bool:
        return bool(self.config.filters.benchmarks)

    def settings(self) -> dict[str, Any]:
        return {"benchmarks": sorted(self.config.filters.benchmarks), "ngram": self.config.filters.ngram}

    def __call__(self, problems: list[dict[str, Any]]) -> list[Verdict]:
        from filters.benchmarks import load_benchmark

        if not problems:
            return []
        index = BenchmarkIndex(self.config.filters.ngram)
        for spec in self.config.filters.benchmarks:
            index.add(*load_benchmark(spec))
        return decontaminate(problems, index)
