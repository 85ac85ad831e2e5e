"""``hardforge report``: the figures behind each plot, and the page as a browser draws it (Debian's
headless Chromium takes a screenshot; each plot's colour family must show in it, and none of them
on the page of an empty warehouse)."""

import datetime as dt
import shutil
import subprocess

import pytest
from PIL import Image

from flows import report_data
from flows.report_plots import BLUES, GREENS, ORANGE, PURPLES, RED, TEAL
from rollouts.probe import heldout_curve, mark_heldout
from schemas.records import (
    Curriculum,
    CurriculumItem,
    Difficulty,
    Policy,
    Problem,
    Run,
    SynthAttempt,
)
from tests.conftest import run_cli
from warehouse.db import Warehouse

T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")


def _day(i: int) -> dt.datetime:
    return T0 + dt.timedelta(days=i)


def _fill(warehouse: Warehouse) -> None:
    """Two nights: 30 problems measured under a base policy and its GRPO child (the child solves
    more), two synthesis runs of two methods, and a curriculum each night."""
    problems = [
        Problem(
            problem_id=f"p{i:02d}",
            domain="math" if i % 3 else "code",
            statement=f"s{i}",
            answer="1",
            verifier="math",
            source=["champ", "gym:chain_sum", "svs"][i % 3],
            created_at=T0,
        )
        for i in range(30)
    ]
    policies = [
        Policy(policy_id="a" * 32, name="base", model_path="/m/a", created_at=_day(0)),
        Policy(
            policy_id="b" * 32, name="base-grpo-1", model_path="/m/b", parent_policy_id="a" * 32, created_at=_day(1)
        ),
    ]
    difficulty = []
    for i, problem in enumerate(problems):
        for policy, c in ((policies[0], i % 5), (policies[1], min(8, i % 5 + i % 3))):
            difficulty.append(
                Difficulty(
                    problem_id=problem.problem_id,
                    policy_id=policy.policy_id,
                    sampling_key="k",
                    n=8,
                    c=c,
                    pass_at_1=c / 8,
                    pass_at_k={1: c / 8},
                    estimated_at=policy.created_at,
                )
            )
    runs, attempts = [], []
    for night in (0, 1):
        run = Run(run_id=f"run{night}" + "0" * 28, flow="synthesize", status="completed", started_at=_day(night))
        runs.append(run)
        for method, accepted in (("svs", 3 + night), ("sqlm", 1 + 2 * night)):
            attempts += [
                SynthAttempt(
                    attempt_id=f"{run.run_id}{method}{j}",
                    run_id=run.run_id,
                    method=method,
                    accepted=j < accepted,
                    reason=None if j < accepted else "too easy",
                    created_at=_day(night),
                )
                for j in range(10)
            ]
    curricula, items = [], []
    for night in (0, 1):
        cid = f"c{night}" + "0" * 30
        chosen = problems[night * 5 : night * 5 + 18]
        curricula.append(
            Curriculum(
                curriculum_id=cid,
                policy_id=policies[night].policy_id,
                rule={},
                n_items=len(chosen),
                n_shards=1,
                out_dir="/tmp/c",
                created_at=_day(night),
            )
        )
        items += [
            CurriculumItem(curriculum_id=cid, position=k, problem_id=p.problem_id, shard=0)
            for k, p in enumerate(chosen)
        ]
    audit = {
        "problems": 40,
        "sources": ["gym:chain_sum"],
        "rules": [
            {
                "rule": "sqlm vote (n=4)",
                "problems": 40,
                "labelled": 30,
                "label_accuracy": 0.6,
                "reward_accuracy": 0.8,
                "majority_ratio": 0.7,
                "accepted": 20,
                "precision": 0.6,
                "yield": 0.5,
            },
            {
                "rule": "sqlm vote + checks (default)",
                "problems": 40,
                "labelled": 30,
                "label_accuracy": 0.6,
                "reward_accuracy": 0.8,
                "majority_ratio": None,
                "accepted": 8,
                "precision": 1.0,
                "yield": 0.2,
            },
        ],
    }
    runs.append(Run(run_id="audit" + "0" * 27, flow="audit", status="completed", started_at=_day(1), counts=audit))
    # the held-out probe (10 problems, 16 samples each: the child solves more) and each night's yield
    probe = [
        Problem(
            problem_id=f"h{i:02d}",
            domain="math",
            statement=f"h{i}",
            answer="1",
            verifier="gym",
            source="gym:products",
            created_at=T0,
        )
        for i in range(10)
    ]
    for policy, c in ((policies[0], 2), (policies[1], 6)):
        difficulty += [
            Difficulty(
                problem_id=p.problem_id,
                policy_id=policy.policy_id,
                sampling_key="probe",
                n=16,
                c=c + i % 2,
                pass_at_1=(c + i % 2) / 16,
                pass_at_k={1: (c + i % 2) / 16},
                estimated_at=policy.created_at,
            )
            for i, p in enumerate(probe)
        ]
    runs += [
        Run(
            run_id=f"est{night}" + "0" * 28,
            flow="estimate",
            status="completed",
            started_at=_day(night),
            counts={"estimated": 30, "in_band": 10 + 5 * night, "completion_tokens": 10_000},
        )
        for night in (0, 1)
    ]
    for table, records in (
        ("problems", [*problems, *probe]),
        ("policies", policies),
        ("difficulty", difficulty),
        ("runs", runs),
        ("synth_attempts", attempts),
        ("curricula", curricula),
        ("curriculum_items", items),
    ):
        warehouse.upsert_records(table, records)
    mark_heldout(warehouse, [p.problem_id for p in probe], None)


