"""The ``Engine`` interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from schemas.engine import Chat, Completion, SamplingParams


class Engine(ABC):
    """Generates ``params.n`` completions for each chat prompt."""

    name: str = "engine"
    model_path: str = ""

    @abstractmethod
    def generate(self, prompts: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        """One list of ``params.n`` completions per prompt, in prompt order."""

    def count_tokens(self, prompt: Chat) -> int:
        """Prompt length in tokens with the chat template (backends override with their tokenizer)."""
        return sum(len(m["content"]) for m in prompt) // 4 + 8

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model (and any engine processes)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; returns (text, stopped)."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)
