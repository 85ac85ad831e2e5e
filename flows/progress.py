"""Progress of long stages as plain log lines: for logs and pipes (`make nightly > log`), where a
live bar prints nothing. A line says how much is done, the rate and the ETA, at a steady
interval (``progress_every_s``) while the stage runs, even when no batch finished in between,
and once more at the end."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable
from typing import IO


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA unknown"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"ETA {hours}h{minutes:02d}m" if hours else f"ETA {minutes}m{secs:02d}s" if minutes else f"ETA {secs}s"


def progress_line(stage: str, unit: str, done: int, total: int | None, elapsed_s: float) -> str:
    """One line: ``estimate: 48/100 problems (48%), 0.91 problems/s, ETA 57s, 53s elapsed``."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    if total:
        eta = (total - done) / rate if rate > 0 else None
        head = f"{stage}: {done:,}/{total:,} {unit} ({100 * done / total:.0f}%)"
        return f"{head}, {rate:.2f} {unit}/s, {format_eta(eta if done < total else 0)}, {elapsed_s:.0f}s elapsed"
    return f"{stage}: {done:,} {unit}, {rate:.2f} {unit}/s, {elapsed_s:.0f}s elapsed"


class ProgressLog:
    """A callable ``(done, total)`` that a stage calls as it goes; a daemon thread writes the latest
    figures every ``every_s`` seconds. Use as a context manager (the last line is written on exit).
    ``every_s = 0`` turns it off."""

    def __init__(
        self,
        stage: str,
        unit: str,
        every_s: float,
        *,
        stream: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stage, self.unit, self.every_s = stage, unit, every_s
        self.stream, self.clock = stream or sys.stderr, clock
        self.done, self.total = 0, None
        self.started = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(self, done: int, total: int | None = None, *_: object) -> None:
        self.done, self.total = done, total if total is not None else self.total

    def line(self) -> str:
        return progress_line(self.stage, self.unit, self.done, self.total, self.clock() - self.started)

    def write(self) -> None:
        stamp = dt.datetime.now().strftime("%H:%M:%S")
        self.stream.write(f"{stamp} | progress | {self.line()}\n")
        self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.every_s):
            self.write()

    def __enter__(self) -> ProgressLog:
        if self.every_s > 0:
            self._thread = threading.Thread(target=self._tick, name=f"progress-{self.stage}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if exc[0] is None:
                self.write()


def progress_log(stage: str, unit: str, every_s: float, *, live: bool = False) -> ProgressLog:
    """A progress log, off (``every_s = 0``) when a live bar already shows the stage (``live``)."""
    return ProgressLog(stage, unit, 0 if live else every_s)


__all__ = ["ProgressLog", "progress_log", "progress_line", "format_eta"]
