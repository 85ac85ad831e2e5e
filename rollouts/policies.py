"""Policies: the models we measure difficulty for, registered in the warehouse."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from engines.bundled import bundled, is_bundled, resolve_model
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from schemas.keys import content_key
from schemas.records import Policy
from warehouse.db import Warehouse

_EDGE = 1 << 20  # bytes hashed at each end of a weight file


def model_revision(folder: Path) -> str:
    """A fingerprint of a model folder: config and tokenizer files in full, weight files by
    size plus their first and last MiB (hashing 0.5 GB per run would cost seconds)."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        digest.update(path.name.encode())
        size = path.stat().st_size
        digest.update(str(size).encode())
        with path.open("rb") as fh:
            if size <= 2 * _EDGE:
                digest.update(fh.read())
            else:
                digest.update(fh.read(_EDGE))
                fh.seek(size - _EDGE)
                digest.update(fh.read(_EDGE))
    return digest.hexdigest()


def register_policy(
    warehouse: Warehouse,
    folder: Path,
    *,
    name: str | None = None,
    parent_policy_id: str | None = None,
    curriculum_id: str | None = None,
    meta: dict | None = None,
    trained_in: str | None = None,
) -> Policy:
    """Register a model folder. A checkpoint from a training run is its own policy even when its
    weights did not move (``trained_in`` = the run), so lineage is never collapsed."""
    revision = model_revision(folder)
    policy = Policy(
        policy_id=content_key("policy", revision, *([trained_in] if trained_in else [])),
        name=name or folder.name,
        model_path=str(folder.resolve()),
        revision=revision,
        parent_policy_id=parent_policy_id,
        curriculum_id=curriculum_id,
        meta=meta,
        created_at=dt.datetime.now(dt.UTC),
    )
    warehouse.insert_records("policies", [policy])
    return get_policy(warehouse, policy.policy_id)


def get_policy(warehouse: Warehouse, policy_id: str) -> Policy:
    rows = warehouse.arrow("SELECT * FROM policies WHERE policy_id = ?", [policy_id]).to_pylist()
    if not rows:
        raise HardforgeError(f"no policy '{policy_id}' in the warehouse.")
    row = rows[0]
    row["meta"] = None if row["meta"] is None else json.loads(row["meta"])
    return Policy(**row)


def latest_policy(warehouse: Warehouse) -> Policy | None:
    row = warehouse.scalar("SELECT policy_id FROM policies ORDER BY created_at DESC, policy_id LIMIT 1")
    return None if row is None else get_policy(warehouse, row)


def resolve_policy(warehouse: Warehouse, config: HardforgeConfig, spec: str | None = None) -> Policy:
    """``spec`` is a policy id or name, ``bundled``, or a model folder; None means the latest
    registered policy (the newest trained checkpoint), else the configured ``engine.model``."""
    if spec is None:
        latest = latest_policy(warehouse)
        if latest is not None:
            return latest
        spec = config.engine.model
    if not is_bundled(spec) and not Path(spec).exists():
        found = warehouse.scalar(
            "SELECT policy_id FROM policies WHERE policy_id = ? OR name = ? ORDER BY created_at DESC LIMIT 1",
            [spec, spec],
        )
        if found is None:
            raise HardforgeError(f"'{spec}' is neither a registered policy nor a model folder.")
        return get_policy(warehouse, found)
    folder = resolve_model(spec, config.models_dir)
    if not is_bundled(spec):
        return register_policy(warehouse, folder)
    model = bundled(spec)
    meta = {"source": f"{model.distributions}: {model.title}, dequantized to fp32", "bundled": spec}
    return register_policy(warehouse, folder, name=model.folder, meta=meta)
