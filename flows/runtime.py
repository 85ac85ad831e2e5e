"""Process environment: everything hardforge and its libraries write goes under the data dir."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_environment(data_dir: Path, create: bool = True) -> None:
    """Point library caches and homes inside ``data_dir`` and keep everything offline.

    Must run before importing datasets, transformers or prefect. Existing variables win, so a
    user can still point a cache elsewhere on purpose. ``create`` False (a read-only command)
    creates nothing: a mistyped data directory stays absent.
    """
    data_dir = data_dir.resolve()
    cache = data_dir / ".cache"
    # one Prefect home per Prefect version: the vLLM environment runs an older Prefect, whose
    # database would refuse the newer one's migrations (run history is per environment)
    prefect_home = data_dir / "prefect" / _prefect_version()
    defaults = {
        "HF_HOME": cache / "hf",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "PREFECT_HOME": prefect_home,
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": prefect_home / "storage",
        "PREFECT_MEMO_STORE_PATH": prefect_home / "memo_store.toml",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "TOKENIZERS_PARALLELISM": "false",
        "TQDM_DISABLE": "1",
        # vLLM logs its whole config and ~150 INFO/WARNING lines at start; `hardforge --verbose` shows them
        "VLLM_LOGGING_LEVEL": "ERROR",
        "TORCH_CPP_LOG_LEVEL": "ERROR",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, str(value))
    if not create:
        return
    # Prefect creates its home folder but not the folders above it (a fresh data dir)
    try:
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from schemas.errors import HardforgeError

        raise HardforgeError(f"cannot use the data directory {data_dir}: {exc.strerror or exc}.") from None


def _prefect_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"v{version('prefect')}"
    except PackageNotFoundError:
        return "none"
