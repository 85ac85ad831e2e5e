"""Lean 4 formalization checks of stored math problems, and the ``lean`` filter that reads them.

``run_lean_checks`` formalizes each problem with the policy (compile check, critic, retries:
``verifiers.lean.formalize``) and writes one ``lean_checks`` row per problem and check key (the
toolchain, the formalizer policy and the loop's settings), so a rerun skips what is done. The
filter drops (or only flags) a problem whose latest check failed: its formalization did not
compile, or the critic judged it unfaithful; unchecked problems are kept. With ``lean.filter =
"auto"`` it runs only where a toolchain is found (a critic alone is not enough to drop problems).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from filters.base import KEEP, Filter, Verdict
from schemas.config import HardforgeConfig
from schemas.keys import content_key
from schemas.records import LeanCheck
from verifiers.lean.backends import LeanBackend, NoToolchain, open_backend, toolchain_found
from verifiers.lean.formalize import formalize
from warehouse.db import Warehouse, records_to_arrow

BATCH = 8  # problems per formalize round and per warehouse write


def check_key(config: HardforgeConfig, toolchain: str, policy_id: str) -> str:
    lean = config.lean
    return content_key(
        "lean-check",
        toolchain,
        policy_id,
        lean.header,
        str(lean.max_attempts),
        str(lean.temperature),
        str(lean.max_tokens),
    )


@dataclass
class LeanReport:
    toolchain: str
    checked: int = 0
    already_checked: int = 0
    compiled: int = 0
    not_compiled: int = 0
    no_compiler: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_lean_checks(
    warehouse: Warehouse,
    engine: Any,
    config: HardforgeConfig,
    problems: list[dict[str, Any]],
    *,
    policy_id: str,
    run_id: str | None = None,
    backend: LeanBackend | None = None,
) -> LeanReport:
    own = backend is None
    backend = backend or open_backend(config.lean)
    try:
        toolchain = backend.toolchain()
        report = LeanReport(toolchain, note=backend.reason if isinstance(backend, NoToolchain) else None)
        key = check_key(config, toolchain, policy_id)
        ids = {p["problem_id"]: content_key(p["problem_id"], key) for p in problems}
        done = (
            set(
                warehouse.arrow(
                    "SELECT check_id FROM lean_checks WHERE list_contains(?, check_id)", [list(ids.values())]
                )
                .column("check_id")
                .to_pylist()
            )
            if ids
            else set()
        )
        todo = [p for p in problems if ids[p["problem_id"]] not in done]
        report.already_checked = len(problems) - len(todo)
        for offset in range(0, len(todo), BATCH):
            batch = todo[offset : offset + BATCH]
            results = formalize(
                [p["statement"] for p in batch], engine, backend, config.lean, seed=config.rollouts.seed
            )
            now = dt.datetime.now(dt.UTC)
            rows = []
            for problem, result in zip(batch, results, strict=True):
                compiles = result.result.compiles if result.result else None
                status = result.result.status if result.result else "no formalization"
                rows.append(
                    LeanCheck(
                        check_id=ids[problem["problem_id"]],
                        problem_id=problem["problem_id"],
                        formal_statement=result.formal,
                        compiles=compiles,
                        critic_verdict=result.verdict,
                        messages={"attempts": result.history},
                        toolchain=toolchain,
                        created_at=now,
                        status=status,
                        attempts=result.attempts,
                        policy_id=policy_id,
                        run_id=run_id,
                    )
                )
                report.checked += 1
                report.compiled += compiles is True
                report.not_compiled += compiles is False
                report.no_compiler += compiles is None
                verdict = result.verdict or "not judged"
                report.verdicts[verdict] = report.verdicts.get(verdict, 0) + 1
            warehouse.insert("lean_checks", records_to_arrow("lean_checks", rows))
        return report
    finally:
        if own:
            backend.close()


LATEST_CHECKS = """
SELECT problem_id, compiles, critic_verdict, status FROM (
    SELECT *, row_number() OVER (PARTITION BY problem_id ORDER BY created_at DESC, check_id) AS latest
    FROM lean_checks WHERE list_contains(?, problem_id)
) WHERE latest = 1
"""


def lean_verdict(check: dict[str, Any] | None, flag_only: bool) -> Verdict:
    """A problem's verdict from its latest check (pure)."""
    if check is None:
        return KEEP
    if check["compiles"] is False:
        why = f"Lean: the formal statement does not compile ({check['status']})"
    elif check["critic_verdict"] != "correct":
        why = f"Lean: the critic judged the formalization {check['critic_verdict'] or 'not at all'}"
    else:
        return KEEP
    return Verdict(True, f"flagged: {why}") if flag_only else Verdict(False, why)


class LeanFilter(Filter):
    name = "lean"
    per_problem = False  # every survivor is read again whenever the checks changed (settings)

    def enabled(self) -> bool:
        mode = self.config.lean.filter
        return toolchain_found(self.config.lean) if mode == "auto" else mode != "off"

    def settings(self) -> dict[str, Any]:
        # the checks are this filter's input: a new check changes the hash, so verdicts are redone
        warehouse = Warehouse(self.config.data_dir)
        if not warehouse.path.exists():
            return {"mode": self.config.lean.filter, "checks": 0, "last": None}
        checks = warehouse.arrow("SELECT count(*) AS n, max(created_at) AS last FROM lean_checks").to_pylist()[0]
        return {"mode": self.config.lean.filter, "checks": checks["n"], "last": str(checks["last"])}

    def __call__(self, problems: list[dict[str, Any]]) -> list[Verdict]:
        math = [p["problem_id"] for p in problems if p["domain"] == "math"]
        rows = Warehouse(self.config.data_dir).arrow(LATEST_CHECKS, [math]).to_pylist() if math else []
        latest = {r["problem_id"]: r for r in rows}
        flag_only = self.config.lean.filter == "flag"
        return [lean_verdict(latest.get(p["problem_id"]), flag_only) for p in problems]


__all__ = ["LeanFilter", "LeanReport", "check_key", "lean_verdict", "run_lean_checks"]
