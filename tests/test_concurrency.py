"""`hardforge query` in a second process succeeds while the first writes in a loop."""

import subprocess
import sys
import time

from tests.conftest import ROOT, cli_env, run_cli

WRITER = """
import datetime as dt, sys, time
from schemas.records import Hint
from warehouse.db import Warehouse
wh = Warehouse(sys.argv[1])
i = 0
print("writing", flush=True)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    wh.insert_records("hints", [Hint(hint_id=f"h{i}-{j}", source="loop", text="x" * 200) for j in range(500)])
    i += 1
print(i, flush=True)
"""


def test_query_succeeds_while_another_process_writes(data_dir):
    run_cli(data_dir, "init")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(data_dir), "60"],
        cwd=ROOT,
        env=cli_env(data_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        counts = []
        for _ in range(5):
            result = run_cli(data_dir, "query", "SELECT count(*) AS n FROM hints", "--csv", timeout=120)
            assert result.returncode == 0, result.stderr
            counts.append(int(result.stdout.splitlines()[1]))
            time.sleep(0.2)
        assert writer.poll() is None, "the writer must still be writing while we query"
        assert counts == sorted(counts) and counts[-1] > 0
    finally:
        writer.kill()
        writer.wait()
