"""The configuration sections of synthesis, label checks, training and the cluster (the stage
sections and the loader are in ``schemas.config``, which re-exports these)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from schemas.config_base import Section
from schemas.provenance import DEFAULT_MINIMUM, LabelProvenance


class SvsConfig(Section):
    """SvS (methods.md §1): defaults from the official scripts."""

    group: int = Field(8, gt=0)  # G: candidates per seed, and solutions per candidate
    under_low: float = Field(0.125, ge=0, le=1)
    under_high: float = Field(0.5, ge=0, le=1)
    positive_low: float = Field(0.125, ge=0, le=1)
    positive_high: float = Field(0.625, ge=0, le=1)
    max_prompt_tokens: int = Field(4096, gt=0)
    temperature: float = Field(1.0, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    max_tokens: int = Field(512, gt=0)  # for the synthesis output; solving uses rollouts.max_tokens
    batch_seeds: int = Field(4, gt=0)  # seeds per generate call and per warehouse write
    # an in-band problem with no correct rollout that shows its work: the policy writes this many
    # solutions under the step-by-step instruction, and a correct one that shows work is the seed
    solutions: int = Field(4, ge=0)
    # one worked exchange (a solution and the problem it answers) before the seed's prompt, to show a
    # small policy the reply's form (our deviation, docs/synthesis/svs.md): the 135M and the 0.5B
    # verified variants only with it; false is the official prompt alone
    demonstration: bool = True


class SqlmConfig(Section):
    """Self-questioning (methods.md §4): the proposer gets a topic prompt, the solver samples n."""

    # arithmetic (small numbers) | arithmetic_large | word_problem | algebra | code | a name in topics_file;
    # seeds take the topics in turn
    topics: list[str] = Field(default_factory=lambda: ["arithmetic", "arithmetic_large", "word_problem"])
    topics_file: Path | None = None  # JSON object {name: prompt} adding or replacing topic prompts
    proposals: int = Field(4, gt=0)  # proposals per topic prompt
    solvers: int = Field(4, ge=3)  # n solver samples per proposed problem (1 < m < n needs n >= 3)
    temperature: float = Field(1.0, ge=0)
    max_tokens: int = Field(96, gt=0)  # for the proposal
    batch_seeds: int = Field(4, gt=0)


class AzrConfig(Section):
    """Absolute Zero (methods.md §5): the policy proposes code-reasoning tasks, the sandbox
    validates them, n solver samples measure their learnability."""

    tasks: list[Literal["deduction", "abduction", "induction"]] = Field(
        default_factory=lambda: ["deduction", "abduction", "induction"]
    )
    proposals: int = Field(4, gt=0)  # proposals per proposer prompt
    solvers: int = Field(8, ge=2)  # n solver samples per valid task (AZR: 8)
    references: int = Field(6, gt=0)  # K reference snippets in a proposer prompt (AZR: io_n = 6)
    induction_inputs: int = Field(10, ge=2)  # inputs an induction proposal writes; half are hidden
    buffer_cap: int = Field(16384, gt=0)  # entries per task's buffer; the oldest go first (FIFO)
    timeout_s: float = Field(10.0, gt=0)  # per validation run of a proposed program
    output_cap: int = Field(400, gt=0)  # characters of a gold output's repr
    temperature: float = Field(1.0, ge=0)
    # for the proposal: at 128, 11 of a 0.5B's 32 proposals ended inside their code block (issue 32)
    max_tokens: int = Field(256, gt=0)
    batch_seeds: int = Field(4, gt=0)


class MathsmithConfig(Section):
    """MathSmith (methods.md §2): problems from 5 sampled concepts, kept when 3 of 6 solutions agree."""

    concept_sources: list[str] = Field(default_factory=list)  # concept sources to sample from (empty = all)
    # random: 5 concepts uniformly (official); weakness: the concepts of the problems the policy keeps
    # failing come first (SwS, arXiv 2506.08989), the rest uniformly
    concepts: Literal["random", "weakness"] = "random"
    proposals: int = Field(2, gt=0)  # problems written per concept sample
    solvers: int = Field(6, ge=2)  # n solver samples (official: 6)
    consistent_answers: int = Field(3, ge=1)  # votes the majority answer needs (official: 3)
    # official: both <rationale> and <problem>; off, a "Problem:" header also counts (the bundled
    # 135M model never writes the tags), and the format score still pays only for the tags
    require_tags: bool = False
    # ask for the <problem> before the <rationale> (official: the rationale first): a small policy's
    # rationale runs on and cuts the problem off (Qwen2.5-Coder-0.5B: 12 of 16 parsed against 1 of 16)
    problem_first: bool = True
    temperature: float = Field(0.7, ge=0)  # QM_sampler: 0.7 / top_p 0.8
    top_p: float = Field(0.8, gt=0, le=1)
    # problem + rationale: at 384, rationale first, a small policy's rationale filled the budget and cut
    # the problem off (issue 32); the prompt asks for five one-sentence steps, where the step score peaks
    max_tokens: int = Field(512, gt=0)
    batch_seeds: int = Field(4, gt=0)


class AsearcherConfig(Section):
    """ASearcher's inject/fuzz QA synthesis (methods.md §3) over a local linked corpus."""

    corpus: str = "foldoc"  # a corpus ingested with `hardforge ingest corpus`
    # the base QA's answer: the root's title, asked for from the document (a dictionary's entry; a
    # small policy's choice), or a phrase the policy picks from it (the official agent)
    base_answer: Literal["title", "phrase"] = "title"
    # who answers the validity, uniqueness and coverage judges: the independent checker (the official
    # agent asks a 32B reasoning model, not the policy) where there is one, else the policy
    judge: Literal["checker", "policy"] = "checker"
    # the judges' sampling: 0 reads each verdict greedily, the judge's most likely word. Sampled at
    # the agent's 0.8, a small judge's yes/no flips between draws, and the uniqueness check, where
    # any of up to max_alternatives yeses rejects, compounds those flips (docs/synthesis/asearcher.md)
    judge_temperature: float = Field(0.0, ge=0)
    topic: str | None = None  # BM25 query choosing the root documents (none: all linked documents)
    # without a topic, the order roots are taken in: random (a stable hash; official: a random page)
    # or cited, the documents most others link to first, each once. Cited: a 0.5B policy verified 2
    # of 32 QAs (random: 0 of 32, four runs), a 1.5B 4 of 32 (random: 2 of 32; 2026-12-08)
    roots: Literal["random", "cited"] = "cited"
    topic_roots: int = Field(200, gt=0)  # BM25 hits kept as roots
    max_turns: int = Field(16, ge=0)
    solvers: int = Field(8, gt=0)  # solver samples of the difficulty check
    max_alternatives: int = Field(8, gt=0)  # wrong answers put to the uniqueness judge, per check
    # the reading check reads the QA's facts among those of this many documents linked to its root
    # (each one's first fact after its title, the closest to the question first): a reader shown
    # one titled fact answers its title whatever is asked ("... the mechanism that does not
    # intersect with the paper?" -> impact printer, 4 of 4 readings); among its neighbours it must
    # pick the title the question describes
    reading_distractors: int = Field(3, ge=0)
    # keep a checked QA no solver answered (the official agent's 0/8 goal) out of band where its
    # label stands without the policy (synth.asearcher.method.stands_unanswered). Off: of the 5 such
    # QAs two runs kept on 2026-12-08, 2 had wrong labels ("What was the first string-handling
    # language designed for?" -> COMIT), both read by the 0.5B coder beside a 1.5B policy
    keep_unanswered: bool = False
    # base QAs per root (official: one per random root); a 0.5B policy's base QA passes every check
    # rarely, and a root's QAs share its document and links (docs/synthesis/asearcher.md)
    proposals: int = Field(4, gt=0)
    temperature: float = Field(0.8, ge=0)  # the agent's sampling (official: 0.8 / top_p 0.95)
    top_p: float = Field(0.95, gt=0, le=1)
    max_tokens: int = Field(160, gt=0)  # per agent reply
    max_doc_chars: int = Field(1500, gt=0)  # document text shown to the agent
    batch_seeds: int = Field(4, gt=0)


