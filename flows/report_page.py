"""``hardforge report``: one static HTML page (no script, no network) with the warehouse's plots,
drawn by matplotlib as inline SVG: pass@1 per policy, difficulty drift between two policies on
the same problems beside held-out pass@1 per policy (the loop's learning curve), the estimate's
yield (in-band problems per million tokens), synthesis per method per run (proposals, verified, in band), and curriculum composition. Each plot
has its own colour family, so a screenshot shows which plots are drawn."""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

from flows import report_data as data
from flows.report_plots import (
    acceptance_plot,
    composition_plot,
    drift_plot,
    heldout_plot,
    pass_at_1_plot,
    yield_plot,
)
from warehouse.db import Warehouse


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _section(title: str, anchor: str, plot: str | None, table: str, empty: str) -> str:
    inner = f'<div class="plot">{plot}</div>{table}' if plot else f'<p class="empty">{html.escape(empty)}</p>'
    return f'<section id="{anchor}"><h2>{html.escape(title)}</h2>{inner}</section>'


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; background: #fff; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .empty { color: #8a5a00; background: #fff8e6; padding: 8px 12px; }
.plot svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.side-by-side { display: flex; gap: 24px; align-items: flex-start; } .side-by-side > section { flex: 1 1 0; min-width: 0; }
"""


def render_report(
    warehouse: Warehouse,
    drift_pair: tuple[str, str] | None = None,
    *,
    title: str = "hardforge report",
    probe_n: int = 16,
) -> str:
    """The page as a string; ``drift_pair`` = (before, after) policy ids, else the latest pair."""
    counts = data.totals(warehouse)
    policies = data.policies_measured(warehouse)
    names = {p["policy_id"]: p["name"] for p in policies}
    sections = []

    histograms = data.pass_at_1_histogram(warehouse, [p["policy_id"] for p in policies]) if policies else {}
    sections.append(
        _section(
            "pass@1 per policy",
            "pass-at-1",
            pass_at_1_plot(histograms, names) if histograms else None,
            _table(
                [
                    {
                        "policy": p["name"],
                        "id": p["policy_id"][:12],
                        "problems": p["problems"],
                        "mean pass@1": p["mean_pass_at_1"],
                        "never solved": p["unsolved"],
                        "always solved": p["solved"],
                    }
                    for p in policies
                ]
            ),
            "No difficulty yet: run `hardforge estimate` (or the nightly).",
        )
    )

    pair = drift_pair or data.default_drift_pair(warehouse)
    pairs = data.drift(warehouse, *pair) if pair else []
    if pair and pairs:
        more = {
            pid: names.get(pid)
            or warehouse.scalar("SELECT any_value(name) FROM policies WHERE policy_id = ?", [pid])
            or pid[:12]
            for pid in pair
        }
        summary = data.drift_summary(pairs)
        plot = drift_plot(pairs, more[pair[0]], more[pair[1]])
        table = _table([{"before": more[pair[0]], "after": more[pair[1]], **summary}])
    else:
        plot, table = None, ""
    drift_section = _section(
        "Difficulty drift between two policies",
        "drift",
        plot,
        table,
        "Drift needs two policies measured on the same problems: train a policy (`hardforge train`) and measure "
        "it on the problems of the last one.",
    )

    from rollouts.probe import heldout_curve

    curve = heldout_curve(warehouse, probe_n)
    heldout_section = _section(
        "Held-out pass@1 per policy (the loop's learning curve)",
        "heldout",
        heldout_plot(curve) if curve else None,
        _table(
            [
                {
                    "policy": r["name"],
                    "id": r["policy_id"][:12],
                    "probe problems": r["problems"],
                    "held-out pass@1": r["mean_pass_at_1"],
                    "s.e.": r["stderr"],
                }
                for r in curve
            ]
        ),
        "No policy measured on the held-out probe yet: the nightly measures each night's policy on nightly.probe.",
    )
    sections.append(f'<div class="side-by-side">{drift_section}{heldout_section}</div>')  # the curve beside the drift

    yields = data.estimate_yield(warehouse)
    sections.append(
        _section(
            "In-band problems per million rollout tokens",
            "yield",
            yield_plot(yields) if yields else None,
            _table(
                [
                    {
                        "run": r["run_id"][:8],
                        "started": r["started_at"],
                        "estimated": r["estimated"],
                        "in band": r["in_band"],
                        "completion tokens": r["completion_tokens"],
                        "in band per Mtok": round(r["in_band_per_mtok"]),
                    }
                    for r in yields
                ]
            ),
            "No estimate run has recorded its yield yet: run `hardforge estimate` (or the nightly).",
        )
    )

    accepted = data.acceptance(warehouse)
    sections.append(
        _section(
            "Synthesis per method per run: proposals, verified, in band",
            "acceptance",
            acceptance_plot(accepted) if accepted else None,
            _table(
                [
                    {
                        "run": r["run_id"][:8],
                        "started": r["started_at"],
                        "method": r["method"],
                        "proposals": r["attempts"],
                        "verified": r["accepted"],
                        "in band": r["in_band"],
                    }
                    for r in accepted
                ]
            ),
            "No synthesis attempts yet: run `hardforge synthesize` (or the nightly with nightly.synthesize).",
        )
    )

    parts = data.composition(warehouse)
    by_domain: dict[tuple[str, str], int] = {}
    for r in parts:
        by_domain[(r["curriculum_id"], r["domain"])] = by_domain.get((r["curriculum_id"], r["domain"]), 0) + r["items"]
    sections.append(
        _section(
            "Curriculum composition",
            "curricula",
            composition_plot(parts) if parts else None,
            _table([{"curriculum": c[:12], "domain": d, "items": n} for (c, d), n in by_domain.items()]),
            "No curriculum with items yet: run `hardforge export` (or the nightly).",
        )
    )

    audit = data.label_audit(warehouse)
    if audit:
        shown = (
            "rule",
            "labelled",
            "label_accuracy",
            "reward_accuracy",
            "majority_ratio",
            "accepted",
            "precision",
            "yield",
        )
        note = (
            f"<p>{audit['problems']} gold problems ({html.escape(', '.join(audit['sources']))}), run "
            f"{audit['run_id'][:8]} at {_cell(audit['started_at'])}: each labelling rule as if the answer were unknown.</p>"
        )
        sections.append(
            f'<section id="label-audit"><h2>Label audit on gold</h2>{note}'
            f"{_table([{k: r.get(k) for k in shown} for r in audit['rules']])}</section>"
        )
    else:
        sections.append(
            _section(
                "Label audit on gold", "label-audit", None, "", "No label audit yet: run `hardforge audit labels`."
            )
        )

    runs = data.recent_runs(warehouse)
    crashed = sum(r["status"] == "crashed" for r in runs)
    note = (
        f"<p>{crashed} of these runs crashed: their process died (SIGKILL, a restart) before it could record an end; "
        "'ended' is when a later command noticed. Rerunning the same command resumes the work.</p>"
        if crashed
        else ""
    )
    if runs:
        sections.append(
            '<section id="runs"><h2>Recent runs</h2>'
            + note
            + _table(
                [
                    {
                        "run": r["run_id"][:8],
                        "flow": r["flow"],
                        "status": r["status"],
                        "started": r["started_at"],
                        "ended": r["ended_at"],
                        "process": f"{r['pid']} on {r['host']}" if r["pid"] else None,
                    }
                    for r in runs
                ]
            )
            + "</section>"
        )
    else:
        sections.append(_section("Recent runs", "runs", None, "", "No run yet: every command and flow records one."))

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = ", ".join(f"{n:,} {t.replace('_', ' ')}" for t, n in counts.items())
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="meta">{html.escape(str(warehouse.path))} · {stamp} · {html.escape(meta)}</p>'
        + "".join(sections)
        + "</body></html>"
    )


def write_report(warehouse: Warehouse, out: Path, drift_pair: tuple[str, str] | None = None, **options: Any) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render_report(warehouse, drift_pair, **options), encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a page
    return out


__all__ = ["render_report", "write_report"]
