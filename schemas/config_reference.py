"""The configuration reference of the manual, generated from the pydantic models (docs/configuration.md
is built with it by scripts/docs_hooks.py), so that it cannot go stale: every key, its type, its
default, its environment variable, and the comment the code gives it."""

from __future__ import annotations

import inspect
import io
import json
import re
import tokenize
import typing
from functools import cache

from pydantic import BaseModel

from schemas.config import ENV_PREFIX, HardforgeConfig


@cache
def field_comments(model: type[BaseModel]) -> dict[str, str]:
    """Each field's comment in the class body: the ``#`` lines just above it and the one after it."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    comments: dict[int, str] = {}
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string.lstrip("#").strip()
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            code_lines.add(token.start[0])
    out: dict[str, str] = {}
    for number, line in enumerate(source.splitlines(), start=1):
        match = re.match(r"^    (\w+)\s*:", line)
        if not match or match.group(1) not in model.model_fields:
            continue
        above, previous = [], number - 1
        while previous in comments and previous not in code_lines:
            above.insert(0, comments[previous])
            previous -= 1
        text = " ".join([*above, *([comments[number]] if number in comments and number in code_lines else [])])
        out[match.group(1)] = text
    return out


def _type_name(annotation: object) -> str:
    text = str(annotation) if typing.get_origin(annotation) else getattr(annotation, "__name__", str(annotation))
    text = re.sub(r"\b(typing|pathlib|schemas\.\w+)\.", "", text).replace("NoneType", "None")
    return text.replace(" | ", " or ")  # a pipe would split the table's cell


def _toml(value: object) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "…"


def _section_models(model: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    """(dotted key, model) for the model's sub-sections, depth first."""
    found = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            found.append((name, annotation))
            found += [(f"{name}.{sub}", kind) for sub, kind in _section_models(annotation)]
    return found


def _table(prefix: str, model: type[BaseModel]) -> list[str]:
    comments = field_comments(model)
    rows = ["| key | type | default | environment variable | what it is |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            continue  # a section of its own
        default = field.get_default(call_default_factory=True)
        env = ENV_PREFIX + "__".join([*prefix.split("."), name] if prefix else [name]).upper()
        cells = [
            f"`{name}`",
            f"`{_type_name(annotation)}`",
            f"`{_toml(default)}`",
            f"`{env}`",
            (comments.get(name) or "").replace("|", "\\|"),
        ]
        rows.append("| " + " | ".join(cell.replace("\n", " ") for cell in cells) + " |")
    return rows


def config_reference_markdown() -> str:
    """Markdown: the top-level keys, then one table per section (``[nightly]``, ``[synth.svs]``, ...)."""
    parts = ["### Top level", "", *_table("", HardforgeConfig)]
    for key, model in _section_models(HardforgeConfig):
        doc = (inspect.getdoc(model) or "").strip()
        doc = "" if doc.startswith(("Usage docs:", "!!! abstract")) or model.__doc__ is None else doc
        parts += ["", f"### `[{key}]`", *(["", doc.splitlines()[0]] if doc else []), "", *_table(key, model)]
    return "\n".join(parts) + "\n"


__all__ = ["config_reference_markdown", "field_comments"]
