"""The dataset card (README.md) of an exported curriculum: YAML front matter that `datasets`
and the Hugging Face Hub read (the shards, in file order, as the train split), then what the
curriculum is, how it was selected, what it holds (by source, domain and level, a pass@1
histogram), where it comes from (methods, parent problems, runs), and how to read it in
`datasets`, TRL and verl. Pure: built from the manifest alone."""

from __future__ import annotations

import json
from typing import Any

BAR = 40  # characters of the widest histogram bar


def dataset_card(manifest: dict[str, Any]) -> str:
    counts, rule = manifest["counts"], manifest["rule"]
    low, high = rule["band"]
    keys = manifest.get("sampling_keys") or []
    return f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: "shard-*.parquet"
tags:
- rlvr
- curriculum
- hardforge
---
# Curriculum `{manifest["curriculum_id"]}`

An RLVR curriculum ({_order_words(rule["order"])}) exported by hardforge for policy `{manifest["policy_id"]}`:
{counts["items"]} problems in {counts["shards"]} Parquet shards. Rows are in curriculum order across
shards (read the shards in file order); `position` numbers them, and `pass_at_1` is the policy's
measured solve rate when it was exported.

## How it was selected

Problems the policy was measured on whose pass@1 lies in [{low}, {high}]
({"kept" if rule["keep_unsolved"] else "left out"}: never solved; {"kept" if rule["keep_solved"] else "left out"}: always
solved), with no filter verdict against them, whose label is at least `{rule.get("min_label_provenance", "vote")}` (see
below), ordered by `{rule["order"]}`{", domains interleaved" if rule["balance_domains"] else ""}.
Difficulty comes from the rollouts under {len(keys)} sampling key{"" if len(keys) == 1 else "s"}
({", ".join(f"`{k[:12]}`" for k in keys) or "none"}: each hashes the prompt instruction, n, temperature,
token budget and grader version). The rule as recorded:

```json
{json.dumps(rule, indent=2, sort_keys=True)}
```

## What it holds

{_table("domain", counts["by_domain"])}

{_table("source", counts["by_source"])}

{_table("level (reasoning-gym)", counts.get("by_level", {}))}

How each answer is known (`label_provenance`): `ground_truth` seed data, `executed` code produced it,
`checked` an independent check agreed (exact arithmetic, a program run in a sandbox, tests a program
satisfies), `inherited` a parent's answer (SvS), `vote` the policy's own agreement, `judged` an LLM judge.

{_table("label provenance", counts.get("by_label_provenance", {}))}

Which synthesis method made each problem (`method`; `seed` for the seed problems, and `parent_id`
names the problem a synthesized one was made from):

{_table("method", counts.get("by_method", {}))}

pass@1 of the items (the policy's solve rate):

{_histogram(counts.get("pass_at_1_histogram", []))}

## Where it comes from

{_lineage(manifest.get("lineage"))}

## Columns

{", ".join(f"`{c}`" for c in manifest["columns"])}. `prompt` is the chat prompt the difficulty was
measured with; `reward_model.ground_truth` and `extra_info` carry what the graders need.

## Read it

With `datasets` (the front matter above lists the shards; rows come in curriculum order):

```python
import datasets
rows = datasets.load_dataset("path/to/this/folder", split="train")
```

With TRL, keep the order (`prompt` is TRL's conversational format; hardforge's verifiers grade
through `trainer.rewards.VerifierReward`):

```python
from trl import GRPOConfig, GRPOTrainer
from trainer.rewards import VerifierReward
from schemas.config import load_config
trainer = GRPOTrainer(model=..., reward_funcs=[VerifierReward(load_config())], train_dataset=rows,
                      args=GRPOConfig(output_dir="out", shuffle_dataset=False))
```

With verl, list the shards in order (see `manifest.json`), turn shuffling off and grade with
hardforge's verifiers (verl's default dispatcher does not know these data sources):

```bash
python -m verl.trainer.main_ppo data.train_files="[{", ".join(repr(s["file"]) for s in manifest["shards"][:3])}{", ..." if len(manifest["shards"]) > 3 else ""}]" \\
  data.shuffle=False custom_reward_function.path=/path/to/hardforge/trainer/verl_reward.py custom_reward_function.name=compute_score
```

`manifest.json` lists every shard with its rows and sha256.
"""


def _order_words(order_sql: str) -> str:
    """The recorded ORDER BY (curricula.select) in words."""
    if order_sql.startswith("hash("):
        return "in-band problems in a stable shuffled order"
    return "easiest first" if order_sql.startswith("pass_at_1 DESC") else "hardest first"


def _table(name: str, table: dict[str, int]) -> str:
    rows = "\n".join(f"| {k} | {v} |" for k, v in table.items()) or "| (none) | 0 |"
    return f"| {name} | problems |\n|---|---|\n{rows}"


def _histogram(bins: list[dict[str, Any]]) -> str:
    if not bins:
        return "(no items)"
    widest = max(b["items"] for b in bins) or 1
    lines = [
        f"{b['low']:.1f}–{b['high']:.1f} | {'█' * round(BAR * b['items'] / widest):<{BAR}} {b['items']}" for b in bins
    ]
    return "```\n" + "\n".join(lines) + "\n```"


def _lineage(lineage: dict[str, Any] | None) -> str:
    if not lineage:
        return "(not recorded)"
    methods = ", ".join(f"{k}: {v}" for k, v in lineage["by_method"].items()) or "none"
    parents = ", ".join(f"`{p[:12]}`" for p in lineage["parent_ids"])
    runs = ", ".join(f"`{r[:12]}`" for r in lineage["created_run_ids"])
    more = lambda total, shown: f" (first {shown} of {total})" if total > shown else ""  # noqa: E731
    derived = (
        (
            f"- {_n(lineage['items_with_parent'], 'item')} derive from {_n(lineage['parents'], 'parent problem')}"
            f"{more(lineage['parents'], len(lineage['parent_ids']))}: {parents}."
        )
        if parents
        else "- No item derives from a parent problem."
    )
    return (
        f"- {_n(lineage['seed_items'], 'seed problem')} and {_n(lineage['synthesized_items'], 'synthesized problem')} "
        f"(by method: {methods}).\n{derived}\n"
        f"- Created in {_n(lineage['created_runs'], 'run')}"
        + (f"{more(lineage['created_runs'], len(lineage['created_run_ids']))}: {runs}" if runs else "")
        + " (the warehouse's `runs` table has each run's config hash, code version and figures;"
        " `problems.method_meta` and `synth_attempts` have every synthesized item's history)."
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
