"""reasoning-gym seeds and the gym verifier: ingest (idempotent, levels queryable), one-sentence
errors, and the rule that only a score of exactly 1.0 from the task's scorer is a pass."""

import json

import pytest

from ingest.gym import parse_levels, parse_request
from ingest.service import ingest
from schemas.config import HardforgeConfig
from tests.conftest import run_cli
from verifiers.base import GradeItem
from verifiers.gym import GymVerifier, is_pass


def test_gym_ingest_is_idempotent_and_records_levels(warehouse):
    cfg = HardforgeConfig()
    first = ingest(warehouse, "gym:products", cfg, gym_options={"size": 5, "levels": "0-2", "seed": 3})
    assert first.rows == 15 and first.inserted == 15 - first.already_present and not first.quarantined
    again = ingest(warehouse, "gym:products", cfg, gym_options={"size": 5, "levels": "0-2", "seed": 3})
    assert (again.rows, again.inserted) == (15, 0)
    rows = warehouse.arrow(
        "SELECT source, verifier, task, json_extract(extra, '$.gym.level')::INT AS level, "
        "json_extract(extra, '$.gym.seed')::INT AS seed, json_extract(extra, '$.gym.config') AS config "
        "FROM problems ORDER BY level"
    ).to_pylist()
    assert {(r["source"], r["verifier"], r["task"], r["seed"]) for r in rows} == {
        ("gym:products", "gym", "products", 3)
    }
    assert {r["level"] for r in rows} == {0, 1, 2}
    # the generator config differs by level (harder levels, more digits)
    configs = {r["level"]: json.loads(r["config"]) for r in rows}
    assert configs[0] != configs[2]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "gym:no_such_task"], "reasoning-gym has no task 'no_such_task'"),
        (["ingest", "gym:products", "--levels", "99"], "has levels 0-"),
        (["ingest", "gym:products", "--levels", "2-1"], "--levels takes levels like 0-3"),
        (["ingest", "gym:products", "--size", "0"], "--size must be positive"),
        (["ingest", "champ", "--size", "3"], "apply to gym:TASK targets only"),
    ],
)
def test_gym_errors_are_one_sentence(data_dir, args, message):
    result = run_cli(data_dir, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_request_parsing():
    assert parse_levels("0-2,5") == (0, 1, 2, 5)
    request = parse_request("gym:chain_sum?levels=1-2&size=7&seed=4")
    assert (request.task, request.levels, request.size, request.seed) == ("chain_sum", (1, 2), 7, 4)
    assert parse_request("gym:chain_sum?size=7", size=3).size == 3  # the command line wins


@pytest.fixture(scope="module")
def problems():
    from ingest.gym import gym_rows

    rows = {}
    for task in ("products", "gcd", "chain_sum"):
        _, record, _ = next(gym_rows(parse_request(f"gym:{task}", size=1, seed=11)))
        rows[task] = record
    return rows


def _grade(problem, completion, mode):
    (grade,) = GymVerifier().grade(
        [GradeItem(problem["answer"], completion, problem["statement"], problem["__extra__"], mode)]
    )
    return grade


# (task, completion template, mode, passes, detail fragment); {a} = the right answer, {w} = a wrong number
CASES = [
    ("products", "\\boxed{{{a}}}", "strict", True, None),
    ("products", "<answer>{a}</answer>", "strict", True, None),
    ("products", "The answer is {a}.", "strict", False, "no answer found"),
    ("products", "The answer is {a}.", "flexible", True, None),
    ("products", "so it must be {a}", "flexible", True, None),
    # partial credit from the scorer is not a pass: the right number inside a longer reply ...
    ("products", "<answer>It is {a}</answer>", "strict", False, "scorer gave"),
    ("chain_sum", "<answer>I think {a}</answer>", "strict", False, "scorer gave"),
    # ... and the consolation score some tasks give any wrong number
    ("products", "\\boxed{{{w}}}", "strict", False, "scorer gave"),
    ("gcd", "\\boxed{{{w}}}", "strict", False, "scorer gave"),
    ("gcd", "the last number wins: {a} or maybe {w}", "flexible", False, "scorer gave"),
]


@pytest.mark.parametrize(("task", "template", "mode", "passes", "detail"), CASES)
def test_pass_only_at_exactly_one(problems, task, template, mode, passes, detail):
    problem = problems[task]
    wrong = str(int(problem["answer"]) + 1)
    grade = _grade(problem, template.format(a=problem["answer"], w=wrong), mode)
    assert grade.correct is passes and grade.score == float(passes)
    if detail:
        assert detail in (grade.detail or "")


@pytest.mark.parametrize(
    ("score", "passes"), [(1.0, True), (0.9999, False), (0.25, False), (0.01, False), (0.0, False)]
)
def test_is_pass(score, passes):
    assert is_pass(score) is passes


def test_partial_credit_really_is_given_by_the_scorers(problems):
    """The rule above matters: the raw scorers pay for hedged and wrong answers."""
    from verifiers.gym import gym_score

    for task in ("products", "chain_sum"):
        p = problems[task]
        assert 0 < gym_score(f"It is {p['answer']}", p["answer"], p["statement"], p["__extra__"]["gym"]) < 1
