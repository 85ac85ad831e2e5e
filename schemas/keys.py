"""Content keys: the same problem always gets the same id, so every write is idempotent."""

from __future__ import annotations

import ast
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


# what ast.parse raises on hostile text besides a syntax error (null bytes, nesting deeper than
# its stack, memory): a proposal that makes the parser give up is text, never a crash
UNPARSABLE = (SyntaxError, ValueError, MemoryError, RecursionError)
_TYPING_MODULES = frozenset({"typing", "typing_extensions", "__future__"})


class _AnnotationsDropped(ast.NodeTransformer):
    """Type hints and the imports that serve them only: Python runs a program the same without
    them, so two programs that differ there are one problem (an AZR abduction came twice in one
    night, once with ``-> List[str]`` and ``from typing import List``, once with ``-> str``)."""

    def __init__(self) -> None:
        self.in_class: list[bool] = []  # per enclosing scope: a class body's (a dataclass's fields)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.returns = None
        arguments = node.args
        for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg):
            if arg is not None:
                arg.annotation = None
        self.in_class.append(False)
        self.generic_visit(node)
        self.in_class.pop()
        if not node.body:
            node.body = [ast.Pass()]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.in_class.append(True)
        self.generic_visit(node)
        self.in_class.pop()
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if self.in_class and self.in_class[-1]:  # a class's annotated name is a field: kept, its type not
            node.annotation = ast.Name("_", ast.Load())
            return node
        if node.value is None:  # elsewhere a bare declaration does nothing at run time
            return None
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)

    def visit_Import(self, node: ast.Import) -> ast.AST | None:
        return None if all(a.name in _TYPING_MODULES for a in node.names) else node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | None:
        return None if node.module in _TYPING_MODULES and not node.level else node


def without_annotations(tree: ast.AST) -> ast.AST:
    """``tree`` with its type hints and typing imports taken off (in place)."""
    return ast.fix_missing_locations(_AnnotationsDropped().visit(tree))


def code_form(code: str) -> str | None:
    """Python source as ``ast.unparse`` writes it without type hints and typing imports, so
    spacing, comments and annotations do not make a copy new; None when it does not parse.
    Docstrings stay: a HumanEval prompt's docstring is its task."""
    try:
        return ast.unparse(without_annotations(ast.parse(code)))
    except UNPARSABLE:
        return None
