"""Exact dedup on normalized text, and near dedup with MinHash LSH (datasketch).

Problems come in a stable order (oldest first); the first of a group is kept and the others are
dropped with the id of the one they duplicate.
"""

from __future__ import annotations

import re
from typing import Any

from datasketch import MinHash, MinHashLSH

from filters.base import KEEP, Filter, Verdict
from schemas.keys import code_form, normalize_text

_WORD = re.compile(r"\w+")
_FENCED = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL)


def dedup_key(problem: dict[str, Any]) -> str:
    text = normalize_text(problem["statement"], problem["domain"])
    if problem["domain"] != "code":
        return problem["domain"] + "\x1f" + text.casefold()
    # code is compared by its form: a program that differs only in spacing, comments or type hints
    # is the same problem (a whole statement that parses, else each fenced block)
    form = code_form(text)
    if form is None:
        form = _FENCED.sub(lambda m: "```\n" + (code_form(m.group(1)) or m.group(1)) + "\n```", text)
    return "code\x1f" + form


def exact_dedup(problems: list[dict[str, Any]]) -> list[Verdict]:
    first: dict[str, str] = {}
    verdicts = []
    for problem in problems:
        key = dedup_key(problem)
        if key in first:
            verdicts.append(Verdict(False, f"exact duplicate of {first[key]}", {"duplicate_of": first[key]}))
        else:
            first[key] = problem["problem_id"]
            verdicts.append(KEEP)
    return verdicts


def shingles(text: str, size: int) -> list[bytes]:
    words = _WORD.findall(text.casefold())
    if len(words) < size:
        return [" ".join(words).encode()] if words else [b""]
    return [" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)]


def near_dedup(problems: list[dict[str, Any]], threshold: float, num_perm: int, shingle_words: int) -> list[Verdict]:
    """Drop a problem whose MinHash finds an earlier kept problem of the same domain with
    estimated Jaccard similarity >= threshold."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    # MinHash.bulk hashes many documents with one vectorized permutation pass: several times
    # faster than building MinHash objects one by one.
    hashes = MinHash.bulk([shingles(p["statement"], shingle_words) for p in problems], num_perm=num_perm)
    kept: dict[str, MinHash] = {}
    verdicts = []
    for problem, minhash in zip(problems, hashes, strict=True):
        candidates = [c for c in lsh.query(minhash) if c.split("\x1f", 1)[0] == problem["domain"]]
        best = max(candidates, key=lambda c: kept[c].jaccard(minhash), default=None)
        similarity = kept[best].jaccard(minhash) if best else 0.0
        if best is not None and similarity >= threshold:
            other = best.split("\x1f", 1)[1]
            verdicts.append(
                Verdict(
                    False, f"near duplicate of {other}", {"duplicate_of": other, "jaccard": round(float(similarity), 3)}
                )
            )
            continue
        key = f"{problem['domain']}\x1f{problem['problem_id']}"
        lsh.insert(key, minhash)
        kept[key] = minhash
        verdicts.append(KEEP)
    return verdicts


class ExactDedupFilter(Filter):
    name = "exact_dedup"
    per_problem = False

    def settings(self) -> dict[str, Any]:
        return {"normalization": "nfc-whitespace-casefold, code by its form without type hints"}

    def __call__(self, problems: list[dict[str, Any]]) -> list[Verdict]:
        return exact_dedup(problems)


class NearDedupFilter(Filter):
    name = "near_dedup"
    per_problem = False

    def enabled(self) -> bool:
        return self.config.filters.near_dedup

    def settings(self) -> dict[str, Any]:
        cfg = self.config.filters
        return {"threshold": cfg.minhash_threshold, "perm": cfg.minhash_perm, "shingle_words": cfg.shingle_words}

    def __call__(self, problems: list[dict[str, Any]]) -> list[Verdict]:
        cfg = self.config.filters
        return near_dedup(problems, cfg.minhash_threshold, cfg.minhash_perm, cfg.shingle_words)


__all__ = ["exact_dedup", "near_dedup", "shingles", "dedup_key", "ExactDedupFilter", "NearDedupFilter"]
