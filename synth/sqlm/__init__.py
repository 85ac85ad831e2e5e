"""Self-questioning (Chen et al. 2025; shared/specs/methods.md §4): the policy proposes problems
from a topic prompt and answers them itself; no labels."""
