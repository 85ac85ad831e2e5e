"""What scale-out buys and costs: the estimate flow on the same problems, in process (transformers),
through the OpenAI-compatible server engine (a `vllm serve` this script starts, when .venv-vllm is
installed), and on a local Ray cluster with 1 and 2 workers. Prints wall seconds and problems/s per
setup (the flow's whole run: Prefect's local API, model loads and Ray start-up included) and the
estimate stage's own figures.

Run: .venv/bin/python bench/scale.py [--problems 16] [--n 4] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HF = ROOT / ".venv" / "bin" / "hardforge"
VLLM_PYTHON = ROOT / ".venv-vllm" / "bin" / "python"


def run(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(HF), "--data-dir", str(data_dir), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
    )


def start_server(model: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(VLLM_PYTHON),
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--enforce-eager",
            "--dtype",
            "bfloat16",
            "--seed",
            "0",
            "--max-model-len",
            "2048",
        ],
        env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2)
            return proc, url
        except OSError:
            time.sleep(2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("vllm serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=16)
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from engines.bundled import ensure_bundled_model

    model = ensure_bundled_model(ROOT / ".cache" / "models")
    base = {
        "HARDFORGE_ENGINE__MODEL": str(model),
        "HARDFORGE_NIGHTLY__ESTIMATE_LIMIT": str(args.problems),
        "HARDFORGE_ROLLOUTS__N": str(args.n),
        "HARDFORGE_ROLLOUTS__MAX_TOKENS": str(args.max_tokens),
        "HARDFORGE_ROLLOUTS__PER_SOURCE": "{}",
        "HARDFORGE_CLUSTER__CHUNK_PROBLEMS": "4",
    }
    setups = {
        "in process (transformers)": {"HARDFORGE_ENGINE__BACKEND": "transformers"},
        "ray, 1 worker (transformers)": {
            "HARDFORGE_ENGINE__BACKEND": "transformers",
            "HARDFORGE_CLUSTER__ENABLED": "true",
            "HARDFORGE_CLUSTER__WORKERS": "1",
        },
        "ray, 2 workers (transformers)": {
            "HARDFORGE_ENGINE__BACKEND": "transformers",
            "HARDFORGE_CLUSTER__ENABLED": "true",
            "HARDFORGE_CLUSTER__WORKERS": "2",
        },
    }
    server = None
    if VLLM_PYTHON.exists():
        server, url = start_server(model)
        setups["server engine (vllm serve)"] = {
            "HARDFORGE_ENGINE__BACKEND": "openai",
            "HARDFORGE_ENGINE__URLS": json.dumps([url]),
        }
    print(f"{args.problems} reasoning-gym chain_sum problems x n={args.n} x max_tokens={args.max_tokens}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for index, (name, extra) in enumerate(setups.items()):
                data_dir = Path(tmp) / f"setup{index}"
                env = {**base, **extra}
                run(data_dir, env, "ingest", "gym:chain_sum", "--size", str(args.problems))
                started = time.perf_counter()
                result = run(data_dir, env, "run", "estimate")
                wall = time.perf_counter() - started
                if result.returncode != 0:
                    print(f"{name:>32}: failed: {result.stderr.strip().splitlines()[-1:]}")
                    continue
                figures = json.loads(
                    run(
                        data_dir,
                        env,
                        "query",
                        "SELECT counts FROM runs WHERE flow = 'estimate' ORDER BY started_at DESC",
                        "--json",
                    ).stdout
                )[0]["counts"]
                stage = json.loads(figures)
                print(
                    f"{name:>32}: {stage['estimated']} problems in {wall:6.1f} s wall = {stage['estimated'] / wall:.2f} problems/s "
                    f"| stage {stage['elapsed_s']:.1f} s = {stage['estimated'] / max(stage['elapsed_s'], 1e-9):.2f} problems/s, "
                    f"{stage['completion_tokens'] / max(stage['elapsed_s'], 1e-9):,.0f} tok/s"
                )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)


if __name__ == "__main__":
    main()
