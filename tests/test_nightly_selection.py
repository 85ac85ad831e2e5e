"""The nightly never stalls: what it measures first, what it measures again, how a grader change
invalidates old figures, and how a killed run's selection is finished rather than replaced."""

import datetime as dt

import pytest

import schemas.grading
from rollouts.estimate import difficulty_from_counts, estimate, nightly_selection, plan_selection
from schemas.config import HardforgeConfig
from schemas.keys import problem_id
from schemas.prompts import sampling_key
from schemas.records import Problem, Run
from tests.conftest import ScriptedEngine

POLICY = "p" * 32
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _problem(source, i, *, created, parent=None):
    statement = f"{source} problem {i}: what is {i}?"
    return Problem(
        problem_id=problem_id("math", statement, str(i)),
        domain="math",
        statement=statement,
        answer=str(i),
        verifier="math",
        source=source,
        parent_id=parent,
        created_at=created,
    )


@pytest.fixture
def cfg():
    config = HardforgeConfig()
    config.rollouts.n = 4
    return config


@pytest.fixture
def stocked(warehouse, cfg):
    """Sources a and b (3 each, created an hour apart), one synthesized variant, and two of a's
    problems measured at different times."""
    problems = [_problem("a", i, created=T0 + dt.timedelta(hours=i)) for i in range(3)]
    problems += [_problem("b", i, created=T0 + dt.timedelta(hours=i)) for i in range(3)]
    variant = _problem("svs", 9, created=T0, parent=problems[0].problem_id)
    warehouse.insert_records("problems", [*problems, variant])
    measured = []
    for problem, when in ((problems[0], T0 + dt.timedelta(days=2)), (problems[1], T0 + dt.timedelta(days=1))):
        key = sampling_key(cfg.rollouts, problem.model_dump())
        measured.append(difficulty_from_counts(problem.problem_id, POLICY, key, 4, 1, [1], when))
    warehouse.insert_records("difficulty", measured)
    return {"a": problems[:3], "b": problems[3:], "svs": variant}


def test_unmeasured_first_synthesized_first_sources_interleaved_then_stalest(warehouse, cfg, stocked):
    order = nightly_selection(warehouse, cfg.rollouts, POLICY, None, None)
    a, b = stocked["a"], stocked["b"]
    expected = [
        stocked["svs"].problem_id,  # synthesized before seeds
        a[2].problem_id,
        b[2].problem_id,  # then each source in turn, newest first
        b[1].problem_id,
        b[0].problem_id,  # (a has only one unmeasured problem left)
        a[1].problem_id,
        a[0].problem_id,  # then the measured ones, stalest first
    ]
    assert [p["problem_id"] for p in order] == expected
    assert [p["remeasure"] for p in order] == [False] * 5 + [True] * 2
    assert [p["problem_id"] for p in nightly_selection(warehouse, cfg.rollouts, POLICY, None, 3)] == expected[:3]


def test_per_source_limit_caps_new_problems_of_a_source(warehouse, cfg, stocked):
    order = nightly_selection(warehouse, cfg.rollouts, POLICY, "source <> 'svs'", None, {"b": 1})
    sources = [(p["source"], p["remeasure"]) for p in order]
    assert sources.count(("b", False)) == 1 and sources.count(("a", False)) == 1
    assert sources[-2:] == [("a", True), ("a", True)]


def test_a_grader_change_means_measuring_again(warehouse, cfg, stocked, monkeypatch):
    before = {
        p["problem_id"]: p["remeasure"]
        for p in nightly_selection(warehouse, cfg.rollouts, POLICY, "source = 'a'", None)
    }
    assert before[stocked["a"][0].problem_id] is True
    monkeypatch.setitem(schemas.grading.GRADER_VERSIONS, "math", "999")
    after = {
        p["problem_id"]: p["remeasure"]
        for p in nightly_selection(warehouse, cfg.rollouts, POLICY, "source = 'a'", None)
    }
    assert set(after.values()) == {False}  # old `correct` flags are not trusted: all unmeasured again


def test_remeasuring_adds_a_round_pooled_with_the_first(warehouse, cfg, stocked):
    problem = {**stocked["b"][0].model_dump(), "extra": None}
    engine = ScriptedEngine(lambda chat, n: [r"\boxed{0}"] * n)
    first = estimate(warehouse, engine, POLICY, [problem], cfg.rollouts)
    assert first.rollouts == 4
    # not marked for re-measurement: already done
    assert estimate(warehouse, engine, POLICY, [problem], cfg.rollouts).already_done == 1
    since = dt.datetime.now(dt.UTC)
    second = estimate(warehouse, engine, POLICY, [{**problem, "remeasure": True}], cfg.rollouts, since=since)
    assert second.rollouts == 4
    row = warehouse.arrow("SELECT n, c FROM difficulty WHERE problem_id = ?", [problem["problem_id"]]).to_pylist()
    assert row == [{"n": 8, "c": 8}]
    idx = warehouse.arrow("SELECT sample_idx FROM rollouts WHERE problem_id = ? ORDER BY 1", [problem["problem_id"]])
    assert idx.column("sample_idx").to_pylist() == list(range(8))
    # within the same selection (measured after `since`) it is not measured a third time
    third = estimate(warehouse, engine, POLICY, [{**problem, "remeasure": True}], cfg.rollouts, since=since)
    assert (third.rollouts, third.already_done) == (0, 1)


def test_an_interrupted_selection_is_resumed_not_replaced(warehouse, cfg, stocked):
    plan = plan_selection(warehouse, cfg.rollouts, POLICY, None, 3, remeasure=True)
    warehouse.upsert_records(
        "runs",
        [
            Run(
                run_id="killed",
                flow="estimate",
                status="running",
                counts={"policy_id": POLICY, **plan.as_record()},
                started_at=T0,
            )
        ],
    )
    # meanwhile the world changed: a new synthesized problem would now come first
    warehouse.insert_records("problems", [_problem("svs", 10, created=T0, parent=stocked["a"][1].problem_id)])
    resumed = plan_selection(warehouse, cfg.rollouts, POLICY, None, 3, remeasure=True)
    assert resumed.resumed_from == "killed"
    assert [p["problem_id"] for p in resumed.problems] == [p["problem_id"] for p in plan.problems]
    assert resumed.since == plan.since
    assert warehouse.scalar("SELECT status FROM runs WHERE run_id = 'killed'") == "interrupted"
    fresh = plan_selection(warehouse, cfg.rollouts, POLICY, None, 3, remeasure=True)
    assert fresh.resumed_from is None and fresh.problems[0]["source"] == "svs"
