"""``python -m tests.models``: convert the bundled models the tests load, once per checkout, into
.cache/models (``make test`` runs it before pytest, so that two test workers do not both convert)."""

from __future__ import annotations

from pathlib import Path

from engines.bundled import ensure_bundled_model

ROOT = Path(__file__).resolve().parents[1]
TEST_MODELS = ("bundled", "bundled:qwen2.5-coder-0.5b")

if __name__ == "__main__":
    for name in TEST_MODELS:
        print(f"tests: {name} at {ensure_bundled_model(ROOT / '.cache' / 'models', name)}", flush=True)
