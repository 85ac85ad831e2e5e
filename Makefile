# The three commands of the README. Everything the project writes goes under $(DATA).
DATA ?= data
HF := .venv/bin/hardforge
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180

.PHONY: setup nightly test lint bench

setup:            ## install system packages, uv and the project environment (.venv)
	bash scripts/setup.sh

# On a 2-core CPU a nightly sample of 24 problems x 8 samples x 256 tokens takes some minutes;
# hardforge.toml or HARDFORGE_* variables change any of it.
nightly:          ## the main job: seed ingest -> filters -> estimate a sample -> export shards
	HARDFORGE_NIGHTLY__ESTIMATE_LIMIT=$${HARDFORGE_NIGHTLY__ESTIMATE_LIMIT:-24} \
	HARDFORGE_ROLLOUTS__MAX_TOKENS=$${HARDFORGE_ROLLOUTS__MAX_TOKENS:-256} \
	  $(HF) --data-dir $(DATA) run nightly
	$(HF) --data-dir $(DATA) status

test:             ## the whole test suite (what CI runs)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HOME=$(CURDIR)/.cache/hf PREFECT_HOME=$(CURDIR)/.cache/prefect \
	  .venv/bin/python -m pytest -q

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	.venv/bin/python bench/ingest.py
