"""transformers ``generate``: the engine that always works (CPU, CI, the default set-up)."""

from __future__ import annotations

import os
from pathlib import Path

from engines.base import Engine, truncate_at_stop
from schemas.engine import Chat, Completion, SamplingParams


def torch_threads() -> int:
    """Every core, unless ``OMP_NUM_THREADS`` says otherwise: decoding is bound by memory bandwidth
    (one thread measured as fast as two on this box), and a thread that shares its core with
    another process stalls every step of the others (a 2-3x slowdown measured beside one busy core)."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(self, model_path: Path, *, dtype: str = "auto", batch_size: int = 16) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.model_path = str(model_path)
        # On CPU fp32 is the fast dtype (bf16 generate measured several times slower here).
        torch_dtype = torch.float32 if dtype in ("auto", "float32") else torch.bfloat16
        torch.set_num_threads(torch_threads())
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype).eval()
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {i for i in [*eos, self.tokenizer.eos_token_id] if i is not None}
        self.batch_size = batch_size  # sequences decoded together

    def render(self, prompt: Chat) -> str:
        return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, prompt: Chat) -> int:
        return len(self.tokenizer(self.render(prompt), add_special_tokens=False)["input_ids"])

    def generate(self, prompts: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        per_chunk = max(1, self.batch_size // max(1, params.n))
        results: list[list[Completion]] = []
        for start in range(0, len(prompts), per_chunk):
            chunk = prompts[start : start + per_chunk]
            results.extend(self._generate_chunk(chunk, params, seed=params.seed + start))
        return results

    def _generate_chunk(self, prompts: list[Chat], params: SamplingParams, seed: int) -> list[list[Completion]]:
        torch = self.torch
        texts = [self.render(p) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.model.device)
        prompt_lengths = enc["attention_mask"].sum(dim=1).tolist()
        sampling = params.temperature > 0
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(
                **enc,
                do_sample=sampling,
                temperature=params.temperature if sampling else None,
                top_p=params.top_p if sampling else None,
                top_k=0 if sampling else None,  # no top-k: the same distribution as vLLM
                max_new_tokens=params.max_tokens,
                num_return_sequences=params.n,
                pad_token_id=self.tokenizer.pad_token_id,
                stop_strings=list(params.stop) or None,
                tokenizer=self.tokenizer if params.stop else None,
            )
        new_tokens = out[:, enc["input_ids"].shape[1] :].tolist()
        grouped: list[list[Completion]] = []
        for i in range(len(prompts)):
            group = []
            for row in new_tokens[i * params.n : (i + 1) * params.n]:
                group.append(self._completion(row, prompt_lengths[i], params))
            grouped.append(group)
        return grouped

    def _completion(self, row: list[int], prompt_tokens: int, params: SamplingParams) -> Completion:
        end = next((j for j, tok in enumerate(row) if tok in self.eos_ids), None)
        tokens = row if end is None else row[:end]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, params.stop)
        finish = "stop" if end is not None or stopped else "length"
        # With an EOS the EOS token itself was generated too (vLLM counts it the same way).
        count = len(tokens) + (1 if end is not None else 0)
        return Completion(text, prompt_tokens, count, finish)

    def close(self) -> None:
        self.model = None


class LiveEngine(TransformersEngine):
    """The model a trainer is training, as an engine: a proposer's reward is judged with the
    *current* policy as solver (SQLM, SvS, AZR). Generates in eval mode and restores the
    training mode after; the weights are the trainer's, never copied."""

    name = "live"

    def __init__(self, model, tokenizer, *, batch_size: int = 16) -> None:  # noqa: ANN001 - torch/transformers types
        import torch

        self.torch, self.model, self.tokenizer = torch, model, tokenizer
        self.model_path = str(getattr(model, "name_or_path", "") or "")
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {i for i in [*eos, tokenizer.eos_token_id] if i is not None}
        self.batch_size = batch_size

    def generate(self, prompts: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        training = self.model.training
        self.model.eval()
        # generation seeds torch's global generator; the trainer's own sampling must not restart
        # from the reward's seed every step
        devices = [self.model.device] if self.model.device.type == "cuda" else []
        try:
            with self.torch.random.fork_rng(devices=devices):
                return super().generate(prompts, params)
        finally:
            self.model.train(training)

    def close(self) -> None:
        """The trainer owns the model."""
