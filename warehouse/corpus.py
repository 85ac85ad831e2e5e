"""Reading the local corpora (tables ``documents`` and ``links``): a document, its linked
neighbours, and BM25 search with bm25s (DuckDB's fts extension cannot be installed offline).
Indexing FOLDOC's 12,014 articles takes about 0.4 s, so the index is built per use, not cached."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.errors import HardforgeError
from warehouse.db import Warehouse

LINK = re.compile(r"\{([^{}]{1,120})\}")  # a dictd cross-reference: {headword}


def plain(text: str) -> str:
    """Article text for a prompt: link braces removed, whitespace collapsed."""
    return " ".join(LINK.sub(r"\1", text).split())


@dataclass(frozen=True)
class Doc:
    doc_id: str
    title: str
    text: str
    headwords: str | None = None  # a dictionary entry's names, one per line ("big blue\nibm\n...")

    def other_names(self) -> tuple[str, ...]:
        """The entry's names besides its title that mean the same thing, from the corpus: what a
        right answer may also say. A headword counts when it is the title's initials ("IBM" for
        International Business Machines) or the entry opens with it in parentheses ("<architecture>
        (CPU, processor) The part of a computer ..."); a dictionary's other headwords may name
        something else (FOLDOC files "nb" under C, "liar" and "edwin" under MIT Scheme)."""
        headwords = [n.strip() for n in (self.headwords or "").splitlines() if n.strip()]
        opening = _OPENING.match(_body(self.text, {*headwords, self.title}))
        said = opening.group(1).casefold() if opening else ""
        initials = {"".join(w[0] for w in re.findall(r"[A-Za-z0-9]+", self.title)).casefold(), _capitals(self.title)}
        names = []
        for name in headwords:
            letters = "".join(re.findall(r"[a-z0-9]", name.casefold()))
            if len(letters) < 2 or name.casefold() == self.title.casefold():
                continue
            if letters in initials or re.search(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", said):
                names.append(name)
        return tuple(dict.fromkeys(names))


# an entry's opening parentheses, after its domain tag and pronunciation: "<company> (IBM) The ..."
_OPENING = re.compile(r"\s*(?:<[^<>]*>\s*)?(?:/[^/\n]*/\s*)?\(([^()]*)\)")


def _body(text: str, names: set[str]) -> str:
    """The text without the headword lines a dictd entry opens with ("MDI\n\n   <programming> ...")."""
    folded = {n.casefold() for n in names}
    lines = text.split("\n")
    start = 0
    while start < len(lines) and (not lines[start].strip() or lines[start].strip().casefold() in folded):
        start += 1
    return "\n".join(lines[start:])


def _capitals(title: str) -> str:
    """The capitals of a title that spells its acronym in them ("Partial Differential Equation LANguage")."""
    capitals = "".join(c for c in title if c.isupper())
    return capitals.casefold() if len(capitals) >= 2 else ""


def documents(warehouse: Warehouse, corpus: str) -> list[Doc]:
    rows = warehouse.arrow(
        "SELECT doc_id, title, text, headwords FROM documents WHERE corpus = ? ORDER BY doc_id", [corpus]
    ).to_pylist()
    if not rows:
        raise HardforgeError(
            f"the warehouse has no '{corpus}' documents: run `hardforge ingest corpus {corpus}` first."
        )
    return [Doc(**r) for r in rows]


def document(warehouse: Warehouse, doc_id: str) -> Doc:
    rows = warehouse.arrow("SELECT doc_id, title, text FROM documents WHERE doc_id = ?", [doc_id]).to_pylist()
    return Doc(**rows[0])


def neighbours(warehouse: Warehouse, doc_id: str) -> list[Doc]:
    """The other documents ``doc_id`` links to, in a stable order."""
    rows = warehouse.arrow(
        "SELECT DISTINCT d.doc_id, d.title, d.text FROM links l JOIN documents d ON d.doc_id = l.dst_id "
        "WHERE l.src_id = ? AND l.dst_id <> l.src_id ORDER BY d.doc_id",
        [doc_id],
    ).to_pylist()
    return [Doc(**r) for r in rows]


class CorpusSearch:
    """BM25 over one corpus's titles and texts."""

    def __init__(self, docs: list[Doc]) -> None:
        import bm25s

        self.docs = docs
        self._bm25s = bm25s
        self._index = bm25s.BM25()
        self._index.index(
            bm25s.tokenize([f"{d.title} {plain(d.text)}" for d in docs], stopwords="en", show_progress=False),
            show_progress=False,
        )

    def search(self, query: str, k: int = 10) -> list[tuple[Doc, float]]:
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self.docs))
        found, scores = self._index.retrieve(tokens, k=k, show_progress=False)
        return [(self.docs[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True) if s > 0]


__all__ = ["CorpusSearch", "Doc", "document", "documents", "neighbours", "plain"]
