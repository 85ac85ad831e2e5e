"""How a problem is put to the policy: the chat prompt per domain. Rollouts and curriculum
shards both use it, so the trainer sees exactly the prompts difficulty was measured on."""

from __future__ import annotations

import json
from typing import Any

from schemas.config import RolloutConfig
from schemas.engine import Chat
from schemas.grading import GRADER_VERSIONS
from schemas.keys import content_key


def instruction(domain: str, source: str | None, config: RolloutConfig) -> str:
    if source is not None and (chosen := config.for_source(source).instruction) is not None:
        return chosen
    return {"code": config.code_instruction, "qa": config.qa_instruction}.get(domain, config.math_instruction)


def user_content(domain: str, statement: str, config: RolloutConfig, source: str | None = None) -> str:
    said = instruction(domain, source, config)
    if domain == "code" and (source is None or config.for_source(source).instruction is None):
        # a function to complete (HumanEval): the prompt is code
        return f"{said}\n\n```python\n{statement.rstrip()}\n```"
    return f"{statement.strip()}\n\n{said}"


def problem_chat(problem: dict[str, Any], config: RolloutConfig) -> Chat:
    content = user_content(problem["domain"], problem["statement"], config, problem.get("source"))
    return [{"role": "user", "content": content}]


def sampling_key(config: RolloutConfig, problem: dict[str, Any]) -> str:
    """Identifies how a problem was sampled and graded: rollouts made under another prompt,
    budget, extraction mode or grader version are different work (and are measured again)."""
    source = problem.get("source") or ""
    rule = config.for_source(source)
    fields = {
        "n": config.n,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "seed": config.seed,
        "max_tokens": rule.max_tokens,
        "extraction": rule.extraction,
        "instruction": instruction(problem["domain"], source, config),
        "grader": f"{problem['verifier']}@{GRADER_VERSIONS.get(problem['verifier'], '0')}",
    }
    if config.screening():  # a screened measurement is another design (and other pass@k): other work
        fields["screen"] = config.screening()
    return content_key("sampling", json.dumps(fields, sort_keys=True))


def acceptance_key(key: str) -> str:
    """The sampling key a synthesized problem's acceptance sample is stored under: never a current
    key (a sample kept because it passed the acceptance rule is a biased difficulty estimate)."""
    return content_key("acceptance", key)
