"""Reading a Lean check's answer, from the Lean REPL (leanprover-community/repl, as lean-interact
returns it) or a Kimina Lean Server (``POST /api/check``). Pure functions over their JSON.

A *statement* check compiles ``theorem ... := by sorry``: it passes when no message is an error;
the warning "declaration uses 'sorry'" and a non-empty ``sorries`` list are expected ("sorry").
Without sorries and errors the code is a complete proof ("valid").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["valid", "sorry", "error", "timeout", "crash", "no toolchain"]
COMPILED: tuple[str, ...] = ("valid", "sorry")
SORRY_WARNINGS = ("declaration uses 'sorry'", "declaration uses `sorry`")
_DECLARATION = re.compile(r"^\s*(theorem|lemma|example)\b", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+\S+", re.MULTILINE)


@dataclass(frozen=True)
class LeanResult:
    status: Status
    errors: list[str] = field(default_factory=list)  # the error messages, "line:col: text"
    messages: list[dict[str, Any]] = field(default_factory=list)  # every message as the REPL gave it
    detail: str | None = None  # why a check did not run (timeout, crash, no toolchain)

    @property
    def compiles(self) -> bool | None:
        """True/False from a compiler; None when no compiler ran (no toolchain, or it crashed)."""
        if self.status in ("no toolchain", "crash"):
            return None
        return self.status in COMPILED


def _where(message: dict[str, Any]) -> str:
    pos = message.get("pos") or {}
    return f"{pos.get('line', '?')}:{pos.get('column', '?')}"


def classify_repl(response: dict[str, Any]) -> LeanResult:
    """One REPL command response: ``{"messages": [...], "sorries": [...], "env": n}``, or the
    REPL's own error ``{"message": "..."}`` (an unknown environment, a bad command)."""
    if "messages" not in response and "env" not in response and response.get("message"):
        return LeanResult("crash", detail=f"the Lean REPL refused the command: {response['message']}")
    messages = list(response.get("messages") or [])
    errors = [f"{_where(m)}: {m.get('data', '')}" for m in messages if m.get("severity") == "error"]
    if errors:
        return LeanResult("error", errors, messages)
    uses_sorry = bool(response.get("sorries")) or any(m.get("data") in SORRY_WARNINGS for m in messages)
    return LeanResult("sorry" if uses_sorry else "valid", [], messages)


def classify_kimina(result: dict[str, Any]) -> LeanResult:
    """One entry of a Kimina ``/api/check`` answer: ``{"id", "time", "error", "response"}``; a
    timeout is reported in ``error`` ("Lean REPL command timed out in 30 seconds")."""
    error = result.get("error")
    if error:
        kind = "timeout" if "timed out" in error.lower() or "timeout" in error.lower() else "crash"
        return LeanResult(kind, detail=error)
    response = result.get("response")
    if not isinstance(response, dict):
        return LeanResult("crash", detail="the Kimina server returned no REPL response")
    return classify_repl(response)


def split_header(code: str) -> tuple[str, str]:
    """(the leading import lines, the rest), as Kimina splits a snippet."""
    lines = code.splitlines()
    cut = 0
    for i, line in enumerate(lines):
        if _IMPORT.match(line):
            cut = i + 1
        elif line.strip() and not line.strip().startswith("--"):
            break
    return "\n".join(lines[:cut]), "\n".join(lines[cut:])


def statement_code(formal: str, header: str) -> str:
    """The code to compile for a formal statement: the configured header (unless the statement
    brings its own imports), and the last theorem with its proof replaced by ``sorry`` (a
    statement check must not fail on a proof attempt)."""
    own_header, body = split_header(formal.strip())
    body = body.strip()
    starts = list(_DECLARATION.finditer(body))
    if starts:
        start = starts[-1].start()
        proof = body.find(":=", start)
        body = (body[:proof] if proof >= 0 else body).rstrip() + " := by sorry"
    return f"{own_header or header}\n\n{body}\n"
