#!/usr/bin/env bash
# One-command set-up: system packages for the code sandbox, uv, and the project environment.
set -euo pipefail
cd "$(dirname "$0")/.."

# bubblewrap + python3-seccomp: the code sandbox; dict-foldoc + dict-jargon: the linked corpora of
# ASearcher's QA synthesis (dictd files under /usr/share/dictd, read directly, no server needed);
# chromium-headless-shell: the test that looks at `hardforge report` the way a browser draws it
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  if ! command -v bwrap >/dev/null 2>&1 || ! [ -e /usr/lib/python3/dist-packages/seccomp.cpython-311-x86_64-linux-gnu.so ] \
     || ! [ -e /usr/share/dictd/foldoc.index ] || ! [ -e /usr/share/dictd/jargon.index ] \
     || ! command -v chromium-headless-shell >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends bubblewrap python3-seccomp dict-foldoc dict-jargon \
      chromium-headless-shell >/dev/null
  fi
fi

python3 -m pip install -q --disable-pip-version-check uv

# uv does not read pip.conf: hand it pip's configured find-links (the local torch CPU wheel).
if [ -z "${UV_FIND_LINKS:-}" ]; then
  UV_FIND_LINKS=$(python3 -m pip config list 2>/dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$/\1/p" | head -n1)
  export UV_FIND_LINKS
fi
echo "setup: torch wheels from find-links='${UV_FIND_LINKS:-<none>}'"
UV_PYTHON=${UV_PYTHON:-python3.11} uv sync --extra test --extra docs --extra models
# verl 0.9.1 for the test that runs its reward loader and manager on our shards: without its
# dependencies (they would downgrade transformers), plus the few its import needs, beside the env
if ! [ -d .cache/verl/verl ]; then
  uv pip install -q --python .venv/bin/python --no-deps --target .cache/verl verl==0.9.1 tensordict==0.10.0 pyvers==0.1.0 \
    omegaconf==2.3.1 hydra-core==1.3.8 codetiming==1.4.0 lazy-importer==0.1.0 antlr4-python3-runtime==4.9.3 \
    || echo "setup: verl could not be installed; its reward-manager test will be skipped"
fi
# The fast engine: vLLM in a second environment (.venv-vllm: its pins clash with this one's), which
# `make nightly` uses when it imports. HARDFORGE_NO_VLLM=1 skips it; a failure leaves transformers.
if [ "${HARDFORGE_NO_VLLM:-0}" != "1" ] && [ "$(uname -m)" = "x86_64" ]; then
  bash scripts/setup-vllm.sh || echo "setup: the vLLM environment could not be installed; the nightly will use transformers"
fi
echo "setup: done. Try: .venv/bin/hardforge --help"
