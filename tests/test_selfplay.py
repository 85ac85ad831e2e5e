"""The proposer role: how a step splits between the roles, which role the nightly trains, the
trainer's reward being the nightly's own judgement (attacks included), and GRPO on the real model
for a scripted method and for self-questioning."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rollouts.service import RolloutService
from schemas.config import HardforgeConfig
from schemas.errors import HardforgeError
from synth import rewards as ladder
from synth.base import Candidate, Decision, Seed, Synthesizer
from synth.proposer import ProposerJudge, proposer_rows, seed_from_json, seed_json
from synth.runner import run_method
from synth.sqlm.method import SqlmSynthesizer
from tests.conftest import ScriptedEngine
from trainer.data import plan_mixed, split_step
from verifiers import VerifierSet

POLICY = "p" * 32


@pytest.mark.parametrize(
    ("per_step", "role", "share", "split"),
    [
        (4, "solver", 0.5, (4, 0)),
        (4, "proposer", 0.5, (0, 4)),
        (4, "both", 0.5, (2, 2)),
        (4, "both", 0.25, (3, 1)),
        (4, "both", 0.01, (3, 1)),  # each role keeps at least one prompt
        (4, "both", 0.99, (1, 3)),
        (2, "both", 0.5, (1, 1)),
        (10, "both", 0.3, (7, 3)),
    ],
)
def test_split_step(per_step, role, share, split):
    assert split_step(per_step, role, share) == split


def test_both_roles_need_two_prompts_a_step():
    with pytest.raises(HardforgeError, match="at least 2 prompts per step"):
        split_step(1, "both", 0.5)


def test_every_step_of_a_mixed_plan_holds_the_ratio():
    order = plan_mixed(solver_rows=5, proposer_rows=3, per_step=(3, 1), max_steps=4)
    steps = [order[i * 4 : (i + 1) * 4] for i in range(4)]
    assert all(Counter(kind for kind, _ in step) == {"solver": 3, "proposer": 1} for step in steps)
    # the curriculum in its order from the first row, cycling; proposer prompts in order, cycling
    assert [i for kind, i in order if kind == "solver"] == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]
    assert [i for kind, i in order if kind == "proposer"] == [0, 1, 2, 0]
    with pytest.raises(HardforgeError, match="curriculum is empty"):
        plan_mixed(0, 3, (1, 1), 1)
    with pytest.raises(HardforgeError, match="fresh seeds ran out"):
        plan_mixed(3, 0, (1, 1), 1)


@pytest.mark.parametrize(
    ("enabled", "roles", "items", "role"),
    [
        (False, ["solver", "proposer"], 5, None),
        (True, ["solver"], 5, "solver"),
        (True, ["solver"], 0, None),  # nothing to train the solver on
        (True, ["proposer"], 0, "proposer"),  # the proposer needs no curriculum
        (True, ["solver", "proposer"], 5, "both"),
        (True, ["solver", "proposer"], 0, "proposer"),
    ],
)
def test_the_role_a_night_trains(tmp_path, enabled, roles, items, role):
    from flows.stages import nightly_role

    config = HardforgeConfig(data_dir=tmp_path)
    config.train.enabled, config.nightly.train_roles = enabled, roles
    assert nightly_role(config, items) == role


def test_a_seed_survives_json():
    seed = Seed("k", "p", {"statement": "s", "n": 3})
    assert seed_from_json(seed_json(seed)) == seed


# self-questioning on arithmetic, every outcome of its proposer reward in one group: in band and
# checked, too easy, no answer, and a majority the policy agrees on that is wrong (the attack a
# label reward must hold against: proposing what the policy confidently gets wrong)
PROPOSALS = ["What is 12 + 30?", "What is 2 + 2?", "What is the colour of time?", "Compute 7 * 6 - 1."]
SOLUTIONS = {
    "12 + 30": ["42", "42", "41", "I think 42"],
    "2 + 2": ["4"] * 4,
    "colour": ["blue", "red", "no idea", "green"],
    "7 * 6": ["40", "40", "40", "41"],  # a wrong majority (40): the label is the check's, 41, and 1 of 4 is right
}


def _solve(chat, n):
    content = chat[0]["content"]
    if "arithmetic problem" in content:
        return PROPOSALS[:n]
    return next(v for k, v in SOLUTIONS.items() if k in content)[:n]


def test_the_trainer_pays_what_the_nightly_records(tmp_path):
    """The same proposals get the same rewards from the proposer trainer's judge as the nightly
    wrote to ``synth_attempts``: one rule, whoever generated the text."""
    from warehouse.db import Warehouse

    cfg = HardforgeConfig(data_dir=tmp_path)
    nightly, fresh = Warehouse(tmp_path / "nightly"), Warehouse(tmp_path / "fresh")
    nightly.init(), fresh.init()
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(_solve), verifiers, cfg.rollouts, POLICY, "run")
        run_method(SqlmSynthesizer(cfg), nightly, service, limit=1)
        recorded = nightly.arrow(
            "SELECT reward, reason FROM synth_attempts ORDER BY json_extract(meta, '$.candidate')::INT"
        ).to_pylist()
        (row,) = proposer_rows(SqlmSynthesizer(cfg), fresh, service, 1)
        judge = ProposerJudge({"sqlm": SqlmSynthesizer(cfg)}, service)
        rewards = judge.rewards([row] * len(PROPOSALS), PROPOSALS)
    assert rewards == [r["reward"] for r in recorded]
    # 2 + 2: verified but too easy; the colour of time: no label at all
    assert rewards[0] > 0 and rewards[3] > 0 and rewards[1:3] == [ladder.NOT_LEARNABLE, ladder.UNVERIFIED], recorded
    assert nightly.scalar("SELECT answer FROM problems WHERE statement = 'Compute 7 * 6 - 1.'") == "41"
    stats = judge.calls[-1].as_dict()["sqlm"]
    # verified: 12 + 30 and 7 * 6 - 1 in band, and 2 + 2 kept out of band (synth.keep_out_of_band)
    assert (stats["proposals"], stats["parsed"], stats["verified"]) == (4, 4, 3)


def test_repeats_of_the_warehouse_earn_nothing(tmp_path):
    """With the warehouse, a proposal the nightly already made is a duplicate: proposing the same
    easy problem every step is not paid twice."""
    from warehouse.db import Warehouse

    cfg = HardforgeConfig(data_dir=tmp_path)
    warehouse = Warehouse(tmp_path / "w")
    warehouse.init()
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(_solve), verifiers, cfg.rollouts, POLICY, "run")
        run_method(SqlmSynthesizer(cfg), warehouse, service, limit=1)
        (row,) = proposer_rows(SqlmSynthesizer(cfg), warehouse, service, 1)
        assert (
            json.loads(row["seed"])["key"]
            != json.loads(warehouse.scalar("SELECT to_json(meta) FROM synth_attempts LIMIT 1"))["seed_key"]
        )  # a fresh seed
        rewards = ProposerJudge({"sqlm": SqlmSynthesizer(cfg)}, service, warehouse).rewards(
            [row, row], PROPOSALS[:1] * 2
        )
    assert rewards == [ladder.REJECTED] * 2


class CountingSynth(Synthesizer):
    """A scripted method on the real model: a proposal is "a number" and pays 1.0 when it has an
    even count of digits, a checked label, so a group of real samples has reward variance."""

    name = "counting"

    @property
    def settings(self):
        return self.config.synth.sqlm

    def seeds(self, warehouse, policy_id):
        return (Seed(f"counting#{i}", None) for i in range(10_000))

    def prompts(self, seed, warehouse):
        return [[{"role": "user", "content": f"Write any whole number ({seed.key})."}]]

    def sampling(self):
        from schemas.engine import SamplingParams

        return SamplingParams(n=2, temperature=1.0, max_tokens=16)

    def parse(self, seed, index, prompt, output):
        digits = "".join(ch for ch in output if ch.isdigit())
        problem = {"domain": "math", "statement": f"{seed.key} {index} {output}", "answer": digits} if digits else None
        return Candidate(seed, index, prompt, output, problem, None if digits else "unparsable: no digits")

    def validate(self, service, candidates):
        return [
            Decision(
                len(c.problem["answer"]) % 2 == 0,
                None if len(c.problem["answer"]) % 2 == 0 else "odd",
                {"reward": float(len(c.problem["answer"]) % 2 == 0)},
                provenance="checked",
            )
            for c in candidates
        ]


@pytest.mark.xdist_group("model")
@pytest.mark.slow
def test_train_the_proposer_of_a_scripted_method_then_both_roles(real_config, data_dir, tmp_path, monkeypatch):
    """``--role proposer`` on the real model registers a child policy with no curriculum; ``both``
    holds the configured ratio in every step (the solver reward saw its rows, the judge its own)."""
    import synth
    from curricula.export import export_curriculum
    from ingest.service import ingest
    from rollouts.estimate import estimate, select_problems
    from rollouts.policies import latest_policy, resolve_policy
    from trainer.grpo import train
    from warehouse.db import Warehouse

    monkeypatch.setitem(synth.METHODS, "counting", CountingSynth)
    warehouse = Warehouse(data_dir)
    warehouse.init()
    real_config.train.proposer_methods = ["counting"]
    real_config.train.num_generations = 2
    real_config.train.per_device_train_batch_size = 4  # 2 prompts a step
    real_config.train.max_completion_length = 12
    real_config.train.temperature = 1.0
    base = resolve_policy(warehouse, real_config)

    alone = train(warehouse, real_config, role="proposer", max_steps=1)
    assert alone.policy.parent_policy_id == base.policy_id and alone.policy.curriculum_id is None
    assert alone.positions_seen == []  # no solver row
    (step,) = alone.metrics
    assert step["proposer"]["counting"]["proposals"] == 4  # 2 prompts x G = 2
    assert latest_policy(warehouse).policy_id == alone.policy.policy_id

    # both: a curriculum of 4 rows measured for the trained policy, 3 solver + 1 proposer prompts a step
    path = tmp_path / "easy.jsonl"
    path.write_text(
        "".join(json.dumps({"statement": f"What is {n} + 1?", "answer": str(n + 1)}) + "\n" for n in range(4))
    )
    ingest(warehouse, str(path), real_config)

    def one_right(chat, n):  # pass@1 = 1/4 on every row: all in the band
        number = int(chat[0]["content"].split("What is ")[1].split(" +")[0])
        return [rf"\boxed{{{number + 1}}}"] + ["?"] * (n - 1)

    estimate(
        warehouse,
        ScriptedEngine(one_right),
        alone.policy.policy_id,
        select_problems(warehouse, None, None),
        real_config.rollouts,
    )
    exported = export_curriculum(
        warehouse, alone.policy.policy_id, real_config.curriculum, real_config.rollouts, data_dir / "curricula"
    )
    real_config.train.per_device_train_batch_size = 8  # 4 prompts a step
    real_config.train.proposer_share = 0.25
    # and the recipes beside the roles run for real: GSPO's sequence ratios, DAPO's overlong term
    real_config.train.importance_sampling_level, real_config.train.overlong_buffer = "sequence", 4
    mixed = train(warehouse, real_config, role="both", max_steps=2)
    assert (
        mixed.policy.parent_policy_id == alone.policy.policy_id and mixed.policy.curriculum_id == exported.curriculum_id
    )
    assert mixed.positions_seen == [p for p in (0, 1, 2, 3, 0, 1) for _ in range(2)]  # 3 solver prompts x G a step
    assert [m["proposer"]["counting"]["proposals"] for m in mixed.metrics] == [2, 2]  # 1 proposer prompt x G a step
    meta = json.loads(warehouse.scalar("SELECT meta FROM policies WHERE policy_id = ?", [mixed.policy.policy_id]))
    assert meta["role"] == "both" and meta["prompts_per_step"] == {"solver": 3, "proposer": 1}


@pytest.mark.slow
def test_train_flags_reach_the_proposer_run(data_dir, bundled_model, monkeypatch):
    """``hardforge train --role proposer --method sqlm --max-steps 1`` runs the proposer role on
    those methods for that many steps, and prints each step's per-method figures. (The real method
    on the real model, through the CLI, is the two-night training nightly of tests/test_flows.py.)"""
    from typer.testing import CliRunner

    import flows.stages
    from flows.cli.app import app

    seen = {}

    def train_stage(session, curriculum_id=None, max_steps=None, role="solver"):
        seen.update(role=role, max_steps=max_steps, methods=session.config.train.proposer_methods)
        metrics = [{"step": 1, "reward_mean": 0.5, "frac_reward_zero_std": 0.0, "step_time_s": 1.0}]
        metrics[0]["proposer"] = {"sqlm": {"proposals": 2, "parsed": 2, "verified": 1, "reward_mean": 0.5}}
        return {
            "role": role,
            "steps": 1,
            "curriculum_id": None,
            "rows": "2 proposer prompts",
            "mean_step_time_s": 1.0,
            "policy_name": "trained",
            "policy_id": "p1",
            "model_path": "policies/p1",
            "metrics": metrics,
        }

    monkeypatch.setattr(flows.stages, "train_stage", train_stage)
    env = {"HARDFORGE_DATA_DIR": str(data_dir), "HARDFORGE_ENGINE__MODEL": str(bundled_model)}
    args = ["train", "--role", "proposer", "--method", "sqlm", "--max-steps", "1"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    assert seen == {"role": "proposer", "max_steps": 1, "methods": ["sqlm"]}
    assert "train (proposer): 1 GRPO step on proposer prompts" in result.output
    assert "sqlm: 2 proposals, 2 parsed, 1 verified" in result.output


def test_a_method_that_needs_the_warehouse_is_refused_as_a_proposer(tmp_path):
    from trainer.grpo import proposer_methods

    config = HardforgeConfig(data_dir=tmp_path)
    config.train.proposer_methods = ["asearcher"]
    with pytest.raises(HardforgeError, match="asearcher cannot be trained as a proposer"):
        proposer_methods(config)
    config.train.proposer_methods = ["nope"]
    with pytest.raises(HardforgeError, match="train.proposer_methods names nope"):
        proposer_methods(config)


# -- the red team's attacks on the proposer reward (each paid before its fix)
