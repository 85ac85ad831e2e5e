"""Record types of every warehouse table, defined once, with their Arrow schemas.

Each table is a pydantic model; ``arrow_schema(Model)`` derives the Arrow schema and
``TABLES`` names the table and its key. The warehouse migrations are checked against these
definitions by a test, so a column cannot drift between Python and DuckDB.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Annotated, Any, Literal, NamedTuple, Union

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from schemas.provenance import LabelProvenance

# A JSON object stored as text (DuckDB JSON, Arrow string).
Json = Annotated[dict[str, Any], "json"]
Domain = Literal["math", "code", "qa"]
DOMAINS: tuple[str, ...] = typing.get_args(Domain)
# Which grader applies to a problem; adding a verifier is one registry line in verifiers/.
DEFAULT_VERIFIER: dict[str, str] = {"math": "math", "code": "code", "qa": "qa"}


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(Record):
    problem_id: str  # content hash of domain + normalized statement + normalized answer
    domain: Domain
    statement: str
    answer: str  # math/qa: reference answer; code: the test program
    verifier: str
    task: str | None = None  # e.g. "competition", "function_tests", AZR "deduction"
    source: str  # seed dataset ("champ", "humaneval", a file's name) or synth method
    source_ref: str | None = None  # the row's id in its source (e.g. P_Combinatorics_1, file:line)
    parent_id: str | None = None
    solution: str | None = None  # a reference solution, when the source has one
    extra: Json | None = None  # source fields (entry point, category, concept/hint ids)
    method_meta: Json | None = None  # synthesis method figures (prompt hash, sampling, band)
    created_run: str | None = None
    created_at: dt.datetime
    label_provenance: LabelProvenance = "ground_truth"  # how the answer is known (schemas/provenance.py)
    label_checks: Json | None = None  # {"base": ..., "checks": [{check, outcome, reason, detail}]}


class Concept(Record):
    concept_id: str
    source: str
    name: str | None = None
    text: str
    category: str | None = None
    parent_concept_id: str | None = None


class Hint(Record):
    hint_id: str
    source: str
    text: str


class SynthAttempt(Record):
    attempt_id: str
    run_id: str | None = None
    method: str
    parent_id: str | None = None
    prompt: str | None = None
    output: str | None = None
    candidate: str | None = None
    candidate_answer: str | None = None
    accepted: bool
    reason: str | None = None  # why it was rejected (unparsable, out of band, ...)
    problem_id: str | None = None  # the accepted problem
    meta: Json | None = None
    created_at: dt.datetime
    policy_id: str | None = None  # the proposer
    chat: Json | None = None  # {"messages": [...]}: the whole prompt the proposer saw
    sampling: Json | None = None  # the proposer's sampling parameters (seed included)
    group_id: str | None = None  # the prompt it shares with its siblings: a GRPO group of proposals
    reward: float | None = None  # the method's proposer reward (its invalid-proposal value when it failed)


class Policy(Record):
    policy_id: str
    name: str
    model_path: str
    revision: str | None = None
    parent_policy_id: str | None = None
    curriculum_id: str | None = None
    meta: Json | None = None
    created_at: dt.datetime


class Rollout(Record):
    rollout_id: str  # hash of (problem_id, policy_id, sampling_key, sample_idx)
    problem_id: str
    policy_id: str
    sampling_key: str  # hash of the sampling config (instruction, n, temperature, ...)
    sample_idx: int
    seed: int | None = None
    completion: str
    extracted_answer: str | None = None
    correct: bool
    score: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    detail: str | None = None
    run_id: str | None = None
    created_at: dt.datetime
    extraction: str | None = None  # strict | flexible (math-style verifiers)


class Difficulty(Record):
    problem_id: str
    policy_id: str
    sampling_key: str
    n: int
    c: int
    pass_at_1: float
    pass_at_k: dict[int, float]
    estimated_at: dt.datetime
    rounds: int | None = None  # measurement rounds pooled in this row (rollouts.service.round_estimates)


class LeanCheck(Record):
    check_id: str  # hash of problem + how it was checked (toolchain, formalizer, attempts): reruns add nothing
    problem_id: str
    formal_statement: str  # the last formalization tried ("" when none was written)
    compiles: bool | None = None  # None: no compiler ran (no toolchain)
    critic_verdict: str | None = None  # correct | incorrect | unclear
    messages: Json | None = None  # {"attempts": [...every attempt's code, compile status, messages, critique]}
    toolchain: str | None = None
    created_at: dt.datetime
    status: str | None = None  # the last compile: valid | sorry | error | timeout | crash | no toolchain
    attempts: int | None = None
    policy_id: str | None = None  # the formalizer and critic
    run_id: str | None = None


class Curriculum(Record):
    curriculum_id: str
    policy_id: str | None = None
    rule: Json
    n_items: int
    n_shards: int
    out_dir: str
    manifest_sha256: str | None = None
    run_id: str | None = None
    created_at: dt.datetime


class CurriculumItem(Record):
    curriculum_id: str
    position: int
    problem_id: str
    shard: int


class Run(Record):
    run_id: str
    flow: str
    prefect_run_id: str | None = None
    config_hash: str | None = None
    code_version: str | None = None
    status: str
    counts: Json | None = None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    host: str | None = None  # the owning process (warehouse.liveness): host, pid, boot id/start ticks
    pid: int | None = None
    process: str | None = None
    noticed_at: dt.datetime | None = None  # when a later process found the owner gone (status 'crashed')


class Quarantine(Record):
    quarantine_id: str  # hash of (source, locator, reason, raw): re-ingesting adds nothing
    source: str
    locator: str  # file:line, or the row's id
    reason: str
    raw: str | None = None  # the offending input, truncated
    run_id: str | None = None
    created_at: dt.datetime


class FilterVerdict(Record):
    problem_id: str
    filter: str  # validity | exact_dedup | near_dedup | decontamination
    keep: bool
    reason: str | None = None  # why it was dropped, e.g. "near duplicate of <id>"
    detail: Json | None = None  # e.g. {"benchmark": "humaneval", "ngram": "..."}
    run_id: str | None = None
    created_at: dt.datetime
    config_hash: str | None = None  # of the filter's settings when it gave this verdict


class AzrBufferEntry(Record):
    """One valid Absolute Zero task in its reference buffer (proposer prompts sample from here)."""

    entry_id: str  # content hash of task + program + input(s): a task is kept once
    task: str  # deduction | abduction | induction
    program: str
    input: str | None = None  # deduction/abduction: the arguments of f
    output: str | None = None  # deduction/abduction: repr of f(input)
    io: Json | None = None  # induction: {"pairs": [[input, output], ...], "message": ...}
    attempt_id: str | None = None  # the synth attempt that proposed it
    policy_id: str | None = None
    run_id: str | None = None
    added_at: dt.datetime


class Document(Record):
    """One article of a local corpus (FOLDOC, the Jargon File, a dictd file)."""

    doc_id: str  # content hash of corpus + article text
    corpus: str
    title: str
    text: str  # the article body; {braces} mark links
    headwords: str | None = None  # the index words that point at it, one per line
    created_at: dt.datetime


class Link(Record):
    """A {cross-link} in a document; ``dst_id`` is None when no headword matches the anchor."""

    src_id: str
    anchor: str
    dst_id: str | None = None
    corpus: str


class Table(NamedTuple):
    name: str
    record: type[Record]
    key: tuple[str, ...]


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("problems", Problem, ("problem_id",)),
        Table("concepts", Concept, ("concept_id",)),
        Table("hints", Hint, ("hint_id",)),
        Table("synth_attempts", SynthAttempt, ("attempt_id",)),
        Table("policies", Policy, ("policy_id",)),
        Table("rollouts", Rollout, ("rollout_id",)),
        Table("difficulty", Difficulty, ("problem_id", "policy_id", "sampling_key")),
        Table("lean_checks", LeanCheck, ("check_id",)),
        Table("curricula", Curriculum, ("curriculum_id",)),
        Table("curriculum_items", CurriculumItem, ("curriculum_id", "position")),
        Table("runs", Run, ("run_id",)),
        Table("quarantine", Quarantine, ("quarantine_id",)),
        Table("filter_verdicts", FilterVerdict, ("problem_id", "filter")),
        Table("azr_buffer", AzrBufferEntry, ("entry_id",)),
        Table("documents", Document, ("doc_id",)),
        Table("links", Link, ("src_id", "anchor")),
    )
}

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    dt.datetime: pa.timestamp("us", tz="UTC"),
}


def _arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """(Arrow type, nullable) for a field annotation (pydantic has already split off metadata)."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _arrow_type(inner)[0], True
    if origin is Annotated:  # Json inside an Optional keeps its Annotated wrapper
        base, *marks = typing.get_args(annotation)
        return (pa.string(), False) if "json" in marks else _arrow_type(base)
    if origin is Literal:
        return pa.string(), False
    if origin is dict:
        key, value = typing.get_args(annotation)
        return pa.map_(_SCALARS[key], _SCALARS[value]), False
    return _SCALARS[annotation], False


def json_columns(record: type[Record]) -> list[str]:
    """Fields stored as JSON text."""

    def is_json(annotation: Any, metadata: list[Any]) -> bool:
        if "json" in metadata:
            return True
        args = typing.get_args(annotation)
        if typing.get_origin(annotation) is Annotated:
            return "json" in args[1:]
        return any(is_json(a, []) for a in args)

    return [name for name, info in record.model_fields.items() if is_json(info.annotation, info.metadata)]


def arrow_schema(record: type[Record]) -> pa.Schema:
    as_json = set(json_columns(record))
    fields = []
    for name, info in record.model_fields.items():
        if name in as_json:  # a required Json field arrives as plain dict[str, Any]
            arrow_type, nullable = pa.string(), not info.is_required()
        else:
            arrow_type, nullable = _arrow_type(info.annotation)
        fields.append(pa.field(name, arrow_type, nullable=nullable))
    return pa.schema(fields)
