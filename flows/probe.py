"""The held-out probe's two steps (``rollouts.probe``): ingest it and mark it held out (first in the
nightly's ingest, so that a later near-copy of a probe problem is the one the filters drop), and
measure policies on it (last in the nightly: the night's policy and the one its training made)."""

from __future__ import annotations

from typing import Any

from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from warehouse.db import Warehouse


def probe_ingest(config: HardforgeConfig, run_id: str | None) -> list[dict[str, Any]]:
    """Ingest ``nightly.probe`` (gym specs: another generator seed than the training seeds) and
    give its problems the ``heldout`` verdict. A rerun adds nothing."""
    from ingest import gym
    from ingest.service import ingest
    from rollouts.probe import gym_request_ids, mark_heldout

    warehouse = Warehouse(config.data_dir)
    done = []
    for spec in config.nightly.probe:
        if not spec.startswith(gym.PREFIX):
            raise HardforgeError(f"nightly.probe takes gym:TASK?levels=..&size=..&seed=.. specs, got '{spec}'.")
        summary = ingest(warehouse, spec, config, run_id=run_id).as_dict()
        request = gym.parse_request(spec)
        ids = gym_request_ids(warehouse, request.task, list(request.levels), request.size, request.seed)
        done.append(
            {**summary, "probe": True, "heldout": len(ids), "newly_held_out": mark_heldout(warehouse, ids, run_id)}
        )
    return done


def probe_measure(config: HardforgeConfig, policies: list[str], run_id: str) -> dict[str, Any]:
    """Measure each policy (an id, name or model folder) on the probe, ``nightly.probe_n`` samples
    per problem; a policy already measured there costs nothing. Returns its curve so far."""
    from engines import LazyEngine, engine_spec
    from rollouts.estimate import estimate, select_problems
    from rollouts.policies import resolve_policy
    from rollouts.probe import heldout_curve, probe_config
    from verifiers import VerifierSet
    from warehouse.queries import HELDOUT_WHERE

    warehouse = Warehouse(config.data_dir)
    problems = select_problems(warehouse, HELDOUT_WHERE, None)
    measured = []
    with VerifierSet(config) as verifiers:
        for ref in dict.fromkeys(policies):
            policy = resolve_policy(warehouse, config, ref)
            spec = engine_spec(config.engine, policy.model_path, config.rollouts.seed)
            summary = estimate(
                warehouse,
                LazyEngine(spec),
                policy.policy_id,
                problems,
                probe_config(config.rollouts, config.nightly.probe_n),
                run_id=run_id,
                verifiers=verifiers,
            )
            measured.append(
                {
                    "policy_id": policy.policy_id,
                    "estimated": summary.estimated,
                    "completion_tokens": summary.completion_tokens,
                }
            )
    curve = heldout_curve(warehouse, config.nightly.probe_n)
    return {
        "problems": len(problems),
        "measured": measured,
        "curve": [{k: r[k] for k in ("policy_id", "name", "problems", "mean_pass_at_1", "stderr")} for r in curve],
    }


__all__ = ["probe_ingest", "probe_measure"]
