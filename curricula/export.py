"""Curriculum shards: Parquet in curriculum order, readable as-is by TRL, verl and `datasets`.

Columns: ``prompt`` (chat messages, TRL's conversational format), ``answer``, ``verifier``,
``label_provenance`` (how the answer is known), ``problem_id``, ``position``, the difficulty figures, and verl's ``data_source``, ``ability``,
``reward_model`` {style, ground_truth} and ``extra_info`` {index, problem_id, ...}. A
``manifest.json`` lists the shards with row counts and sha256; it holds no timestamp, so the same
selection always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curricula.card import dataset_card
from curricula.select import rule_of, select_curriculum
from schemas.config import CurriculumConfig, RolloutConfig
from schemas.keys import content_key
from schemas.prompts import user_content
from schemas.records import Curriculum
from warehouse.db import Warehouse, records_to_arrow
from warehouse.paths import stored_path

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
PASS_AT_K = pa.list_(pa.struct([("k", pa.int64()), ("value", pa.float64())]))
REWARD_MODEL = pa.struct([("style", pa.string()), ("ground_truth", pa.string())])
EXTRA_INFO = pa.struct(
    [
        ("index", pa.int64()),
        ("problem_id", pa.string()),
        ("split", pa.string()),
        ("verifier", pa.string()),
        ("source", pa.string()),
        ("pass_at_1", pa.float64()),
        ("policy_id", pa.string()),
        ("entry_point", pa.string()),
        ("extra", pa.string()),  # the problem's extra as JSON: what its verifier needs (e.g. a gym task's config)
        ("statement", pa.string()),  # the code verifier places a code prompt before the completion (verl's reward)
    ]
)
SHARD_SCHEMA = pa.schema(
    [
        ("prompt", pa.list_(MESSAGE)),
        ("answer", pa.string()),
        ("statement", pa.string()),
        ("verifier", pa.string()),
        ("label_provenance", pa.string()),  # how the answer is known: ground_truth, executed, checked, inherited, ...
        ("method", pa.string()),  # the synthesis method that made it (svs, sqlm, ...), null for a seed problem
        ("parent_id", pa.string()),  # the problem it was made from (SvS's seed problem), when there is one
        ("problem_id", pa.string()),
        ("position", pa.int64()),
        ("pass_at_1", pa.float64()),
        ("pass_at_k", PASS_AT_K),
        ("n_samples", pa.int64()),
        ("n_correct", pa.int64()),
        ("data_source", pa.string()),
        ("ability", pa.string()),
        ("reward_model", REWARD_MODEL),
        ("extra_info", EXTRA_INFO),
    ]
)


@dataclass
class ExportResult:
    curriculum_id: str
    out_dir: Path
    items: int
    shards: list[dict[str, Any]]
    manifest: dict[str, Any]


def shard_table(selected: pa.Table, policy_id: str, prompts: RolloutConfig) -> pa.Table:
    rows = selected.num_rows
    domains = selected.column("domain").to_pylist()
    statements = selected.column("statement").to_pylist()
    sources = selected.column("source").to_pylist()
    contents = pa.array(
        [user_content(d, s, prompts, src) for d, s, src in zip(domains, statements, sources, strict=True)], pa.string()
    )
    messages = pa.StructArray.from_arrays([pa.repeat(pa.scalar("user"), rows), contents], fields=list(MESSAGE))
    prompt = pa.ListArray.from_arrays(pa.array(range(rows + 1), pa.int32()), messages)
    positions = pa.array(range(rows), pa.int64())
    answers = selected.column("answer").combine_chunks()
    pass_at_k = selected.column("pass_at_k").cast(PASS_AT_K)
    extra_info = pa.StructArray.from_arrays(
        [
            positions,
            selected.column("problem_id").combine_chunks(),
            pa.repeat(pa.scalar("train"), rows),
            selected.column("verifier").combine_chunks(),
            selected.column("source").combine_chunks(),
            selected.column("pass_at_1").combine_chunks(),
            pa.repeat(pa.scalar(policy_id), rows),
            selected.column("entry_point").combine_chunks(),
            selected.column("extra").cast(pa.string()).combine_chunks(),
            selected.column("statement").combine_chunks(),
        ],
        fields=list(EXTRA_INFO),
    )
    reward_model = pa.StructArray.from_arrays([pa.repeat(pa.scalar("rule"), rows), answers], fields=list(REWARD_MODEL))
    columns = {
        "prompt": prompt,
        "answer": answers,
        "statement": selected.column("statement"),
        "verifier": selected.column("verifier"),
        "label_provenance": selected.column("label_provenance"),
        "method": selected.column("method"),
        "parent_id": selected.column("parent_id"),
        "problem_id": selected.column("problem_id"),
        "position": positions,
        "pass_at_1": selected.column("pass_at_1"),
        "pass_at_k": pass_at_k,
        "n_samples": selected.column("n"),
        "n_correct": selected.column("c"),
        "data_source": selected.column("source"),
        "ability": selected.column("domain"),
        "reward_model": reward_model,
        "extra_info": extra_info,
    }
    return pa.Table.from_arrays([columns[f.name] for f in SHARD_SCHEMA], schema=SHARD_SCHEMA)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


METADATA = ("README.md", "manifest.json")  # published after the shards


def export_curriculum(
    warehouse: Warehouse,
    policy_id: str,
    config: CurriculumConfig,
    prompts: RolloutConfig,
    out_root: Path,
    *,
    run_id: str | None = None,
) -> ExportResult:
    selected = select_curriculum(warehouse, policy_id, config, prompts)
    rule = rule_of(config, policy_id)
    ids = selected.column("problem_id").to_pylist()
    curriculum_id = content_key("curriculum", json.dumps(rule, sort_keys=True), content_key(*ids) if ids else "")
    table = shard_table(selected, policy_id, prompts)
    out_dir = out_root / curriculum_id
    scratch = out_root / f".{curriculum_id}.{uuid.uuid4().hex}"
    scratch.mkdir(parents=True)
    try:
        shards = _write_shards(table, config.rows_per_shard, scratch)
        manifest = {
            "curriculum_id": curriculum_id,
            "policy_id": policy_id,
            "rule": rule,
            "counts": {
                "items": table.num_rows,
                "shards": len(shards),
                "by_domain": _count(selected, "domain"),
                "by_source": _count(selected, "source"),
                "by_level": _count(selected, "level"),
                "by_label_provenance": _count(selected, "label_provenance"),
                "by_method": _count(selected, "method", missing="seed"),
                "pass_at_1_histogram": pass_at_1_histogram(selected.column("pass_at_1").to_pylist()),
            },
            "sampling_keys": sorted(set(selected.column("sampling_key").to_pylist())),
            "lineage": lineage(selected),
            "shards": shards,
            "columns": SHARD_SCHEMA.names,
            "order_note": "rows are in curriculum order across shards; read the shards in file order",
        }
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        (scratch / "README.md").write_text(dataset_card(manifest), encoding="utf-8")
        _publish(scratch, out_dir, [s["file"] for s in shards])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _record(warehouse, curriculum_id, policy_id, rule, table, shards, out_dir, run_id)
    point_latest(out_root, curriculum_id)  # once the export is recorded
    return ExportResult(curriculum_id, out_dir, table.num_rows, shards, manifest)


def _count(selected: pa.Table, column: str, missing: str = "none") -> dict[str, int]:
    return dict(sorted(Counter(missing if v is None else str(v) for v in selected.column(column).to_pylist()).items()))


HISTOGRAM_BINS = 10


def bin_counts(values: list[float], bins: int = HISTOGRAM_BINS) -> list[int]:
    """How many pass@1 values fall in each bin [0, 1/bins), ..., [1 - 1/bins, 1] (1.0 in the last)."""
    counts = Counter(min(int(v * bins), bins - 1) for v in values)
    return [counts.get(b, 0) for b in range(bins)]


def pass_at_1_histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> list[dict[str, Any]]:
    """Items per pass@1 bin: [0, 0.1), ..., [0.9, 1.0]."""
    return [
        {"low": round(b / bins, 3), "high": round((b + 1) / bins, 3), "items": n}
        for b, n in enumerate(bin_counts(values, bins))
    ]


def lineage(selected: pa.Table, shown: int = 20) -> dict[str, Any]:
    """Where the items come from: the synthesis methods that made them, their parent problems,
    and the runs that created them (content only: the same selection, the same manifest)."""
    methods = [m for m in selected.column("method").to_pylist() if m]
    parents = sorted({p for p in selected.column("parent_id").to_pylist() if p})
    runs = sorted({r for r in selected.column("created_run").to_pylist() if r})
    return {
        "seed_items": selected.num_rows - len(methods),
        "synthesized_items": len(methods),
        "by_method": dict(sorted(Counter(methods).items())),
        "items_with_parent": sum(1 for p in selected.column("parent_id").to_pylist() if p),
        "parents": len(parents),
        "parent_ids": parents[:shown],
        "created_runs": len(runs),
        "created_run_ids": runs[:shown],
    }


def _write_shards(table: pa.Table, per_shard: int, folder: Path) -> list[dict[str, Any]]:
    count = -(-table.num_rows // per_shard)  # an empty curriculum has a manifest and no shard
    shards = []
    for i in range(count):
        part = table.slice(i * per_shard, per_shard)
        name = f"shard-{i:05d}-of-{count:05d}.parquet"
        pq.write_table(part, folder / name, compression="zstd")
        shards.append(
            {
                "file": name,
                "rows": part.num_rows,
                "sha256": _sha256(folder / name),
                "first_position": i * per_shard,
                "last_position": i * per_shard + part.num_rows - 1,
            }
        )
    return shards


def _publish(scratch: Path, out_dir: Path, files: list[str]) -> None:
    """Move the new shards and then the manifest into ``out_dir`` one file at a time with atomic
    renames, so that at no moment is a shard the warehouse lists missing; then drop files that the
    new manifest no longer lists."""
    if not out_dir.exists():
        os.replace(scratch, out_dir)
        scratch.mkdir()  # the caller removes it
        return
    for name in [*files, *METADATA]:
        os.replace(scratch / name, out_dir / name)
    for stale in out_dir.iterdir():
        if stale.name not in files and stale.name not in METADATA:
            stale.unlink()


LATEST = "latest"


def point_latest(out_root: Path, curriculum_id: str) -> None:
    """``out_root/latest`` -> the curriculum just exported (a relative link, replaced atomically), so
    a trainer's config can name ``curricula/latest`` and always read the newest."""
    link = out_root / LATEST
    scratch = out_root / f".{LATEST}.{uuid.uuid4().hex}"
    os.symlink(curriculum_id, scratch)
    try:
        os.replace(scratch, link)
    except OSError:
        scratch.unlink(missing_ok=True)
        raise


