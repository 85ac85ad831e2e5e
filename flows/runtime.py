"""Process environment: everything hardforge and its libraries write goes under the data dir."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_environment(data_dir: Path) -> None:
    """Point library caches and homes inside ``data_dir`` and keep everything offline.

    Must run before importing datasets, transformers or prefect. Existing variables win, so a
    user can still point a cache elsewhere on purpose.
    """
    data_dir = data_dir.resolve()
    cache = data_dir / ".cache"
    defaults = {
        "HF_HOME": cache / "hf",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PREFECT_HOME": data_dir / "prefect",
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": data_dir / "prefect" / "storage",
        "PREFECT_MEMO_STORE_PATH": data_dir / "prefect" / "memo_store.toml",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "TOKENIZERS_PARALLELISM": "false",
        "TQDM_DISABLE": "1",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, str(value))
    # Prefect creates its home folder but not the folders above it (a fresh data dir)
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
