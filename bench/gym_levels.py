"""What the bundled model can do on reasoning-gym tasks: pass@1 per task x level, under both
answer-extraction modes (graded on the same completions), for a prompt instruction.

    .venv/bin/python bench/gym_levels.py [--tasks chain_sum,products] [--levels 0-2] [--size 6]
        [--n 8] [--max-tokens 32] [--instruction gym|math]

Prints one row per task x level: mean pass@1 (strict, flexible) and how many problems fall in
0 < pass@1 < 1 (the ones that give GRPO a gradient and SvS a seed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engines import load_engine  # noqa: E402
from engines.bundled import ensure_bundled_model  # noqa: E402
from ingest.gym import gym_rows, parse_request  # noqa: E402
from schemas.config import GYM_INSTRUCTION, MATH_INSTRUCTION, EngineConfig  # noqa: E402
from schemas.engine import SamplingParams  # noqa: E402
from verifiers.base import GradeItem  # noqa: E402
from verifiers.gym import GymVerifier  # noqa: E402

TASKS = "chain_sum,basic_arithmetic,products,simple_equations,gcd,lcm,letter_counting,leg_counting"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--levels", default="0-2")
    parser.add_argument("--size", type=int, default=6)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--instruction", choices=["gym", "math"], default="gym")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    said = GYM_INSTRUCTION if args.instruction == "gym" else MATH_INSTRUCTION
    model = ensure_bundled_model(Path(tempfile.gettempdir()) / "hardforge-bench-models")
    engine = load_engine(EngineConfig(backend="transformers", batch_size=args.batch_size), model)
    verifier = GymVerifier()
    print(
        f"instruction={args.instruction!r} n={args.n} max_tokens={args.max_tokens} T={args.temperature} size={args.size}/level"
    )
    print(f"{'task':18} {'lvl':>3} {'strict':>7} {'flex':>7} {'band_s':>6} {'band_f':>6} {'tok/s':>6}")
    totals = {"strict": 0, "flexible": 0}
    for task in args.tasks.split(","):
        request = parse_request(f"gym:{task}", size=args.size, levels=args.levels, seed=0)
        rows = [record for _, record, _ in gym_rows(request)]
        for level in request.levels:
            problems = [r for r in rows if r["__extra__"]["gym"]["level"] == level]
            prompts = [[{"role": "user", "content": f"{p['statement'].strip()}\n\n{said}"}] for p in problems]
            start = time.perf_counter()
            groups = engine.generate(
                prompts, SamplingParams(n=args.n, temperature=args.temperature, max_tokens=args.max_tokens, seed=1)
            )
            seconds = time.perf_counter() - start
            tokens = sum(c.completion_tokens for g in groups for c in g)
            figures = {}
            for mode in ("strict", "flexible"):
                rates = []
                for p, group in zip(problems, groups, strict=True):
                    grades = verifier.grade(
                        [GradeItem(p["answer"], c.text, p["statement"], p["__extra__"], mode) for c in group]
                    )
                    rates.append(sum(g.correct for g in grades) / len(grades))
                figures[mode] = (sum(rates) / len(rates), sum(0 < r < 1 for r in rates))
                totals[mode] += figures[mode][1]
            print(
                f"{task:18} {level:>3} {figures['strict'][0]:7.3f} {figures['flexible'][0]:7.3f} "
                f"{figures['strict'][1]:>6} {figures['flexible'][1]:>6} {tokens / seconds:6.0f}",
                flush=True,
            )
    print(f"problems in 0 < pass@1 < 1: strict {totals['strict']}, flexible {totals['flexible']}")


if __name__ == "__main__":
    main()
