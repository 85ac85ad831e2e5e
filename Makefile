# The three commands of the README. Everything the project writes goes under $(DATA).
DATA ?= data
HF := .venv/bin/hardforge
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

.PHONY: setup nightly test lint bench docs

setup:            ## install system packages, uv and the project environment (.venv)
	bash scripts/setup.sh

# On a 2-core CPU the default nightly (100 problems x 8 samples; 32 tokens for gym tasks, 256 for
# CHAMP and HumanEval) takes some minutes. Its settings are the config's (schemas/config.py, or
# hardforge.toml / HARDFORGE_* variables), the same for `hardforge run nightly` and `serve`.
# Every `hardforge` command runs in the vLLM environment when it is installed (flows/launcher.py:
# the fast engine; if vLLM then fails to start, hardforge falls back to transformers and says so).

nightly:          ## the main job: seed ingest -> synthesis -> filters -> estimate -> export shards
	$(HF) --data-dir $(DATA) run nightly
	$(HF) --data-dir $(DATA) status

# The bundled models the tests load, converted once into .cache/models (tests/conftest.py reuses
# them); then the suite on both cores (pytest-xdist), test by test, one torch thread per test process
# (tests/conftest.py), the long real-model runs on one worker one after another (xdist_group "model").
TEST_ENV := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HOME=$(CURDIR)/.cache/hf PREFECT_HOME=$(CURDIR)/.cache/prefect

test:             ## the whole test suite (what CI runs)
	$(TEST_ENV) .venv/bin/python -m tests.models
	$(TEST_ENV) .venv/bin/python -m pytest -q --durations=15 -n 2 --dist loadgroup

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	.venv/bin/python bench/ingest.py

docs:             ## the manual (docs/) as a static site in .cache/site; strict: a broken link fails
	NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict
