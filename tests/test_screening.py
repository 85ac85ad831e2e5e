"""Adaptive n (``rollouts.screen``): a first round of ``screen`` samples goes on to n only for a
problem that was neither always wrong nor always right. Its pass@k must stay unbiased: checked by
exact enumeration over every outcome, against the plain c/n, which the stopping rule biases."""

import datetime as dt
import json
from math import comb

import pytest

from ingest.service import ingest
from rollouts.estimate import estimate, select_problems
from rollouts.passk import screened_pass_at_ks
from rollouts.service import round_estimates
from schemas.config import HardforgeConfig, RolloutConfig
from schemas.prompts import sampling_key
from tests.conftest import ScriptedEngine

PS = [0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.83, 0.97]


def _binom(n, c, p):
    return comb(n, c) * p**c * (1 - p) ** (n - c)


def _screened_outcomes(first, n, p):
    """(probability, total n, total c) of every outcome of one screened round."""
    for c1 in range(first + 1):
        if c1 in (0, first):
            yield _binom(first, c1, p), first, c1
        else:
            for c2 in range(n - first + 1):
                yield _binom(first, c1, p) * _binom(n - first, c2, p), n, c1 + c2


@pytest.mark.parametrize(("first", "n"), [(4, 8), (2, 8), (3, 6), (4, 16)])
def test_screened_pass_at_k_is_exactly_unbiased(first, n):
    for p in PS:
        for k in range(1, first + 1):
            expected = sum(
                prob * screened_pass_at_ks(first, total, c, [k])[k]
                for prob, total, c in _screened_outcomes(first, n, p)
            )
            assert expected == pytest.approx(1 - (1 - p) ** k, abs=1e-12), (first, n, p, k)


def test_the_plain_pooled_estimate_would_be_biased():
    # what the screened estimator exists for: c/n under the stopping rule is off by points
    p = 0.25
    naive = sum(prob * c / total for prob, total, c in _screened_outcomes(4, 8, p))
    assert abs(naive - p) > 0.01


def test_no_unbiased_pass_at_k_beyond_the_screen_is_claimed():
    assert set(screened_pass_at_ks(4, 8, 3, [1, 4, 8])) == {1, 4}
    assert screened_pass_at_ks(4, 4, 0, [1, 4, 8]) == {1: 0.0, 4: 0.0}
    assert screened_pass_at_ks(4, 4, 4, [1, 4]) == {1: 1.0, 4: 1.0}
    with pytest.raises(ValueError):
        screened_pass_at_ks(4, 4, 2, [1])  # a screen never stops in band


def test_a_continued_screen_is_always_in_band():
    for c in range(1, 8):
        assert 0 < screened_pass_at_ks(4, 8, c, [1])[1] < 1


def test_rounds_pooled_with_equal_weight_stay_unbiased():
    """Two screened rounds (the second decided by staleness, not by the values), pooled through
    round_estimates as the estimate path stores them; the counts alone would be biased."""
    cfg = RolloutConfig(n=8, k=[1, 4, 8], screen=4)
    for p in PS:
        mean, counts_only = {1: 0.0, 4: 0.0}, 0.0
        for prob1, n1, c1 in _screened_outcomes(4, 8, p):
            first = round_estimates(cfg, n1, c1, None)
            previous = {"n": n1, "c": c1, "pass_at_1": first[1], "pass_at_k": first, "rounds": 1}
            for prob2, n2, c2 in _screened_outcomes(4, 8, p):
                pooled = round_estimates(cfg, n2, c2, previous)
                for k in mean:
                    mean[k] += prob1 * prob2 * pooled[k]
                counts_only += prob1 * prob2 * (c1 + c2) / (n1 + n2)
        for k, value in mean.items():
            assert value == pytest.approx(1 - (1 - p) ** k, abs=1e-12), (p, k)
        if 0.1 <= p <= 0.4:
            assert abs(counts_only - p) > 0.005


def test_screen_off_or_not_below_n_is_the_plain_estimator():
    assert RolloutConfig(n=8, screen=None).screening() is None
    assert RolloutConfig(n=4, screen=4).screening() is None
    assert round_estimates(RolloutConfig(n=8, screen=None), 8, 3, None) is None
    problem = {"source": "s", "domain": "math", "verifier": "math"}
    assert sampling_key(RolloutConfig(n=8, screen=None), problem) != sampling_key(RolloutConfig(n=8, screen=4), problem)
    assert sampling_key(RolloutConfig(n=4, screen=None), problem) == sampling_key(RolloutConfig(n=4, screen=4), problem)


def test_estimate_screens_first_rounds_and_stores_unbiased_figures(tmp_path, warehouse):
    """Problem i is right on samples whose index is below i (of 8): 0 and 8 stop after the screen
    of 4 (so does 4, right on all four screened samples); the others are sampled to n = 8."""
    path = tmp_path / "p.jsonl"
    path.write_text(
        "\n".join(json.dumps({"statement": f"Q{i}: what is {i}?", "answer": str(i)}) for i in (0, 2, 4, 8)) + "\n"
    )
    ingest(warehouse, str(path), HardforgeConfig())
    cfg = RolloutConfig(n=8, k=[1, 4, 8], screen=4, batch_problems=4)
    right = {}  # problem -> samples handed out so far: stage 2 continues the index

    def script(chat, n):
        i = int(chat[0]["content"].split(":")[0][1:])
        start = right.get(i, 0)
        right[i] = start + n
        return [rf"\boxed{{{i}}}" if start + s < i else "no idea" for s in range(n)]

    engine = ScriptedEngine(script)
    summary = estimate(warehouse, engine, "p" * 32, select_problems(warehouse, None, None), cfg)
    rows = {
        r["statement"].split(":")[0]: r
        for r in warehouse.arrow(
            "SELECT statement, n, c, pass_at_1, pass_at_k, (SELECT count(*) FROM rollouts r WHERE r.problem_id = d.problem_id) AS stored "
            "FROM difficulty d JOIN problems USING (problem_id)"
        ).to_pylist()
    }
    assert {q: (r["n"], r["c"], r["stored"]) for q, r in rows.items()} == {
        "Q0": (4, 0, 4),
        "Q2": (8, 2, 8),
        "Q4": (4, 4, 4),
        "Q8": (4, 4, 4),
    }
    assert dict(rows["Q2"]["pass_at_k"]) == pytest.approx(screened_pass_at_ks(4, 8, 2, [1, 4]))
    assert rows["Q2"]["pass_at_1"] == pytest.approx(screened_pass_at_ks(4, 8, 2, [1])[1])
    assert rows["Q0"]["pass_at_1"] == 0.0 and rows["Q8"]["pass_at_1"] == 1.0
    assert summary.rollouts == 4 + 8 + 4 + 4
    assert summary.in_band == 1 and summary.completion_tokens > 0  # Q2: the one problem GRPO can learn from
    # the continuing stage is sampled under its own seed
    seeds = [params.seed for _, params in engine.calls]
    assert len(engine.calls) == 2 and seeds[0] != seeds[1] and engine.calls[1][1].n == 4
    # another round (the nightly's remeasure) is screened too, under new seeds, pooled per round
    right.clear()
    problems = [{**p, "remeasure": True} for p in select_problems(warehouse, None, None)]
    estimate(warehouse, engine, "p" * 32, problems, cfg, since=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert not {params.seed for _, params in engine.calls[2:]} & set(seeds)
    again = {
        r["statement"].split(":")[0]: r
        for r in warehouse.arrow(
            "SELECT statement, n, c, rounds, pass_at_1 FROM difficulty JOIN problems USING (problem_id)"
        ).to_pylist()
    }
    assert {q: (r["n"], r["rounds"]) for q, r in again.items()} == {
        "Q0": (8, 2),
        "Q2": (16, 2),
        "Q4": (8, 2),
        "Q8": (8, 2),
    }
    assert again["Q2"]["pass_at_1"] == pytest.approx(screened_pass_at_ks(4, 8, 2, [1])[1])  # the same round twice
