"""How a problem is put to the policy: the chat prompt per domain."""

from __future__ import annotations

import json
from typing import Any

from schemas.config import RolloutConfig
from schemas.engine import Chat


def problem_chat(problem: dict[str, Any], config: RolloutConfig) -> Chat:
    if problem["domain"] == "code":
        content = f"{config.code_instruction}\n\n```python\n{problem['statement'].rstrip()}\n```"
    else:
        content = f"{problem['statement'].strip()}\n\n{config.math_instruction}"
    return [{"role": "user", "content": content}]


def sampling_key(config: RolloutConfig) -> str:
    """Identifies a sampling config: rollouts made under another one are different work."""
    from ingest.keys import content_key

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
