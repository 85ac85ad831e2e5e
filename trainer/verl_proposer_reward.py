"""verl's reward entry point for the proposer role, on rows of ``hardforge export-proposer``:
``custom_reward_function.path = <this file>`` and ``custom_reward_function.name =
compute_score`` (verl's naive reward manager: one proposal at a time) or ``compute_score_batch``
(``reward_model.reward_manager=batch``: the siblings of a prompt are judged together, as the
bundled trainer does, so a repeated proposal earns the invalid value).

A proposal's reward needs a model to solve it: the method puts it to the *current* policy. verl's
policy is not reachable from a reward function, so the solver is an OpenAI-compatible server of
it: ``engine.urls`` of the config (``HARDFORGE_ENGINE__URLS='["http://127.0.0.1:8000/v1"]'``, or
``$HARDFORGE_CONFIG`` / ``./hardforge.toml``, as for the CLI), one or more replicas. With no
warehouse here, proposals the nightly made before are not known, so they are not duplicates.
"""

from __future__ import annotations

import atexit
import json
from typing import Any

_JUDGE: Any = None


def _judge():
    global _JUDGE
    if _JUDGE is None:
        from rollouts.live import server_service
        from schemas.config import load_config
        from schemas.errors import HardforgeError
        from synth import METHODS
        from synth.proposer import ProposerJudge
        from verifiers import VerifierSet

        config = load_config()
        urls = list(config.engine.urls)
        if not urls:
            raise HardforgeError(
                "the proposer reward needs a model to solve with: set engine.urls to an OpenAI-compatible "
                """server of the policy (e.g. HARDFORGE_ENGINE__URLS='["http://127.0.0.1:8000/v1"]')."""
            )
        verifiers = VerifierSet(config)
        atexit.register(verifiers.close)  # the sandbox pool lives as long as the reward worker
        service = server_service(config, urls, verifiers, "verl-proposer")
        methods = {name: cls(config) for name, cls in METHODS.items() if cls.remote}
        _JUDGE = ProposerJudge(methods, service)
    return _JUDGE


def _row(extra_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "prompt": json.loads(extra_info["chat"]),
        "method": extra_info["method"],
        "seed": extra_info["seed"],
        "group": extra_info["group"],
    }


def compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None, **_: Any
) -> float:
    """The method's proposer reward for one proposal."""
    (reward,) = _judge().rewards([_row(extra_info or {})], [solution_str])
    return reward


def compute_score_batch(
    data_sources: list[str],
    solution_strs: list[str],
    ground_truths: list[str],
    extra_infos: list[dict[str, Any]],
    **_: Any,
) -> list[float]:
    """The proposer rewards of a batch; consecutive proposals of one prompt are siblings."""
    return _judge().rewards([_row(e) for e in extra_infos], list(solution_strs))
