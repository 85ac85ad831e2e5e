"""Rollout benchmark. For each installed engine, on the same prompts in one process: the raw
engine call, then the estimate stage that wraps it (generate + grade + store). Prints tok/s and
the stage/raw ratio (goal >= 0.95), the default engine's stage tok/s against raw in-process vLLM
(goal >= 0.9), then math grading answers/s on unique integer and fraction answers (goal >= 2,000
on 2 cores). ``--server URL`` adds the OpenAI-compatible server engine (e.g. `vllm serve`).

Run: .venv-vllm/bin/python bench/rollouts.py [--prompts 8] [--n 8] [--max-tokens 128] [--rounds 3]
     [--server http://127.0.0.1:8000/v1]   (.venv/bin/python: transformers only)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.runtime import prepare_environment  # noqa: E402


def bench_engine(backend: str, args, model: Path, data_dir: Path) -> dict[str, float]:
    from engines import load_engine
    from ingest.service import ingest
    from rollouts.estimate import batch_params, estimate, select_problems
    from schemas.config import HardforgeConfig
    from schemas.prompts import problem_chat
    from verifiers.base import GradeItem
    from warehouse.db import Warehouse

    cfg = HardforgeConfig(data_dir=data_dir / backend)
    cfg.engine.backend = backend
    if backend == "openai":
        cfg.engine.urls = [args.server]
    cfg.rollouts.n, cfg.rollouts.max_tokens = args.n, args.max_tokens
    cfg.rollouts.batch_problems = args.prompts
    warehouse = Warehouse(cfg.data_dir)
    ingest(warehouse, "champ", cfg)
    problems = select_problems(warehouse, "source = 'champ'", args.prompts)
    engine = load_engine(cfg.engine, model, seed=0)
    prompts = [problem_chat(p, cfg.rollouts) for p in problems]
    engine.generate(prompts[:1], batch_params(problems[:1], cfg.rollouts, 8).__class__(n=1, max_tokens=8))  # warm-up

    from verifiers import VerifierSet

    ratios, raw_rates, stage_rates = [], [], []
    with VerifierSet(cfg) as verifiers:
        verifiers.get("math").grade([GradeItem("1", "1")])  # start the worker pool outside the timed region
        # Identical generate calls vary by +-12% on a shared 2-core box, so raw and stage are
        # interleaved over rounds (a new seed each, hence new work for the stage) and the
        # median ratio is reported.
        for round_ in range(args.rounds):
            cfg.rollouts.seed = round_
            params = batch_params(problems, cfg.rollouts, cfg.rollouts.max_tokens)
            t0 = time.perf_counter()
            raw = engine.generate(prompts, params)
            raw_s = time.perf_counter() - t0
            raw_tokens = sum(c.completion_tokens for group in raw for c in group)
            t0 = time.perf_counter()
            summary = estimate(warehouse, engine, "bench", problems, cfg.rollouts, verifiers=verifiers)
            stage_s = time.perf_counter() - t0
            raw_rate, stage_rate = raw_tokens / raw_s, summary.completion_tokens / stage_s
            ratios.append(stage_rate / raw_rate)
            raw_rates.append(raw_rate)
            stage_rates.append(stage_rate)
            print(
                f"{backend:>12} round {round_}: raw {raw_tokens:,} tok in {raw_s:.1f} s = {raw_rate:,.0f} tok/s | "
                f"stage {summary.completion_tokens:,} tok in {stage_s:.1f} s = {stage_rate:,.0f} tok/s | "
                f"ratio {stage_rate / raw_rate:.3f} (same outputs: {raw_tokens == summary.completion_tokens}) | "
                f"stage: generate {summary.generate_s:.2f} s, grade {summary.grade_s:.2f} s, "
                f"store {summary.write_s:.2f} s"
            )
    print(
        f"{backend:>12} ({engine.name}): median stage/raw ratio over {len(ratios)} rounds = {statistics.median(ratios):.3f}"
    )
    engine.close()
    return {"engine": engine.name, "raw": statistics.median(raw_rates), "stage": statistics.median(stage_rates)}


def bench_grading(count: int) -> None:
    from verifiers.base import GradeItem
    from verifiers.math.grade import MathVerifier

    rng = random.Random(0)
    items = []
    for i in range(count):  # unique strings, so math-verify's and our parse caches never hit
        if i % 2:
            gold = str(rng.randint(10**6, 10**9))
            pred = gold if rng.random() < 0.5 else str(int(gold) + 1)
        else:
            a, b = rng.randint(1, 10**5), rng.randint(10**5 + 1, 10**6)
            gold, pred = f"\\frac{{{a}}}{{{b}}}", f"{a}/{b}" if rng.random() < 0.5 else f"\\frac{{{a + 1}}}{{{b}}}"
        items.append(GradeItem(gold, f"Reasoning... so the answer is \\boxed{{{pred}}}."))
    with MathVerifier() as verifier:
        verifier.grade(items[:50])  # start the workers
        t0 = time.perf_counter()
        grades = verifier.grade(items[50:])
        elapsed = time.perf_counter() - t0
    print(
        f"math grading: {len(grades):,} unique integer/fraction answers in {elapsed:.2f} s = "
        f"{len(grades) / elapsed:,.0f} answers/s on {verifier.workers} workers "
        f"({sum(g.correct for g in grades):,} correct)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--grade", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", default=None, help="an OpenAI-compatible server's base URL to bench too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        prepare_environment(data_dir)
        from engines.bundled import ensure_bundled_model
        from engines.vllm_engine import vllm_installed

        model = ensure_bundled_model(Path(__file__).resolve().parents[1] / ".cache" / "models")
        print(f"{args.prompts} CHAMP prompts x n={args.n} x max_tokens={args.max_tokens}, model {model.name}")
        figures = {"transformers": bench_engine("transformers", args, model, data_dir)}
        if vllm_installed():
            figures["vllm"] = bench_engine("vllm", args, model, data_dir)
            figures["auto"] = bench_engine(
                "auto", args, model, data_dir
            )  # the default engine, as the nightly builds it
            raw = figures["vllm"]["raw"]
            print(
                f"default engine (auto -> {figures['auto']['engine']}): stage {figures['auto']['stage']:,.0f} tok/s "
                f"= {figures['auto']['stage'] / raw:.2f} of raw in-process vLLM ({raw:,.0f} tok/s); "
                f"transformers stage = {figures['transformers']['stage'] / raw:.2f} of it"
            )
        else:
            print("        vllm: not installed (make setup installs .venv-vllm; run this with .venv-vllm/bin/python)")
        if args.server:
            figures["openai"] = bench_engine("openai", args, model, data_dir)
            if "vllm" in figures:
                print(
                    f"server engine: stage {figures['openai']['stage']:,.0f} tok/s = "
                    f"{figures['openai']['stage'] / figures['vllm']['raw']:.2f} of raw in-process vLLM"
                )
        bench_grading(args.grade)


if __name__ == "__main__":
    main()
