"""Run summaries and Prefect artifacts: what each stage publishes, and the nightly's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

from warehouse.db import Warehouse


def table(key: str, rows: list[dict[str, Any]], description: str) -> None:
    create_table_artifact(key=key, table=rows or [{"(none)": ""}], description=description)


def ingest_artifacts(warehouse: Warehouse, result: list[dict[str, Any]]) -> None:
    table("ingest-counts", [{k: v for k, v in r.items() if k != "quarantine_reasons"} for r in result], "rows per seed")


def synthesize_artifacts(warehouse: Warehouse, result: list[dict[str, Any]]) -> None:
    table(
        "synthesis",
        [{k: v for k, v in r.items() if k != "rejections"} for r in result],
        "per method: seeds, candidates, acceptance",
    )
    table(
        "synthesis-rejections",
        [{"method": r["method"], "reason": k, "candidates": v} for r in result for k, v in r["rejections"].items()],
        "rejection reasons",
    )


def lean_artifacts(warehouse: Warehouse, result: dict[str, Any]) -> None:
    table(
        "lean-checks", [{k: v for k, v in result.items() if k != "verdicts"}], result.get("note") or result["toolchain"]
    )
    table("lean-critic", [{"verdict": k, "problems": v} for k, v in result["verdicts"].items()], "critic verdicts")


def filter_artifacts(warehouse: Warehouse, result: dict[str, Any]) -> None:
    table("filter-reasons", [{"reason": k, "dropped": v} for k, v in result["reasons"].items()], "new drops by reason")


def estimate_artifacts(warehouse: Warehouse, result: dict[str, Any]) -> None:
    from flows.stages import pass_at_1_histogram

    table(
        "pass-at-1-histogram", pass_at_1_histogram(warehouse, result["policy_id"]), f"policy {result['policy_id'][:12]}"
    )


def export_artifacts(warehouse: Warehouse, result: dict[str, Any]) -> None:
    table(
        "curriculum",
        [
            {
                "curriculum_id": result["curriculum_id"],
                "items": result["items"],
                "shards": result["shards"],
                **{f"domain:{k}": v for k, v in result["by_domain"].items()},
            }
        ],
        "the exported curriculum",
    )


def train_artifacts(warehouse: Warehouse, result: dict[str, Any]) -> None:
    if "skipped" in result:
        return
    table(
        "training",
        [{k: v for k, v in m.items() if k != "proposer"} for m in result["metrics"]],
        f"GRPO steps ({result.get('role', 'solver')}) -> policy {result['policy_id'][:12]}",
    )
    table(
        "proposer-training",
        [
            {"step": m["step"], "method": name, **figures}
            for m in result["metrics"]
            for name, figures in m.get("proposer", {}).items()
        ],
        "proposals per step and method",
    )


def _ingest_note(row: dict[str, Any]) -> str:
    if row.get("probe"):
        return " (held-out probe)"
    return f" (level {row['chosen']['level']}, generator seed {row['chosen']['seed']})" if row.get("chosen") else ""


def _per_mtok(est: dict[str, Any]) -> str:
    value = est.get("in_band_per_mtok")
    return f"{value:,.0f}" if value is not None else "n/a"


def probe_artifacts(warehouse: Warehouse, result: dict[str, Any]) -> None:
    table("heldout-probe", result["curve"], f"held-out pass@1 per policy on {result['problems']} probe problems")


def _wall_row(wall: dict[str, Any]) -> str:
    stages = ", ".join(
        f"{k.removesuffix('_s')} {v:.0f} s"
        for k, v in wall.items()
        if k.endswith("_s") and k not in ("total_s", "prefect_start_s")
    )
    engines = "; ".join(f"{e['engine']} {e['start_s']:.0f} s" for e in wall.get("engine_starts", [])) or "none"
    before = (
        f"{wall['prefect_start_s']:.0f} s before the flow (Python, Prefect's API), "
        if wall.get("prefect_start_s") is not None
        else ""
    )
    return f"| wall time | {wall['total_s']:.0f} s: {before}{stages}; engine starts (inside those): {engines} |"


def _by_method(exported: dict[str, Any]) -> str:
    """A curriculum's items by the method that made them, with the synthesized share."""
    by = exported.get("by_method") or {}
    made = sum(n for method, n in by.items() if method != "seed")
    share = f"{made / exported['items']:.0%} synthesized" if exported.get("items") else "empty"
    return (", ".join(f"{method} {n}" for method, n in sorted(by.items())) or "none") + f" ({share})"


