"""The report's plots: matplotlib figures drawn to inline SVG (no script, nothing fetched), one
function per plot, each a pure function of rows from ``flows.report_data``."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

# one colour family per plot (the first colour of each is its signature in a screenshot)
BLUES = ["#1f4e9c", "#5b8bd6", "#a9c4ee", "#0b2e63", "#7fa6de", "#c9dbf5"]
ORANGE = "#e8710a"
GREENS = ["#1b7f3b", "#5cb85c", "#a3d9a5", "#0e4d22", "#7fc98a", "#cdeccf"]
PURPLES = ["#6a3d9a", "#9e7cc1", "#cab2d6", "#3f1f66", "#b59bd8", "#e4d7f0"]
RED = "#c0392b"  # the held-out curve
TEAL = "#138d90"  # the estimate's yield


def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline: no XML declaration or doctype


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "hardforge"  # stable element ids: the same data, the same page
    import matplotlib.pyplot as plt

    return plt


def _figure(width: float = 8.0, height: float = 3.6) -> tuple[Any, Any]:
    figure, axes = _pyplot().subplots(figsize=(width, height))
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _short(text: str, size: int = 12) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def pass_at_1_plot(histograms: dict[str, list[int]], names: dict[str, str]) -> str:
    import numpy as np

    figure, axes = _figure()
    bins = len(next(iter(histograms.values())))
    x = np.arange(bins)
    width = 0.8 / len(histograms)
    for i, (policy, counts) in enumerate(histograms.items()):
        axes.bar(
            x + (i - (len(histograms) - 1) / 2) * width,
            counts,
            width,
            label=_short(names[policy], 24),
            color=BLUES[i % len(BLUES)],
        )
    axes.set_xticks(x, [f"{b / bins:.1f}–{(b + 1) / bins:.1f}" for b in range(bins)], fontsize=8)
    axes.set_xlabel("pass@1 (0 = never solved)")
    axes.set_ylabel("problems")
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(figure)


def drift_plot(pairs: list[dict[str, Any]], before: str, after: str) -> str:
    import numpy as np

    figure, axes = _figure(5.2, 5.0)
    rng = np.random.default_rng(0)  # a little jitter: many problems share pass@1 values (c / n)
    xs = np.array([p["before"] for p in pairs]) + rng.uniform(-0.012, 0.012, len(pairs))
    ys = np.array([p["after"] for p in pairs]) + rng.uniform(-0.012, 0.012, len(pairs))
    axes.plot([0, 1], [0, 1], color="#999999", linewidth=1, zorder=1)
    axes.scatter(
        xs, ys, s=60, color=ORANGE, edgecolors="white", linewidths=0.5, zorder=2
    )  # opaque: its colour shows as is
    axes.set_xlim(-0.05, 1.05)
    axes.set_ylim(-0.05, 1.05)
    axes.set_xlabel(f"pass@1 under {_short(before, 24)}")
    axes.set_ylabel(f"pass@1 under {_short(after, 24)}")
    axes.set_title("above the line: easier for the newer policy", fontsize=9)
    return _svg(figure)


def heldout_plot(curve: list[dict[str, Any]]) -> str:
    figure, axes = _figure(5.2, 5.0)
    x = list(range(len(curve)))
    means = [r["mean_pass_at_1"] for r in curve]
    axes.errorbar(
        x, means, yerr=[r["stderr"] for r in curve], color=RED, marker="o", markersize=8, capsize=4, linewidth=2
    )
    axes.set_xticks(x, [_short(r["name"], 14) for r in curve], fontsize=7, rotation=20)
    axes.set_ylim(0, max(0.05, min(1.0, max(means) * 1.4 + 0.05)))
    axes.set_ylabel("held-out pass@1 (± s.e. over problems)")
    axes.set_title("each night's policy on the same held-out probe", fontsize=9)
    return _svg(figure)


def yield_plot(rows: list[dict[str, Any]]) -> str:
    figure, axes = _figure()
    x = list(range(len(rows)))
    axes.bar(x, [r["in_band_per_mtok"] for r in rows], 0.6, color=TEAL)
    labels = [
        f"{r['started_at']:%m-%d %H:%M}\n{r['run_id'][:6]}"
        if isinstance(r["started_at"], dt.datetime)
        else r["run_id"][:6]
        for r in rows
    ]
    axes.set_xticks(x, labels, fontsize=7)
    axes.set_xlim(-0.7, max(len(rows), 4) - 0.3)
    axes.set_ylabel("in-band problems per million tokens")
    return _svg(figure)


def acceptance_plot(rows: list[dict[str, Any]]) -> str:
    """Counts, one panel per method: proposals, verified, in band, per run (a ratio drew an empty
    axis when nothing was accepted; counts show how much was tried)."""
    import numpy as np

    runs = list(dict.fromkeys(r["run_id"] for r in rows))
    methods = sorted({r["method"] for r in rows})
    started = {r["run_id"]: r["started_at"] for r in rows}
    by = {(r["run_id"], r["method"]): r for r in rows}
    figure, panels = _pyplot().subplots(
        len(methods), 1, figsize=(8.0, 1.5 + 1.3 * len(methods)), sharex=True, squeeze=False
    )
    x = np.arange(len(runs))
    series = (
        ("attempts", "proposals", GREENS[2 % len(GREENS)]),
        ("accepted", "verified", GREENS[0]),
        ("in_band", "in band", TEAL),
    )
    for axes, method in zip(panels[:, 0], methods, strict=True):
        axes.spines[["top", "right"]].set_visible(False)
        for i, (column, label, colour) in enumerate(series):
            values = [(by.get((run, method)) or {}).get(column) or 0 for run in runs]
            bars = axes.bar(x + (i - 1) * 0.27, values, 0.27, label=label, color=colour)
            axes.bar_label(bars, fontsize=6, padding=1)
        axes.set_ylabel(method, fontsize=8)
        axes.margins(y=0.25)
    labels = [f"{started[r]:%m-%d %H:%M}\n{r[:6]}" if isinstance(started[r], dt.datetime) else r[:6] for r in runs]
    panels[-1, 0].set_xticks(x, labels, fontsize=7)
    panels[0, 0].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(figure)


def composition_plot(rows: list[dict[str, Any]]) -> str:
    import numpy as np

    curricula = list(dict.fromkeys(r["curriculum_id"] for r in rows))
    sources = sorted({r["source"] for r in rows})
    items: dict[tuple[str, str], int] = {}
    for r in rows:
        items[(r["curriculum_id"], r["source"])] = items.get((r["curriculum_id"], r["source"]), 0) + r["items"]
    figure, axes = _figure()
    x = np.arange(len(curricula))
    bottom = np.zeros(len(curricula))
    for i, source in enumerate(sources):
        values = np.array([items.get((c, source), 0) for c in curricula])
        axes.bar(x, values, 0.6, bottom=bottom, label=_short(source, 20), color=PURPLES[i % len(PURPLES)])
        bottom += values
    axes.set_xticks(x, [c[:8] for c in curricula], fontsize=8)
    axes.set_xlim(-0.7, max(len(curricula), 4) - 0.3)  # a lone curriculum is a bar, not a wall
    axes.set_ylabel("items")
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _svg(figure)


__all__ = [
    "pass_at_1_plot",
    "drift_plot",
    "heldout_plot",
    "yield_plot",
    "acceptance_plot",
    "composition_plot",
    "BLUES",
    "ORANGE",
    "GREENS",
    "PURPLES",
    "RED",
    "TEAL",
]
