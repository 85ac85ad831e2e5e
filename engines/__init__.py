"""Text generation behind one ``Engine`` interface."""

from __future__ import annotations

import logging
from pathlib import Path

from engines.base import Engine
from schemas.config import EngineConfig
from schemas.errors import HardforgeError

log = logging.getLogger("hardforge.engines")


def load_engine(config: EngineConfig, model_path: Path, seed: int = 0) -> Engine:
    """The configured backend; ``auto`` picks vLLM when it is installed and starts."""
    from engines.vllm_engine import vllm_installed

    backend = config.backend
    if backend in ("auto", "vllm") and vllm_installed():
        try:
            from engines.vllm_engine import VLLMEngine

            engine: Engine = VLLMEngine(model_path, dtype=config.dtype, kvcache_gib=config.vllm_kvcache_gib, seed=seed)
            log.warning("engine: vllm (%s)", model_path)
            return engine
        except Exception as exc:
            if backend == "vllm":
                raise HardforgeError(f"the vllm engine did not start: {exc}") from None
            log.warning("engine: vllm did not start (%s); using transformers", exc)
    elif backend == "vllm":
        raise HardforgeError(
            "engine.backend is 'vllm' but vllm is not installed; see the README (vLLM engine)."
        )
    from engines.hf import TransformersEngine

    log.warning("engine: transformers (%s)", model_path)
    return TransformersEngine(model_path, dtype=config.dtype, batch_size=config.batch_size)