def nightly_summary(warehouse: Warehouse, counts: dict[str, Any]) -> str:
    est, exp = counts["estimate"], counts["export"]
    train = counts.get("train")
    return "\n".join(
        [
            "# hardforge nightly",
            "",
            "| stage | result |",
            "|---|---|",
            "| ingest | "
            + ", ".join(
                f"{r['source']}{_ingest_note(r)}: {r['inserted']} new, {r['quarantined']} quarantined"
                for r in counts["ingest"]
            )
            + " |",
            "| synthesis | "
            + (
                ", ".join(
                    f"{method}: {y['tokens']:,} tokens, {y['proposals']} proposals, {y['verified']} verified, "
                    f"{y['in_band']} in band, {y['seconds']:.0f} s"
                    for method, y in counts["synthesis_yield"].items()
                )
                if counts.get("synthesis_yield")
                else ", ".join(
                    f"{r['method']}: {r['seeds']} seeds, {r['candidates']} candidates, {r['accepted']} accepted"
                    for r in counts["synthesize"] or []
                )
                or "none"
            )
            + " |",
            f"| filters | checked {sum(counts['filter']['checked'].values())}, dropped {sum(counts['filter']['dropped'].values())} |",
            f"| estimate | policy `{est['policy_id'][:12]}`: {est['estimated']} problems ({est['already_done']} already done), "
            f"{est['rollouts']} rollouts, {est['correct']} correct, {est.get('in_band', 0)} in band "
            f"({_per_mtok(est)} per million completion tokens)"
            + (
                f"; passed over: {', '.join(f'{n} {why}' for why, n in est['passed_over'].items())}"
                if est.get("passed_over")
                else ""
            )
            + " |",
            *(
                [
                    f"| estimate (synthesized) | {counts['estimate_synthesized']['estimated']} new problems measured "
                    f"with fresh rollouts, {counts['estimate_synthesized'].get('in_band', 0)} in band |"
                ]
                if counts.get("estimate_synthesized")
                else []
            ),
            f"| export | curriculum `{exp['curriculum_id'][:12]}`: {exp['items']} items in {exp['shards']} shards at "
            f"`{exp['out_dir']}`; by method: {_by_method(exp)} |",
            "| train | "
            + (
                f"skipped ({train['role']}): {train['skipped']}"
                if train and "skipped" in train
                else f"{train['steps']} GRPO steps ({train.get('role', 'solver')}), {train['mean_step_time_s']} s/step -> "
                f"policy `{train['policy_id'][:12]}`"
                if train
                else "off (train.enabled = false)"
            )
            + " |",
            *(
                [
                    "| held-out probe | "
                    + ", ".join(
                        f"`{r['name'][:12]}` {r['mean_pass_at_1']:.3f} ± {r['stderr']:.3f}"
                        for r in counts["probe"]["curve"]
                    )
                    + " |"
                ]
                if counts.get("probe")
                else []
            ),
            *([_wall_row(counts["wall"])] if counts.get("wall") else []),
            *(
                [f"| report | [{counts['report']}]({Path(counts['report']).as_uri()}) |"]
                if counts.get("report")
                else []
            ),
        ]
    )


def nightly_report(warehouse: Warehouse, run_id: str, probe_n: int = 16) -> Path:
    """The nightly's page of plots (``hardforge report``), linked from its artifacts."""
    from flows.report_page import write_report

    path = write_report(
        warehouse,
        warehouse.data_dir / "reports" / f"nightly-{run_id[:8]}.html",
        title=f"hardforge nightly {run_id[:8]}",
        probe_n=probe_n,
    )
    create_link_artifact(
        key="nightly-report",
        link=path.resolve().as_uri(),
        link_text=path.name,
        description="plots: pass@1 per policy, drift, synthesis acceptance, curricula",
    )
    return path


def nightly_artifacts(warehouse: Warehouse, counts: dict[str, Any]) -> None:
    by_source = warehouse.arrow(
        "SELECT source, domain, count(*) AS problems, "
        "count(*) FILTER (WHERE problem_id IN (SELECT problem_id FROM filter_verdicts WHERE NOT keep)) AS filtered_out "
        "FROM problems GROUP BY ALL ORDER BY 1, 2"
    ).to_pylist()
    table("problems-by-source", by_source, "problems per source and domain")
    create_markdown_artifact(
        key="nightly-summary", markdown=nightly_summary(warehouse, counts), description="nightly run summary"
    )
