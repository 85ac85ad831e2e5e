"""A reward entry point for verl: ``custom_reward_function.path = <this file>`` and
``custom_reward_function.name = compute_score``. verl's default dispatcher raises
``NotImplementedError`` for hardforge's data sources (``champ``, ``gym:products``, ``svs``, ...);
this function grades a shard row with hardforge's own verifiers, exactly as difficulty was measured
(the row's ``extra_info`` carries the verifier, the source and the problem's extra).

The config comes from ``$HARDFORGE_CONFIG`` / ``./hardforge.toml`` (and ``HARDFORGE_*``), as for
the CLI. Verifiers (math worker processes, the code sandbox) start on first use and are reused.
"""

from __future__ import annotations

from typing import Any

_GRADER: Any = None


def _grader():
    global _GRADER
    if _GRADER is None:
        from rollouts.service import RolloutService
        from schemas.config import load_config
        from verifiers import VerifierSet

        config = load_config()
        _GRADER = RolloutService(None, VerifierSet(config), config.rollouts, policy_id="")
    return _GRADER


def compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None, **_: Any
) -> float:
    """1.0 if ``solution_str`` is correct for the row, else 0.0 (no partial credit)."""
    from trainer.rewards import shard_problem

    info = dict(extra_info or {})
    info.setdefault("source", data_source)
    verifier = info.get("verifier") or "math"
    statement = info.pop("statement", None) or ""
    problem = shard_problem(ground_truth, statement, verifier, info)
    (grades,) = _grader().grade([problem], [[solution_str]])
    return float(grades[0].correct)
