"""The nightly's synthesis budget (issue 33): tokens follow each method's in-band yield per million
tokens over the last nights, every method keeps a floor, and the runner stops a method when its
tokens are spent."""

from __future__ import annotations

import pytest

from synth.budget import Yield, allocate, combined, share_seconds


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        # no history: an even split
        ({}, {"sqlm": 25_000, "svs": 25_000, "azr": 25_000, "mathsmith": 25_000}),
        # sqlm yielded 30 in band on 0.1 Mtok, the rest nothing on as much: rates 31/1.1 against 1/1.1, so
        # sqlm takes 31/34 of what the floors leave (60,000), each keeps its floor (10,000)
        (
            {
                "sqlm": Yield(100_000, 30),
                "svs": Yield(100_000, 0),
                "azr": Yield(100_000, 0),
                "mathsmith": Yield(100_000, 0),
            },
            {"sqlm": 64_705, "svs": 11_764, "azr": 11_764, "mathsmith": 11_764},
        ),
        # a method never tried gets the prior's rate (1), above one that spent 2 Mtok for nothing (1/3)
        (
            {"sqlm": Yield(2_000_000, 0)},
            {"sqlm": 16_000, "svs": 28_000, "azr": 28_000, "mathsmith": 28_000},
        ),
    ],
)
def test_budgets_follow_yield_and_keep_floors(history, expected):
    methods = ["sqlm", "svs", "azr", "mathsmith"]
    got = allocate(100_000, methods, history, floor=0.1)
    assert got == expected
    assert sum(got.values()) <= 100_000 and all(v >= 10_000 for v in got.values())  # the floor


def test_the_floor_is_at_most_an_even_split_and_nights_add_up():
    assert allocate(90, ["a", "b", "c"], {"a": Yield(10, 5)}, floor=0.9) == {"a": 30, "b": 30, "c": 30}
    assert allocate(100, [], {}, 0.1) == {}
    nights = [{"sqlm": {"tokens": 10, "in_band": 1}}, {"sqlm": {"tokens": 5, "in_band": 2}, "svs": {"tokens": 7}}]
    assert combined(nights) == {"sqlm": Yield(15, 3), "svs": Yield(7, 0)}


def test_the_runner_stops_a_method_when_its_tokens_are_spent(warehouse, monkeypatch):
    """Counted where the engines generate (``engines.GENERATED``): a batch starts only while the
    method's tokens last, so a budget of one batch's tokens runs one batch of many seeds."""
    from engines import LazyEngine
    from rollouts.service import RolloutService
    from schemas.config import HardforgeConfig
    from schemas.engine import EngineSpec
    from synth.runner import run_method
    from synth.sqlm.method import SqlmSynthesizer
    from tests.conftest import ScriptedEngine
    from verifiers import VerifierSet

    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.sqlm.topics, cfg.synth.sqlm.batch_seeds = ["arithmetic"], 1
    scripted = ScriptedEngine(
        lambda chat, n: ["What is 2 + 3?"] * n if "arithmetic problem" in chat[0]["content"] else ["5"] * n
    )
    monkeypatch.setattr("engines.shared_engine", lambda spec: scripted)  # the shared engine of the spec
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(LazyEngine(EngineSpec("transformers", "x")), verifiers, cfg.rollouts, "p" * 32, "run")
        report = run_method(SqlmSynthesizer(cfg), warehouse, service, limit=10, tokens=1)
        unbounded = run_method(SqlmSynthesizer(cfg), warehouse, service, limit=3)
    assert report.seeds == 1 and report.tokens > 1  # one batch, then the budget was spent
    assert unbounded.seeds == 3 and report.as_dict()["tokens"] == report.tokens


def test_the_nights_seconds_are_shared_as_its_tokens_are():
    """A night must end in time: a 1.5B checker makes SQLM's tokens cost 5x AZR's seconds (a 0.5B
    night: 72 against 12 s per thousand), so a token budget alone does not bound the night."""
    assert share_seconds(100, {"sqlm": 30, "azr": 10}, ["sqlm", "azr"]) == {"sqlm": 75.0, "azr": 25.0}
    assert share_seconds(None, {"sqlm": 30}, ["sqlm"]) is None
    # no token budget: the seconds still bound the night, evenly
    assert share_seconds(100, None, ["sqlm", "azr"]) == {"sqlm": 50.0, "azr": 50.0}
    assert share_seconds(100, {"a": 0}, ["a"]) == {"a": 0.0}


