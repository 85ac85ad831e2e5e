"""Label checks from inside a method's validation: the configured checks (``checks/``) on the
labels a vote produced, and the provenance that results. The sandbox is the verifiers' own; the
checker model is the policy unless ``checks.program_of_thought`` names another."""

from __future__ import annotations

from typing import Any

from checks import CheckContext, LabelItem, label_provenance, run_checks, verdict_rows
from engines import LazyEngine
from engines.base import Engine
from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.engine import EngineSpec


def checker_is_policy(config: HardforgeConfig) -> bool:
    cfg = config.checks.program_of_thought
    return cfg.model is None and not cfg.urls


def checker_engine(config: HardforgeConfig, service: RolloutService) -> Engine:
    cfg = config.checks.program_of_thought
    if checker_is_policy(config):
        assert service.engine is not None
        return service.engine
    return LazyEngine(
        EngineSpec(
            cfg.backend, cfg.model or "", urls=tuple(cfg.urls), served_model=cfg.model, seed=config.rollouts.seed
        )
    )


def context(config: HardforgeConfig, service: RolloutService) -> CheckContext:
    return CheckContext(
        config,
        sandbox=lambda: service.verifiers.get("stdio").sandbox,
        checker=lambda: checker_engine(config, service),
        checker_is_policy=checker_is_policy(config),
    )


def checked(
    config: HardforgeConfig, service: RolloutService, verifier: str, items: list[LabelItem], base: str
) -> list[tuple[str | None, str | None, dict[str, Any]]]:
    """Per item: (provenance or None, the rejection reason or None, the record of its checks)."""
    out = []
    for verdicts in run_checks(context(config, service), verifier, items):
        provenance, reason = label_provenance(base, verdicts)
        out.append((provenance, reason, {"base": base, "checks": verdict_rows(verdicts)}))
    return out
