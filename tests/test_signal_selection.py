"""Spending generation where the signal is: the nightly's signal rule (GRESO-like passing over of
problems an earlier policy always or never solved, and of sources with nothing in band) and gym
seeds at the level the policy's measurements point to (``levels=auto``)."""

import datetime as dt

import pytest

from ingest import gym
from ingest.gym_auto import choose_level, next_level
from ingest.service import ingest
from rollouts.probe import mark_heldout
from rollouts.selection import (
    SignalRule,
    nightly_selection,
    pass_over,
    recheck_draw,
    signal_history,
)
from rollouts.service import difficulty_from_counts
from schemas.config import HardforgeConfig
from schemas.keys import problem_id
from schemas.prompts import sampling_key
from schemas.records import FilterVerdict, Problem

OLD, NEW = "o" * 32, "n" * 32
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _problems(source, count):
    return [
        Problem(
            problem_id=problem_id("math", f"{source} {i}: what is {i}?", str(i)),
            domain="math",
            statement=f"{source} {i}: what is {i}?",
            answer=str(i),
            verifier="math",
            source=source,
            created_at=T0 + dt.timedelta(minutes=i),
        )
        for i in range(count)
    ]


def _measure(warehouse, cfg, policy, problems, c_of_4):
    rows = [
        difficulty_from_counts(p.problem_id, policy, sampling_key(cfg.rollouts, p.model_dump()), 4, c, [1], T0)
        for p, c in zip(problems, c_of_4, strict=True)
    ]
    warehouse.insert_records("difficulty", rows)


@pytest.fixture
def cfg():
    config = HardforgeConfig()
    config.rollouts.n, config.rollouts.screen = 4, None
    return config


@pytest.fixture
def history(warehouse, cfg):
    """Source 'easy' (40 problems): the old policy never solved 10, always solved 10, 20 in band.
    Source 'hard' (8): none in band of 4 measured. Source 'fresh' (6): never measured."""
    easy, hard, fresh = _problems("easy", 40), _problems("hard", 8), _problems("fresh", 6)
    warehouse.insert_records("problems", [*easy, *hard, *fresh])
    _measure(warehouse, cfg, OLD, easy, [0] * 10 + [4] * 10 + [2] * 20)
    _measure(warehouse, cfg, OLD, hard[:4], [0] * 4)
    return {"easy": easy, "hard": hard, "fresh": fresh}


def test_decided_problems_and_dead_sources_are_passed_over_but_rechecked(warehouse, cfg, history):
    rule = SignalRule(recheck=0.2, source_evidence=4, seed=0)
    chosen = nightly_selection(warehouse, cfg.rollouts, NEW, None, None, signal=rule)
    ids = {p["problem_id"] for p in chosen}
    easy = history["easy"]
    assert {p.problem_id for p in easy[20:]} <= ids  # in band under the old policy: all measured
    assert {p.problem_id for p in history["fresh"]} <= ids  # nothing known: all measured
    decided = [p.problem_id for p in [*easy[:20], *history["hard"][:4]]]  # all wrong or all right under OLD
    rechecked = [pid for pid in decided if pid in ids]
    assert rechecked == [pid for pid in decided if recheck_draw(pid, NEW, 0) < 0.2]
    assert rule.passed_over["never solved by an earlier policy"] + rule.passed_over[
        "always solved by an earlier policy"
    ] == len(decided) - len(rechecked)
    hard_left = [p.problem_id for p in history["hard"][4:]]
    assert any(pid in ids for pid in hard_left)  # a dead source still gets a problem: never starved
    assert rule.passed_over.get("source hard: none in band of 4 measured", 0) == 4 - sum(
        pid in ids for pid in hard_left
    )


def test_the_selection_is_deterministic_given_the_seed(warehouse, cfg, history):
    def run(seed):
        return [
            p["problem_id"]
            for p in nightly_selection(warehouse, cfg.rollouts, NEW, None, 30, signal=SignalRule(seed=seed))
        ]

    assert run(0) == run(0)
    assert run(0) != run(1)  # another seed re-checks other problems
    assert len(run(0)) == 30


def test_recheck_rate_matches_its_probability():
    draws = [recheck_draw(f"p{i}", NEW, 0) for i in range(4000)]
    assert 0.18 < sum(d < 0.2 for d in draws) / len(draws) < 0.22


def test_no_source_is_ever_starved():
    rows = [{"problem_id": f"{s}{i}", "source": s} for s in ("a", "b", "c") for i in range(5)]
    history = {"earlier": {r["problem_id"]: 0.0 for r in rows}, "sources": {}}
    for seed in range(20):
        kept, passed = pass_over(rows, history, NEW, SignalRule(recheck=0.0, seed=seed))
        assert {r["source"] for r in kept} == {"a", "b", "c"}
        assert len(kept) == 3 and sum(passed.values()) == 12


