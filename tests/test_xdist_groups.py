"""The suite's xdist groups take effect: `make test` runs the long real-model tests (nightlies, the
trainer, vLLM servers) one after another on one worker (``xdist_group("model")``); if the group were
ignored, two of them would run side by side."""

import os
import subprocess
import sys

from tests.conftest import ROOT

GROUPED = """
import os, pathlib, pytest

def _record(name):
    pathlib.Path(os.environ["WORKER_LOG"], name).write_text(os.environ["PYTEST_XDIST_WORKER"])

@pytest.mark.xdist_group("model")
@pytest.mark.parametrize("n", range(4))
def test_grouped(n):
    _record(f"grouped{n}")

@pytest.mark.parametrize("n", range(4))
def test_free(n):
    _record(f"free{n}")
"""


def test_a_group_runs_on_one_worker(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text("from tests.conftest import pytest_collection_modifyitems  # noqa: F401\n")
    (suite / "test_grouped.py").write_text(GROUPED)
    log = tmp_path / "log"
    log.mkdir()
    env = {**os.environ, "WORKER_LOG": str(log), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", str(suite)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workers = {p.name: p.read_text() for p in log.iterdir()}
    assert len(workers) == 8
    assert len({workers[f"grouped{n}"] for n in range(4)}) == 1, workers