class ProgramOfThoughtConfig(Section):
    """The program-of-thought label check: a checker model writes ``solution()`` for the statement
    (never seeing the label); the programs run in the sandbox; where enough of them compute the same
    number, that number is the label (or must be it). Its agreement counts only from a checker of
    other weights than the policy's (``synth.labels.choose_checker``)."""

    # auto: a bundled coder of another family than the policy (else of other weights); policy: the
    # policy itself (not independent); a bundled name (`hardforge models`), a model folder, or the
    # served model's name with backend "openai"
    model: str | None = "auto"
    backend: Literal["auto", "transformers", "vllm", "openai"] = "auto"
    urls: list[str] = Field(default_factory=list)  # backend "openai": the checker's servers
    # 4 programs, 3 agreeing, and the statement called well posed 4 times: on 100 gold problems the
    # 1.5B coder's labels were right 30 of 30 (yield 0.30; 4 of 4: 22, all right), docs/labels.md
    samples: int = Field(4, gt=0)  # programs written per statement
    min_agree: int = Field(3, gt=0)  # programs that must compute the same number for a verdict
    temperature: float = Field(0.7, ge=0)
    max_tokens: int = Field(384, gt=0)  # a brute-force count needs room; generation stops at the closing fence
    timeout_s: float = Field(5.0, gt=0)
    # a derived label stands only if the checker also calls the statement well posed, each of samples times
    posed: bool = True


