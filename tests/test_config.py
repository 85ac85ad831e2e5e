from pathlib import Path

import pytest

from schemas.config import HardforgeConfig, load_config
from schemas.errors import HardforgeError


def test_defaults_without_file_or_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(environ={})
    assert cfg == HardforgeConfig()
    assert cfg.data_dir == Path("data")


def test_toml_then_env_then_flag(tmp_path):
    path = tmp_path / "hardforge.toml"
    path.write_text('data_dir = "from_toml"\n[ingest]\nmax_statement_chars = 50\n')
    cfg = load_config(path, environ={"HARDFORGE_INGEST__MAX_ANSWER_CHARS": "7"})
    assert (cfg.data_dir, cfg.ingest.max_statement_chars, cfg.ingest.max_answer_chars) == (
        Path("from_toml"),
        50,
        7,
    )
    cfg = load_config(path, environ={"HARDFORGE_DATA_DIR": "from_env"})
    assert cfg.data_dir == Path("from_env")
    cfg = load_config(path, environ={"HARDFORGE_DATA_DIR": "from_env"}, data_dir=Path("flag"))
    assert cfg.data_dir == Path("flag")


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[ingest]\nmax_rows = 3\n", {}, "unknown config key 'ingest.max_rows'"),
        ("colour = 'red'\n", {}, "unknown config key 'colour'"),
        ("[ingest]\nmax_statement_chars = 'many'\n", {}, "bad value for config key 'ingest.max_statement_chars'"),
        ("[ingest]\nmax_statement_chars = -1\n", {}, "bad value for config key 'ingest.max_statement_chars'"),
        ("", {"HARDFORGE_INGEST__NOPE": "1"}, "unknown config key 'ingest.nope'"),
        ("", {"HARDFORGE_ENGINE__BACKEND": "tpu"}, "bad value for config key 'engine.backend'"),
        ("[ingest\n", {}, "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, toml, env, message):
    path = tmp_path / "hardforge.toml"
    path.write_text(toml)
    with pytest.raises(HardforgeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path, environ=env)


def test_missing_config_file_is_one_sentence(tmp_path):
    with pytest.raises(HardforgeError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})


def test_digest_changes_with_config():
    assert HardforgeConfig().digest() != HardforgeConfig(data_dir=Path("x")).digest()
