"""Types of the one engine interface: chat prompts + sampling params -> n completions each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict


class Message(TypedDict):
    role: str
    content: str


Chat = list[Message]
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 512
    stop: tuple[str, ...] = field(default_factory=tuple)
    seed: int = 0


@dataclass(frozen=True)
class EngineSpec:
    """Everything needed to build an engine, and nothing live: flows and Prefect tasks (and, later,
    remote workers) pass this around and build or reuse the engine where they run."""

    backend: str  # auto | transformers | vllm | openai
    model_path: str
    dtype: str = "auto"
    batch_size: int = 64
    vllm_kvcache_gib: int = 2
    seed: int = 0
    urls: tuple[str, ...] = ()  # openai: the servers' base URLs (data-parallel replicas)
    served_model: str | None = None  # openai: the model name at the servers (default: what they serve)
    concurrency: int = 8  # openai: requests in flight per server
    timeout_s: float = 300.0
    retries: int = 2
    send_seed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "urls", tuple(self.urls))  # a list after a JSON round trip; the spec is a dict key

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
