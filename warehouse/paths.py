"""Paths stored in the warehouse (a policy's model folder, a curriculum's folder): relative to the
data directory when they lie inside it, so that a copied or moved data directory keeps working."""

from __future__ import annotations

import os
from pathlib import Path


def stored_path(data_dir: Path, folder: Path | str) -> str:
    """How a path is stored in the warehouse: relative to the data directory when it lies inside
    it (the data directory can move), else absolute."""
    # normpath: "DATA/../other" is outside the data directory, not the relative "../other"
    folder, root = Path(os.path.normpath(Path(folder).absolute())), Path(os.path.normpath(Path(data_dir).absolute()))
    try:
        return str(folder.relative_to(root))
    except ValueError:
        return str(folder.resolve())


def stored_location(data_dir: Path, stored: str) -> Path:
    """The absolute path of a stored one: a relative path is under the data directory; an absolute
    one from a data directory that has since moved (rows stored before migration 13) is found again
    by its place in it, only as ``policies/<name>`` or ``curricula/<name>``: those names carry a run
    or curriculum id. A ``models/<name>`` is not looked for, since a user's own model folder of the
    same name elsewhere would silently become another model."""
    path = Path(stored)
    if not path.is_absolute():
        return Path(data_dir).absolute() / path
    if not path.exists() and len(path.parts) >= 3 and path.parts[-2] in ("policies", "curricula"):
        moved = Path(data_dir).absolute() / path.parts[-2] / path.parts[-1]
        if moved.exists():
            return moved
    return path
