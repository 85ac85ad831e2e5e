"""Task-quality policy for proposed code (AZR, methods.md §5): an AST scan for forbidden modules
and calls. It is NOT a security layer (``__import__`` walks around it); the sandbox is."""

from __future__ import annotations

import ast
import re

BANNED_MODULES: tuple[str, ...] = (
    "logging",
    "random",
    "multiprocessing",
    "pebble",
    "subprocess",
    "threading",
    "datetime",
    "time",
    "hashlib",
    "hmac",
    "bcrypt",
    "os.sys",
    "os.path",
    "sys.exit",
    "os.environ",
    "calendar",
)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def banned_names(code: str, banned: tuple[str, ...] = BANNED_MODULES) -> list[str]:
    """The banned modules or names ``code`` uses, in order of first use."""
    banned_set = set(banned)
    hits: list[str] = []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # AZR's fallback: a plain word match on unparsable code
        return [b for b in banned if re.search(rf"\b{re.escape(b)}\b", code)]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            names = [dotted] if dotted else []
        for name in names:
            for prefix in _prefixes(name):
                if prefix in banned_set and prefix not in hits:
                    hits.append(prefix)
    return hits
