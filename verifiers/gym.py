"""The gym verifier: reasoning-gym's own scorer for the problem's task, passing only at 1.0.

reasoning-gym's scorers give partial credit (0.25 when the right number sits inside a longer
reply, 0.01 for any wrong number on some tasks); a reward that pays for those teaches the policy
to hedge. So the final answer is extracted first (strict or flexible mode, chosen per source and
recorded on the rollout), and only an exact 1.0 from the scorer counts as correct.

Only audited tasks are graded (``schemas/gym_tasks.py``): some of reasoning-gym's scorers run the
answer as Python (``eval``, sympy's ``parse_expr``), and model text never runs outside the
sandbox. Tasks whose scorer runs the answer or pays a wrong one but whose problems are good are
scored by hardforge's own scorers (``verifiers/gym_scorers.py``). A reply that names a NaN or an
infinity passes nothing unless the gold itself does: scorers that compute with what they parse
turn ``nan`` into 1.0 (``min(1.0, nan)``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from schemas.gym_tasks import OWN_SCORERS, refusal
from verifiers.base import Grade, GradeItem
from verifiers.gym_scorers import non_finite, own_score
from verifiers.math.extract import extract_answer


@lru_cache(maxsize=256)
def _dataset(task: str, config_json: str):
    import warnings

    with warnings.catch_warnings():  # cellpylib, a dependency, warns when first compiled
        warnings.simplefilter("ignore", SyntaxWarning)
        import reasoning_gym
    config = json.loads(config_json)
    config["size"] = 1  # the scorer does not depend on the size; generating is the slow part
    return reasoning_gym.create_dataset(task, **config)


def is_pass(score: float) -> bool:
    return score == 1.0


def gym_score(extracted: str, answer: str, statement: str, gym: dict[str, Any]) -> float:
    """The task's score for an extracted answer; only for tasks ``refusal`` lets through."""
    if non_finite(extracted) and not non_finite(answer):
        return 0.0
    if gym["task"] in OWN_SCORERS:
        return own_score(gym["task"], extracted, answer, gym.get("metadata") or {})
    dataset = _dataset(gym["task"], json.dumps(gym["config"], sort_keys=True))
    entry = {"question": statement, "answer": answer, "metadata": gym.get("metadata") or {}}
    return float(dataset.score_answer(extracted, entry))


class GymVerifier:
    name = "gym"

    def grade(self, items: list[GradeItem]) -> list[Grade]:
        return [self._grade(item) for item in items]

    def _grade(self, item: GradeItem) -> Grade:
        gym = (item.extra or {}).get("gym")
        if not gym:
            return Grade(False, None, 0.0, "not a gym problem: extra.gym is missing")
        refused = refusal(str(gym.get("task")))
        if refused is not None:
            return Grade(False, None, 0.0, f"not graded: {refused}")
        extracted = extract_answer(item.completion, item.extraction)
        if extracted is None:
            return Grade(False, None, 0.0, "no answer found")
        try:
            score = gym_score(extracted, item.answer, item.statement, gym)
        except Exception as exc:  # a scorer bug on an odd answer: graded as not passing, with why
            return Grade(False, extracted, 0.0, f"scorer error: {type(exc).__name__}")
        passed = is_pass(score)
        return Grade(passed, extracted, float(passed), None if passed else f"scorer gave {score:.3g}")

    def close(self) -> None:
        pass