def test_the_runner_stops_a_method_when_its_seconds_are_spent(warehouse, monkeypatch):
    """The first batch always runs (a method that starts yielding is noticed); no other starts once
    the method's share of the night's seconds is spent."""
    from engines import LazyEngine
    from rollouts.service import RolloutService
    from schemas.config import HardforgeConfig
    from schemas.engine import EngineSpec
    from synth.runner import run_method
    from synth.sqlm.method import SqlmSynthesizer
    from tests.conftest import ScriptedEngine
    from verifiers import VerifierSet

    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.sqlm.topics, cfg.synth.sqlm.batch_seeds = ["arithmetic"], 1
    scripted = ScriptedEngine(
        lambda chat, n: ["What is 2 + 3?"] * n if "arithmetic problem" in chat[0]["content"] else ["5"] * n
    )
    monkeypatch.setattr("engines.shared_engine", lambda spec: scripted)
    with VerifierSet(cfg) as verifiers:
        service = RolloutService(LazyEngine(EngineSpec("transformers", "x")), verifiers, cfg.rollouts, "p" * 32, "run")
        report = run_method(SqlmSynthesizer(cfg), warehouse, service, limit=10, seconds=1e-9)
        ample = run_method(SqlmSynthesizer(cfg), warehouse, service, limit=3, seconds=1e9, tokens=10**9)
    assert report.seeds == 1 and ample.seeds == 3


def test_a_remote_batchs_tokens_count_on_the_driver(warehouse, monkeypatch):
    """On a Ray cluster the tokens are generated in a worker: the batch's result carries them, so
    the budget is spent on the driver too (it never was: every night's yield read 0 tokens)."""
    from engines import GENERATED
    from rollouts.service import RolloutService
    from schemas.config import HardforgeConfig
    from synth.batches import propose
    from synth.runner import run_method
    from synth.sqlm.method import SqlmSynthesizer
    from tests.conftest import ScriptedEngine
    from verifiers import VerifierSet

    cfg = HardforgeConfig(data_dir=warehouse.data_dir)
    cfg.synth.sqlm.topics, cfg.synth.sqlm.batch_seeds = ["arithmetic"], 1
    scripted = ScriptedEngine(
        lambda chat, n: ["What is 2 + 3?"] * n if "arithmetic problem" in chat[0]["content"] else ["5"] * n
    )

    class Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

    with VerifierSet(cfg) as verifiers:
        service = RolloutService(scripted, verifiers, cfg.rollouts, "p" * 32, "run")
        method = SqlmSynthesizer(cfg)

        generate = scripted.generate

        def counted(prompts, params):  # as LazyEngine counts
            groups = generate(prompts, params)
            GENERATED["tokens"] += sum(c.completion_tokens for group in groups for c in group)
            return groups

        scripted.generate = counted

        def elsewhere(batch):  # as a worker would: its engine's count is not the driver's
            before = GENERATED["tokens"]
            proposed = propose(method, service, batch)
            GENERATED["tokens"] = before
            return Done(proposed)

        report = run_method(method, warehouse, service, limit=10, tokens=1, submit=elsewhere, in_flight=1)
    # one batch in flight when the first result came back with its tokens, then none sent
    assert report.seeds == 2 and report.tokens > 1


def test_the_synthesis_stage_gives_each_method_its_tokens_and_seconds():
    """And the seconds a method leaves go to the next one (SQLM spent 30 of its 75 here)."""
    from types import SimpleNamespace

    from flows.stage_synth import synthesize_stage
    from schemas.config import HardforgeConfig

    calls = []

    def run(*args, **kw):
        calls.append((args[4], kw))
        return {"elapsed_s": 30.0}

    session = SimpleNamespace(
        config=HardforgeConfig(),
        engine_spec=SimpleNamespace(as_dict=lambda: {}),
        policy=SimpleNamespace(policy_id="p"),
        run_id="r",
    )
    synthesize_stage(
        session,
        ["sqlm", "azr"],
        run_method=run,
        tokens={"sqlm": 30, "azr": 10},
        seconds=share_seconds(100, {"sqlm": 30, "azr": 10}, ["sqlm", "azr"]),
    )
    assert calls == [("sqlm", {"tokens": 30, "seconds": 75.0}), ("azr", {"tokens": 10, "seconds": 70.0})]
