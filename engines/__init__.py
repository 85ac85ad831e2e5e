"""Text generation behind one ``Engine`` interface."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from engines.base import Engine
from schemas.config import EngineConfig
from schemas.engine import EngineSpec
from schemas.errors import HardforgeError

log = logging.getLogger("hardforge.engines")


def engine_spec(config: EngineConfig, model_path: Path | str, seed: int = 0) -> EngineSpec:
    return EngineSpec(
        config.backend,
        str(model_path),
        config.dtype,
        config.batch_size,
        config.vllm_kvcache_gib,
        seed,
        tuple(config.urls),
        config.served_model,
        config.concurrency,
        config.timeout_s,
        config.retries,
        config.send_seed,
    )


def load_engine(config: EngineConfig, model_path: Path, seed: int = 0) -> Engine:
    """The configured backend; ``auto`` picks vLLM when it is installed and starts."""
    return build_engine(engine_spec(config, model_path, seed))


def build_engine(spec: EngineSpec) -> Engine:
    """An engine from its spec; ``auto`` picks vLLM when it is installed and starts."""
    from engines.vllm_engine import vllm_installed

    backend, model_path = spec.backend, Path(spec.model_path)
    if backend == "openai":
        from engines.openai_engine import OpenAIEngine

        engine = OpenAIEngine(
            spec.urls,
            model=spec.served_model,
            concurrency=spec.concurrency,
            timeout_s=spec.timeout_s,
            retries=spec.retries,
            send_seed=spec.send_seed,
        )
        log.warning("engine: openai (%s at %s)", engine.model, ", ".join(spec.urls))
        return engine
    if backend in ("auto", "vllm") and vllm_installed():
        try:
            from engines.vllm_engine import VLLMEngine

            engine: Engine = VLLMEngine(model_path, dtype=spec.dtype, kvcache_gib=spec.vllm_kvcache_gib, seed=spec.seed)
            log.warning("engine: vllm (%s)", model_path)
            return engine
        except Exception as exc:
            if backend == "vllm":
                raise HardforgeError(f"the vllm engine did not start: {exc}") from None
            log.warning("engine: vllm did not start (%s); using transformers", exc)
    elif backend == "vllm":
        raise HardforgeError(
            "engine.backend is 'vllm' but vllm is not installed; see docs/engines.md (the vLLM engine)."
        )
    from engines.hf import TransformersEngine

    log.warning("engine: transformers (%s)", model_path)
    return TransformersEngine(model_path, dtype=spec.dtype, batch_size=spec.batch_size)


_SHARED: dict[EngineSpec, Engine] = {}
# completion tokens generated through shared engines in this process (a stage's budget reads the
# difference across its work: synthesis methods spend a token budget each)
GENERATED = {"tokens": 0}
# every engine this process started: (backend, model, seconds to start), for a run's wall-time split
STARTS: list[dict[str, object]] = []


def shared_engine(spec: EngineSpec) -> Engine:
    """One engine per spec in this process, built on first use: tasks that receive the same spec
    share it instead of loading the model again. ``release_engines`` closes them."""
    if spec not in _SHARED:
        started = time.monotonic()
        # a phase of its own in the logs: loading a model takes seconds to minutes, with no progress
        log.warning("engine: loading %s (%s)", spec.model_path, spec.backend)
        _SHARED[spec] = build_engine(spec)
        STARTS.append(
            {
                "engine": _SHARED[spec].name,
                "model": str(spec.model_path),
                "start_s": round(time.monotonic() - started, 1),
            }
        )
    return _SHARED[spec]


class LazyEngine(Engine):
    """The shared engine of a spec, built only when something is generated or counted: a stage
    with nothing to do (no seed in band, nothing left to measure) never loads the model."""

    def __init__(self, spec: EngineSpec) -> None:
        self.spec = spec
        self.name = spec.backend
        self.model_path = spec.model_path

    def generate(self, prompts, params):
        groups = shared_engine(self.spec).generate(prompts, params)
        GENERATED["tokens"] += sum(c.completion_tokens for group in groups for c in group)
        return groups

    def count_tokens(self, prompt) -> int:
        return shared_engine(self.spec).count_tokens(prompt)


def release_engines() -> None:
    while _SHARED:
        _SHARED.popitem()[1].close()