@pytest.fixture
def filled(tmp_path):
    warehouse = Warehouse(tmp_path / "full")
    warehouse.init()
    _fill(warehouse)
    return warehouse


def test_the_figures_behind_the_plots(filled):
    policies = report_data.policies_measured(filled)
    assert [p["name"] for p in policies] == ["base", "base-grpo-1"]  # oldest first
    assert [p["problems"] for p in policies] == [30, 30]
    assert policies[0]["unsolved"] == 6 and policies[1]["unsolved"] == 2
    histograms = report_data.pass_at_1_histogram(filled, ["a" * 32, "b" * 32], bins=8)
    assert histograms["a" * 32] == [6, 6, 6, 6, 6, 0, 0, 0]  # c = 0..4 of 8, six problems each
    assert sum(histograms["b" * 32]) == 30
    assert report_data.default_drift_pair(filled) == ("a" * 32, "b" * 32)
    pairs = report_data.drift(filled, "a" * 32, "b" * 32)
    summary = report_data.drift_summary(pairs)
    assert (summary["problems"], summary["easier"], summary["harder"], summary["unchanged"]) == (30, 20, 0, 10)
    acceptance = report_data.acceptance(filled)
    assert all(r["in_band"] <= r["accepted"] for r in acceptance)
    assert [(r["method"], r["attempts"], r["accepted"]) for r in acceptance] == [
        ("sqlm", 10, 1),
        ("svs", 10, 3),
        ("sqlm", 10, 3),
        ("svs", 10, 4),
    ]
    parts = report_data.composition(filled)
    assert sum(r["items"] for r in parts) == 36 and {r["source"] for r in parts} == {"champ", "gym:chain_sum", "svs"}
    assert report_data.resolve_policy_ref(filled, "base-grpo-1") == "b" * 32
    assert report_data.resolve_policy_ref(filled, "aaaa") == "a" * 32
    assert report_data.resolve_policy_ref(filled, "nobody") is None
    # the probe is left out of the above and drawn on its own: mean pass@1 per policy, oldest first
    curve = heldout_curve(filled, 16)
    assert [(r["name"], r["problems"]) for r in curve] == [("base", 10), ("base-grpo-1", 10)]
    assert [round(r["mean_pass_at_1"], 4) for r in curve] == [0.1562, 0.4062] and all(r["stderr"] > 0 for r in curve)
    assert [r["in_band_per_mtok"] for r in report_data.estimate_yield(filled)] == [1000.0, 1500.0]


def _screenshot(page, png):
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,4400",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and png.exists(), result.stderr[-2000:]
    return Image.open(png).convert("RGB")


def _pixels(image, colour, tolerance=12):
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(
        count
        for count, rgb in image.getcolors(maxcolors=1 << 20)
        if all(abs(a - b) <= tolerance for a, b in zip(rgb, target, strict=True))
    )


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium-headless-shell is not installed (make setup installs it)"
)
def test_the_page_in_a_browser_shows_every_plot(filled, tmp_path):
    result = run_cli(filled.data_dir, "report", "--out", str(tmp_path / "page.html"))
    assert result.returncode == 0, result.stderr
    page = tmp_path / "page.html"
    text = page.read_text()
    assert text.count("<svg") == 6 and "<script" not in text and 'class="empty"' not in text
    assert "Label audit on gold" in text and "sqlm vote + checks (default)" in text  # the latest audit's table
    image = _screenshot(page, tmp_path / "page.png")
    figures = {
        name: _pixels(image, colour)
        for name, colour in (
            ("pass@1", BLUES[0]),
            ("drift", ORANGE),
            ("held-out curve", RED),
            ("yield", TEAL),
            ("acceptance", GREENS[0]),
            ("composition", PURPLES[0]),
        )
    }
    assert all(count > 300 for count in figures.values()), figures

    # the page of an empty warehouse says what to run, and draws none of the plots
    empty = Warehouse(tmp_path / "empty")
    empty.init()
    result = run_cli(empty.data_dir, "report")
    assert result.returncode == 0, result.stderr
    page = empty.data_dir / "reports" / "report.html"
    assert page.read_text().count('class="empty"') == 8
    image = _screenshot(page, tmp_path / "empty.png")
    assert all(_pixels(image, colour) == 0 for colour in (BLUES[0], ORANGE, RED, TEAL, GREENS[0], PURPLES[0]))


def test_drift_option(filled, tmp_path):
    out = tmp_path / "d.html"
    ok = run_cli(filled.data_dir, "report", "--out", str(out), "--drift", "base-grpo-1,base")
    assert ok.returncode == 0, ok.stderr
    assert "pass@1 under base-grpo-1" in out.read_text()
    bad = run_cli(filled.data_dir, "report", "--drift", "base")
    assert bad.returncode == 2 and "BEFORE,AFTER" in bad.stderr and "internal error" not in bad.stderr
    unknown = run_cli(filled.data_dir, "report", "--drift", "base,nobody")
    assert unknown.returncode == 2 and "no policy 'nobody'" in unknown.stderr and "Traceback" not in unknown.stderr
