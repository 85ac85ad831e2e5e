"""MkDocs hooks (mkdocs.yml): the configuration page's reference is generated from the pydantic
models at build time, so the manual cannot drift from the code."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MARKER = "<!-- config-reference -->"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    from schemas.config_reference import config_reference_markdown

    return markdown.replace(MARKER, config_reference_markdown())
