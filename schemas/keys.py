"""Content keys: the same problem always gets the same id, so every write is idempotent."""

from __future__ import annotations

import hashlib
import unicodedata

_SEP = "\x1f"


def normalize_text(text: str, domain: str) -> str:
    """Normalize for identity. Code keeps its indentation (it is meaningful); prose collapses
    whitespace. Case is kept: in math, ``A`` and ``a`` are different variables."""
    text = unicodedata.normalize("NFC", text)
    if domain == "code":
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return "\n".join(line.rstrip() for line in lines).strip("\n")
    return " ".join(text.split())


def content_key(*parts: str) -> str:
    """A 128-bit hex digest of the parts (BLAKE2b: fast, stable across versions and machines)."""
    return hashlib.blake2b(_SEP.join(parts).encode("utf-8"), digest_size=16).hexdigest()


def problem_id(domain: str, statement: str, answer: str) -> str:
    return content_key(domain, normalize_text(statement, domain), normalize_text(answer, domain))
