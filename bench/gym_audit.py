"""The gym scorer battery (verifiers/gym_audit.py) on every graded reasoning-gym task: prints each
wrong reply that a task's scoring path passes at 1.0 (none is the goal), per task and level.

Run: .venv/bin/python bench/gym_audit.py [--levels 3] [--per-level 2] [--task TASK ...]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.gym_tasks import ALLOWED  # noqa: E402
from verifiers.gym_audit import sweep  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--per-level", type=int, default=2)
    parser.add_argument("--task", action="append", help="only these tasks (default: every graded task)")
    args = parser.parse_args()
    tasks = sorted(args.task or ALLOWED)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = sweep(tasks, levels=args.levels, per_level=args.per_level)
    for finding in found:
        print(f"{finding.task} level {finding.level}: gold {finding.gold!r} passed {finding.reply!r}")
    print(
        f"{len(tasks)} tasks, up to {args.levels} levels x {args.per_level} problems: "
        f"{len(found)} wrong replies passed ({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
