"""The dataset card (README.md) of an exported curriculum: YAML front matter that `datasets`
and the Hugging Face Hub read (the shards, in file order, as the train split), then what the
curriculum is, for whom, and how to read it. Pure: built from the manifest alone."""

from __future__ import annotations

import json
from typing import Any


def dataset_card(manifest: dict[str, Any]) -> str:
    counts, rule = manifest["counts"], manifest["rule"]
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
# Curriculum `{manifest['curriculum_id']}`

A hardest-first RLVR curriculum exported by hardforge for policy `{manifest['policy_id']}`:
{counts['items']} problems in {counts['shards']} Parquet shards. Rows are in curriculum order across
shards (read the shards in file order); `position` numbers them, and `pass_at_1` is the policy's
measured solve rate when it was exported.

Selection rule:

```json
{json.dumps(rule, indent=2, sort_keys=True)}
```

| domain | problems |
|---|---|
{_rows(counts['by_domain'])}

| source | problems |
|---|---|
{_rows(counts['by_source'])}

Columns: {', '.join(f'`{c}`' for c in manifest['columns'])}. `prompt` is the chat prompt the
difficulty was measured with; `reward_model.ground_truth` and `extra_info` carry what the graders
need (hardforge's `trainer.verl_reward.compute_score` for verl).

Read it:

```python
import datasets
rows = datasets.load_dataset("path/to/this/folder", split="train")  # curriculum order
```

`manifest.json` lists every shard with its rows and sha256.
"""


def _rows(table: dict[str, int]) -> str:
    return "\n".join(f"| {k} | {v} |" for k, v in table.items()) or "| (none) | 0 |"
