"""MkDocs hooks (mkdocs.yml): the configuration page carries the reference generated from the
pydantic models (``python -m schemas.config_reference`` writes it); a page that differs from the
code fails the build, so the manual cannot drift from it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def on_page_markdown(markdown: str, page, config, files) -> str:
    from schemas.config_reference import BEGIN, with_reference

    if BEGIN in markdown and with_reference(markdown) != markdown:
        raise SystemExit(
            f"{page.file.src_path}: the configuration reference is stale; run `python -m schemas.config_reference`."
        )
    return markdown
