"""The configuration reference of the manual, generated from the pydantic models: every key, its
type, its default, its environment variable, and the comment the code gives it. It is written into
docs/configuration.md (readable on GitHub as in the site) by ``python -m schemas.config_reference``;
a test and the manual's build fail when the page differs from the code."""

from __future__ import annotations

import ast
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
    """Each field's comment in the class body: the ``#`` lines just above its statement and any
    comment inside or after it (a formatter may move it to the statement's last line)."""
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
    for node in ast.parse(source).body[0].body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above, previous = [], node.lineno - 1
        while previous in comments and previous not in code_lines:
            above.insert(0, comments[previous])
            previous -= 1
        inside = [comments[line] for line in range(node.lineno, node.end_lineno + 1) if line in comments]
        out[node.target.id] = " ".join([*above, *inside])
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
    if isinstance(value, dict):  # e.g. rollouts.per_source: only what each entry sets
        value = {
            k: v.model_dump(mode="json", exclude_defaults=True) if isinstance(v, BaseModel) else v
            for k, v in value.items()
        }
    return json.dumps(value, default=str, ensure_ascii=False)


def _section_models(model: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    """(dotted key, model) for the model's sub-sections, depth first."""
    found = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            found.append((name, annotation))
            found += [(f"{name}.{sub}", kind) for sub, kind in _section_models(annotation)]
        elif _entry_model(annotation):  # a table of sections, e.g. [rollouts.per_source.NAME]
            found.append((f"{name}.NAME", _entry_model(annotation)))
    return found


def _entry_model(annotation: object) -> type[BaseModel] | None:
    """The model of a ``dict[str, Model]`` field's values, else None."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2 and inspect.isclass(args[1]):
        return args[1] if issubclass(args[1], BaseModel) else None
    return None


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
        parts += [
            "",
            f"### `[{key}]`",
            *(["", " ".join(doc.split("\n\n")[0].split())] if doc else []),
            "",
            *_table(key, model),
        ]
    return "\n".join(parts) + "\n"


BEGIN, END = "<!-- config-reference -->", "<!-- /config-reference -->"


def with_reference(page: str) -> str:
    """``page`` with the text between the reference's markers replaced by the current reference."""
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{config_reference_markdown()}\n{END}{tail or chr(10)}"


def main() -> None:
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    text = page.read_text()
    if BEGIN not in text:
        raise SystemExit(f"{page} has no {BEGIN} marker: nothing written.")
    page.write_text(with_reference(text))
    print(f"wrote the configuration reference into {page}")


if __name__ == "__main__":
    main()


__all__ = ["BEGIN", "END", "config_reference_markdown", "field_comments", "with_reference"]
