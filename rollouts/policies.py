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
from warehouse.paths import stored_location, stored_path

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
        model_path=stored_path(warehouse.data_dir, folder),
        revision=revision,
        parent_policy_id=parent_policy_id,
        curriculum_id=curriculum_id,
        meta=meta,
        created_at=dt.datetime.now(dt.UTC),
    )
    warehouse.insert_records("policies", [policy])
    return get_policy(warehouse, policy.policy_id)


def get_policy(warehouse: Warehouse, policy_id: str) -> Policy:
    """A registered policy, its model folder as an absolute path (stored relative to the data
    directory when it lies inside it, so a copied data directory keeps working)."""
    rows = warehouse.arrow("SELECT * FROM policies WHERE policy_id = ?", [policy_id]).to_pylist()
    if not rows:
        raise HardforgeError(f"no policy '{policy_id}' in the warehouse.")
    row = rows[0]
    row["meta"] = None if row["meta"] is None else json.loads(row["meta"])
    row["model_path"] = str(stored_location(warehouse.data_dir, row["model_path"]))
    return Policy(**row)


def lineage_revisions(warehouse: Warehouse, policy_id: str) -> set[str]:
    """The weight fingerprints of a policy and its ancestors."""
    found: set[str] = set()
    current: str | None = policy_id
    while current and current not in found:
        row = warehouse.arrow(
            "SELECT revision, parent_policy_id FROM policies WHERE policy_id = ?", [current]
        ).to_pylist()
        if not row:
            break
        found.add(current)
        found.add(row[0]["revision"])
        current = row[0]["parent_policy_id"]
    return found


def latest_policy(warehouse: Warehouse) -> Policy | None:
    row = warehouse.scalar("SELECT policy_id FROM policies ORDER BY created_at DESC, policy_id LIMIT 1")
    return None if row is None else get_policy(warehouse, row)


def resolve_policy(warehouse: Warehouse, config: HardforgeConfig, spec: str | None = None) -> Policy:
    """``spec`` is a policy id or name, a bundled model, or a model folder; None means the
    configured ``engine.model``, or the newest policy trained from it (the loop's checkpoint): a
    registered policy of another model is never used in its place."""
    if spec is None:
        found = configured_policy(warehouse, config)
        if found is not None:
            return found
        spec = config.engine.model
    if not is_bundled(spec) and not Path(spec).exists():
        found = find_policy(warehouse, spec)
        if found is None:
            raise HardforgeError(f"'{spec}' is neither a registered policy nor a model folder.")
        return found
    folder = resolve_model(spec, config.models_dir)
    if not is_bundled(spec):
        return register_policy(warehouse, folder)
    model = bundled(spec)
    meta = {"source": f"{model.distributions}: {model.title}, dequantized to fp32", "bundled": spec}
    return register_policy(warehouse, folder, name=model.folder, meta=meta)


def find_policy(warehouse: Warehouse, spec: str) -> Policy | None:
    """The registered policy whose id or name is ``spec`` (the newest of that name), or None;
    registers nothing."""
    found = warehouse.scalar(
        "SELECT policy_id FROM policies WHERE policy_id = ? OR name = ? ORDER BY created_at DESC LIMIT 1", [spec, spec]
    )
    return None if found is None else get_policy(warehouse, found)


def configured_policy(warehouse: Warehouse, config: HardforgeConfig) -> Policy | None:
    """The registered policy of the configured ``engine.model`` (the model, or the newest policy
    trained from it), or None; registers nothing (read-only commands use it)."""
    if latest_policy(warehouse) is None:
        return None
    return newest_descendant(warehouse, model_revision(resolve_model(config.engine.model, config.models_dir)))


def newest_descendant(warehouse: Warehouse, revision: str) -> Policy | None:
    """The newest registered policy whose lineage holds the weights ``revision`` (the model itself,
    or a checkpoint trained from it)."""
    rows = warehouse.arrow("SELECT policy_id FROM policies ORDER BY created_at DESC, policy_id").column("policy_id")
    for policy_id in rows.to_pylist():
        if revision in lineage_revisions(warehouse, policy_id):
            return get_policy(warehouse, policy_id)
    return None
