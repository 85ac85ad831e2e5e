"""The proposer's warm start (ReST-EM): SFT of the real 135M on its own verified proposals only,
or on a teacher policy's."""

import datetime as dt

import pytest

from rollouts.policies import latest_policy, resolve_policy
from schemas.errors import HardforgeError, NothingToTrain
from schemas.records import Policy, SynthAttempt
from tests.conftest import run_cli
from trainer.warm_start import verified_proposals, warm_start
from warehouse.db import Warehouse

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
PROMPT = "Write one short arithmetic problem for a student. Write only the question."


def _attempt(i: int, policy_id: str, method: str, output: str, reward: float | None, run: str = "r1"):
    return SynthAttempt(
        attempt_id=f"a{i}",
        run_id=run,
        method=method,
        output=output,
        accepted=reward is not None and reward >= 0,
        created_at=T0 + dt.timedelta(seconds=i),
        policy_id=policy_id,
        chat={"messages": [{"role": "user", "content": PROMPT}]},
        reward=reward,
    )


def _fill(warehouse: Warehouse, policy_id: str) -> None:
    warehouse.insert_records(
        "synth_attempts",
        [
            _attempt(0, policy_id, "sqlm", "What is 72 plus 38?", 1.0),  # verified, in band
            _attempt(1, policy_id, "sqlm", "What is 72 plus 38?", 1.0),  # the same proposal again: once
            _attempt(2, policy_id, "sqlm", "What is 6 times 7?", -0.25),  # verified, not learnable
            _attempt(3, policy_id, "sqlm", "What is 9 minus 2?", -0.5),  # unverified: a vote's label
            _attempt(4, policy_id, "sqlm", "Solve it.", -0.75),  # gated
            _attempt(5, policy_id, "sqlm", "", -0.25),  # nothing written
            _attempt(6, "another-policy", "sqlm", "What is 3 plus 4?", 1.0),  # not this policy's
            _attempt(7, policy_id, "azr", "def f(x):\n    return x * 2\n\nf(3)", 0.5),
            _attempt(8, policy_id, "svs", "What is 1 plus 1?", 1.0),  # a method not asked for
            _attempt(9, policy_id, "sqlm", "What is 5 times 8?", 1.0, run="r0"),  # another run's
        ],
    )


def test_only_the_policys_verified_proposals_are_targets(warehouse):
    _fill(warehouse, "p0")
    rows = verified_proposals(warehouse, "p0", ["sqlm", "azr"], per_method=8, runs=["r1"])
    assert [(r["method"], r["completion"][0]["content"]) for r in rows] == [
        ("azr", "def f(x):\n    return x * 2\n\nf(3)"),
        ("sqlm", "What is 72 plus 38?"),
        ("sqlm", "What is 6 times 7?"),
    ]
    assert rows[0]["prompt"] == [{"role": "user", "content": PROMPT}]
    # per method, the best rewarded first; without runs, every run's
    assert [r["completion"][0]["content"] for r in verified_proposals(warehouse, "p0", ["sqlm"], 1, ["r1"])] == [
        "What is 72 plus 38?"
    ]
    assert len(verified_proposals(warehouse, "p0", ["sqlm"], 8)) == 3


def _teacher(warehouse: Warehouse, folder) -> None:
    warehouse.insert_records(
        "policies", [Policy(policy_id="coder-id", name="coder", model_path=str(folder), created_at=T0)]
    )
    _fill(warehouse, "coder-id")


def test_a_teacher_must_be_a_policy_that_proposed_here(real_config, warehouse):
    """An unknown teacher, or one without verified proposals of the methods asked, is one sentence
    that names it; nothing is loaded or trained."""
    _teacher(warehouse, real_config.data_dir)
    with pytest.raises(HardforgeError, match="no policy 'nobody' in the warehouse"):
        warm_start(warehouse, real_config, methods=["sqlm"], teacher="nobody")
    with pytest.raises(NothingToTrain, match="policy coder has no verified proposal of mathsmith"):
        warm_start(warehouse, real_config, methods=["mathsmith"], teacher="coder")


@pytest.mark.slow
@pytest.mark.xdist_group("model")
def test_warm_start_raises_the_likelihood_of_verified_proposals(real_config, warehouse):
    """Three SFT epochs on a teacher's two verified proposals (another policy's, by name) make them
    more likely under the new policy, which is registered as the child of the current policy, with
    its teacher recorded, and becomes the latest policy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = resolve_policy(warehouse, real_config)
    _teacher(warehouse, real_config.data_dir)
    result = warm_start(
        warehouse, real_config, methods=["sqlm"], epochs=3, learning_rate=1e-4, runs=["r1"], teacher="coder"
    )
    assert result.examples == 2 and result.by_method == {"sqlm": 2}
    assert result.policy.parent_policy_id == base.policy_id
    assert latest_policy(warehouse).policy_id == result.policy.policy_id
    assert result.policy.meta["role"] == "proposer warm start"
    assert result.policy.meta["teacher_policy_id"] == "coder-id"

    def log_likelihood(model_path: str, text: str) -> float:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": PROMPT}], tokenize=False, add_generation_prompt=True
        )
        ids = tokenizer(prompt + text, return_tensors="pt").input_ids
        start = len(tokenizer(prompt).input_ids)
        with torch.no_grad():
            logits = model(ids).logits[0, :-1].log_softmax(-1)
        targets = ids[0, 1:]
        return float(logits[start - 1 :].gather(1, targets[start - 1 :, None]).sum())

    for text in ("What is 72 plus 38?", "What is 6 times 7?"):
        assert log_likelihood(result.policy.model_path, text) > log_likelihood(base.model_path, text) + 1.0


def test_cli_warm_start_without_proposals(data_dir, bundled_model):
    done = run_cli(data_dir, "warm-start", "--method", "sqlm", HARDFORGE_ENGINE__MODEL=str(bundled_model))
    assert done.returncode != 0
    assert "no verified proposal of sqlm to warm-start on" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    bad = run_cli(data_dir, "warm-start", "--epochs", "0")
    assert bad.returncode != 0 and "bad value for --per-method, --epochs or --learning-rate" in bad.stderr, bad.stderr
    unknown = run_cli(data_dir, "warm-start", "--teacher", "nobody", HARDFORGE_ENGINE__MODEL=str(bundled_model))
    assert unknown.returncode != 0 and "no policy 'nobody' in the warehouse" in unknown.stderr, unknown.stderr
    assert "Traceback" not in unknown.stderr
