"""GRPO on CPU with the bundled model: 2 steps on a small curriculum, in curriculum order."""

import json

import pytest
from safetensors.torch import load_file

from curricula.export import export_curriculum
from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from rollouts.policies import latest_policy, resolve_policy
from schemas.config import SourceRollout
from schemas.errors import HardforgeError
from tests.conftest import ScriptedEngine
from trainer.data import plan_rows, prompts_per_step
from trainer.grpo import train
from warehouse.db import Warehouse

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("rows", "per_step", "steps", "indices", "note"),
    [
        (6, 2, 2, [0, 1, 2, 3], "4 rows for 2 steps x 2 prompts"),
        (3, 2, 2, [0, 1, 2, 0], "the curriculum has 3, so it is repeated"),
        (2, 4, 1, [0, 1, 0, 1], "repeated from its first row"),
    ],
)
def test_row_plan(rows, per_step, steps, indices, note):
    plan = plan_rows(rows, per_step, steps)
    assert plan.indices == indices and note in plan.note


@pytest.mark.parametrize(("loss", "high"), [("dapo", 0.28), ("grpo", 0.2), ("dr_grpo", 0.2)])
def test_dapo_uses_clip_higher(tmp_path, loss, high):
    from schemas.config import HardforgeConfig
    from trainer.grpo import grpo_config

    config = HardforgeConfig(data_dir=tmp_path)
    config.train.loss_type = loss
    args = grpo_config(config, str(tmp_path / "out"), 1, on_cpu=True)
    assert (args.epsilon, args.epsilon_high or args.epsilon) == (0.2, high)  # None: TRL uses epsilon


@pytest.mark.parametrize(
    ("loss", "level", "epsilon", "epsilon_high", "expected"),
    [
        ("grpo", "sequence", None, None, (3e-4, 4e-4)),  # GSPO's narrow range (paper v2 §5.1)
        ("dapo", "sequence", None, None, (3e-4, 4e-4)),
        ("grpo", "sequence", 1e-3, None, (1e-3, 4e-4)),  # a set value wins
        ("dapo", "token", 0.1, 0.3, (0.1, 0.3)),
    ],
)
def test_gspo_reaches_trl(tmp_path, loss, level, epsilon, epsilon_high, expected):
    from schemas.config import HardforgeConfig
    from trainer.grpo import grpo_config

    config = HardforgeConfig(data_dir=tmp_path)
    config.train.loss_type, config.train.importance_sampling_level = loss, level
    config.train.epsilon, config.train.epsilon_high = epsilon, epsilon_high
    args = grpo_config(config, str(tmp_path / "out"), 1, on_cpu=True)
    assert args.importance_sampling_level == level and (args.epsilon, args.epsilon_high) == expected


def test_dapo_soft_overlong_punishment(tmp_path):
    """Eq. 13 of DAPO through TRL's reward: nothing up to L_max - L_cache, then linearly to -1."""
    from schemas.config import HardforgeConfig
    from trainer.grpo import extra_rewards

    config = HardforgeConfig(data_dir=tmp_path)
    assert extra_rewards(config) == []
    config.train.max_completion_length, config.train.overlong_buffer = 64, 16
    (punish,) = extra_rewards(config)
    assert punish(completion_ids=[[1] * 48, [1] * 56, [1] * 64]) == [0.0, -0.5, -1.0]
    config.train.overlong_buffer = 64
    with pytest.raises(HardforgeError, match="must be below train.max_completion_length"):
        extra_rewards(config)


def test_batch_must_hold_whole_groups():
    assert prompts_per_step(8, 1, 4) == 2
    with pytest.raises(HardforgeError, match="must be a multiple of train.num_generations"):
        prompts_per_step(6, 1, 4)


@pytest.mark.xdist_group("model")
def test_two_grpo_steps_in_curriculum_order(real_config, data_dir, tmp_path):
    """GRPO only moves the weights when a group's rewards differ. The 135M model almost never
    states an extractable answer to real problems (reward 0 everywhere, zero gradient), but it
    does follow "Say exactly: The answer is N." about a third of the time, so these prompts give
    real reward variance from the real math verifier."""
    warehouse = Warehouse(data_dir)
    real_config.rollouts.math_instruction = "Reply with that one sentence."
    # the answer is stated in a sentence, not boxed: this source is graded in flexible mode
    real_config.rollouts.per_source["easy.jsonl"] = SourceRollout(extraction="flexible")
    rows = [{"statement": f"Say exactly: The answer is {n}.", "answer": str(n)} for n in (7, 4, 9, 3, 8, 5)]
    path = tmp_path / "easy.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ingest(warehouse, str(path), real_config)
    policy = resolve_policy(warehouse, real_config)
    # place the problems in the band with exact pass rates (3/4, 2/4, 1/4 ...) for the real policy
    rates = {str(n): (i % 3) + 1 for i, n in enumerate((7, 4, 9, 3, 8, 5))}

    def script(chat, n):
        answer = chat[0]["content"].split("The answer is ")[1].split(".")[0]
        return [rf"\boxed{{{answer}}}"] * rates[answer] + ["?"] * (n - rates[answer])

    estimate(
        warehouse,
        ScriptedEngine(script),
        policy.policy_id,
        select_problems(warehouse, None, None),
        real_config.rollouts,
    )
    exported = export_curriculum(
        warehouse, policy.policy_id, real_config.curriculum, real_config.rollouts, data_dir / "curricula"
    )
    order = json.loads((exported.out_dir / "manifest.json").read_text())["counts"]["items"]
    assert order == 6

    real_config.train.num_generations = 4
    real_config.train.per_device_train_batch_size = 8  # 2 prompts per step
    real_config.train.max_completion_length = 16
    real_config.train.learning_rate = 1e-5
    result = train(warehouse, real_config, max_steps=2)

    # the reward calls saw the rows in curriculum order, each repeated num_generations times
    assert result.positions_seen == [0] * 4 + [1] * 4 + [2] * 4 + [3] * 4
    # the parameters changed, and the checkpoint is the new policy, with its parent and curriculum
    before, after = (
        load_file(f"{policy.model_path}/model.safetensors"),
        load_file(f"{result.policy.model_path}/model.safetensors"),
    )
    changed = [name for name in before if name in after and not (before[name] == after[name]).all()]
    assert changed, f"no parameter changed: {result.metrics}"
    assert result.policy.parent_policy_id == policy.policy_id
    assert result.policy.curriculum_id == exported.curriculum_id
    assert latest_policy(warehouse).policy_id == result.policy.policy_id
    assert len(result.metrics) == 2 and all(m["step_time_s"] for m in result.metrics)
    print(json.dumps(result.summary()))
