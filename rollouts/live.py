"""Rollout services over engines the stages do not build themselves: the weights a trainer is
updating (the proposer's online solver) and OpenAI-compatible servers of a policy (verl's
proposer reward). Here so that the trainer reaches engines only through rollouts."""

from __future__ import annotations

from typing import Any

from engines import load_engine
from engines.hf import LiveEngine
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from verifiers import VerifierSet


def live_service(
    model: Any, tokenizer: Any, verifiers: VerifierSet, config: HardforgeConfig, policy_id: str, run_id: str
) -> RolloutService:
    """The policy being trained as the solver: generation reads the current weights."""
    return RolloutService(
        LiveEngine(model, tokenizer, batch_size=config.engine.batch_size),
        verifiers,
        config.rollouts,
        policy_id=policy_id,
        run_id=run_id,
    )


def server_service(config: HardforgeConfig, urls: list[str], verifiers: VerifierSet, run_id: str) -> RolloutService:
    """OpenAI-compatible servers of the policy as the solver."""
    engine = load_engine(config.engine.model_copy(update={"backend": "openai", "urls": urls}), config.engine.model)
    return RolloutService(engine, verifiers, config.rollouts, policy_id="", run_id=run_id)


__all__ = ["live_service", "server_service"]
