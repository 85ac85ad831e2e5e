"""Ingest a seed dataset or a user file into the warehouse."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from ingest import gym, readers, seeds
from ingest.pipeline import IngestSummary, ingest_rows
from ingest.rows import FIELDS, Limits, Mapping
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from schemas.records import DOMAINS
from warehouse.db import Warehouse


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["statement=question", ...]`` -> ``{"statement": "question"}``, checked."""
    columns: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise HardforgeError(f"--map takes FIELD=COLUMN, got '{pair}'.")
        if name not in FIELDS:
            raise HardforgeError(f"--map names unknown field '{name}'; fields: {', '.join(FIELDS)}.")
        columns[name] = column
    return columns


def ingest(
    warehouse: Warehouse,
    target: str,
    config: HardforgeConfig,
    *,
    columns: dict[str, str] | None = None,
    domain: str = "math",
    task: str | None = None,
    fmt: str | None = None,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
    gym_options: dict | None = None,
    run_id: str | None = None,
) -> IngestSummary:
    if domain not in DOMAINS:
        raise HardforgeError(f"unknown domain '{domain}'; use one of {', '.join(DOMAINS)}.")
    limits = Limits(config.ingest.max_statement_chars, config.ingest.max_answer_chars)
    run_id = run_id or uuid.uuid4().hex
    common = {"run_id": run_id, "batch_rows": config.ingest.batch_rows, "progress": progress}

    if gym_options and not target.startswith(gym.PREFIX):
        raise HardforgeError("--size, --levels and --seed apply to gym:TASK targets only.")
    if target.startswith(gym.PREFIX):
        request = gym.parse_request(target, **(gym_options or {}))
        auto = request.auto
        if auto:
            from ingest.gym_auto import choose_level

            request = choose_level(warehouse, request, config)
        rows = list(gym.gym_rows(request))  # generated up front: a bad task or level fails before any write
        summary = ingest_rows(
            warehouse, request.source, rows, Mapping(), limits, locator=lambda n: f"{request.source}:{n}", **common
        )
        if auto:
            summary.chosen = {"level": request.levels[0], "seed": request.seed}
    elif target in seeds.SEEDS and not Path(target).exists():
        if target == "champ":
            rows, concepts, hints = seeds.champ_rows()
            with warehouse.write() as con:
                warehouse.insert("concepts", concepts, con)
                warehouse.insert("hints", hints, con)
        else:
            rows = seeds.humaneval_rows()
        summary = ingest_rows(warehouse, target, rows, Mapping(), limits, locator=lambda n: f"{target}:{n}", **common)
    else:
        path = Path(target)
        readers.check_readable(path)
        if fmt is not None and fmt not in readers.FORMATS:
            raise HardforgeError(f"unknown --format '{fmt}'; use one of {', '.join(readers.FORMATS)}.")
        fmt = fmt or readers.detect_format(path)
        mapping = Mapping({**config.ingest.columns, **(columns or {})}, domain=domain, task=task)
        readers.check_mapping(path, fmt, mapping)
        name = source or path.name
        summary = ingest_rows(
            warehouse,
            name,
            readers.READERS[fmt](path),
            mapping,
            limits,
            locator=lambda n: f"{path.name}:{n}",
            **common,
        )

    return summary


def ingest_corpus(warehouse: Warehouse, target: str) -> dict[str, int | str]:
    """Documents and links of a dictd corpus (``foldoc``, ``jargon`` or a ``.index`` path), in one
    transaction; a rerun adds nothing."""
    from ingest.corpus import read_dictd, resolve_corpus
    from warehouse.db import records_to_arrow

    name, index, dictionary = resolve_corpus(target)
    read = read_dictd(name, index, dictionary)
    with warehouse.write() as con:
        new_documents = warehouse.insert("documents", records_to_arrow("documents", read.documents), con)
        new_links = warehouse.insert("links", records_to_arrow("links", read.links), con)
    return {
        "corpus": name,
        "headwords": read.headwords,
        "documents": len(read.documents),
        "new_documents": new_documents,
        "links": len(read.links),
        "resolved_links": len(read.links) - read.unresolved,
        "new_links": new_links,
    }
