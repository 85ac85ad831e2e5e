"""``python -m flows.cli``: this interpreter, whatever it has (no relaunch into .venv-vllm)."""

from flows.cli.main import run

run()
