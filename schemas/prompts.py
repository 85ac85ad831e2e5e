"""How a problem is put to the policy: the chat prompt per domain. Rollouts and curriculum
shards both use it, so the trainer sees exactly the prompts difficulty was measured on."""

from __future__ import annotations

import json
from typing import Any

from schemas.config import RolloutConfig
from schemas.engine import Chat
from schemas.keys import content_key


def user_content(domain: str, statement: str, config: RolloutConfig) -> str:
    if domain == "code":
        return f"{config.code_instruction}\n\n```python\n{statement.rstrip()}\n```"
    return f"{statement.strip()}\n\n{config.math_instruction}"


def problem_chat(problem: dict[str, Any], config: RolloutConfig) -> Chat:
    return [{"role": "user", "content": user_content(problem["domain"], problem["statement"], config)}]


def sampling_key(config: RolloutConfig) -> str:
    """Identifies a sampling config: rollouts made under another one are different work."""
    fields = {
        "n": config.n,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "max_tokens": config.max_tokens,
        "seed": config.seed,
        "math_instruction": config.math_instruction,
        "code_instruction": config.code_instruction,
    }
    return content_key("sampling", json.dumps(fields, sort_keys=True))
