"""Local linked corpora for ASearcher-style QA synthesis, read from dictd files: Debian's
``dict-foldoc`` (computing, GFDL) and ``dict-jargon`` (the Jargon File, public domain), or any
dictd ``.index`` with its ``.dict``/``.dict.dz`` beside it.

A dictd index line is ``headword TAB offset TAB length`` (offset and length in dictd's base64) into
the dictionary text; several headwords may point at one article. An article's first line is its
title; ``{braces}`` mark a link to another article, resolved through the headwords (exactly, else
a plural or variant with the trailing "s"/"es" dropped). Unresolved links are kept with no target.
"""

from __future__ import annotations

import datetime as dt
import gzip
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import HardforgeError
from schemas.keys import content_key
from schemas.records import Document, Link
from warehouse.corpus import LINK

DICTD_DIR = Path("/usr/share/dictd")
PACKAGES = {"foldoc": "dict-foldoc", "jargon": "dict-jargon"}
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def b64_number(text: str) -> int:
    """dictd's base64 numbers (most significant digit first)."""
    value = 0
    for char in text:
        value = value * 64 + _B64[char]
    return value


def resolve_corpus(target: str) -> tuple[str, Path, Path]:
    """(corpus name, index path, dictionary path) for ``foldoc``, ``jargon`` or a ``.index`` path;
    a missing package or file is one sentence that says what to do."""
    if target in PACKAGES:
        index = DICTD_DIR / f"{target}.index"
        if not index.exists():
            raise HardforgeError(
                f"the {target} corpus is not installed: run `apt-get install {PACKAGES[target]}` (or `make setup`), "
                f"which puts {index} in place."
            )
        name = target
    else:
        index = Path(target)
        if index.suffix != ".index" or not index.exists():
            raise HardforgeError(f"{target} is neither foldoc, jargon nor an existing dictd .index file.")
        name = index.stem
    for suffix in (".dict.dz", ".dict"):
        dictionary = index.with_suffix(suffix)
        if dictionary.exists():
            return name, index, dictionary
    raise HardforgeError(f"{index} has no {index.stem}.dict.dz or {index.stem}.dict beside it.")


@dataclass
class CorpusRead:
    documents: list[Document]
    links: list[Link]
    headwords: int
    unresolved: int


def read_dictd(name: str, index: Path, dictionary: Path, *, now: dt.datetime | None = None) -> CorpusRead:
    now = now or dt.datetime.now(dt.UTC)
    raw = gzip.open(dictionary).read() if dictionary.suffix == ".dz" else dictionary.read_bytes()
    spans: dict[tuple[int, int], list[str]] = {}
    headwords = 0
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
            continue
        headwords += 1
        spans.setdefault((b64_number(parts[1]), b64_number(parts[2])), []).append(parts[0])
    documents: list[Document] = []
    by_word: dict[str, str] = {}
    bodies: list[tuple[str, str]] = []
    for (offset, length), words in sorted(spans.items()):
        text = raw[offset : offset + length].decode("utf-8", errors="replace").strip("\n")
        title, _, body = text.partition("\n")
        if not title.strip() or not body.strip():
            continue
        doc_id = content_key("document", name, text)
        documents.append(
            Document(
                doc_id=doc_id,
                corpus=name,
                title=title.strip(),
                text=_dedent(body),
                headwords="\n".join(words),
                created_at=now,
            )
        )
        for word in [*words, title.strip()]:
            by_word.setdefault(word.lower(), doc_id)
        bodies.append((doc_id, body))
    links: dict[tuple[str, str], Link] = {}
    for doc_id, body in bodies:
        for anchor in LINK.findall(body):
            anchor = " ".join(anchor.split())
            if (doc_id, anchor) not in links:
                links[doc_id, anchor] = Link(
                    src_id=doc_id, anchor=anchor, dst_id=_resolve(anchor, by_word), corpus=name
                )
    unresolved = sum(link.dst_id is None for link in links.values())
    return CorpusRead(documents, list(links.values()), headwords, unresolved)


def _resolve(anchor: str, by_word: dict[str, str]) -> str | None:
    key = anchor.lower()
    for candidate in (key, key[:-1] if key.endswith("s") else None, key[:-2] if key.endswith("es") else None):
        if candidate and candidate in by_word:
            return by_word[candidate]
    return None


def _dedent(body: str) -> str:
    lines = body.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines).strip()


__all__ = ["CorpusRead", "PACKAGES", "read_dictd", "resolve_corpus"]
