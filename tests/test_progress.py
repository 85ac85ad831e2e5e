"""Progress lines for logs: the line's figures, and a steady interval even when nothing finishes."""

import io
import time

import pytest

from flows.progress import ProgressLog, format_eta, progress_line, progress_log


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "ETA unknown"), (0, "ETA 0s"), (59.4, "ETA 59s"), (61, "ETA 1m01s"), (3600 + 120, "ETA 1h02m")],
)
def test_eta(seconds, text):
    assert format_eta(seconds) == text


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "line"),
    [
        (48, 100, 50.0, "estimate: 48/100 problems (48%), 0.96 problems/s, ETA 54s, 50s elapsed"),
        (0, 100, 10.0, "estimate: 0/100 problems (0%), 0.00 problems/s, ETA unknown, 10s elapsed"),
        (100, 100, 80.0, "estimate: 100/100 problems (100%), 1.25 problems/s, ETA 0s, 80s elapsed"),
        (7, None, 2.0, "estimate: 7 problems, 3.50 problems/s, 2s elapsed"),
        (0, 0, 0.0, "estimate: 0 problems, 0.00 problems/s, 0s elapsed"),
    ],
)
def test_line(done, total, elapsed, line):
    assert progress_line("estimate", "problems", done, total, elapsed) == line


def test_lines_come_at_a_steady_interval_while_nothing_finishes():
    stream = io.StringIO()
    with ProgressLog("synthesize svs", "seeds", 0.05, stream=stream) as progress:
        progress(0, 12)
        progress(3, 12)  # then a long batch: no call for a while
        deadline = time.monotonic() + 30
        while stream.getvalue().count("\n") < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 4  # ticks while the batch ran, then the closing line
    assert all(" | progress | synthesize svs: 3/12 seeds (25%), " in line and "ETA" in line for line in lines)


def test_off_when_a_live_bar_shows_the_stage():
    stream = io.StringIO()
    with ProgressLog("estimate", "problems", 0, stream=stream) as progress:
        progress(1, 2)
    assert stream.getvalue() == ""
    assert progress_log("estimate", "problems", 30, live=True).every_s == 0
    assert progress_log("estimate", "problems", 30).every_s == 30


def test_no_closing_line_when_the_stage_fails():
    stream = io.StringIO()
    with pytest.raises(RuntimeError), ProgressLog("train", "steps", 60, stream=stream) as progress:
        progress(1, 4)
        raise RuntimeError("boom")
    assert stream.getvalue() == ""
