"""Curricula: select by a pass-rate band for a policy, order hardest first, export shards."""