def _record(warehouse, curriculum_id, policy_id, rule, table, shards, out_dir, run_id) -> None:
    shard_of = []
    for number, shard in enumerate(shards):
        shard_of.extend([number] * shard["rows"])
    items = pa.table(
        {
            "curriculum_id": pa.repeat(pa.scalar(curriculum_id), table.num_rows),
            "position": table.column("position"),
            "problem_id": table.column("problem_id"),
            "shard": pa.array(shard_of, pa.int64()),
        },
        schema=records_to_arrow("curriculum_items", []).schema,
    )
    record = Curriculum(
        curriculum_id=curriculum_id,
        policy_id=policy_id,
        rule=rule,
        n_items=table.num_rows,
        n_shards=len(shards),
        out_dir=stored_path(warehouse.data_dir, out_dir),
        manifest_sha256=_sha256(out_dir / "manifest.json"),
        run_id=run_id,
        created_at=dt.datetime.now(dt.UTC),
    )
    with warehouse.write() as con:
        # a re-export of the same selection whose figures changed has a new manifest hash
        warehouse.upsert("curricula", records_to_arrow("curricula", [record]), con)
        warehouse.upsert("curriculum_items", items, con)


__all__ = ["export_curriculum", "shard_table", "ExportResult", "SHARD_SCHEMA"]
