"""Concept banks for MathSmith: a JSONL file in the PlanetMath style of the official repo, one
concept per line: ``{"Concept": str, "Explanation": str, "Categories": [1-3 str]}`` (other keys,
such as ``source``, are kept out). Bad lines go to the quarantine with their reason; a rerun adds
nothing twice (ids are content hashes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ingest.pipeline import IngestSummary, reason_kind
from ingest.readers import check_readable, read_jsonl
from ingest.rows import Rejected
from schemas.keys import content_key
from schemas.records import Concept, Quarantine
from warehouse.db import Warehouse, records_to_arrow

MAX_CONCEPT_CHARS = 300
MAX_EXPLANATION_CHARS = 4000


def concept_from(record: Any, source: str) -> Concept:
    """The concept a JSONL record describes; raises ``Rejected`` with the reason when it is not one."""
    if not isinstance(record, dict):
        raise Rejected("not a JSON object")
    name, text = record.get("Concept"), record.get("Explanation")
    for field, value, limit in (("Concept", name, MAX_CONCEPT_CHARS), ("Explanation", text, MAX_EXPLANATION_CHARS)):
        if not isinstance(value, str) or not value.strip():
            raise Rejected(f"missing {field}: a non-empty string is needed")
        if len(value) > limit:
            raise Rejected(f"{field} too long: {len(value)} characters (limit {limit})")
    categories = record.get("Categories", [])
    if isinstance(categories, str):
        categories = [categories]
    if (
        not isinstance(categories, list)
        or not all(isinstance(c, str) and c.strip() for c in categories)
        or len(categories) > 3
    ):
        raise Rejected("bad Categories: a list of at most 3 non-empty strings is needed")
    return Concept(
        concept_id=content_key("concept", source, name.strip(), text.strip()),
        source=source,
        name=name.strip(),
        text=text.strip(),
        category="; ".join(c.strip() for c in categories) or None,
    )


def ingest_concepts(
    warehouse: Warehouse, path: Path, *, source: str | None = None, run_id: str | None = None
) -> IngestSummary:
    check_readable(path)
    source = source or path.stem
    summary = IngestSummary(f"concepts:{source}")
    concepts: list[Concept] = []
    quarantine: list[Quarantine] = []
    now = dt.datetime.now(dt.UTC)
    for number, record, raw in read_jsonl(path):
        summary.rows += 1
        try:
            if isinstance(record, Rejected):
                raise record
            concepts.append(concept_from(record, source))
        except Rejected as rejected:
            reason, where = str(rejected), f"{path.name}:{number}"
            summary.quarantined[reason_kind(reason)] += 1
            quarantine.append(
                Quarantine(
                    quarantine_id=content_key(source, where, reason, raw),
                    source=f"concepts:{source}",
                    locator=where,
                    reason=reason,
                    raw=raw,
                    run_id=run_id,
                    created_at=now,
                )
            )
    with warehouse.write() as con:
        summary.inserted = warehouse.insert("concepts", records_to_arrow("concepts", concepts), con)
        warehouse.insert("quarantine", records_to_arrow("quarantine", quarantine), con)
    return summary


__all__ = ["concept_from", "ingest_concepts"]
