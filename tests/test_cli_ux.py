"""What a new user meets (issue 35): a data directory that moves, the model you set is the model you
get, the `in_band` table, export's flags and `latest` link, errors that name the environment
variable, read-only commands that create nothing."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from schemas.config import CurriculumConfig, HardforgeConfig, load_config
from schemas.errors import HardforgeError
from tests.conftest import ScriptedEngine, run_cli


def _model(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_a_copied_data_directory_keeps_its_policies_and_curricula(tmp_path):
    from curricula.export import export_curriculum
    from rollouts.policies import get_policy, register_policy
    from warehouse.db import Warehouse
    from warehouse.queries import latest_curriculum

    data = tmp_path / "data"
    warehouse = Warehouse(data)
    warehouse.init()
    policy = register_policy(warehouse, _model(data / "models" / "tiny", b"w"))
    result = export_curriculum(
        warehouse, policy.policy_id, CurriculumConfig(), HardforgeConfig().rollouts, data / "curricula"
    )
    stored = warehouse.arrow("SELECT model_path FROM policies").column(0).to_pylist()
    assert stored == ["models/tiny"]  # relative to the data directory
    assert warehouse.scalar("SELECT out_dir FROM curricula") == f"curricula/{result.curriculum_id}"
    assert os.readlink(data / "curricula" / "latest") == result.curriculum_id  # a relative link
    moved = tmp_path / "elsewhere" / "data"
    shutil.copytree(data, moved, symlinks=True)
    shutil.rmtree(data)
    copy = Warehouse(moved)
    assert get_policy(copy, policy.policy_id).model_path == str(moved / "models" / "tiny")
    assert latest_curriculum(copy, None)["out_dir"] == str(moved / "curricula" / result.curriculum_id)
    assert (moved / "curricula" / "latest" / "manifest.json").is_file()


def test_a_path_that_climbs_out_of_the_data_directory_is_stored_absolute(tmp_path):
    from warehouse.paths import stored_path

    data = tmp_path / "data"
    assert stored_path(data, data / ".." / "other") == str(tmp_path / "other")
    assert stored_path(data, data / "models" / ".." / "models" / "x") == "models/x"


def test_stored_absolute_paths_become_relative_and_a_moved_one_is_found(tmp_path):
    """Migration 13 rewrites paths inside the data directory; an absolute path of a data directory
    that has since moved is found again by its place in it."""
    from rollouts.policies import get_policy
    from warehouse.db import Warehouse
    from warehouse.paths import stored_location

    data = tmp_path / "data"
    old = Warehouse(data)
    old.migrate_to(12)
    import duckdb

    with duckdb.connect(str(old.path)) as con:  # rows as version 12 stored them
        con.execute(
            "INSERT INTO policies (policy_id, name, model_path, created_at) VALUES "
            "('a', 'a', ?, now()), ('b', 'b', '/somewhere/else/models/x', now())",
            [str(data / "policies" / "a")],
        )
    fresh = Warehouse(data)
    fresh.init()
    rows = {
        r["policy_id"]: r["model_path"] for r in fresh.arrow("SELECT policy_id, model_path FROM policies").to_pylist()
    }
    assert rows == {"a": "policies/a", "b": "/somewhere/else/models/x"}  # outside it: untouched
    assert get_policy(fresh, "a").model_path == str(data / "policies" / "a")
    _model(data / "policies" / "trained", b"t")
    assert stored_location(data, "/old/place/data/policies/trained") == data / "policies" / "trained"
    assert stored_location(data, "/old/place/data/policies/gone") == Path("/old/place/data/policies/gone")
    # a model folder is not found by its name alone: a user's own folder of that name is another model
    _model(data / "models" / "coder", b"c")
    assert stored_location(data, "/home/user/models/coder") == Path("/home/user/models/coder")
    assert stored_location(data, "/old/place/data/policies/trained/sub") == Path("/old/place/data/policies/trained/sub")


def test_the_model_you_set_is_the_model_you_get(tmp_path):
    """The latest policy is used only when it is the configured model or was trained from it."""
    from rollouts.policies import register_policy, resolve_policy
    from warehouse.db import Warehouse

    data = tmp_path / "data"
    warehouse = Warehouse(data)
    warehouse.init()
    first, second = _model(tmp_path / "a", b"weights a"), _model(tmp_path / "b", b"weights b")
    config = HardforgeConfig(data_dir=data)
    config.engine.model = str(first)
    base = resolve_policy(warehouse, config)
    child = register_policy(warehouse, _model(tmp_path / "a-trained", b"a, trained"), parent_policy_id=base.policy_id)
    assert resolve_policy(warehouse, config).policy_id == child.policy_id  # the loop's newest checkpoint
    config.engine.model = str(second)
    other = resolve_policy(warehouse, config)
    assert other.policy_id not in (base.policy_id, child.policy_id) and other.model_path == str(second)
    config.engine.model = str(first)
    assert resolve_policy(warehouse, config).policy_id == child.policy_id


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            "HARDFORGE_CURRICULUM__ORDR",
            "unknown config key 'curriculum.ordr' (from HARDFORGE_CURRICULUM__ORDR); did you mean 'curriculum.order'?",
        ),
        ("HARDFORGE_ROLLOUTS__N", "bad value for config key 'rollouts.n' (from HARDFORGE_ROLLOUTS__N)"),
    ],
)
def test_a_bad_environment_variable_is_named(variable, message):
    with pytest.raises(HardforgeError) as raised:
        load_config(environ={variable: "not a number"})
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_read_only_commands_create_nothing_and_a_bad_data_dir_is_one_sentence(tmp_path):
    missing = tmp_path / "mistyped"
    for command in (["status"], ["query", "SELECT 1"], ["report"]):
        done = run_cli(missing, *command)
        assert done.returncode == 2 and "no warehouse at" in done.stderr and not missing.exists(), done.stderr
    done = run_cli(missing, "--data-dir", "/proc/nope", "init")
    assert done.returncode == 2 and "cannot use the data directory /proc/nope" in done.stderr
    assert "internal error" not in done.stderr


def test_export_flags_latest_link_and_in_band_table(tmp_path):
    """`export --out --band --order`, the `latest` link, plurals, the policy named; `in_band`
    holds what the curriculum takes now, by the same rule."""
    from curricula.select import select_curriculum
    from ingest.service import ingest
    from rollouts.estimate import estimate, select_problems
    from rollouts.policies import register_policy
    from warehouse.db import Warehouse

    data = tmp_path / "data"
    warehouse = Warehouse(data)
    warehouse.init()
    policy = register_policy(warehouse, _model(data / "models" / "tiny", b"w"))
    rows = [{"statement": f"Q{i}: what is the number {i} plus zero?", "answer": str(i)} for i in range(8)]
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    config = HardforgeConfig(data_dir=data)
    ingest(warehouse, str(tmp_path / "p.jsonl"), config)

    def script(chat, n):
        i = int(chat[0]["content"].split(":")[0][1:])
        return [rf"\boxed{{{i}}}" if s < i % 5 else "no" for s in range(n)]

    rollouts = config.rollouts
    estimate(warehouse, ScriptedEngine(script), policy.policy_id, select_problems(warehouse, None, None), rollouts)
    env = {"HARDFORGE_ENGINE__MODEL": str(data / "models" / "tiny")}
    expected = select_curriculum(warehouse, policy.policy_id, CurriculumConfig(), rollouts).num_rows
    done = run_cli(data, "query", "SELECT count(*) AS n FROM in_band", "--json", **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"n": expected}] and expected > 0
    out = tmp_path / "shards"
    done = run_cli(data, "export", "--out", str(out), "--band", "0.5,0.75", "--order", "hardest", **env)
    assert done.returncode == 0, done.stderr
    assert f"for policy {policy.name}" in done.stdout and "in 1 shard at" in done.stdout, done.stdout
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["rule"]["band"] == [0.5, 0.75] and manifest["rule"]["order"].startswith("pass_at_1")
    done = run_cli(data, "export", "--band", "high", **env)
    assert done.returncode == 2 and "--band takes LOW,HIGH" in done.stderr
    # a selection under a budget: K items by pass@1, recorded in the manifest; without K, one sentence
    done = run_cli(data, "export", "--out", str(out), "--select", "hardest", "--select-k", "2", **env)
    assert done.returncode == 0 and "2 items in 1 shard" in done.stdout, done.stdout + done.stderr
    manifest = json.loads((out / "latest" / "manifest.json").read_text())
    assert manifest["rule"]["select"] == {"by": "hardest", "k": 2}
    done = run_cli(data, "export", "--select", "middle", **env)
    assert done.returncode == 2 and "needs curriculum.select_k" in done.stderr and "Traceback" not in done.stderr