class ChecksConfig(Section):
    """Independent label checks (``checks/``), run in order on a synthesized label; the first
    that disagrees rejects it, one that agrees makes its provenance ``checked``. The checks that
    ask a model (program of thought, reading) ask the checker of ``program_of_thought``."""

    math: list[str] = Field(default_factory=lambda: ["arithmetic", "program_of_thought"])
    stdio: list[str] = Field(default_factory=lambda: ["satisfiable_tests"])
    qa: list[str] = Field(default_factory=lambda: ["reading"])  # the checker reads a QA's facts and answers
    program_of_thought: ProgramOfThoughtConfig = Field(default_factory=ProgramOfThoughtConfig)


class SynthConfig(Section):
    # labels below this are recorded as attempts, not kept as problems (a vote alone is a candidate)
    min_label_provenance: LabelProvenance = DEFAULT_MINIMUM
    # a verified problem the method's band rejected is kept when too easy (an executed or checked label
    # every acceptance solution reached) or unsolved with a label exact arithmetic computed, measured
    # afresh like any other; the proposer's reward still follows the band. Off: each method's own acceptance
    keep_out_of_band: bool = True
    svs: SvsConfig = Field(default_factory=SvsConfig)
    sqlm: SqlmConfig = Field(default_factory=SqlmConfig)
    azr: AzrConfig = Field(default_factory=AzrConfig)
    mathsmith: MathsmithConfig = Field(default_factory=MathsmithConfig)
    asearcher: AsearcherConfig = Field(default_factory=AsearcherConfig)


class TrainConfig(Section):
    """The bundled GRPO trainer (TRL GRPOTrainer). CPU: bf16 off (6-10x slower on), no vLLM."""

    enabled: bool = False  # nightly trains only when enabled (off by default: slow on CPU)
    loss_type: Literal["grpo", "dr_grpo", "dapo", "bnpo", "cispo", "sapo"] = "dapo"
    beta: float = Field(0.0, ge=0)
    num_generations: int = Field(4, ge=2)
    per_device_train_batch_size: int = Field(8, gt=0)  # completions per step; a multiple of num_generations
    gradient_accumulation_steps: int = Field(1, gt=0)
    # 1e-6: at 1e-5 one AdamW step on a batch of 8 took the 0.5B's held-out probe from 0.573 to
    # 0.306; three nights at 1e-6 kept it (docs/training.md, "Three self-play nights")
    learning_rate: float = Field(1e-6, gt=0)
    max_completion_length: int = Field(64, gt=0)
    temperature: float = Field(0.7, gt=0)
    max_steps: int = Field(2, gt=0)
    seed: int = 0
    use_vllm: bool = False  # GPU: generation with vLLM
    vllm_mode: Literal["colocate", "server"] = "colocate"
    gradient_checkpointing: bool = False
    # the optimizer: AdamW keeps two float32 copies of the weights (4 GB for the 0.5B); Adafactor
    # keeps factored second moments only, which a 0.5B night that trains both roles needs on 24 GiB
    optim: Literal["adamw_torch", "adafactor"] = "adamw_torch"
    # the proposer role (``--role proposer|both``): which methods' prompts, and in ``both`` the
    # share of each step's prompts that are proposer prompts; None = the nightly's methods
    proposer_methods: list[str] | None = None
    proposer_share: float = Field(0.5, gt=0, lt=1)
    # GSPO: "sequence" importance ratios (one per completion), with GSPO's clip range unless set
    importance_sampling_level: Literal["token", "sequence"] = "token"
    epsilon: float | None = Field(None, gt=0)  # lower clip; None: the recipe's (0.2; GSPO 3e-4)
    epsilon_high: float | None = Field(None, gt=0)  # upper clip; None: the recipe's (DAPO 0.28; GSPO 4e-4)
    # DAPO's soft overlong punishment: the last this-many tokens before max_completion_length cost
    # up to -1, linearly (None: off)
    overlong_buffer: int | None = Field(None, gt=0)


class ClusterConfig(Section):
    """Estimate chunks on a Ray cluster through Prefect's Ray task runner (prefect-ray)."""

    enabled: bool = False
    address: str | None = None  # a running cluster ("ray://host:10001", "auto"); None starts a local one
    workers: int = Field(2, gt=0)  # CPUs of a local cluster: chunks measured at once
    chunk_problems: int = Field(8, gt=0)  # problems per Ray task


__all__ = [
    "SvsConfig",
    "SqlmConfig",
    "AzrConfig",
    "MathsmithConfig",
    "AsearcherConfig",
    "ProgramOfThoughtConfig",
    "ChecksConfig",
    "SynthConfig",
    "TrainConfig",
    "ClusterConfig",
]