def test_this_policys_own_remeasure_is_never_passed_over():
    rows = [{"problem_id": "x", "source": "a", "remeasure": True}]
    kept, passed = pass_over(rows, {"earlier": {"x": 0.0}, "sources": {"a": [9, 0]}}, NEW, SignalRule(recheck=0.0))
    assert kept == rows and passed == {}


def test_history_ignores_the_held_out_probe_and_the_policys_own_figures(warehouse, cfg, history):
    _measure(warehouse, cfg, NEW, history["fresh"][:2], [0, 0])
    mark_heldout(warehouse, [history["easy"][0].problem_id], None)
    seen = signal_history(warehouse, NEW)
    assert history["fresh"][0].problem_id not in seen["earlier"]  # its own figures are not "earlier"
    assert history["easy"][0].problem_id not in seen["earlier"]
    assert seen["sources"]["fresh"] == [2, 0] and seen["sources"]["hard"] == [4, 0]


def test_measured_problems_stay_unbiased_under_the_rule(warehouse, cfg, history):
    """The rule only chooses which problems are measured: a chosen problem then gets the fixed
    design (tests/test_screening.py), whatever the rule knew of it."""
    chosen = nightly_selection(warehouse, cfg.rollouts, NEW, None, None, signal=SignalRule())
    assert all(not p.get("remeasure") for p in chosen)  # nothing of NEW's own was measured: no pooling


@pytest.mark.parametrize(
    ("current", "success", "expected"),
    [(0, None, 0), (0, 0.1, 0), (2, 0.1, 1), (1, 0.5, 1), (1, 0.71, 2), (3, 0.95, 3), (1, 0.3, 1), (1, 0.7, 1)],
)
def test_next_level_follows_reasoning_gyms_thresholds(current, success, expected):
    assert next_level(current, success, top=3) == expected


def _measure_all(warehouse, cfg, policy, source, c_of_4, when=T0):
    rows = warehouse.arrow(
        "SELECT problem_id, domain, verifier, source FROM problems WHERE source = ? ORDER BY problem_id", [source]
    ).to_pylist()
    warehouse.insert_records(
        "difficulty",
        [
            difficulty_from_counts(r["problem_id"], policy, sampling_key(cfg.rollouts, r), 4, c_of_4, [1], when)
            for r in rows
        ],
    )


def test_auto_levels_move_with_the_policy_and_never_reuse_the_probes_seed(warehouse):
    cfg = HardforgeConfig()
    cfg.nightly.probe = ["gym:products?levels=0&size=4&seed=1"]
    spec = "gym:products?levels=auto&size=4"
    first = ingest(warehouse, spec, cfg).as_dict()
    assert first["chosen"] == {"level": 0, "seed": 0} and first["inserted"] == 4
    # not measured yet: the same batch again (a rerun after a crash adds nothing)
    assert ingest(warehouse, spec, cfg).as_dict()["inserted"] == 0
    _measure_all(warehouse, cfg, OLD, "gym:products", 2)  # success 0.5: stay, with fresh problems
    second = ingest(warehouse, spec, cfg).as_dict()
    assert second["chosen"] == {"level": 0, "seed": 2} and second["inserted"] == 4  # seed 1 is the probe's
    # a problem of the batch that a filter dropped is never measured, and does not hold the next batch back
    dropped, *rest = warehouse.arrow(
        "SELECT problem_id, domain, verifier, source FROM problems WHERE "
        "json_extract(extra, '$.gym.seed')::INT = 2 ORDER BY problem_id"
    ).to_pylist()
    warehouse.insert_records(
        "filter_verdicts",
        [FilterVerdict(problem_id=dropped["problem_id"], filter="exact_dedup", keep=False, created_at=T0)],
    )
    warehouse.insert_records(
        "difficulty",
        [difficulty_from_counts(r["problem_id"], OLD, sampling_key(cfg.rollouts, r), 4, 2, [1], T0) for r in rest],
    )
    third = ingest(warehouse, spec, cfg).as_dict()
    assert third["chosen"] == {"level": 0, "seed": 3} and third["inserted"] == 4
    _measure_all(
        warehouse, cfg, NEW, "gym:products", 4, T0 + dt.timedelta(days=1)
    )  # the newer policy solves level 0: up
    request = choose_level(warehouse, gym.parse_request(spec), cfg)
    assert (request.levels, request.seed) == ((1,), 0)
